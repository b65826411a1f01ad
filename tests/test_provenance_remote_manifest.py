"""Remote manifests (issue 15, finding 10): never fetched unless the operator allows the host.

A file may name the URL of its manifest store instead of embedding it. Fetching that URL on the
public verify endpoint would let anyone make the server send requests of their choosing, so the
report names the URL and says it was not fetched; an allowlisted host is fetched within a timeout
and a size limit.
"""

from __future__ import annotations

import http.server
import io
import pathlib
import threading
from collections.abc import Iterator

import c2pa
import pytest

from provenance.authority import Authority
from provenance.verify import verify_file
from stillguard.cli import main
from tests.support import signed_media
from tests.support.signed_media import jpeg_bytes

authority = signed_media.authority
provenance_dir = signed_media.provenance_dir

_CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"


class ManifestHost:
    """A loopback HTTP server that serves one manifest store and counts the requests."""

    def __init__(self) -> None:
        self.store, self.requests = b"", []
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/c2pa")
                self.send_header("Content-Length", str(len(host.store)))
                self.end_headers()
                self.wfile.write(host.store)

            def log_message(self, *_: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.netloc = f"127.0.0.1:{self.server.server_address[1]}"
        self.url = f"http://{self.netloc}/manifests/photo.c2pa"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def host() -> Iterator[ManifestHost]:
    served = ManifestHost()
    yield served
    served.server.shutdown()


@pytest.fixture(scope="module")
def remote_photo(
    authority: Authority, host: ManifestHost, provenance_dir: pathlib.Path
) -> pathlib.Path:
    """A photo signed with its manifest store kept at `host.url`, not embedded."""
    definition = {
        "claim_generator_info": [{"name": "camera", "version": "1"}],
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": _CAPTURE}]},
            }
        ],
    }
    out = io.BytesIO()
    with c2pa.Builder(definition) as builder, authority.signer().c2pa_signer() as signer:
        builder.set_no_embed()
        builder.set_remote_url(host.url)
        host.store = builder.sign(signer, "image/jpeg", io.BytesIO(jpeg_bytes()), out)
    path = provenance_dir / "remote.jpg"
    path.write_bytes(out.getvalue())
    return path


def test_a_remote_manifest_is_reported_with_its_url_and_never_fetched(
    authority: Authority, host: ManifestHost, remote_photo: pathlib.Path
) -> None:
    before = len(host.requests)
    report = verify_file(remote_photo, authority.trust_anchors())
    assert report.status == "remote_manifest"
    assert report.remote_url == host.url and host.url in report.message
    assert len(host.requests) == before


@pytest.fixture
def cli(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """`stillguard verify --json` in a throwaway home: (exit status, its report)."""
    import json

    monkeypatch.setenv("STILLGUARD_HOME", str(tmp_path))
    monkeypatch.setenv("STILLGUARD_KEY_PASSPHRASE", "test-passphrase")

    def verify(path: pathlib.Path) -> tuple[int, dict]:
        code = main(["verify", str(path), "--json"])
        return code, json.loads(capsys.readouterr().out)

    return verify


def test_verify_exits_non_zero_for_a_remote_manifest_it_did_not_fetch(
    host: ManifestHost, remote_photo: pathlib.Path, cli
) -> None:
    before = len(host.requests)
    code, report = cli(remote_photo)
    assert code != 0 and report["status"] == "remote_manifest"
    assert report["remote_url"] == host.url
    assert len(host.requests) == before


def test_an_allowlisted_host_is_fetched_and_its_manifest_verified(
    host: ManifestHost, remote_photo: pathlib.Path, monkeypatch: pytest.MonkeyPatch, cli
) -> None:
    monkeypatch.setenv("STILLGUARD_REMOTE_MANIFEST_ALLOW", host.netloc)
    before = len(host.requests)
    code, report = cli(remote_photo)
    # Signed by the session's test authority, not this home's: read, judged, not trusted.
    assert code != 0 and report["status"] == "untrusted", report
    assert report["remote_url"] == host.url
    assert len(host.requests) == before + 1


def test_an_allowlisted_manifest_over_the_size_limit_is_not_read(
    host: ManifestHost, remote_photo: pathlib.Path, monkeypatch: pytest.MonkeyPatch, cli
) -> None:
    monkeypatch.setenv("STILLGUARD_REMOTE_MANIFEST_ALLOW", host.netloc)
    monkeypatch.setenv("STILLGUARD_REMOTE_MANIFEST_MAX_BYTES", "1000")
    code, report = cli(remote_photo)
    assert code != 0 and report["status"] == "remote_manifest"
    assert "STILLGUARD_REMOTE_MANIFEST_MAX_BYTES" in report["message"]
