"""The Watch's routes behind the Cockpit's gate (js7es/nodes/cockpit/watch.py), in memory: a single
Cockpit's Watch answers only while it runs (ActiveServices starts it), each start untaught; stopped,
every route answers 503 ClusterWatchStandby, the answer on which a Controller asks its other Watch URI.
The Cockpit pair's lease gate runs on real processes: tests/cockpit/test_cockpit_watch_e2e.py."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.testclient import TestClient

from js7es.nodes.cluster_watch.api import PREFIX, cluster_watch_routes
from js7es.nodes.cockpit.watch import CockpitClusterWatch
from js7es.nodes.http import Authenticator, Users
from tests.cluster_watch.support import B, P, state_json

USERS = {"node": {"password": "plain:pw", "permissions": ["ReadState", "Command"]}}


def client(watch: CockpitClusterWatch) -> TestClient:
    auth = Authenticator(Users.from_config(USERS))
    http = TestClient(Starlette(routes=cluster_watch_routes(watch, auth)))
    http.auth = ("node", "pw")
    return http


def report(event_id: int) -> dict[str, object]:
    return {"clusterId": "c", "from": P, "eventId": event_id, "clusterState": state_json("Coupled", P)}


def failover() -> dict[str, object]:
    return {"clusterId": "c", "from": B, "lostNodeId": P, "eventId": 100, "clusterState": state_json("Coupled", P)}


def test_only_a_running_watch_answers_and_each_start_is_untaught() -> None:
    watch = CockpitClusterWatch(None)
    with client(watch) as http:
        for method, path, body in (
            ("GET", "/health", None),
            ("GET", "/cluster?clusterId=c", None),
            ("POST", "/report", report(100)),
            ("POST", "/node-loss", failover()),
            ("POST", "/confirm-node-loss", {"clusterId": "c", "lostNodeId": P, "confirmer": "Jane"}),
        ):
            answer = http.request(method, PREFIX + path, json=body)
            assert answer.status_code == 503 and answer.json()["code"] == "ClusterWatchStandby", (path, answer.text)

        watch.start(None)
        assert http.post(f"{PREFIX}/report", json=report(100)).status_code == 200
        assert http.get(f"{PREFIX}/cluster", params={"clusterId": "c"}).json()["taught"] is True

        watch.stop()  # a step-down, then a takeover: the Watch forgot what it knew
        assert http.get(f"{PREFIX}/health").status_code == 503
        watch.start(None)
        assert http.get(f"{PREFIX}/cluster", params={"clusterId": "c"}).json()["taught"] is False
        refused = http.post(f"{PREFIX}/node-loss", json=failover())
        assert refused.status_code == 409 and refused.json()["code"] == "UntaughtClusterWatch", refused.text
