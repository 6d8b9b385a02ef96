"""Mutual TLS on real uvicorn servers (in a thread) with real httpx clients."""

from __future__ import annotations

import hashlib
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from js7es.nodes.certs import create_ca, create_node_certificate, ensure_standalone_certificates
from js7es.nodes.tls import (
    PeerCertH11Protocol,
    TlsConfig,
    client_ssl_context,
    peer_of,
    require_tls_or_insecure,
    uvicorn_http_protocol,
    uvicorn_ssl_kwargs,
)

# What a refused TLS connection looks like to httpx: the handshake fails (ConnectError), or, with
# TLS 1.3, where the client finishes its side before the server has checked the client certificate,
# the server's alert or disconnect arrives when the response is read.
REFUSED = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)


@dataclass
class Echo:
    """A tiny app that answers what it saw of the peer; `requests` counts the requests it got."""

    requests: int = 0

    def app(self) -> Starlette:
        async def peer(request: Request) -> JSONResponse:
            self.requests += 1
            return JSONResponse(
                {
                    "in_scope": "js7es.peer" in request.scope,
                    "peer": request.scope.get("js7es.peer"),
                    "peer_of": peer_of(request.scope),
                    "client_port": request.client.port if request.client else None,
                }
            )

        return Starlette(routes=[Route("/peer", peer)])


