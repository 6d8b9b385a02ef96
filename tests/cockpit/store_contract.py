"""The contract of the Cockpit's own store and of the audit projection that follows it: one abstract
suite, subclassed per backend with one-line fixtures (`make_store`: a new handle on the SAME store, as a
second Cockpit or a restarted one gets; `projection_engine`: the projections' database, migrated)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import events as ev
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.iam import FolderGrant, PermissionGrant
from js7es.domain.problem import Problem
from js7es.journal.cockpit.store import CockpitStore
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.audit import AuditFollower, AuditProjector
from js7es.projections.cockpit.deployed import DeployedObjectsProjector
from tests.cockpit.support import deploy_through_inventory

StoreFactory = Callable[[], CockpitStore]
META = ev.ChangeMeta(account="root", at_ms=1_732_521_600_000, request="/joc/api/iam/account/store", comment="why")
ORDERS = (PermissionGrant(path="sos:products:controller:orders:create"),)


def ok(result: list[ev.CockpitRecord] | Problem) -> list[ev.CockpitRecord]:
    assert not isinstance(result, Problem), result
    return result


def deployed_rows(engine: Engine) -> list[tuple[Any, ...]]:
    d = schema.deployed_objects
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(sa.select(d).order_by(d.c.controller_id, d.c.object_type, d.c.name))]


def deployments(store: CockpitStore) -> None:
    """w and x deployed to c1, w to c2; x revoked at c1; w renamed in the inventory to /d/w, deployed
    there to c1 only."""
    store.bootstrap_root("hash", META)
    deploy_through_inventory(store, "c1", ["/a/b/w", "/c/x"], commit_id="v1", at_ms=10)
    deploy_through_inventory(store, "c2", ["/a/b/w"], commit_id="v2", at_ms=20)
    deploy_through_inventory(store, "c1", ["/c/x"], commit_id="v3", at_ms=30, operation="DELETE")
    deploy_through_inventory(store, "c3", ["/c/x"], commit_id="v4", at_ms=40)
    deploy_through_inventory(store, "c1", ["/d/w"], commit_id="v5", at_ms=50)


EXPECTED_DEPLOYED = [
    ("c1", "WORKFLOW", "w", "/d/w", "/d", "v5", 50),
    ("c2", "WORKFLOW", "w", "/a/b/w", "/a/b", "v2", 20),
    ("c3", "WORKFLOW", "x", "/c/x", "/c", "v4", 40),
]


def audit_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as c:
        return [dict(r) for r in c.execute(sa.select(schema.audit_log).order_by(schema.audit_log.c.id)).mappings()]


class StoreContract:
    @pytest.fixture
    def make_store(self) -> StoreFactory:
        raise NotImplementedError

    @pytest.fixture
    def projection_engine(self) -> Engine:
        raise NotImplementedError

    @pytest.fixture
    def store(self, make_store: StoreFactory) -> CockpitStore:
        return make_store()

    def test_execute_appends_or_refuses(self, store: CockpitStore) -> None:
        assert store.bootstrap_root("hash", META)
        records = ok(store.execute(keys.role("ops"), cmd.StoreRole(ordering=7), META))
        assert [(r.key, r.version, type(r.event).__name__) for r in records] == [("role:ops", 1, "RoleAdded")]
        assert records[0].notification_id == store.last_notification_id()
        ok(store.execute(keys.role("ops"), cmd.StorePermissions(scope="", grants=ORDERS), META))
        ok(store.execute(keys.role("ops"), cmd.StoreFolders(scope="c1", folders=(FolderGrant(folder="/a"),)), META))
        refused = store.execute(keys.account("alice"), cmd.StoreAccount(roles=("ops", "ghost")), META)
        assert isinstance(refused, Problem) and refused.code == "UnknownRole"
        ok(store.execute(keys.account("alice"), cmd.StoreAccount(password_hash="h1", roles=("ops",)), META))
        assert store.execute(keys.role("ops"), cmd.StoreRole(ordering=7), META) == []
        iam = store.iam()
        assert iam.roles["ops"].permissions == {"": ORDERS}
        assert iam.roles["ops"].folders == {"c1": (FolderGrant(folder="/a"),)}
        assert iam.accounts["alice"].roles == ("ops",) and iam.accounts["alice"].password_hash == "h1"
        assert store.load(keys.role("ops"))[0] == 3
        assert [r.version for r in store.events(keys.role("ops"))] == [1, 2, 3]
        ok(store.execute(keys.settings("joc"), cmd.StoreSettings(values={"force_comments_for_audit_log": True}), META))
        assert store.iam().settings["joc"] == {"force_comments_for_audit_log": True}

    def test_a_conflicting_writer_is_retried_and_no_update_is_lost(self, make_store: StoreFactory) -> None:
        a, b = make_store(), make_store()
        ok(a.execute(keys.role("ops"), cmd.StoreRole(), META))
        ok(a.execute(keys.account("alice"), cmd.StoreAccount(password_hash="h0", roles=("ops",)), META))
        original = a.load
        calls = 0

        def load_then_b_writes(key: str) -> Any:
            nonlocal calls
            loaded = original(key)
            calls += 1
            if calls == 1:  # b appends after a has loaded: a's append must conflict
                ok(b.execute(keys.account("alice"), cmd.ChangePassword(password_hash="h-b"), META))
            return loaded

        a.load = load_then_b_writes  # type: ignore[method-assign]
        ok(a.execute(keys.account("alice"), cmd.StoreAccount(roles=(), disabled=True), META))
        assert calls == 2  # decided again on b's write
        for store in (a, b):
            alice = store.iam().accounts["alice"]
            assert (alice.password_hash, alice.roles, alice.disabled) == ("h-b", (), True)
        assert [r.version for r in b.events(keys.account("alice"))] == [1, 2, 3]

    def test_concurrent_writers_on_one_aggregate(self, make_store: StoreFactory) -> None:
        stores = [make_store(), make_store()]
        ok(stores[0].execute(keys.role("ops"), cmd.StoreRole(), META))
        results: list[list[ev.CockpitRecord] | Problem] = []

        def write(store: CockpitStore, n: int) -> None:
            for i in range(5):
                results.append(
                    store.execute(
                        keys.role("ops"), cmd.StoreFolders(scope=f"c{n}-{i}", folders=(FolderGrant(folder="/x"),)), META
                    )
                )

        threads = [threading.Thread(target=write, args=(s, n)) for n, s in enumerate(stores)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        succeeded = [r for r in results if not isinstance(r, Problem)]
        assert all(isinstance(r, list) or r.code == "CockpitStoreBusy" for r in results)
        assert len(succeeded) >= 5
        versions = [r.version for r in stores[1].events(keys.role("ops"))]
        assert versions == list(range(1, len(succeeded) + 2))
        assert len(stores[1].iam().roles["ops"].folders) == len(succeeded)

    def test_another_handle_sees_the_writes_and_a_reopened_one_recovers(self, make_store: StoreFactory) -> None:
        a, b = make_store(), make_store()
        assert a.bootstrap_root("hash", META)
        before = b.iam()
        assert set(before.accounts) == {"root"}
        ok(a.execute(keys.account("bob"), cmd.StoreAccount(roles=("it_operator",)), META))
        assert set(b.iam().accounts) == {"root", "bob"}
        a.close()
        reopened = make_store()
        assert reopened.iam() == b.iam()
        assert reopened.wait(0, 0.01) and not reopened.wait(reopened.last_notification_id(), 0.05)

    def test_bootstrap_only_on_a_store_without_iam_events(self, make_store: StoreFactory) -> None:
        a = make_store()
        assert a.bootstrap_root("hash", META, {"api_user": ORDERS})
        assert not a.bootstrap_root("other", META)
        assert not make_store().bootstrap_root("other", META)
        iam = a.iam()
        assert iam.accounts["root"].password_hash == "hash" and iam.accounts["root"].roles == ("all",)
        assert iam.roles["api_user"].permissions == {"": ORDERS}
        ok(a.execute(keys.account("root"), cmd.RemoveAccount(), META))
        assert not make_store().bootstrap_root("again", META)
        assert "root" not in a.iam().accounts

    def test_unanswered_commands_become_unknown_after_reopen(self, make_store: StoreFactory) -> None:
        a = make_store()
        request = cmd.RequestControllerCommand(
            controller_id="c1", request="/controller/api/command", category="CONTROLLER"
        )
        for request_id in ("q1", "q2", "q3"):
            ok(a.execute(keys.command(request_id), request, META))
        ok(a.execute(keys.command("q2"), cmd.AnswerControllerCommand(accepted=True), META))
        a.close()  # "killed" between the audit entry and the answer of q1 and q3
        b = make_store()
        assert sorted(b.recover_unanswered(META)) == ["q1", "q3"]
        assert b.recover_unanswered(META) == []
        outcomes = {rid: b.load(keys.command(rid))[1] for rid in ("q1", "q2", "q3")}
        assert {rid: getattr(s, "outcome", None) for rid, s in outcomes.items()} == {
            "q1": "Unknown",
            "q2": "Accepted",
            "q3": "Unknown",
        }
        late = b.execute(keys.command("q1"), cmd.AnswerControllerCommand(accepted=True), META)
        assert isinstance(late, Problem) and late.code == "RequestAnsweredAlready"

    # --- the audit projection ------------------------------------------------------------------

    def test_audit_rows_and_login_history(self, store: CockpitStore, projection_engine: Engine) -> None:
        store.bootstrap_root("secret-hash", META)
        ok(
            store.execute(
                keys.account("alice"), cmd.StoreAccount(password_hash="alice-hash", roles=("it_operator",)), META
            )
        )
        ok(store.execute(keys.settings("joc"), cmd.StoreSettings(values={"a": 1}), META))
        command_meta = ev.ChangeMeta(
            account="alice", at_ms=5, request="/joc/api/orders/cancel", ticket_link="T-1", time_spent_s=2
        )
        for rid in ("q1", "q2", "q3"):
            request = cmd.RequestControllerCommand(
                controller_id="c1",
                request="/controller/api/command",
                category="CONTROLLER",
                parameters={"orderIds": (rid,)},
            )
            ok(store.execute(keys.command(rid), request, command_meta))
        ok(store.execute(keys.command("q1"), cmd.AnswerControllerCommand(accepted=True), command_meta))
        ok(
            store.execute(
                keys.command("q2"),
                cmd.AnswerControllerCommand(
                    accepted=False, problem={"code": "UnknownOrder", "message": "no such order"}
                ),
                command_meta,
            )
        )
        ok(store.record_login("alice", "10.0.0.1", succeeded=True, meta=META, identity_service="JOC-INITIAL"))
        ok(store.record_login("mallory", "10.6.6.6", succeeded=False, meta=META, reason="unknown account"))
        projector = AuditProjector(store, projection_engine, batch_size=4)
        consumed = projector.catch_up()
        assert consumed == store.last_notification_id() == projector.position()
        rows = audit_rows(projection_engine)
        assert {r["category"] for r in rows} == {"IDENTITY", "SETTINGS", "CONTROLLER"}
        assert not any("hash" in (r["parameters"] or "") for r in rows)
        commands = {r["request_id"]: r for r in rows if r["request_id"]}
        assert {k: r["outcome"] for k, r in commands.items()} == {
            "q1": "Accepted",
            "q2": "Refused: UnknownOrder: no such order",
            "q3": "Pending",
        }
        assert commands["q3"]["controller_id"] == "c1" and commands["q3"]["ticket_link"] == "T-1"
        assert (
            commands["q3"]["parameters"] == '{"orderIds":["q3"]}'
            and commands["q3"]["request"] == "/joc/api/orders/cancel"
        )
        assert all(r["outcome"] is None for r in rows if not r["request_id"])
        assert projector.catch_up() == 0
        ok(store.execute(keys.command("q3"), cmd.MarkOutcomeUnknown(), META))
        assert projector.catch_up() == 1
        assert [r["outcome"] for r in audit_rows(projection_engine) if r["request_id"] == "q3"] == ["Unknown"]
        with projection_engine.connect() as c:
            logins = c.execute(
                sa.select(
                    schema.login_history.c.account, schema.login_history.c.succeeded, schema.login_history.c.reason
                ).order_by(schema.login_history.c.id)
            ).all()
        assert [tuple(r) for r in logins] == [("alice", True, None), ("mallory", False, "unknown account")]

    def test_audit_is_exactly_once_across_an_aborted_batch(
        self, store: CockpitStore, projection_engine: Engine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        store.bootstrap_root("hash", META)
        total = store.last_notification_id()
        projector = AuditProjector(store, projection_engine, batch_size=5)
        assert projector.project_batch() == 5
        original = AuditProjector._store_position

        def crash(self: AuditProjector, connection: Any, notification_id: int) -> None:
            original(self, connection, notification_id)
            raise RuntimeError("killed after the rows and the position, before the commit")

        monkeypatch.setattr(AuditProjector, "_store_position", crash)
        with pytest.raises(RuntimeError):
            projector.catch_up()
        assert projector.position() == 5 and len(audit_rows(projection_engine)) == 5
        monkeypatch.undo()
        fresh = AuditProjector(store, projection_engine, batch_size=5)  # as after a restart
        assert fresh.catch_up() == total - 5
        assert fresh.catch_up() == 0
        rows = audit_rows(projection_engine)
        assert sorted(r["store_notification_id"] for r in rows) == list(range(1, total + 1))

    def test_the_follower_keeps_the_audit_log_up_to_date(self, store: CockpitStore, projection_engine: Engine) -> None:
        follower = AuditFollower(AuditProjector(store, projection_engine), idle_wait_s=0.2).start()
        try:
            ok(store.execute(keys.role("ops"), cmd.StoreRole(), META))
            deadline = time.monotonic() + 10
            while not audit_rows(projection_engine) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert [r["category"] for r in audit_rows(projection_engine)] == ["IDENTITY"]
        finally:
            follower.stop()

    def test_deployed_objects_follow_deployments_and_revocations(
        self, store: CockpitStore, projection_engine: Engine
    ) -> None:
        deployments(store)
        projector = DeployedObjectsProjector(store, projection_engine, batch_size=4)
        assert projector.catch_up() == store.last_notification_id() == projector.position()
        assert [r[:7] for r in deployed_rows(projection_engine)] == EXPECTED_DEPLOYED
        assert projector.catch_up() == 0  # run twice: nothing more
        # the audit projector keeps its own position
        assert AuditProjector(store, projection_engine).position() == 0

    def test_deployed_objects_are_exactly_once_across_a_crash_and_rebuild_to_the_same_rows(
        self, store: CockpitStore, projection_engine: Engine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        deployments(store)
        total = store.last_notification_id()
        projector = DeployedObjectsProjector(store, projection_engine, batch_size=3)
        for _ in range(4):
            assert projector.project_batch() == 3
        before_crash = deployed_rows(projection_engine)
        original = DeployedObjectsProjector._store_position

        def crash(self: DeployedObjectsProjector, connection: Any, notification_id: int) -> None:
            original(self, connection, notification_id)
            raise RuntimeError("killed after the rows and the position, before the commit")

        monkeypatch.setattr(DeployedObjectsProjector, "_store_position", crash)
        with pytest.raises(RuntimeError):
            projector.catch_up()
        assert projector.position() == 12 and deployed_rows(projection_engine) == before_crash
        monkeypatch.undo()
        fresh = DeployedObjectsProjector(store, projection_engine, batch_size=3)  # as after a restart
        assert fresh.catch_up() == total - 12
        assert fresh.catch_up() == 0
        live = deployed_rows(projection_engine)
        assert [r[:7] for r in live] == EXPECTED_DEPLOYED
        # a replay from notification 0 gives the very same rows (store positions included)
        assert DeployedObjectsProjector(store, projection_engine, batch_size=5).rebuild() == total
        assert deployed_rows(projection_engine) == live and fresh.position() == total

    def test_the_follower_keeps_the_deployed_objects_up_to_date(
        self, store: CockpitStore, projection_engine: Engine
    ) -> None:
        follower = AuditFollower(
            AuditProjector(store, projection_engine),
            DeployedObjectsProjector(store, projection_engine),
            idle_wait_s=0.2,
        ).start()
        try:
            deployments(store)
            deadline = time.monotonic() + 10
            while [r[:7] for r in deployed_rows(projection_engine)] != EXPECTED_DEPLOYED:
                assert time.monotonic() < deadline, deployed_rows(projection_engine)
                time.sleep(0.02)
            assert [r[:7] for r in deployed_rows(projection_engine)] == EXPECTED_DEPLOYED
        finally:
            follower.stop()
