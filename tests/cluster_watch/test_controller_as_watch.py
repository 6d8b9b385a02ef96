"""The Controller as the Cluster Watch of its Agents' Director pairs (js7es/nodes/controller/
agent_cluster_watch.py), in memory: it answers only while its role is active, as the standby problem
otherwise (a Director then asks its other Watch URI); each new active role starts untaught; the Directors'
permission ClusterWatchClient lets them report but nothing else. On real processes:
tests/e2e/test_e2e_director_pair.py."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.testclient import TestClient

from js7es.domain.problem import Problem, problem
from js7es.nodes.cluster_watch.api import PREFIX
from js7es.nodes.controller.agent_cluster_watch import agent_cluster_watch_routes
from js7es.nodes.http import Authenticator, Users
from tests.cluster_watch.support import B, P, state_json

USERS = {
    "director": {"password": "plain:pw", "permissions": ["ClusterWatchClient"]},
    "reader": {"password": "plain:pw", "permissions": ["ReadState"]},
}


def report(event_id: int) -> dict[str, object]:
    return {"clusterId": "agent", "from": P, "eventId": event_id, "clusterState": state_json("Coupled", P)}


def failover() -> dict[str, object]:
    body = {"clusterId": "agent", "from": B, "lostNodeId": P, "eventId": 100}
    return {**body, "clusterState": state_json("Coupled", P)}


def test_only_the_active_role_answers_and_each_role_starts_untaught() -> None:
    roles: list[object] = [problem("ClusterNodeIsNotActive", "standby")]
    auth = Authenticator(Users.from_config(USERS))
    http = TestClient(Starlette(routes=agent_cluster_watch_routes(lambda: roles[0], auth)))
    http.auth = ("director", "pw")
    with http:
        standby = http.post(f"{PREFIX}/report", json=report(100))
        assert standby.status_code == 503 and standby.json()["code"] == "ClusterWatchStandby", standby.text

        roles[0] = object()  # this Controller became active
        assert http.post(f"{PREFIX}/report", json=report(100)).status_code == 200
        assert http.get(f"{PREFIX}/cluster", params={"clusterId": "agent"}, auth=("reader", "pw")).json()["taught"]

        roles[0] = object()  # a new active role (a restart, a failover back): the Watch forgot
        refused = http.post(f"{PREFIX}/node-loss", json=failover())
        assert refused.status_code == 409 and refused.json()["code"] == "UntaughtClusterWatch", refused.text

        assert http.post(f"{PREFIX}/report", json=report(200)).status_code == 200
        assert not isinstance(roles[0], Problem)
        reader = http.post(f"{PREFIX}/report", json=report(300), auth=("reader", "pw"))
        assert reader.status_code == 403, reader.text
