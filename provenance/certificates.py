"""X.509 material for the authority: key generation, the CA hierarchy and C2PA's certificate profile.

C2PA (spec 2.x, "Certificate profile") refuses claim-signing certificates unless:
  * the leaf is an end entity (basicConstraints cA=false) with keyUsage digitalSignature;
  * extendedKeyUsage is present, without anyExtendedKeyUsage, and names emailProtection
    (c2pa-rs accepts documentSigning or the C2PA claim-signing EKU only together with it, see
    DEPENDENCIES.md), so we give both emailProtection and documentSigning;
  * it carries an authorityKeyIdentifier and is not self-signed;
  * its key is EC P-256/P-384, Ed25519 or RSA >= 2048 bits, matching the COSE algorithm.
A time-stamping certificate has the same shape with a single, critical timeStamping EKU (RFC 3161).
CA certificates carry keyCertSign + cRLSign and a path length.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provenance.errors import CertificateProfileError

SigningAlg = Literal["es256", "es384", "ps256", "ed25519"]
SIGNING_ALGS: tuple[SigningAlg, ...] = ("es256", "es384", "ps256", "ed25519")
PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
PublicKey: TypeAlias = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey

DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
# EKU of the certificate that signs audit-chain checkpoints, and nothing else: an arc under the
# example-enterprise branch, local to Stillguard (beside the TSA policy OID 1.3.6.1.4.1.32473.7.1).
AUDIT_CHECKPOINT_SIGNING = x509.ObjectIdentifier("1.3.6.1.4.1.32473.7.2")

ORGANIZATION = "Stillguard"
_CLOCK_SKEW = dt.timedelta(minutes=5)


def new_private_key(alg: SigningAlg) -> PrivateKey:
    """Generate a private key of the type the C2PA algorithm `alg` signs with."""
    if alg == "es256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "es384":
        return ec.generate_private_key(ec.SECP384R1())
    if alg == "ps256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise CertificateProfileError(
        f"unsupported signing algorithm {alg!r}; use one of {SIGNING_ALGS}"
    )


def _hash_for(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384 | None:
    # Ed25519 signs without a separate digest; everything else uses SHA-256 (SHA-384 for P-384).
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def distinguished_name(common_name: str) -> x509.Name:
    """Subject/issuer name for a certificate of this authority."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
        ]
    )


def display_name(name: x509.Name) -> str:
    """Name as verify reports print it: "CN=..., O=..." in the certificate's own order."""
    return ", ".join(attr.rfc4514_string() for attr in name)


def _key_usage(*, digital_signature: bool, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _issue(
    key: PrivateKey | PublicKey,
    common_name: str,
    issuer: tuple[x509.Certificate, PrivateKey] | None,
    *,
    days: float,
    path_length: int | None,
    now: dt.datetime | None = None,
    ekus: tuple[list[x509.ObjectIdentifier], bool] | None = None,
) -> x509.Certificate:
    """Issue a certificate for `key`: a CA when `path_length` is set, else an end entity.

    `key` may be a public key (a key held in a KMS). `issuer` None means self-signed (a root,
    which needs the private key). `ekus` is (usages, critical) for end entities.
    """
    public_key = key.public_key() if isinstance(key, PrivateKey) else key
    subject = distinguished_name(common_name)
    start = now or dt.datetime.now(dt.UTC)
    not_before, not_after = start - _CLOCK_SKEW, start + dt.timedelta(days=days)
    if issuer is None:
        if not isinstance(key, PrivateKey):
            raise CertificateProfileError("a self-signed root needs its private key")
        issuer_name, signing_key = subject, key
    else:
        issuer_cert, signing_key = issuer
        issuer_name = issuer_cert.subject
        not_after = min(not_after, issuer_cert.not_valid_after_utc)
    is_ca = path_length is not None
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=path_length), critical=True)
        .add_extension(_key_usage(digital_signature=not is_ca, cert_sign=is_ca), critical=True)
    )
    if ekus is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ekus[0]), critical=ekus[1])
    return builder.sign(signing_key, _hash_for(signing_key))


def make_root(key: PrivateKey, common_name: str, *, days: float = 365 * 20) -> x509.Certificate:
    """Self-signed root CA that may issue one level of intermediates."""
    return _issue(key, common_name, None, days=days, path_length=1)


