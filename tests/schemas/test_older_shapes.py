"""Samples of older shapes that must still decode (tests/golden/older/): journals written by earlier
js7es versions are recovered, replayed and verified by the current code, and written anew in the
current shape. Never regenerate these files: they are what older versions wrote."""

from __future__ import annotations

import shutil
from pathlib import Path

from js7es.domain import codec
from js7es.domain.commands import execute
from js7es.domain.commands.items import UpdateItems
from js7es.domain.items import UnsignedSimpleItemAdded, VersionAdded, VersionedItemAdded
from js7es.domain.order.context import Context
from js7es.domain.order.order import Order
from js7es.domain.order.outcome import Failed as FailedOutcome
from js7es.domain.order.states import Failed, OrderState
from js7es.domain.problem import Problem
from js7es.domain.state import ControllerState
from js7es.domain.value import dumps, loads
from js7es.domain.workflow.workflow import WorkflowId
from js7es.journal import FileJournal
from js7es.journal.tools import replay, verify

OLDER = Path(__file__).resolve().parent.parent / "golden" / "older"


def test_a_journal_holding_the_order_state_as_FailedState_still_recovers(tmp_path: Path) -> None:
    """Before js7es used JS7's name, the order state Failed was written {"TYPE":"FailedState"}."""
    shutil.copytree(OLDER / "failed-state-journal", tmp_path / "journal")
    directory = tmp_path / "journal"
    assert '"state":{"TYPE":"FailedState"}' in (directory / "controller--1700000000000011.journal").read_text()
    assert verify(directory).ok
    replayed = replay(directory, ControllerState, progress=False)
    assert replayed.problems == [] and replayed.state is not None

    with FileJournal.open(directory) as journal:
        recovered = journal.recovered
        state = ControllerState.from_snapshot(recovered.snapshot)
        for stamped in recovered.events:
            applied = state.apply_stamped(stamped)
            assert isinstance(applied, ControllerState), applied
            state = applied
        assert {o.id: type(o.state) for o in state.orders.values()} == {"A": Failed, "B": Failed}
        assert state == replayed.state
        journal.take_snapshot(state.snapshot_objects(), at_event_id=journal.last_event_id)
    newest = max(directory.glob("controller--*.journal"))
    assert '"state":{"TYPE":"Failed"}' in newest.read_text() and "FailedState" not in newest.read_text()
    with FileJournal.open(directory) as journal:
        assert ControllerState.from_snapshot(journal.recovered.snapshot) == state


def test_the_older_state_name_decodes_only_as_a_state() -> None:
    assert codec.decode({"TYPE": "FailedState"}, OrderState) == Failed()
    order = codec.decode(loads((OLDER / "order-FailedState.json").read_text()), Order)
    assert order.state == Failed() and isinstance(order.last_outcome, FailedOutcome)
    assert '"state":{"TYPE":"Failed"}' in dumps(codec.encode(order))


def test_items_deployed_before_js7es_refused_their_unsupported_fields_still_apply() -> None:
    """Older js7es accepted (and ignored) JS7 fields it now refuses at deployment, e.g. a job's admission
    times or an AgentRef's processLimit: their journaled item events must still apply on recovery."""
    job = {
        "agentPath": "A",
        "executable": {"TYPE": "ShellScriptExecutable", "script": "true", "login": {"credentialKey": "k"}},
        "admissionTimeScheme": {"periods": []},
    }
    workflow = {"path": "W", "versionId": "1", "instructions": [{"TYPE": "Execute.Anonymous", "job": job}]}
    agent = {"TYPE": "AgentRef", "path": "A", "uri": "https://a", "processLimit": 3}
    state = ControllerState()
    for event in (
        UnsignedSimpleItemAdded(item=agent),
        VersionAdded(version_id="1"),
        VersionedItemAdded(item=workflow),
    ):
        assert state.apply_event("", event) is None
    assert WorkflowId("W", "1") in state.workflows
    assert ControllerState.from_snapshot(loads(dumps(list(state.snapshot_objects())))) == state
    deployed = execute(
        ControllerState(),
        UpdateItems(
            operations=(
                {"TYPE": "AddVersion", "versionId": "1"},
                {"TYPE": "AddOrChangeSimple", "item": {**agent, "processLimit": None}},
                {"TYPE": "AddOrChangeSimple", "item": workflow},
            )
        ),
        Context(now_ms=0),
    )
    assert isinstance(deployed, Problem) and deployed.code == "NotSupported"
