"""Every node's uvicorn runs on asyncio's loop with the h11 protocol, whatever else is installed: uvicorn's
"auto" would take uvloop and httptools, under which an Agent's shell jobs did not finish (issue 18)."""

from __future__ import annotations

from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

from js7es.nodes.server import server_config
from js7es.nodes.tls import PeerCertH11Protocol, TlsConfig
from tests.nodes.test_tls import Pki, pki

__all__ = ["pki"]  # the certificates of test_tls


def test_the_loop_and_the_protocol_are_chosen_not_found(pki: Pki) -> None:
    app = Starlette()
    plain = server_config(app, "127.0.0.1", 0, None)
    tls = TlsConfig.from_dir(pki.server.cert_file.parent, require_client_cert=True)
    mutual = server_config(app, "127.0.0.1", 0, tls)
    assert (plain.loop, plain.http) == ("asyncio", H11Protocol)
    assert (mutual.loop, mutual.http) == ("asyncio", PeerCertH11Protocol)
    assert mutual.ssl_cert_reqs == 2  # ssl.CERT_REQUIRED: the client's certificate
