"""The Cockpit store's domain: every event against every aggregate state (applies, or is refused as
InapplicableEvent), golden JSON per event, and the decisions the API relies on."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from js7es.domain import codec
from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import events as ev
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.apply import AggregateState, apply, apply_iam, state_of
from js7es.domain.cockpit.bootstrap import DEFAULT_ROLE_NAMES, bootstrap
from js7es.domain.cockpit.controllers import ControllerRegistration
from js7es.domain.cockpit.daily_plan import PlanEntry, ScheduleDay
from js7es.domain.cockpit.decide import COMMAND_KINDS, CockpitContext, decide
from js7es.domain.cockpit.iam import (
    EMPTY_IAM,
    Account,
    FolderGrant,
    IamState,
    IdentityService,
    PermissionGrant,
    Role,
)
from js7es.domain.cockpit.inventory import DeployedVersion, Deployment, Folder, InventoryObject, ReleasedVersion
from js7es.domain.cockpit.state import ControllerCommand, Login, Settings
from js7es.domain.problem import Problem
from js7es.domain.value import dumps, loads

ACCOUNT = Account(name="a", password_hash="h", roles=("r",))
WORKFLOW_JSON = {"instructions": ({"TYPE": "Fail"},)}
WORKFLOW = InventoryObject(object_type="WORKFLOW", name="w", path="/a/w", configuration=WORKFLOW_JSON, valid=True)
DEPLOYED_W = ev.DeploymentObject(object_type="WORKFLOW", name="w", path="/a/w", configuration=WORKFLOW_JSON)
DEPLOYMENT = Deployment(
    commit_id="v1", controller_id="controller-1", operation="UPDATE", account="root", objects=(DEPLOYED_W,)
)
SCHEDULE_JSON = {"workflowNames": ("w",), "calendars": ()}
SCHEDULE = InventoryObject(object_type="SCHEDULE", name="s", path="/a/s", configuration=SCHEDULE_JSON, valid=True)
PLAN_ORDER = ev.PlanOrder(
    order_id="#2026-12-07#P0123456789-s",
    workflow_name="w",
    workflow_path="/a/w",
    order_name="s",
    calendar_name="AllDays",
    planned_start_ms=1796601600000,
    arguments={"x": 1},
)
CYCLIC_ORDER = ev.PlanOrder(
    order_id="#2026-12-07#C0123456788-1-2-s",
    workflow_name="w",
    workflow_path="/a/w",
    order_name="s",
    calendar_name="AllDays",
    planned_start_ms=1796601600000,
    period=ev.PlanPeriod(begin_ms=1796601600000, end_ms=1796605200000, repeat_s=3600),
    cycle_nr=1,
    cycle_size=2,
)
PLAN_KEY = keys.daily_plan("controller-1", "2026-12-07", "/a/s")


def plan_day(status: str) -> ScheduleDay:
    entry = PlanEntry(order=PLAN_ORDER, status=status, submission_id=7)
    return ScheduleDay(
        controller_id="controller-1",
        plan_date="2026-12-07",
        schedule_path="/a/s",
        revision="r",
        entries={PLAN_ORDER.order_id: entry},
    )


CLUSTER_NODES = (
    ev.RegisteredNode(url="https://primary:4443", role="PRIMARY", cluster_url="https://primary-intern:4443", title="P"),
    ev.RegisteredNode(url="https://backup:4443", role="BACKUP", title="B"),
)
STATES: dict[str, tuple[str, AggregateState | None]] = {
    "account-": (keys.account("a"), None),
    "account": (keys.account("a"), ACCOUNT),
    "role-": (keys.role("r"), None),
    "role": (keys.role("r"), Role(name="r")),
    "service-": (keys.identity_service("s"), None),
    "service": (keys.identity_service("s"), IdentityService(name="s", type="JOC")),
    "settings-": (keys.settings("joc"), None),
    "settings": (keys.settings("joc"), Settings(section="joc", values={})),
    "command-": (keys.command("q"), None),
    "pending": (
        keys.command("q"),
        ControllerCommand(request_id="q", controller_id="c", request="/", category="C", parameters={}),
    ),
    "answered": (
        keys.command("q"),
        ControllerCommand(
            request_id="q", controller_id="c", request="/", category="C", parameters={}, outcome="Accepted"
        ),
    ),
    "login-": (keys.login("l"), None),
    "login": (keys.login("l"), Login(account="a", address="x", succeeded=True)),
    "object-": (keys.inventory("WORKFLOW", "w"), None),
    "object": (keys.inventory("WORKFLOW", "w"), WORKFLOW),
    "trashed": (keys.inventory("WORKFLOW", "w"), replace(WORKFLOW, deleted=True)),
    "deployed": (
        keys.inventory("WORKFLOW", "w"),
        replace(
            WORKFLOW,
            deployments={
                "controller-1": DeployedVersion(commit_id="v1", path="/a/w", configuration={}, at_ms=1, account="root")
            },
        ),
    ),
    "released": (
        keys.inventory("SCHEDULE", "s"),
        replace(SCHEDULE, released=ReleasedVersion(path="/a/s", configuration=SCHEDULE_JSON, at_ms=1)),
    ),
    "plan-": (PLAN_KEY, None),
    **{
        f"plan-{status.lower()}": (PLAN_KEY, plan_day(status))
        for status in ("PLANNED", "SUBMITTING", "SUBMITTED", "CANCELLED", "REMOVED", "SKIPPED")
    },
    "deployment-": (keys.deployment("v1"), None),
    "deploying": (keys.deployment("v1"), DEPLOYMENT),
    "deployment-done": (keys.deployment("v1"), replace(DEPLOYMENT, outcome="Succeeded")),
    "folder-": (keys.folder("/a"), None),
    "folder": (keys.folder("/a"), Folder(path="/a")),
    "controller-": (keys.controller("c2"), None),
    "controller": (keys.controller("c2"), ControllerRegistration(controller_id="c2", nodes=CLUSTER_NODES[:1])),
}

GRANTS = (PermissionGrant(path="sos:products:controller:view"), PermissionGrant(path="sos:products:joc", excluded=True))
FOLDERS = (FolderGrant(folder="/a"), FolderGrant(folder="/b", recursive=False))
# event sample -> the state labels where it applies
TABLE: list[tuple[ev.CockpitEvent, frozenset[str]]] = [
    (ev.AccountAdded(password_hash="h", roles=("r",), force_password_change=True), frozenset({"account-"})),
    (ev.AccountChanged(roles=(), force_password_change=False, disabled=True, blocked=False), frozenset({"account"})),
    (ev.AccountPasswordChanged(password_hash="h2", force_password_change=True), frozenset({"account"})),
    (ev.AccountRemoved(), frozenset({"account"})),
    (ev.RoleAdded(ordering=3), frozenset({"role-"})),
    (ev.RoleChanged(ordering=4), frozenset({"role"})),
    (ev.RoleRemoved(), frozenset({"role"})),
    (ev.RolePermissionsStored(scope="", grants=GRANTS), frozenset({"role"})),
    (ev.RoleFoldersStored(scope="controller-1", folders=FOLDERS), frozenset({"role"})),
    (
        ev.IdentityServiceStored(type="LDAP", ordering=2, required=True, settings={"host": "ldap", "port": 389}),
        frozenset({"service-", "service"}),
    ),
    (ev.IdentityServiceRemoved(), frozenset({"service"})),
    (
        ev.SettingsStored(values={"force_comments_for_audit_log": True, "list": ("a", 1)}),
        frozenset({"settings-", "settings"}),
    ),
    (
        ev.ControllerCommandRequested(
            controller_id="controller-1",
            request="/controller/api/command",
            category="CONTROLLER",
            parameters={"TYPE": "CancelOrders", "orderIds": ("o1",)},
        ),
        frozenset({"command-"}),
    ),
    (
        ev.ControllerCommandAnswered(accepted=False, problem={"code": "UnknownOrder", "message": "no"}),
        frozenset({"pending"}),
    ),
    (ev.ControllerCommandOutcomeUnknown(), frozenset({"pending"})),
    (ev.LoginSucceeded(account="root", address="10.0.0.1", identity_service="JOC-INITIAL"), frozenset({"login-"})),
    (ev.LoginFailed(account="root", address="10.0.0.1", reason="wrong password"), frozenset({"login-"})),
    (
        ev.InventoryObjectStored(path="/a/w", configuration=WORKFLOW_JSON, valid=False, invalid_msg="no"),
        frozenset({"object-", "object", "trashed", "deployed", "released"}),
    ),
    (ev.InventoryObjectRemoved(), frozenset({"object", "deployed", "released"})),
    (
        ev.InventoryObjectDeployed(
            controller_id="controller-1",
            commit_id="v2",
            path="/a/w",
            configuration=WORKFLOW_JSON,
            at_ms=1732521600000,
            account="root",
        ),
        frozenset({"object", "trashed", "deployed", "released"}),
    ),
    (ev.InventoryObjectRevoked(controller_id="controller-1", commit_id="v3"), frozenset({"deployed"})),
    (
        ev.InventoryObjectReleased(path="/a/s", configuration=SCHEDULE_JSON, at_ms=1732521600000),
        frozenset({"object", "deployed", "released"}),
    ),
    (ev.InventoryObjectRecalled(), frozenset({"released"})),
    (
        ev.DailyPlanOrdersPlanned(submission_id=1732521600000, revision="0123abcd", orders=(PLAN_ORDER, CYCLIC_ORDER)),
        frozenset({"plan-", "plan-planned", "plan-removed", "plan-skipped", "plan-cancelled"}),
    ),
    (
        ev.DailyPlanOrdersSubmitting(order_ids=(PLAN_ORDER.order_id,)),
        frozenset({"plan-planned", "plan-cancelled", "plan-skipped"}),
    ),
    (
        ev.DailyPlanOrdersSubmitted(order_ids=(PLAN_ORDER.order_id,), at_ms=1732521600000),
        frozenset({"plan-submitting"}),
    ),
    (
        ev.DailyPlanOrdersNotSubmitted(
            order_ids=(PLAN_ORDER.order_id,), problem={"code": "UnknownWorkflow", "message": "no"}
        ),
        frozenset({"plan-submitting"}),
    ),
    (ev.DailyPlanOrdersCancelled(order_ids=(PLAN_ORDER.order_id,)), frozenset({"plan-submitted"})),
    (
        ev.DailyPlanOrdersRemoved(order_ids=(PLAN_ORDER.order_id,)),
        frozenset({"plan-planned", "plan-cancelled", "plan-skipped"}),
    ),
    (ev.DailyPlanOrdersSkipped(order_ids=(PLAN_ORDER.order_id,)), frozenset({"plan-planned"})),
    (
        ev.DeploymentRequested(controller_id="controller-1", operation="UPDATE", account="root", objects=(DEPLOYED_W,)),
        frozenset({"deployment-"}),
    ),
    (ev.DeploymentSucceeded(), frozenset({"deploying"})),
    (ev.DeploymentFailed(problem={"code": "UnknownItem", "message": "AgentRef:a"}), frozenset({"deploying"})),
    (ev.FolderAdded(), frozenset({"folder-"})),
    (ev.FolderRemoved(), frozenset({"folder"})),
    (
        ev.ControllerRegistered(
            nodes=CLUSTER_NODES, force_failover_confirmation=True, cluster_watch="https://watch:4447"
        ),
        frozenset({"controller-"}),
    ),
    (
        ev.ControllerRegistrationChanged(nodes=(ev.RegisteredNode(url="https://c2:4443", role="STANDALONE"),)),
        frozenset({"controller"}),
    ),
    (ev.ControllerUnregistered(), frozenset({"controller"})),
]
META = ev.ChangeMeta(
    account="root",
    at_ms=1732521600000,
    request="/joc/api/iam/account/store",
    comment="ticket 7",
    time_spent_s=3,
    ticket_link="https://tickets/7",
    controller_id="controller-1",
)
GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "cockpit"
KEY_OF = {type(event): STATES[sorted(where)[0]][0] for event, where in TABLE}


def test_the_table_covers_every_event_class() -> None:
    assert {type(e).__name__ for e, _ in TABLE} == set(ev.COCKPIT_EVENTS)
    registered = {n for n, c in codec.registered(ev.CockpitEvent).items() if c.__module__.startswith("js7es.")}
    assert registered == set(ev.COCKPIT_EVENTS)
    assert all(issubclass(c, ev.FAMILIES) for c in ev.COCKPIT_EVENTS.values())


@pytest.mark.parametrize(("event", "applies_in"), TABLE, ids=lambda x: type(x).__name__)
def test_event_against_every_state(event: ev.CockpitEvent, applies_in: frozenset[str]) -> None:
    wrong = []
    for label, (key, state) in STATES.items():
        result = apply(state, key, event)
        if isinstance(result, Problem) == (label in applies_in):
            wrong.append(f"{label}: {result}")
        if isinstance(result, Problem):
            assert result.code == "InapplicableEvent"
    assert wrong == []


@pytest.mark.parametrize(("event", "applies_in"), TABLE, ids=lambda x: type(x).__name__)
def test_golden_json(event: ev.CockpitEvent, applies_in: frozenset[str]) -> None:
    key = KEY_OF[type(event)]
    text = dumps(ev.record_to_json(key, event, META), indent=2) + "\n"
    path = GOLDEN / f"{type(event).__name__}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run UPDATE_GOLDEN=1"
    assert path.read_text(encoding="utf-8") == text
    decoded = ev.record_from_json(loads(text), version=1)
    assert (decoded.key, decoded.event, decoded.meta) == (key, event, META)


def test_every_command_has_a_decider_for_one_kind() -> None:
    # (slots=True makes a second class object per dataclass: compare names)
    assert {c.__name__ for c in COMMAND_KINDS} == {c.__name__ for c in cmd.CockpitCommand.__subclasses__()}


def run(iam: IamState, key: str, command: cmd.CockpitCommand) -> IamState | Problem:
    decided = decide(key, state_of(iam, key), command, CockpitContext(iam=iam))
    if isinstance(decided, Problem):
        return decided
    for keyed in decided:
        applied = apply_iam(iam, keyed.key, keyed.event, iam.versions.get(keyed.key, 0) + 1)
        assert not isinstance(applied, Problem)
        iam = applied
    return iam


def booted() -> IamState:
    iam = EMPTY_IAM
    decided = bootstrap("hash", {"it_operator": (PermissionGrant(path="sos:products:controller:view"),)})
    assert not isinstance(decided, Problem)
    for keyed in decided:
        result = apply_iam(iam, keyed.key, keyed.event, iam.versions.get(keyed.key, 0) + 1)
        assert not isinstance(result, Problem)
        iam = result
    return iam


def test_bootstrap_creates_joc_initial_state() -> None:
    iam = booted()
    assert iam.identity_services["JOC-INITIAL"].type == "JOC"
    assert set(iam.roles) == {"all", *DEFAULT_ROLE_NAMES}
    assert iam.roles["all"].permissions == {"": (PermissionGrant(path="sos:products"),)}
    assert iam.roles["it_operator"].permissions == {"": (PermissionGrant(path="sos:products:controller:view"),)}
    assert iam.roles["business_user"].permissions == {}
    assert iam.accounts["root"] == Account(name="root", password_hash="hash", roles=("all",))


def test_decisions() -> None:
    iam = booted()
    assert isinstance(refused := run(iam, keys.account("a"), cmd.StoreAccount(roles=("nope",))), Problem)
    assert refused.code == "UnknownRole"
    assert isinstance(refused := run(iam, keys.role("x"), cmd.StoreAccount()), Problem)
    assert refused.code == "WrongAggregate"
    assert isinstance(refused := run(iam, keys.account("zz"), cmd.ChangePassword(password_hash="h")), Problem)
    assert refused.code == "UnknownAccount"
    grants = (PermissionGrant(path="sos:products:controller:orders:create"),)
    assert isinstance(refused := run(iam, keys.role("all"), cmd.StorePermissions(scope="", grants=grants * 2)), Problem)
    assert refused.code == "DuplicatePermission"
    bad = (PermissionGrant(path="products:x"),)
    assert isinstance(refused := run(iam, keys.role("all"), cmd.StorePermissions(scope="", grants=bad)), Problem)
    assert refused.code == "InvalidPermission"
    iam2 = run(iam, keys.account("a"), cmd.StoreAccount(roles=("it_operator", "all", "it_operator")))
    assert isinstance(iam2, IamState) and iam2.accounts["a"].roles == ("it_operator", "all")
    # a Store… that changes nothing yields nothing
    assert decide(keys.role("all"), iam2.roles["all"], cmd.StoreRole(ordering=0), CockpitContext(iam=iam2)) == ()


def test_removing_a_held_role_unassigns_it_in_the_same_decision() -> None:
    iam = run(booted(), keys.account("a"), cmd.StoreAccount(roles=("it_operator", "all")))
    assert isinstance(iam, IamState)
    decided = decide(keys.role("all"), iam.roles["all"], cmd.RemoveRole(), CockpitContext(iam=iam))
    assert not isinstance(decided, Problem)
    assert [k.key for k in decided] == ["role:all", "account:a", "account:root"]
    after = run(iam, keys.role("all"), cmd.RemoveRole())
    assert isinstance(after, IamState)
    assert "all" not in after.roles
    assert after.accounts["a"].roles == ("it_operator",) and after.accounts["root"].roles == ()
    # added again, the role grants nothing to its former holders
    again = run(after, keys.role("all"), cmd.StoreRole())
    assert isinstance(again, IamState) and again.accounts["a"].roles == ("it_operator",)


def test_a_command_is_answered_once() -> None:
    key = keys.command("q")
    ctx = CockpitContext(iam=EMPTY_IAM)
    request = cmd.RequestControllerCommand(controller_id="c", request="/", category="CONTROLLER")
    decided = decide(key, None, request, ctx)
    assert not isinstance(decided, Problem)
    state = apply(None, key, decided[0].event)
    assert isinstance(state, ControllerCommand) and state.outcome is None
    assert isinstance(refused := decide(key, state, request, ctx), Problem) and refused.code == "DuplicateRequestId"
    answered = apply(state, key, ev.ControllerCommandAnswered(accepted=True))
    refused = decide(key, answered, cmd.MarkOutcomeUnknown(), ctx)
    assert isinstance(refused, Problem) and refused.code == "RequestAnsweredAlready"
