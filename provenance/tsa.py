"""The authority's own RFC 3161 time-stamp authority (TSA).

A C2PA signature carrying a trusted time stamp stays valid after the signing certificate
expires: validators check the certificate at the stamped time, not at the time of reading.
`TimeStampAuthority.respond` turns a DER TimeStampReq into a DER TimeStampResp; `serve_loopback`
serves it over HTTP on 127.0.0.1 for embedded mode, and `stillguard serve` can mount `respond`
behind any HTTP route (content type application/timestamp-query -> application/timestamp-reply).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import itertools
import secrets
import threading
from dataclasses import dataclass, field
from typing import Self

from asn1crypto import algos, cms, core, tsp  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from provenance.certificates import PrivateKey

REQUEST_CONTENT_TYPE = "application/timestamp-query"
REPLY_CONTENT_TYPE = "application/timestamp-reply"
# Policy OID of our stamps: an arc under the example-enterprise branch, local to Stillguard.
POLICY_OID = "1.3.6.1.4.1.32473.7.1"
_MAX_REQUEST_BYTES = 64 * 1024
_DIGESTS = {"sha1", "sha256", "sha384", "sha512"}


class TimeStampResponse(core.Sequence):  # type: ignore[misc]
    """RFC 3161 TimeStampResp; asn1crypto's own marks the token mandatory, breaking rejections."""

    _fields = [  # noqa: RUF012 (asn1crypto reads this class attribute)
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


@dataclass
class TimeStampAuthority:
    """Issues RFC 3161 time-stamp tokens signed by `key` under certificate `cert`."""

    cert: x509.Certificate
    key: PrivateKey = field(repr=False)
    chain: list[x509.Certificate] = field(default_factory=list)
    _serials: itertools.count = field(default_factory=lambda: itertools.count(1), repr=False)

    def respond(self, request_der: bytes, *, now: dt.datetime | None = None) -> bytes:
        """DER TimeStampResp for a DER TimeStampReq; a malformed request gets a 'rejection'."""
        try:
            request = tsp.TimeStampReq.load(request_der)
            imprint = request["message_imprint"]
            digest_name = imprint["hash_algorithm"]["algorithm"].native
            if digest_name not in _DIGESTS:
                return _rejection("unsupported hash algorithm", "bad_alg")
            _ = imprint.native  # parse fully: a truncated request fails here, not later
        except (ValueError, TypeError, KeyError):
            return _rejection("malformed time-stamp request", "bad_data_format")
        token = self._token(request, now or dt.datetime.now(dt.UTC))
        response = tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})
        return response.dump()

    def _token(self, request: tsp.TimeStampReq, now: dt.datetime) -> cms.ContentInfo:
        serial = (int(now.timestamp()) << 32) | (next(self._serials) & 0xFFFF) << 16
        serial |= secrets.randbits(16)
        info: dict = {
            "version": "v1",
            "policy": request["req_policy"].native or POLICY_OID,
            "message_imprint": request["message_imprint"],
            "serial_number": serial,
            "gen_time": now.replace(microsecond=0),
            "accuracy": {"seconds": 1},
            "ordering": False,
        }
        if request["nonce"].native is not None:
            info["nonce"] = request["nonce"].native
        tst_info = tsp.TSTInfo(info)
        content = tst_info.dump()

        cert_der = self.cert.public_bytes(serialization.Encoding.DER)
        asn1_cert = asn1_x509.Certificate.load(cert_der)
        signed_attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
                cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": now})]}),
                cms.CMSAttribute(
                    {"type": "message_digest", "values": [hashlib.sha256(content).digest()]}
                ),
                cms.CMSAttribute(
                    {
                        "type": "signing_certificate_v2",
                        "values": [
                            {
                                "certs": [
                                    {
                                        "hash_algorithm": {"algorithm": "sha256"},
                                        "cert_hash": hashlib.sha256(cert_der).digest(),
                                    }
                                ]
                            }
                        ],
                    }
                ),
            ]
        )
        signature, signature_algorithm = self._sign(signed_attrs.dump())
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    {
                        "issuer_and_serial_number": {
                            "issuer": asn1_cert.issuer,
                            "serial_number": asn1_cert.serial_number,
                        }
                    }
                ),
                "digest_algorithm": {"algorithm": "sha256"},
                "signed_attrs": signed_attrs,
                "signature_algorithm": signature_algorithm,
                "signature": signature,
            }
        )
        certificates = [asn1_cert] + [
            asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
            for c in self.chain
        ]
        signed_data = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": [{"algorithm": "sha256"}],
                "encap_content_info": {
                    "content_type": "tst_info",
                    "content": core.ParsableOctetString(content),
                },
                "certificates": certificates,
                "signer_infos": [signer_info],
            }
        )
        return cms.ContentInfo({"content_type": "signed_data", "content": signed_data})

    def _sign(self, data: bytes) -> tuple[bytes, algos.SignedDigestAlgorithm]:
        key = self.key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            algorithm = algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
            return key.sign(data, ec.ECDSA(hashes.SHA256())), algorithm
        if isinstance(key, rsa.RSAPrivateKey):
            algorithm = algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"})
            return key.sign(data, padding.PKCS1v15(), hashes.SHA256()), algorithm
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data), algos.SignedDigestAlgorithm({"algorithm": "ed25519"})
        raise TypeError(f"unsupported TSA key type {type(key).__name__}")


def granted(reply_der: bytes) -> bool:
    """Whether a DER TimeStampResp (from `respond`) grants a token."""
    status = TimeStampResponse.load(reply_der)["status"]["status"].native
    return status in ("granted", "granted_with_mods")


def _rejection(text: str, failure: str) -> bytes:
    status = {"status": "rejection", "status_string": [text], "fail_info": {failure}}
    return TimeStampResponse({"status": status}).dump()


class _Handler(http.server.BaseHTTPRequestHandler):
    authority: TimeStampAuthority  # set on the per-server subclass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= _MAX_REQUEST_BYTES:
            self.send_error(413 if length else 411, "time-stamp request missing or too large")
            return
        body = self.authority.respond(self.rfile.read(length))
        self.send_response(200)
        self.send_header("Content-Type", REPLY_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # one stamp per clip: access logs would only be noise


class LoopbackTSA:
    """A running HTTP time-stamp server on 127.0.0.1; `url` is what signers point at."""

    def __init__(self, authority: TimeStampAuthority, port: int = 0) -> None:
        handler = type("TSAHandler", (_Handler,), {"authority": authority})
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="stillguard-tsa", daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/tsa"

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve_loopback(authority: TimeStampAuthority, port: int = 0) -> LoopbackTSA:
    """Start serving `authority` over HTTP on 127.0.0.1 (port 0: any free port)."""
    return LoopbackTSA(authority, port)
