"""The real `js7es cluster-watch` process over mutual TLS: the nodes' reports and node losses, a person's
confirmation with `js7es ctl confirm-node-loss`, and bad input (coded 4xx problems, never a 500)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from js7es.nodes.certs import create_ca, create_node_certificate
from js7es.nodes.controller.cluster.clients import Unreachable, WatchClient
from js7es.nodes.tls import TlsConfig, client_ssl_context
from tests.cluster_watch.support import B, P, state_json
from tests.e2e.topology import HOST
from tests.ports import free_port

API = "/cluster-watch/api"
HEARTBEAT_TIMEOUT = 1.5  # the clusters of these tests time out fast (not so fast that a loaded machine misses it)


def timed(obj: dict[str, Any]) -> dict[str, Any]:
    obj["setting"]["timing"] = {"heartbeat": 0.1, "heartbeatTimeout": HEARTBEAT_TIMEOUT, "consentTimeout": 0.3}
    return obj


class Watch:
    def __init__(self, root: Path) -> None:
        self.root = root
        certs = root / "certs"
        create_ca(certs / "ca")
        for name in ("cluster-watch", "primary", "backup", "cli", "reader", "stranger"):
            create_node_certificate(certs / "ca", certs / name, name, [HOST, "localhost"])
        self.port = free_port()
        self.url = f"https://{HOST}:{self.port}"
        self.config = root / "cluster-watch.toml"
        self.config.write_text(
            f"""
