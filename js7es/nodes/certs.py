"""A private CA and node certificates for mutual TLS between the nodes (`js7es certs`: cli/certs.py).

Every node is both a TLS server and a TLS client (a Controller serves the Cockpit and calls its
Agents), so one certificate per node carries ExtendedKeyUsage serverAuth *and* clientAuth, a subject
``CN=<node name>`` (the name a peer's user is mapped from, JS7's ``distinguished-names``) and a
SubjectAltName for each host the node is reached at.

Keys are EC P-256 (ECDSA with SHA-256): 128-bit security like RSA 3072, but a key is generated in
milliseconds rather than about a second (the standalone server creates several on first start, the
tests dozens), certificates and handshakes are smaller and faster, and every TLS 1.2/1.3 stack we
talk to (OpenSSL, browsers, the JVM of a JS7 peer) supports it.

Layout (file names are fixed, directories are chosen by the caller)::

    <ca dir>/ca.crt      the CA certificate, the trust anchor every node needs
    <ca dir>/ca.key      the CA private key (0600) — keep it where certificates are issued, not on nodes
    <node dir>/node.crt  the node's certificate, signed by the CA
    <node dir>/node.key  the node's private key (0600)
    <node dir>/ca.crt    a copy of the trust anchor, so a node directory is complete to deploy

`js7es standalone` keeps all of them under ``<data dir>/certs/`` (`ensure_standalone_certificates`).
Private keys are unencrypted PEM (PKCS#8): nodes start unattended, so the file permissions protect them.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

if TYPE_CHECKING:
    from js7es.nodes.tls import TlsConfig

CA_CERT = "ca.crt"
CA_KEY = "ca.key"
NODE_CERT = "node.crt"
NODE_KEY = "node.key"

STANDALONE_NODES = ("controller", "agent", "cockpit")
STANDALONE_HOSTS = ("127.0.0.1", "::1", "localhost")
# A standalone node certificate closer than this to its end is issued anew on start.
RENEW_BEFORE = datetime.timedelta(days=30)
# Tolerated clock difference between the issuing host and the nodes.
_BACKDATE = datetime.timedelta(minutes=5)

_NODE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


@dataclass(frozen=True, slots=True, kw_only=True)
class CaFiles:
    cert_file: Path
    key_file: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeFiles:
    cert_file: Path
    key_file: Path
    ca_file: Path

    def tls_config(self, *, require_client_cert: bool = True) -> TlsConfig:
        from js7es.nodes.tls import TlsConfig  # not on import: the CLI needs no uvicorn

        return TlsConfig(
            cert_file=self.cert_file,
            key_file=self.key_file,
            ca_file=self.ca_file,
            require_client_cert=require_client_cert,
        )


def create_ca(directory: Path, *, name: str = "js7es CA", days: int = 3650, force: bool = False) -> CaFiles:
    """Create a self-signed CA in `directory` (created with mode 0700 if missing).

    Raises FileExistsError if a CA (either file) is there already, unless `force`.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    if not name.strip():
        raise ValueError("the CA name must not be empty")
    files = CaFiles(cert_file=directory / CA_CERT, key_file=directory / CA_KEY)
    if not force:
        _refuse_existing(files.cert_file, files.key_file, what="a CA", hint="force (--force) replaces it")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_file(files.key_file, _key_pem(key), private=True)
    _write_file(files.cert_file, cert.public_bytes(serialization.Encoding.PEM), private=False)
    return files


def create_node_certificate(
    ca_dir: Path,
    out_dir: Path,
    node_name: str,
    hosts: Sequence[str],
    *,
    days: int = 825,
    force: bool = False,
) -> NodeFiles:
    """Issue a certificate for node `node_name`, reachable at `hosts`, signed by the CA in `ca_dir`.

    Writes node.crt, node.key and a copy of ca.crt to `out_dir`. The certificate ends at the latest
    with the CA's. Raises FileNotFoundError without a CA, FileExistsError if node files are there
    (unless `force`), ValueError for a bad name or host.
    """
    if not _NODE_NAME.fullmatch(node_name):
        raise ValueError(
            f"bad node name {node_name!r}: 1 to 64 letters, digits, '.', '_' or '-', beginning with a letter or digit"
        )
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    alt_names = subject_alt_names(hosts)
    ca_cert, ca_key = load_ca(ca_dir)
    files = NodeFiles(cert_file=out_dir / NODE_CERT, key_file=out_dir / NODE_KEY, ca_file=out_dir / CA_CERT)
    if not force:
        _refuse_existing(files.cert_file, files.key_file, what="a node certificate", hint="force (--force) replaces it")
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)

    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    not_after = min(now + datetime.timedelta(days=days), ca_cert.not_valid_after_utc)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_file(files.key_file, _key_pem(key), private=True)
    _write_file(files.cert_file, cert.public_bytes(serialization.Encoding.PEM), private=False)
    _write_file(files.ca_file, ca_cert.public_bytes(serialization.Encoding.PEM), private=False)
    return files


