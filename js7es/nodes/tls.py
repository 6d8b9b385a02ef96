"""Mutual TLS for every link between nodes: the server side (uvicorn), the client side (httpx) and the
peer's identity in the ASGI scope.

A node runs with a `TlsConfig` (its certificate and key, and the CA it trusts) or, only when asked
for explicitly, without TLS (`require_tls_or_insecure`). The server demands a client certificate
signed by the CA (`ssl.CERT_REQUIRED`); the Cockpit, which browsers reach without one, uses
``require_client_cert=False`` (`ssl.CERT_OPTIONAL`: a certificate, if sent, must still verify).

uvicorn does not pass the client certificate to the application, so `PeerCertH11Protocol` reads it
from the connection once (it is the same for every request on a keep-alive connection) and puts
``scope["js7es.peer"] = {"commonName", "subject", "sha256"}`` into the scope of each request on it
(`PeerCertWebSocketProtocol` likewise for a connection upgraded to a WebSocket); js7es.nodes.http.auth
maps it to a user. Use::

    config = uvicorn.Config(
        app, **uvicorn_ssl_kwargs(tls), http=uvicorn_http_protocol(tls), ws=uvicorn_ws_protocol(tls)
    )
    client = HttpOptions(verify=client_ssl_context(tls), timeout_s=10).sync_client(url)  # js7es.nodes.client.http
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from cryptography import x509
from cryptography.x509.oid import NameOID
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

PEER_SCOPE_KEY = "js7es.peer"
MINIMUM_TLS_VERSION = ssl.TLSVersion.TLSv1_2


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsConfig:
    cert_file: Path
    key_file: Path
    ca_file: Path
    # False for a server that browsers reach without a client certificate (the Cockpit).
    require_client_cert: bool = True

    @classmethod
    def from_dir(cls, node_dir: Path, ca_dir: Path | None = None, *, require_client_cert: bool = True) -> TlsConfig:
        """node.crt and node.key from `node_dir`; ca.crt from `ca_dir`, or the copy in `node_dir`.

        Raises FileNotFoundError naming every missing file, so that a node fails on start, not on
        its first connection.
        """
        tls = cls(
            cert_file=node_dir / "node.crt",
            key_file=node_dir / "node.key",
            ca_file=(ca_dir or node_dir) / "ca.crt",
            require_client_cert=require_client_cert,
        )
        missing = [str(p) for p in (tls.cert_file, tls.key_file, tls.ca_file) if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"TLS files missing: {', '.join(missing)} (create them with: js7es certs)")
        return tls


def require_tls_or_insecure(tls: TlsConfig | None, insecure: bool) -> TlsConfig | None:
    """Check on a node's start that plain HTTP is an explicit choice; returns `tls` (None: plain HTTP)."""
    if tls is None and not insecure:
        raise ValueError(
            "no TLS configuration: give the node a certificate, key and CA (js7es certs), "
            "or choose plain HTTP explicitly (insecure)"
        )
    if tls is not None and insecure:
        raise ValueError("both a TLS configuration and insecure (plain HTTP) given; choose one")
    return tls


def uvicorn_ssl_kwargs(tls: TlsConfig) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.Config`: our certificate, the CA for client certificates,
    CERT_REQUIRED (or CERT_OPTIONAL) and TLS 1.2 at least."""
    return {
        "ssl_certfile": str(tls.cert_file),
        "ssl_keyfile": str(tls.key_file),
        "ssl_ca_certs": str(tls.ca_file),
        "ssl_cert_reqs": ssl.CERT_REQUIRED if tls.require_client_cert else ssl.CERT_OPTIONAL,
        "ssl_context_factory": _server_context,
    }


def _server_context(config: Config, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    context = default()
    context.minimum_version = MINIMUM_TLS_VERSION
    return context


def client_ssl_context(tls: TlsConfig) -> ssl.SSLContext:
    """For httpx (`verify=`): trust only our CA, check the server's host name against its
    SubjectAltNames, present our certificate."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(tls.ca_file))
    context.minimum_version = MINIMUM_TLS_VERSION
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
    return context


class PeerCert(TypedDict):
    commonName: str
    subject: str  # RFC 4514, e.g. "CN=agent-1,O=example"
    sha256: str  # of the DER certificate, lowercase hex


def peer_of(scope: Mapping[str, Any]) -> PeerCert | None:
    """The verified client certificate of the request's connection, None without one."""
    peer = scope.get(PEER_SCOPE_KEY)
    if not isinstance(peer, dict):
        return None
    return PeerCert(commonName=peer["commonName"], subject=peer["subject"], sha256=peer["sha256"])


def peer_cert_from_der(der: bytes) -> PeerCert:
    cert = x509.load_der_x509_certificate(der)
    common_names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common_name = common_names[0].value if common_names else ""
    return PeerCert(
        commonName=common_name if isinstance(common_name, str) else common_name.decode(),
        subject=cert.subject.rfc4514_string(),
        sha256=hashlib.sha256(der).hexdigest(),
    )


class PeerCertH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with the client certificate of the connection in each request's scope.

    One protocol instance serves one connection; the TLS handshake is done before `connection_made`,
    so the certificate is read once there, and the application of this connection is wrapped to add
    it to every request's scope — also to pipelined requests, whose scopes exist side by side.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.app = _with_peer(self.app, transport)


class PeerCertWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol (a connection upgraded by PeerCertH11Protocol), with the client
    certificate in the WebSocket's scope likewise."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.app = _with_peer(self.app, transport)


def _with_peer(app: Any, transport: asyncio.BaseTransport) -> Any:
    peer = _verified_peer(transport)
    if peer is None:
        return app

    async def app_with_peer(scope: Any, receive: Any, send: Any) -> None:
        scope[PEER_SCOPE_KEY] = dict(peer)
        await app(scope, receive, send)

    return app_with_peer


def _verified_peer(transport: asyncio.BaseTransport) -> PeerCert | None:
    ssl_object = transport.get_extra_info("ssl_object")
    # Only a certificate the handshake verified: with CERT_NONE the server would take any.
    if not isinstance(ssl_object, ssl.SSLObject) or ssl_object.context.verify_mode == ssl.CERT_NONE:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return peer_cert_from_der(der) if der else None


def uvicorn_ws_protocol(tls: TlsConfig | None) -> type[asyncio.Protocol]:
    """The class for `uvicorn.Config(ws=...)`: with TLS, the one that exposes the client certificate."""
    return PeerCertWebSocketProtocol if tls is not None else WebSocketsSansIOProtocol


def uvicorn_http_protocol(tls: TlsConfig | None) -> type[asyncio.Protocol]:
    """The class for `uvicorn.Config(http=...)`: with TLS, the one that exposes the client certificate."""
    return PeerCertH11Protocol if tls is not None else H11Protocol