[cluster-watch]
id = "test-watch"
[http]
host = "{HOST}"
port = {self.port}
[tls]
cert = "certs/cluster-watch/node.crt"
key = "certs/cluster-watch/node.key"
ca = "certs/ca/ca.crt"
[users.nodes]
distinguished-names = ["CN=primary", "CN=backup"]
permissions = ["Command"]
[users.cli]
distinguished-names = ["CN=cli"]
permissions = ["ReadState", "Command", "ReadMetrics"]
[users.reader]
distinguished-names = ["CN=reader"]
permissions = ["ReadState"]
"""
        )
        self.log_file = root / "cluster-watch.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "js7es.nodes.cli", "cluster-watch", "--config", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + 30
        with self.client("stranger") as client:  # health is public: any certificate of our CA
            while time.monotonic() < deadline:
                assert self.process.poll() is None, self.log()
                try:
                    if client.get(f"{API}/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise AssertionError(f"cluster-watch not ready:\n{self.log()}")

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def client(self, certificate: str) -> httpx.Client:
        certs = self.root / "certs"
        tls = TlsConfig.from_dir(certs / certificate, certs / "ca")
        return httpx.Client(base_url=self.url, verify=client_ssl_context(tls), timeout=10)

    def post(self, path: str, body: Any, *, certificate: str = "primary") -> httpx.Response:
        with self.client(certificate) as client:
            return client.post(f"{API}/{path}", json=body)

    def view(self, cluster_id: str) -> dict[str, Any]:
        with self.client("cli") as client:
            response = client.get(f"{API}/cluster", params={"clusterId": cluster_id})
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture(scope="module")
def watch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watch]:
    w = Watch(tmp_path_factory.mktemp("cluster-watch"))
    w.start()
    try:
        yield w
    finally:
        # SIGTERM ends it cleanly (uvicorn re-raises the signal once it has shut down)
        assert w.stop() in (0, -signal.SIGTERM), w.log()
    assert "InternalError" not in w.log() and "Traceback" not in w.log()


def report(cluster_id: str, kind: str, active: str, event_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "clusterId": cluster_id,
        "from": active,
        "eventId": event_id,
        "clusterState": timed(state_json(kind, active, **extra)),
    }


def node_loss(cluster_id: str, sender: str, lost: str, event_id: int, **extra: Any) -> dict[str, Any]:
    active = lost if sender != lost and extra.pop("failover", True) else sender
    return {
        "clusterId": cluster_id,
        "from": sender,
        "lostNodeId": lost,
        "eventId": event_id,
        "clusterState": timed(state_json("Coupled", active)),
        **extra,
    }


def problem_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["TYPE"] == "Problem" and body["code"] == code, body
    return body


def test_health_and_overview(watch: Watch) -> None:
    with watch.client("stranger") as client:
        assert client.get(f"{API}/health").json()["status"] == "ok"
        overview = client.get(API).json()
    assert overview["id"] == "test-watch"
    assert "js7es cluster-watch 'test-watch' ready at" in watch.log()


def test_failover_is_granted_to_one_side_only(watch: Watch) -> None:
    c = "failover"
    answer = watch.post("report", report(c, "Coupled", P, 100))
    assert answer.status_code == 200
    assert answer.json() == {"TYPE": "Accepted", "clusterState": timed(state_json("Coupled", P))}

    refused = problem_of(
        watch.post("node-loss", node_loss(c, B, P, 100), certificate="backup"), 409, "ClusterWatchActiveStillAlive"
    )
    assert refused["arguments"]["lostNodeId"] == P

    time.sleep(HEARTBEAT_TIMEOUT + 0.1)  # Primary falls silent
    granted = watch.post("node-loss", node_loss(c, B, P, 100, failedAt=99), certificate="backup")
    assert granted.status_code == 200, granted.text
    failed_over = timed(state_json("FailedOver", B, failedAt=99))
    assert granted.json() == {"TYPE": "Accepted", "clusterState": failed_over}
    again = watch.post("node-loss", node_loss(c, B, P, 100, failedAt=99), certificate="backup")
    assert again.json() == granted.json()

    # Primary returns: its PassiveLost and its report are refused, naming the active Backup
    for response in (
        watch.post("node-loss", node_loss(c, P, B, 101, failover=False)),
        watch.post("report", report(c, "Coupled", P, 101)),
    ):
        body = problem_of(response, 409, "ClusterNodeIsNotActive")
        assert body["arguments"] == {"nodeId": P, "activeId": B, "clusterState": "FailedOver"}

    assert watch.post("report", report(c, "FailedOver", B, 105, failedAt=99), certificate="backup").status_code == 200
    view = watch.view(c)
    assert view["taught"] is True and view["eventId"] == 105
    assert view["clusterState"] == failed_over
    assert set(view["lastHeartbeatAgo"]) == {P, B} and view["lastHeartbeatAgo"][B] < 5
    log = watch.log()
    assert "node loss REFUSED (ClusterWatchActiveStillAlive): Backup asks to fail over from Primary" in log
    assert "node loss GRANTED: Backup asks to fail over from Primary, Primary silent for" in log


def test_passive_lost_then_the_failover_is_refused(watch: Watch) -> None:
    c = "passive-lost"
    assert watch.post("report", report(c, "Coupled", P, 100)).status_code == 200
    granted = watch.post("node-loss", node_loss(c, P, B, 100, failover=False))
    assert granted.json() == {"TYPE": "Accepted", "clusterState": timed(state_json("PassiveLost", P))}
    time.sleep(HEARTBEAT_TIMEOUT + 0.1)
    problem_of(
        watch.post("node-loss", node_loss(c, B, P, 100), certificate="backup"), 409, "ClusterFailOverWhilePassiveLost"
    )


def ctl(watch: Watch, *args: str, certificate: str | None = "cli") -> subprocess.CompletedProcess[str]:
    certs = watch.root / "certs"
    tls = ["--ca", str(certs / "ca" / "ca.crt")]
    if certificate is not None:
        tls += ["--cert", str(certs / certificate / "node.crt"), "--key", str(certs / certificate / "node.key")]
    return subprocess.run(
        [sys.executable, "-m", "js7es.nodes.cli", "ctl", *tls, "confirm-node-loss", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=watch.root,  # no ./js7es-data here
    )


def test_untaught_until_a_person_confirms(watch: Watch) -> None:
    c = "untaught"
    problem_of(watch.post("node-loss", node_loss(c, B, P, 100), certificate="backup"), 409, "UntaughtClusterWatch")
    assert watch.view(c)["taught"] is False

    confirmed = ctl(watch, "--watch", watch.url, "--cluster-id", c, "--lost-node", P, "--confirmer", "Jane Doe")
    assert confirmed.returncode == 0, confirmed.stderr
    assert "Jane Doe confirmed that node Primary of cluster untaught is lost" in confirmed.stdout
    assert [(x["lostNodeId"], x["confirmer"]) for x in watch.view(c)["confirmations"]] == [(P, "Jane Doe")]

    granted = watch.post("node-loss", node_loss(c, B, P, 100), certificate="backup")
    assert granted.status_code == 200, granted.text
    assert granted.json()["clusterState"] == timed(state_json("FailedOver", B, failedAt=100))
    view = watch.view(c)
    assert view["taught"] is True and view["confirmations"] == []
    problem_of(watch.post("node-loss", node_loss(c, P, B, 100, failover=False)), 409, "ClusterNodeIsNotActive")


def test_ctl_confirm_node_loss_failures(watch: Watch) -> None:
    assert watch.post("report", report("known", "Coupled", P, 1)).status_code == 200
    unknown_node = ctl(watch, "--watch", watch.url, "--cluster-id", "known", "--lost-node", "X", "--confirmer", "J")
    assert unknown_node.returncode == 1
    assert unknown_node.stderr.startswith("js7es: InvalidClusterWatchRequest: X is not a node of cluster known")

    forbidden = ctl(
        watch, "--watch", watch.url, "--cluster-id", "c", "--lost-node", P, "--confirmer", "J", certificate="reader"
    )
    assert forbidden.returncode == 1 and "Forbidden" in forbidden.stderr

    port = free_port()
    down = ctl(watch, "--watch", f"https://{HOST}:{port}", "--cluster-id", "c", "--lost-node", P, "--confirmer", "J")
    assert down.returncode == 1
    assert (
        down.stderr.strip()
        == f"js7es: cannot talk to the Cluster Watch at https://{HOST}:{port}: connection refused (is it running?)"
    )

    for args in (
        ("--watch", "ftp://x", "--cluster-id", "c", "--lost-node", P, "--confirmer", "J"),
        ("--watch", watch.url, "--cluster-id", " ", "--lost-node", P, "--confirmer", "J"),
        ("--watch", watch.url, "--cluster-id", "c", "--lost-node", P),
    ):
        result = ctl(watch, *args)
        assert result.returncode == 2, result
        assert "Traceback" not in result.stderr and result.stderr.strip()
    for result in (unknown_node, forbidden, down):
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_authentication_and_permissions(watch: Watch) -> None:
    assert watch.post("report", report("auth", "Coupled", P, 1), certificate="backup").status_code == 200
    problem_of(watch.post("report", report("auth", "Coupled", P, 1), certificate="stranger"), 401, "Unauthorized")
    problem_of(watch.post("report", report("auth", "Coupled", P, 1), certificate="reader"), 403, "Forbidden")
    with watch.client("primary") as client:
        problem_of(client.get(f"{API}/cluster"), 403, "Forbidden")
        problem_of(client.get("/metrics"), 403, "Forbidden")
    with watch.client("reader") as client:
        assert "clusters" in client.get(f"{API}/cluster").json()
    with watch.client("cli") as client:
        metrics = client.get("/metrics").text
    assert 'js7es_cluster_watch_decisions_total{outcome="Accepted",request="report"}' in metrics


def _raw(
    watch: Watch, method: str, path: str, content: bytes, content_type: str = "application/json"
) -> httpx.Response:
    with watch.client("primary") as client:
        return client.request(method, f"{API}/{path}", content=content, headers={"content-type": content_type})


GOOD_REPORT = report("bad", "Coupled", P, 1)
BAD_BODIES = [
    ("report", {**GOOD_REPORT, "extra": 1}, "UnknownField"),
    ("report", {k: v for k, v in GOOD_REPORT.items() if k != "eventId"}, "MissingField"),
    ("report", {**GOOD_REPORT, "eventId": "1"}, "WrongType"),
    ("report", {**GOOD_REPORT, "eventId": 1.5}, "WrongType"),
    ("report", {**GOOD_REPORT, "eventId": -1}, "InvalidClusterWatchRequest"),
    ("report", {**GOOD_REPORT, "clusterId": ""}, "InvalidClusterWatchRequest"),
    ("report", {**GOOD_REPORT, "from": B}, "InvalidClusterWatchRequest"),
    ("report", {**GOOD_REPORT, "clusterState": {"TYPE": "Empty"}}, "InvalidClusterWatchRequest"),
    ("report", {**GOOD_REPORT, "clusterState": {"TYPE": "Coupling"}}, "InvalidClusterState"),
    ("report", {**GOOD_REPORT, "clusterState": []}, "WrongType"),
    ("report", [], "WrongType"),
    ("node-loss", {**node_loss("bad", B, P, 1), "failedAt": "x"}, "WrongType"),
    ("node-loss", {**node_loss("bad", B, P, 1), "failedAt": -5}, "InvalidClusterWatchRequest"),
    ("node-loss", node_loss("bad", B, B, 1), "InvalidClusterWatchRequest"),
    ("node-loss", {k: v for k, v in node_loss("bad", B, P, 1).items() if k != "lostNodeId"}, "MissingField"),
    ("confirm-node-loss", {"clusterId": "bad", "lostNodeId": P}, "MissingField"),
    ("confirm-node-loss", {"clusterId": "bad", "lostNodeId": P, "confirmer": " "}, "InvalidClusterWatchRequest"),
    ("confirm-node-loss", {"clusterId": "bad", "lostNodeId": P, "confirmer": "J", "at": 1}, "UnknownField"),
]


@pytest.mark.parametrize(("path", "body", "code"), BAD_BODIES)
def test_bad_bodies_are_400_problems(watch: Watch, path: str, body: Any, code: str) -> None:
    problem_of(watch.post(path, body, certificate="cli"), 400, code)


@pytest.mark.parametrize(
    ("method", "path", "content", "content_type", "status", "code"),
    [
        ("POST", "report", b"{", "application/json", 400, "InvalidJson"),
        ("POST", "report", b'{"clusterId": "a", "clusterId": "b"}', "application/json", 400, "InvalidJson"),
        ("POST", "report", b"\xff", "application/json", 400, "InvalidJson"),
        ("POST", "report", b"{}", "text/plain", 415, "UnsupportedMediaType"),
        ("POST", "node-loss", b"x" * 70_000, "application/json", 413, "PayloadTooLarge"),
        ("GET", "report", b"", "application/json", 405, "MethodNotAllowed"),
        ("POST", "nonsense", b"{}", "application/json", 404, "UnknownRoute"),
        ("GET", "cluster?clusterID=x", b"", "application/json", 400, "UnknownParameter"),
    ],
)
def test_bad_requests_are_coded_problems(
    watch: Watch, method: str, path: str, content: bytes, content_type: str, status: int, code: str
) -> None:
    if path.startswith("cluster"):
        with watch.client("cli") as client:
            response = client.get(f"{API}/{path}")
    else:
        response = _raw(watch, method, path, content, content_type)
    problem_of(response, status, code)


def test_the_command_line_refuses_bad_configurations(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "js7es.nodes.cli", "cluster-watch", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    missing = run("--config", str(tmp_path / "none.toml"))
    assert missing.returncode == 2 and "no such configuration file" in missing.stderr
    plain = tmp_path / "plain.toml"
    plain.write_text('[http]\nport = 1\n[users.x]\npermissions = ["Command"]\n')
    no_tls = run("--config", str(plain))
    assert no_tls.returncode == 2 and "plain HTTP" in no_tls.stderr
    typo = tmp_path / "typo.toml"
    typo.write_text('[cluster-watch]\nname = "x"\n')
    wrong = run("--config", str(typo))
    assert wrong.returncode == 2 and "unknown key(s) ['name'] in [cluster-watch]" in wrong.stderr
    for result in (missing, no_tls, wrong):
        assert "Traceback" not in result.stderr


def test_a_node_given_several_watch_uris_takes_the_answer_of_the_one_that_answers(watch: Watch) -> None:
    """The Controller's WatchClient with the URIs of a Cockpit pair: here one that does not answer (a
    killed member) and the real Watch; with none answering, Unreachable."""
    certs = watch.root / "certs"
    context = client_ssl_context(TlsConfig.from_dir(certs / "primary", certs / "ca"))
    dead = f"https://{HOST}:{free_port()}"

    async def ask(uris: list[str]) -> Any:
        client = WatchClient(uris, ssl_context=context, auth=None, timeout_s=2.0)
        try:
            return await client.report(report("several-uris", "Coupled", P, 100))
        finally:
            await client.close()

    for uris in ([dead, watch.url], [watch.url, dead]):
        answer = asyncio.run(ask(uris))
        assert answer["TYPE"] == "Accepted" and answer["clusterState"]["setting"]["activeId"] == P
    with pytest.raises(Unreachable):
        asyncio.run(ask([dead, f"https://{HOST}:{free_port()}"]))
