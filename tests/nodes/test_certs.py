"""The private CA and node certificates (js7es.nodes.certs) and `js7es certs` as a user runs it."""

from __future__ import annotations

import datetime
import ipaddress
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from js7es.nodes.certs import (
    create_ca,
    create_node_certificate,
    ensure_standalone_certificates,
)
from js7es.nodes.tls import TlsConfig, client_ssl_context
from tests.nodes.test_tls import serve


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def js7es(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "js7es.nodes.cli", *map(str, args)], capture_output=True, text=True, timeout=120
    )


def test_create_ca(tmp_path: Path) -> None:
    files = create_ca(tmp_path / "ca", name="Test CA", days=100)
    assert (files.cert_file, files.key_file) == (tmp_path / "ca" / "ca.crt", tmp_path / "ca" / "ca.key")
    assert mode(files.key_file) == 0o600
    assert mode(files.cert_file) == 0o644
    cert = load(files.cert_file)
    assert cert.subject.rfc4514_string() == "CN=Test CA" == cert.issuer.rfc4514_string()
    cert.verify_directly_issued_by(cert)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    key_usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert key_usage.key_cert_sign and key_usage.crl_sign
    public_key = cert.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    assert public_key.curve.name == "secp256r1"
    lifetime = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(days=99) < lifetime <= datetime.timedelta(days=100)


def test_create_ca_does_not_overwrite_unless_forced(tmp_path: Path) -> None:
    files = create_ca(tmp_path)
    before = files.cert_file.read_bytes(), files.key_file.read_bytes()
    with pytest.raises(FileExistsError, match="a CA is there already"):
        create_ca(tmp_path)
    files.cert_file.unlink()  # half a CA is still a CA: the key alone must not be replaced silently
    with pytest.raises(FileExistsError):
        create_ca(tmp_path)
    assert files.key_file.read_bytes() == before[1]
    create_ca(tmp_path, force=True)
    assert files.key_file.read_bytes() != before[1]
    assert mode(files.key_file) == 0o600


def test_node_certificate(tmp_path: Path) -> None:
    ca = create_ca(tmp_path / "ca")
    files = create_node_certificate(
        tmp_path / "ca", tmp_path / "agent", "agent-1", ["127.0.0.1", "::1", "Agent.Example.com", "127.0.0.1"]
    )
    assert files.cert_file == tmp_path / "agent" / "node.crt"
    assert mode(files.key_file) == 0o600
    assert files.ca_file.read_bytes() == ca.cert_file.read_bytes()
    cert = load(files.cert_file)
    cert.verify_directly_issued_by(load(ca.cert_file))
    assert cert.subject.rfc4514_string() == "CN=agent-1"
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "agent-1"
    alt_names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert alt_names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert alt_names.get_values_for_type(x509.DNSName) == ["agent.example.com"]
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    lifetime = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(days=824) < lifetime <= datetime.timedelta(days=825)


def test_a_node_certificate_ends_with_its_ca(tmp_path: Path) -> None:
    ca = create_ca(tmp_path / "ca", days=10)
    files = create_node_certificate(tmp_path / "ca", tmp_path / "node", "node", ["localhost"], days=825)
    assert load(files.cert_file).not_valid_after_utc == load(ca.cert_file).not_valid_after_utc


@pytest.mark.parametrize("host", ["", "bad host", "-x.example", "a..b", "1.2.3.999", "x" * 64 + ".example", "ex_ample"])
def test_bad_hosts_are_refused(tmp_path: Path, host: str) -> None:
    create_ca(tmp_path / "ca")
    with pytest.raises(ValueError, match="bad host"):
        create_node_certificate(tmp_path / "ca", tmp_path / "node", "node", ["127.0.0.1", host])
    assert not (tmp_path / "node").exists()


def test_bad_node_names_and_missing_hosts_are_refused(tmp_path: Path) -> None:
    create_ca(tmp_path / "ca")
    for name in ("", "a/b", "CN=x,O=y", "-x", "x" * 65):
        with pytest.raises(ValueError, match="bad node name"):
            create_node_certificate(tmp_path / "ca", tmp_path / "node", name, ["127.0.0.1"])
    with pytest.raises(ValueError, match="at least one host"):
        create_node_certificate(tmp_path / "ca", tmp_path / "node", "node", [])


