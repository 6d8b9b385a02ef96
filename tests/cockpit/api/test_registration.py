"""/controller/register, /unregister, /test and /controller/cluster/confirm_node_loss in-process: the shapes,
the checks made before anything is stored, the refusals, what the follower set is told, the audit."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from js7es.domain import codec
from js7es.domain.cluster import ClusterSetting, Coupled
from js7es.nodes.client.errors import ClientError
from js7es.nodes.cluster_watch.watch import ClusterWatch
from js7es.nodes.cockpit.api.services import NotFollowing
from js7es.nodes.cockpit.watch import CockpitClusterWatch
from js7es.projections.cockpit import schema
from tests.cockpit.api.harness import Joc, running_joc

OVERVIEWS = {"https://c2:4443": "c2", "https://c2-backup:4443": "c2", "https://other:4443": "other"}


def overview(url: str) -> Mapping[str, Any]:
    if url not in OVERVIEWS:
        raise ClientError(f"connection refused at {url}")
    return {"id": OVERVIEWS[url], "version": "test"}


class FakeWatch:
    def __init__(self, log: list[tuple[str, str, Any]], url: str) -> None:
        self.log, self.url = log, url

    def __enter__(self) -> FakeWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def login(self) -> None:
        pass

    def post(self, path: str, body: Any) -> Any:
        if "down" in self.url:
            raise ClientError(f"connection refused at {self.url}")
        self.log.append((self.url, path, body))
        return {"TYPE": "Accepted"}


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Joc, str, NotFollowing, list[tuple[str, str, Any]]]]:
    following = NotFollowing()
    watched: list[tuple[str, str, Any]] = []
    directory = {
        "overview": overview,
        "following": following,
        "configured_watches": {"js7es": "https://watch:4447"},
        "make_watch_client": lambda url: FakeWatch(watched, url),
    }
    with running_joc(tmp_path, directory=directory) as joc:
        yield joc, joc.login(), following, watched


def error(r: Any, status: int = 420) -> dict[str, Any]:
    assert r.status_code == status, r.text
    return dict(r.json()["error"])


def node(url: str, role: str = "STANDALONE", **fields: Any) -> dict[str, Any]:
    return {"url": url, "role": role, **fields}


def test_register_a_controller_by_the_id_it_reports_then_change_and_unregister(setup: Any) -> None:
    joc, token, following, _ = setup
    r = joc.post("/controller/register", {"controllers": [node("https://c2:4443/", title="second")]}, token=token)
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True and r.json()["controllerId"] == "c2"
    assert list(following.following) == ["c2"] and following.following["c2"].uris == ("https://c2:4443",)
    assert joc.post("/controller/ids", token=token).json()["controllerIds"] == ["c2", "js7es"]
    listed = joc.post("/controllers", token=token).json()["controllers"]
    assert [(c["controllerId"], c["url"], c["role"], c.get("title")) for c in listed] == [
        ("c2", "https://c2:4443", "STANDALONE", "second"),
        ("js7es", "https://js7es:4443", "STANDALONE", "js7es"),
    ]
    assert (
        "already"
        in error(joc.post("/controller/register", {"controllers": [node("https://c2:4443")]}, token=token))["message"]
    )
    # with its id: the registration changes (a cluster now, with its Watch)
    cluster = {
        "controllerId": "c2",
        "controllers": [node("https://c2-backup:4443", "BACKUP"), node("https://c2:4443", "PRIMARY")],
        "forceFailoverConfirmation": True,
        "clusterWatchUrl": "https://watch2:4447",
        "auditLog": {"comment": "now a cluster"},
    }
    assert joc.post("/controller/register", cluster, token=token).status_code == 200
    assert following.following["c2"].uris == ("https://c2:4443", "https://c2-backup:4443")
    assert joc.services.controllers.cluster_watch("c2") == "https://watch2:4447"
    one = joc.post("/controller", {"controllerId": "c2"}, token=token).json()["controller"]
    assert (one["url"], one["role"], one["clusterUrl"]) == ("https://c2:4443", "PRIMARY", "https://c2:4443")
    r = joc.post("/controller/unregister", {"controllerId": "c2", "auditLog": {"comment": "gone"}}, token=token)
    assert r.status_code == 200, r.text
    assert following.following == {} and joc.post("/controller/ids", token=token).json()["controllerIds"] == ["js7es"]
    assert error(joc.post("/controller/unregister", {"controllerId": "c2"}, token=token))["code"] == "JOC-002"
    joc.audited()
    with joc.services.engine.connect() as c:
        rows = c.execute(
            sa.select(schema.audit_log.c.request, schema.audit_log.c.category, schema.audit_log.c.comment)
            .where(schema.audit_log.c.controller_id == "c2")
            .order_by(schema.audit_log.c.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("/joc/api/controller/register", "CONTROLLER", None),
        ("/joc/api/controller/register", "CONTROLLER", "now a cluster"),
        ("/joc/api/controller/unregister", "CONTROLLER", "gone"),
    ]


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"controllers": [node("https://nobody:4443")]}, "JOC-503", "no Controller answers at https://nobody:4443"),
        ({"controllerId": "c2", "controllers": [node("https://other:4443")]}, "JOC-400", "is not the expected"),
        (
            {"controllers": [node("https://c2:4443", "PRIMARY"), node("https://other:4443", "BACKUP")]},
            "JOC-400",
            "is not the expected",
        ),
        ({"controllers": [node("https://c2:4443", "PRIMARY"), node("https://c2:4443", "BACKUP")]}, "JOC-400", "URLs"),
        ({"controllers": [node("https://c2:4443"), node("https://other:4443")]}, "JOC-400", "PRIMARY, then a BACKUP"),
        ({"controllers": [node("c2:4443")]}, "JOC-400", "not an http(s) URL"),
        ({"controllers": []}, "JOC-400", "$.controllers"),
        ({"controllers": [node("https://c2:4443", "MASTER")]}, "JOC-400", "$.controllers[0].role"),
        ({"controllers": [node("https://c2:4443", title="<b>")]}, "JOC-400", "$.controllers[0].title"),
        ({"controllers": [node("https://c2:4443")], "clusterWatchUrl": "watch"}, "JOC-400", "Cluster Watch"),
        ({"controllerId": "c2", "controllers": [node("https://c2:4443")]}, "JOC-002", "Couldn't find"),
        ({"controllerId": "js7es", "controllers": [node("https://c2:4443")]}, "JOC-400", "configuration file"),
        ({"controllers": [node("https://js7es:4443")]}, "JOC-400", "configuration file"),
    ],
)
def test_refused_registrations_store_nothing(setup: Any, body: dict[str, Any], code: str, message: str) -> None:
    joc, token, following, _ = setup
    OVERVIEWS["https://js7es:4443"] = "js7es"
    got = error(joc.post("/controller/register", body, token=token))
    assert got["code"] == code and message in got["message"], got
    assert following.following == {} and joc.store.controllers().controllers == {}


def test_a_configured_controller_cannot_be_unregistered(setup: Any) -> None:
    joc, token, _, _ = setup
    got = error(joc.post("/controller/unregister", {"controllerId": "js7es"}, token=token))
    assert "comes from the Cockpit's configuration file ([controllers.js7es])" in got["message"]
    assert error(joc.post("/controller/unregister", {}, token=token))["code"] == "JOC-400"


def test_the_connection_test(setup: Any) -> None:
    joc, token, _, _ = setup
    r = joc.post("/controller/test", {"url": "https://c2:4443"}, token=token)
    assert r.status_code == 200, r.text
    assert r.json()["controller"] == {
        "url": "https://c2:4443",
        "isCoupled": None,
        "controllerId": "c2",
        "connectionState": {"_text": "established", "severity": 0},
    }
    r = joc.post("/controller/test", {"url": "https://nobody:4443", "controllerId": "x"}, token=token)
    assert r.json()["controller"]["connectionState"] == {"_text": "unreachable", "severity": 2}
    assert (
        "not the expected"
        in error(joc.post("/controller/test", {"url": "https://c2:4443", "controllerId": "x"}, token=token))["message"]
    )
    assert error(joc.post("/controller/test", {"url": "nowhere"}, token=token))["code"] == "JOC-400"


def _project_cluster_state(joc: Joc, controller_id: str) -> None:
    state = Coupled(
        setting=ClusterSetting(id_to_uri={"Primary": "https://p", "Backup": "https://b"}, active_id="Primary")
    )
    with joc.services.engine.begin() as c:
        c.execute(
            schema.controllers.insert().values(
                controller_id=controller_id,
                event_id=0,
                event_count=0,
                inapplicable_events=0,
                cluster_state=json.dumps(codec.encode(state)),
            )
        )


def test_confirm_node_loss_goes_to_the_watch_audited(setup: Any) -> None:
    joc, token, _, watched = setup
    body = {"controllerId": "js7es", "auditLog": {"comment": "primary's host burnt"}}
    got = error(joc.post("/controller/cluster/confirm_node_loss", body, token=token))
    assert "name the lost node (lostNodeId)" in got["message"]
    _project_cluster_state(joc, "js7es")
    r = joc.post("/controller/cluster/confirm_node_loss", body, token=token)
    assert r.status_code == 200, r.text
    assert r.json()["lostNodeId"] == "Primary"
    assert watched == [
        (
            "https://watch:4447",
            "/confirm-node-loss",
            {"clusterId": "js7es", "lostNodeId": "Primary", "confirmer": "root"},
        )
    ]
    r = joc.post("/controller/cluster/confirm_node_loss", {**body, "lostNodeId": "Backup"}, token=token)
    assert r.status_code == 200 and watched[-1][2]["lostNodeId"] == "Backup"
    got = error(joc.post("/controller/cluster/confirm_node_loss", {**body, "lostNodeId": "Third"}, token=token))
    assert "no node of the Controller cluster" in got["message"]
    joc.audited()
    with joc.services.engine.connect() as c:
        rows = c.execute(
            sa.select(schema.audit_log.c.outcome, schema.audit_log.c.parameters, schema.audit_log.c.comment).where(
                schema.audit_log.c.request == "/joc/api/controller/cluster/confirm_node_loss"
            )
        ).all()
    assert [(r.outcome, json.loads(r.parameters)["lostNodeId"], r.comment) for r in rows] == [
        ("Accepted", "Primary", "primary's host burnt"),
        ("Accepted", "Backup", "primary's host burnt"),
    ]


def test_confirm_node_loss_without_a_known_watch_or_with_one_away(setup: Any) -> None:
    joc, token, _, watched = setup
    r = joc.post("/controller/register", {"controllers": [node("https://c2:4443")]}, token=token)
    assert r.status_code == 200
    body = {"controllerId": "c2", "lostNodeId": "Primary"}
    got = error(joc.post("/controller/cluster/confirm_node_loss", body, token=token))
    assert got["message"].startswith("No Cluster Watch is known for Controller 'c2'")
    changed = {"controllerId": "c2", "controllers": [node("https://c2:4443")], "clusterWatchUrl": "https://down:4447"}
    assert joc.post("/controller/register", changed, token=token).status_code == 200
    got = error(joc.post("/controller/cluster/confirm_node_loss", body, token=token))
    assert got["code"] == "JOC-503" and "https://down:4447" in got["message"]
    assert watched == []
    joc.audited()
    with joc.services.engine.connect() as c:
        outcomes = c.execute(sa.select(schema.audit_log.c.outcome).where(schema.audit_log.c.request_id.isnot(None)))
        assert [o for (o,) in outcomes] == ["Refused: ControllerUnavailable: connection refused at https://down:4447"]


def test_confirm_node_loss_to_the_cockpits_own_watch(tmp_path: Path) -> None:
    """Without a Cluster Watch of its own the Controller's Watch is the Cockpit's (cockpit/watch.py): the
    confirmation is decided there, audited; a Cockpit whose Watch is not running (a standby) refuses."""
    watch = CockpitClusterWatch(None)
    with running_joc(tmp_path, directory={"hosted_watch": watch}) as joc:
        token = joc.login()
        _project_cluster_state(joc, "js7es")
        body = {"controllerId": "js7es", "auditLog": {"comment": "primary's host burnt"}}
        got = error(joc.post("/controller/cluster/confirm_node_loss", body, token=token))
        assert "ClusterWatchStandby" in got["message"], got
        watch.start(None)
        r = joc.post("/controller/cluster/confirm_node_loss", body, token=token)
        assert r.status_code == 200 and r.json()["lostNodeId"] == "Primary", r.text
        current = watch.current()
        assert isinstance(current, ClusterWatch)
        (confirmation,) = current.view("js7es")["confirmations"]
        assert (confirmation["lostNodeId"], confirmation["confirmer"]) == ("Primary", "root")
        joc.audited()
        with joc.services.engine.connect() as c:
            rows = c.execute(
                sa.select(schema.audit_log.c.outcome, schema.audit_log.c.parameters).where(
                    schema.audit_log.c.request == "/joc/api/controller/cluster/confirm_node_loss"
                )
            ).all()
    outcomes = [(r.outcome.split(":")[0], json.loads(r.parameters)["clusterWatch"]) for r in rows]
    assert outcomes == [("Refused", "this Cockpit"), ("Accepted", "this Cockpit")], rows