def ensure_standalone_certificates(
    data_dir: Path,
    nodes: Sequence[str] = STANDALONE_NODES,
    hosts: Sequence[str] = STANDALONE_HOSTS,
) -> dict[str, NodeFiles]:
    """The certificates of `js7es standalone`, created on first start: ``<data_dir>/certs/ca/`` and
    ``<data_dir>/certs/<node>/`` for each of `nodes`, valid for `hosts` (loopback).

    Idempotent: what is there and usable is kept. A node certificate is issued (again) when it is
    missing, not signed by the current CA, lacks one of `hosts`, or ends within `RENEW_BEFORE`.
    A half-present CA (one of ca.crt and ca.key) is an error, never silently replaced: every node
    trusts it.
    """
    certs_dir = data_dir / "certs"
    ca_dir = certs_dir / "ca"
    ca_present = [p.exists() for p in (ca_dir / CA_CERT, ca_dir / CA_KEY)]
    if not any(ca_present):
        create_ca(ca_dir, name="js7es standalone CA")
    elif not all(ca_present):
        raise FileNotFoundError(f"{ca_dir}: incomplete CA (ca.crt and ca.key belong together); restore or remove it")
    ca_cert, _ = load_ca(ca_dir)
    wanted = set(subject_alt_names(hosts))
    result = {}
    for node in nodes:
        node_dir = certs_dir / node
        files = NodeFiles(cert_file=node_dir / NODE_CERT, key_file=node_dir / NODE_KEY, ca_file=node_dir / CA_CERT)
        if not _usable(files, ca_cert, node, wanted):
            files = create_node_certificate(ca_dir, node_dir, node, hosts, force=True)
        result[node] = files
    return result


def subject_alt_names(hosts: Sequence[str]) -> list[x509.GeneralName]:
    """IP addresses as IPAddress, names as DNSName; duplicates dropped, order kept."""
    if not hosts:
        raise ValueError("a node certificate needs at least one host (an IP address or DNS name)")
    names: list[x509.GeneralName] = []
    for host in hosts:
        name = _alt_name(host)
        if name not in names:
            names.append(name)
    return names


def load_ca(ca_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_file, key_file = ca_dir / CA_CERT, ca_dir / CA_KEY
    if not cert_file.is_file() or not key_file.is_file():
        raise FileNotFoundError(
            f"{ca_dir}: no CA here (ca.crt and ca.key); create one with: js7es certs init-ca --dir {ca_dir}"
        )
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        raise ValueError(f"{ca_dir}: ca.key does not belong to ca.crt")
    return cert, key


def _alt_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if len(host) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise ValueError(f"bad host {host!r}: neither an IP address nor a DNS name")
    return x509.DNSName(host.rstrip(".").lower())


def _usable(files: NodeFiles, ca_cert: x509.Certificate, node: str, wanted: set[x509.GeneralName]) -> bool:
    if not (files.cert_file.is_file() and files.key_file.is_file() and files.ca_file.is_file()):
        return False
    if files.ca_file.read_bytes() != ca_cert.public_bytes(serialization.Encoding.PEM):
        return False
    try:
        cert = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
        cert.verify_directly_issued_by(ca_cert)
        key = serialization.load_pem_private_key(files.key_file.read_bytes(), password=None)
        alt_names = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    return (
        isinstance(key, ec.EllipticCurvePrivateKey)
        and key.public_key() == cert.public_key()
        and cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == node
        and wanted <= alt_names
        and cert.not_valid_after_utc - _now() > RENEW_BEFORE
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def _refuse_existing(*paths: Path, what: str, hint: str) -> None:
    existing = [str(p) for p in paths if p.exists()]
    if existing:
        raise FileExistsError(f"{', '.join(existing)}: {what} is there already; {hint}")


def _write_file(path: Path, data: bytes, *, private: bool) -> None:
    """Write atomically (temporary file, fsync, rename); a private file is 0600 from its creation on."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if not private:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