def test_node_certificate_needs_a_ca_and_does_not_overwrite(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no CA here"):
        create_node_certificate(tmp_path / "no-ca", tmp_path / "node", "node", ["127.0.0.1"])
    create_ca(tmp_path / "ca")
    files = create_node_certificate(tmp_path / "ca", tmp_path / "node", "node", ["127.0.0.1"])
    before = files.key_file.read_bytes()
    with pytest.raises(FileExistsError, match="a node certificate is there already"):
        create_node_certificate(tmp_path / "ca", tmp_path / "node", "node", ["127.0.0.1"])
    assert files.key_file.read_bytes() == before
    create_node_certificate(tmp_path / "ca", tmp_path / "node", "node", ["127.0.0.1"], force=True)
    assert files.key_file.read_bytes() != before


def test_a_ca_key_of_another_ca_is_noticed(tmp_path: Path) -> None:
    create_ca(tmp_path / "a")
    create_ca(tmp_path / "b")
    (tmp_path / "a" / "ca.key").write_bytes((tmp_path / "b" / "ca.key").read_bytes())
    with pytest.raises(ValueError, match="does not belong"):
        create_node_certificate(tmp_path / "a", tmp_path / "node", "node", ["127.0.0.1"])


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_standalone_certificates_are_created_once(tmp_path: Path) -> None:
    nodes = ensure_standalone_certificates(tmp_path)
    assert sorted(nodes) == ["agent", "cockpit", "controller"]
    certs = tmp_path / "certs"
    assert sorted(snapshot(certs)) == sorted(
        ["ca/ca.crt", "ca/ca.key"] + [f"{n}/{f}" for n in nodes for f in ("node.crt", "node.key", "ca.crt")]
    )
    ca = load(certs / "ca" / "ca.crt")
    for name, files in nodes.items():
        cert = load(files.cert_file)
        cert.verify_directly_issued_by(ca)
        assert cert.subject.rfc4514_string() == f"CN={name}"
        alt_names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert set(alt_names) == {
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
            x509.DNSName("localhost"),
        }
        assert mode(files.key_file) == 0o600

    before = snapshot(certs)
    assert ensure_standalone_certificates(tmp_path) == nodes
    assert snapshot(certs) == before, "a second start changes nothing"

    (certs / "agent" / "node.crt").unlink()
    ensure_standalone_certificates(tmp_path)
    after = snapshot(certs)
    assert after["agent/node.crt"] != before["agent/node.crt"]
    assert after["agent/node.key"] != before["agent/node.key"]
    assert {k: v for k, v in after.items() if not k.startswith("agent/")} == {
        k: v for k, v in before.items() if not k.startswith("agent/")
    }


def test_standalone_certificates_follow_a_new_ca(tmp_path: Path) -> None:
    ensure_standalone_certificates(tmp_path, nodes=["controller"])
    create_ca(tmp_path / "certs" / "ca", force=True)
    files = ensure_standalone_certificates(tmp_path, nodes=["controller"])["controller"]
    new_ca = load(tmp_path / "certs" / "ca" / "ca.crt")
    load(files.cert_file).verify_directly_issued_by(new_ca)
    assert load(files.ca_file) == new_ca


def test_standalone_certificates_refuse_half_a_ca(tmp_path: Path) -> None:
    ensure_standalone_certificates(tmp_path, nodes=["controller"])
    (tmp_path / "certs" / "ca" / "ca.key").unlink()
    with pytest.raises(FileNotFoundError, match="incomplete CA"):
        ensure_standalone_certificates(tmp_path)


# ---- js7es certs, a subprocess each ----


def test_cli_creates_a_ca_and_node_certificates_that_work(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ca"
    init = js7es("certs", "init-ca", "--dir", ca_dir)
    assert init.returncode == 0, init.stderr
    assert str(ca_dir / "ca.crt") in init.stdout
    assert str(ca_dir / "ca.key") in init.stdout
    for name in ("controller", "agent"):
        node = js7es("certs", "node", name, "--ca", ca_dir, "--out", tmp_path / name, "--host", "127.0.0.1")
        assert node.returncode == 0, node.stderr
        assert str(tmp_path / name / "node.crt") in node.stdout
        assert f"CN={name}" in node.stdout
        assert mode(tmp_path / name / "node.key") == 0o600

    # They work: a real server with the controller's, a real client with the agent's.
    with (
        serve(TlsConfig.from_dir(tmp_path / "controller", ca_dir)) as url,
        httpx.Client(verify=client_ssl_context(TlsConfig.from_dir(tmp_path / "agent")), timeout=10) as client,
    ):
        response = client.get(f"{url}/peer")
    assert response.status_code == 200
    assert response.json()["peer"]["commonName"] == "agent"


def assert_clean_failure(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("js7es: ")
    assert message in result.stderr


def test_cli_refuses_to_overwrite(tmp_path: Path) -> None:
    assert js7es("certs", "init-ca", "--dir", tmp_path / "ca").returncode == 0
    key = (tmp_path / "ca" / "ca.key").read_bytes()
    assert_clean_failure(js7es("certs", "init-ca", "--dir", tmp_path / "ca"), "a CA is there already")
    assert (tmp_path / "ca" / "ca.key").read_bytes() == key

    node = ("certs", "node", "agent", "--ca", tmp_path / "ca", "--out", tmp_path / "agent", "--host", "localhost")
    assert js7es(*node).returncode == 0
    node_key = (tmp_path / "agent" / "node.key").read_bytes()
    assert_clean_failure(js7es(*node), "a node certificate is there already")
    assert (tmp_path / "agent" / "node.key").read_bytes() == node_key

    assert js7es(*node, "--force").returncode == 0
    assert (tmp_path / "agent" / "node.key").read_bytes() != node_key


def test_cli_fails_cleanly(tmp_path: Path) -> None:
    node = ("certs", "node", "agent", "--out", tmp_path / "agent")
    assert_clean_failure(js7es(*node, "--ca", tmp_path / "missing", "--host", "127.0.0.1"), "no CA here")
    assert js7es("certs", "init-ca", "--dir", tmp_path / "ca").returncode == 0
    assert_clean_failure(js7es(*node, "--ca", tmp_path / "ca", "--host", "not a host"), "bad host 'not a host'")
    assert not (tmp_path / "agent").exists()