def make_intermediate(
    key: PrivateKey,
    common_name: str,
    issuer_cert: x509.Certificate,
    issuer_key: PrivateKey,
    *,
    days: float = 365 * 10,
) -> x509.Certificate:
    """Intermediate CA under `issuer_cert` that issues end-entity certificates only."""
    return _issue(key, common_name, (issuer_cert, issuer_key), days=days, path_length=0)


def make_end_entity(
    key: PrivateKey | PublicKey,
    common_name: str,
    issuer_cert: x509.Certificate,
    issuer_key: PrivateKey,
    *,
    purpose: Literal["claim_signing", "time_stamping", "audit_checkpoint"],
    days: float = 365,
    now: dt.datetime | None = None,
) -> x509.Certificate:
    """End-entity certificate for signing C2PA claims, RFC 3161 time stamps or audit checkpoints."""
    if purpose == "claim_signing":
        ekus = ([ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING], False)
    elif purpose == "audit_checkpoint":
        # One critical EKU, so this key can sign checkpoints and cannot pass as a claim signer.
        ekus = ([AUDIT_CHECKPOINT_SIGNING], True)
    else:
        # RFC 3161 2.3: the TSA certificate has exactly one EKU, timeStamping, marked critical.
        ekus = ([ExtendedKeyUsageOID.TIME_STAMPING], True)
    return _issue(
        key,
        common_name,
        (issuer_cert, issuer_key),
        days=days,
        path_length=None,
        now=now,
        ekus=ekus,
    )


def check_claim_signing_profile(cert: x509.Certificate) -> None:
    """Raise CertificateProfileError naming the first C2PA profile rule `cert` breaks."""
    subject = cert.subject.rfc4514_string()

    def fail(rule: str) -> None:
        raise CertificateProfileError(
            f"signing certificate {subject} would be refused by C2PA validators: {rule}"
        )

    if cert.version != x509.Version.v3:
        fail("it must be an X.509 v3 certificate")
    if cert.subject == cert.issuer:
        fail("it is self-signed; sign it with an intermediate CA")
    extensions = {ext.oid: ext.value for ext in cert.extensions}
    basic = extensions.get(x509.oid.ExtensionOID.BASIC_CONSTRAINTS)
    if isinstance(basic, x509.BasicConstraints) and basic.ca:
        fail("basicConstraints says it is a CA; a claim signer must be an end entity")
    usage = extensions.get(x509.oid.ExtensionOID.KEY_USAGE)
    if not isinstance(usage, x509.KeyUsage) or not usage.digital_signature:
        fail("keyUsage must include digitalSignature")
    eku = extensions.get(x509.oid.ExtensionOID.EXTENDED_KEY_USAGE)
    if not isinstance(eku, x509.ExtendedKeyUsage):
        fail("extendedKeyUsage is missing; add emailProtection and documentSigning")
    assert isinstance(eku, x509.ExtendedKeyUsage)
    if ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in eku:
        fail("extendedKeyUsage must not contain anyExtendedKeyUsage")
    if ExtendedKeyUsageOID.EMAIL_PROTECTION not in eku:
        fail("extendedKeyUsage must include emailProtection (c2pa-rs refuses it otherwise)")
    if x509.oid.ExtensionOID.AUTHORITY_KEY_IDENTIFIER not in extensions:
        fail("authorityKeyIdentifier is missing")
    public_key = cert.public_key()
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < 2048:
        fail("RSA keys must be at least 2048 bits")
    if isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.name not in (
        "secp256r1",
        "secp384r1",
        "secp521r1",
    ):
        fail(f"elliptic curve {public_key.curve.name} is not allowed; use P-256 or P-384")
    if not isinstance(
        public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
    ):
        fail("its key type is not one C2PA allows (EC, RSA or Ed25519)")


def cert_pem(cert: x509.Certificate) -> str:
    """PEM text of one certificate."""
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def load_certs(pem: str | bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, in order."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    return x509.load_pem_x509_certificates(data) if data.strip() else []


def encrypt_key(key: PrivateKey, passphrase: str) -> bytes:
    """PKCS#8 PEM of `key`, encrypted with the passphrase (BestAvailableEncryption)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode("utf-8")),
    )


def plain_key_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM, only ever held in memory to hand to the signing library."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