@contextmanager
def serve(tls: TlsConfig | None, echo: Echo | None = None, *, http: type | None = None) -> Iterator[str]:
    """Run `echo` on a real uvicorn on 127.0.0.1 (a free port); yields the base URL."""
    config = uvicorn.Config(
        (echo or Echo()).app(),
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_level="critical",
        timeout_graceful_shutdown=2,
        http=http or uvicorn_http_protocol(tls),
        **(uvicorn_ssl_kwargs(tls) if tls else {}),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
        time.sleep(0.002)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        assert not thread.is_alive(), "uvicorn did not stop"


@dataclass(frozen=True)
class Pki:
    server: TlsConfig  # "controller"
    client: TlsConfig  # "agent"
    other_client: TlsConfig  # "cockpit"
    rogue_client: TlsConfig  # CN=agent, but from another CA
    rogue_ca_file: Path
    wrong_host_server: TlsConfig  # our CA, but only for example.org


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    root = tmp_path_factory.mktemp("pki")
    # The standalone certificates are the ones under test here: the same as `js7es standalone` uses.
    nodes = ensure_standalone_certificates(root / "data")
    ca_dir = root / "data" / "certs" / "ca"
    rogue = create_ca(root / "rogue-ca", name="rogue CA")
    rogue_agent = create_node_certificate(root / "rogue-ca", root / "rogue-agent", "agent", ["127.0.0.1"])
    wrong_host = create_node_certificate(ca_dir, root / "wrong-host", "controller", ["example.org"])
    return Pki(
        server=nodes["controller"].tls_config(),
        client=nodes["agent"].tls_config(),
        other_client=nodes["cockpit"].tls_config(),
        rogue_client=rogue_agent.tls_config(),
        rogue_ca_file=rogue.cert_file,
        wrong_host_server=wrong_host.tls_config(),
    )


def client(tls: TlsConfig) -> httpx.Client:
    return httpx.Client(verify=client_ssl_context(tls), timeout=10)


def trusting_only(ca_file: Path) -> httpx.Client:
    """A client that trusts `ca_file` and has no certificate of its own."""
    context = ssl.create_default_context(cafile=str(ca_file))
    return httpx.Client(verify=context, timeout=10)


def fingerprint(cert_file: Path) -> str:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def test_a_node_certificate_gets_in_and_the_server_sees_its_common_name(pki: Pki) -> None:
    with serve(pki.server) as url, client(pki.client) as c:
        response = c.get(f"{url}/peer")
    assert response.status_code == 200
    expected = {"commonName": "agent", "subject": "CN=agent", "sha256": fingerprint(pki.client.cert_file)}
    assert response.json()["peer"] == expected
    assert response.json()["peer_of"] == expected


def test_a_client_without_certificate_is_refused(pki: Pki) -> None:
    echo = Echo()
    with serve(pki.server, echo) as url, trusting_only(pki.server.ca_file) as c, pytest.raises(REFUSED):
        c.get(f"{url}/peer")
    assert echo.requests == 0


def test_a_client_certificate_from_another_ca_is_refused(pki: Pki) -> None:
    echo = Echo()
    with serve(pki.server, echo) as url, client(pki.rogue_client) as c, pytest.raises(REFUSED):
        # The rogue client trusts the rogue CA only and would refuse our server first: let it trust ours.
        c.get(f"{url}/peer")
    assert echo.requests == 0
    rogue_trusting_us = ssl.create_default_context(cafile=str(pki.server.ca_file))
    rogue_trusting_us.load_cert_chain(str(pki.rogue_client.cert_file), str(pki.rogue_client.key_file))
    with (
        serve(pki.server, echo) as url,
        httpx.Client(verify=rogue_trusting_us, timeout=10) as c,
        pytest.raises(REFUSED),
    ):
        c.get(f"{url}/peer")
    assert echo.requests == 0


def test_a_client_that_does_not_trust_our_ca_refuses_the_server(pki: Pki) -> None:
    verify_failed = "CERTIFICATE_VERIFY_FAILED"
    with serve(pki.server) as url:
        with trusting_only(pki.rogue_ca_file) as c, pytest.raises(httpx.ConnectError, match=verify_failed):
            c.get(f"{url}/peer")
        with httpx.Client(timeout=10) as c, pytest.raises(httpx.ConnectError, match=verify_failed):
            c.get(f"{url}/peer")  # the system's trust store does not know our private CA


def test_the_host_name_is_checked(pki: Pki) -> None:
    # 127.0.0.1 matching the IPAddress SubjectAltName is what lets every other test in here connect.
    with (
        serve(pki.wrong_host_server) as url,
        client(pki.client) as c,
        pytest.raises(httpx.ConnectError, match="IP address mismatch"),
    ):
        c.get(f"{url}/peer")


def test_keep_alive_every_request_of_a_connection_sees_its_peer(pki: Pki) -> None:
    with serve(pki.server) as url, client(pki.client) as agent, client(pki.other_client) as cockpit:
        first = agent.get(f"{url}/peer").json()
        other = cockpit.get(f"{url}/peer").json()  # a second connection, open at the same time
        second = agent.get(f"{url}/peer").json()
    assert first["client_port"] == second["client_port"], "the agent's two requests share one connection"
    assert first["peer"]["commonName"] == second["peer"]["commonName"] == "agent"
    assert other["client_port"] != first["client_port"]
    assert other["peer"]["commonName"] == "cockpit"


def test_optional_client_certificates_let_a_browser_in_without_peer(pki: Pki) -> None:
    cockpit = TlsConfig.from_dir(pki.other_client.cert_file.parent, require_client_cert=False)
    echo = Echo()
    with serve(cockpit, echo) as url:
        with trusting_only(cockpit.ca_file) as browser:
            anonymous = browser.get(f"{url}/peer")
        with client(pki.client) as agent:
            known = agent.get(f"{url}/peer")
        with client(pki.rogue_client) as rogue, pytest.raises(REFUSED):
            rogue.get(f"{url}/peer")  # a certificate, if sent, must still be ours
    assert anonymous.status_code == 200
    assert anonymous.json()["in_scope"] is False
    assert anonymous.json()["peer"] is None
    assert anonymous.json()["peer_of"] is None
    assert known.json()["peer"]["commonName"] == "agent"
    assert echo.requests == 2


def test_plain_http_only_when_explicitly_insecure(pki: Pki) -> None:
    with pytest.raises(ValueError, match="plain HTTP explicitly"):
        require_tls_or_insecure(None, insecure=False)
    with pytest.raises(ValueError, match="choose one"):
        require_tls_or_insecure(pki.server, insecure=True)
    assert require_tls_or_insecure(None, insecure=True) is None
    assert require_tls_or_insecure(pki.server, insecure=False) is pki.server
    assert uvicorn_http_protocol(None) is H11Protocol
    assert uvicorn_http_protocol(pki.server) is PeerCertH11Protocol


def test_the_peer_protocol_on_plain_http_has_no_peer() -> None:
    with serve(None, http=PeerCertH11Protocol) as url, httpx.Client(timeout=10) as c:
        response = c.get(f"{url}/peer")
    assert response.status_code == 200
    assert response.json()["in_scope"] is False


def test_server_context_demands_tls_1_2_and_the_client_certificate(pki: Pki) -> None:
    for require, mode in ((True, ssl.CERT_REQUIRED), (False, ssl.CERT_OPTIONAL)):
        tls = TlsConfig.from_dir(pki.server.cert_file.parent, require_client_cert=require)
        config = uvicorn.Config(lambda: None, **uvicorn_ssl_kwargs(tls))
        config.load()
        assert config.ssl is not None
        assert config.ssl.verify_mode == mode
        assert config.ssl.minimum_version == ssl.TLSVersion.TLSv1_2
    context = client_ssl_context(pki.client)
    assert context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_from_dir_names_missing_files(tmp_path: Path, pki: Pki) -> None:
    with pytest.raises(FileNotFoundError, match=r"node\.crt.*node\.key.*ca\.crt"):
        TlsConfig.from_dir(tmp_path)
    node_dir = pki.client.cert_file.parent
    ca_dir = node_dir.parent / "ca"
    assert TlsConfig.from_dir(node_dir).ca_file == node_dir / "ca.crt"
    assert TlsConfig.from_dir(node_dir, ca_dir).ca_file == ca_dir / "ca.crt"


def test_peer_of_without_certificate() -> None:
    assert peer_of({"type": "http"}) is None
    peer = {"commonName": "agent", "subject": "CN=agent", "sha256": "00"}
    assert peer_of({"type": "http", "js7es.peer": peer}) == peer
