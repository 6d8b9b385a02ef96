"""``js7es certs init-ca|node``: a private CA and node certificates (js7es/nodes/certs.py)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from js7es.nodes.cli.types import Subparsers, usage
from js7es.nodes.errors import CliError

if TYPE_CHECKING:
    from cryptography import x509


def register(sub: Subparsers) -> None:
    certs = sub.add_parser("certs", help="create a private CA and node certificates for mutual TLS")
    csub = certs.add_subparsers(metavar="ACTION")
    init_ca = csub.add_parser("init-ca", help="create a private CA (ca.crt, ca.key)")
    init_ca.add_argument("--dir", type=Path, required=True, help="directory for ca.crt and ca.key")
    init_ca.add_argument("--name", default="js7es CA", help="the CA's common name (default: js7es CA)")
    init_ca.add_argument("--days", type=int, default=3650, help="validity in days (default: 3650)")
    init_ca.add_argument("--force", action="store_true", help="replace an existing CA")
    init_ca.set_defaults(run=_run_init_ca)
    node = csub.add_parser("node", help="issue a node certificate (node.crt, node.key, ca.crt) signed by the CA")
    node.add_argument("name", help="the node's name, the certificate's CN")
    node.add_argument("--ca", type=Path, required=True, help="the CA directory (from init-ca)")
    node.add_argument("--out", type=Path, required=True, help="directory for node.crt, node.key and ca.crt")
    node.add_argument(
        "--host", action="append", required=True, help="IP address or DNS name the node is reached at (repeatable)"
    )
    node.add_argument("--days", type=int, default=825, help="validity in days (default: 825)")
    node.add_argument("--force", action="store_true", help="replace an existing node certificate")
    node.set_defaults(run=_run_node)
    certs.set_defaults(run=lambda _args: usage(certs))


def _run_init_ca(args: argparse.Namespace) -> int:
    from cryptography import x509

    from js7es.nodes.certs import create_ca

    try:
        files = create_ca(args.dir, name=args.name, days=args.days, force=args.force)
    except (FileExistsError, FileNotFoundError, ValueError) as e:
        raise CliError(str(e)) from None
    cert = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
    print(f"Wrote the CA certificate {files.cert_file} ({cert.subject.rfc4514_string()}, {_until(cert)})")
    print(f"Wrote the CA private key {files.key_file} (mode 0600; keep it off the nodes)")
    return 0


def _run_node(args: argparse.Namespace) -> int:
    from cryptography import x509

    from js7es.nodes.certs import create_node_certificate

    try:
        files = create_node_certificate(args.ca, args.out, args.name, args.host, days=args.days, force=args.force)
    except (FileExistsError, FileNotFoundError, ValueError) as e:
        raise CliError(str(e)) from None
    cert = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
    hosts = ", ".join(str(n.value) for n in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    print(f"Wrote the node certificate {files.cert_file} ({cert.subject.rfc4514_string()}; {hosts}; {_until(cert)})")
    print(f"Wrote the node private key {files.key_file} (mode 0600)")
    print(f"Wrote the CA certificate {files.ca_file} (the trust anchor)")
    return 0


def _until(cert: x509.Certificate) -> str:
    return f"valid until {cert.not_valid_after_utc:%Y-%m-%d}"
