"""The Cluster Watch's decisions, table by table (pure: the clock is a number), and the split-brain
sequences in both directions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from js7es.domain.problem import Problem
from js7es.nodes.cluster_watch.cluster_state import (
    ACTIVE_SHUT_DOWN,
    COUPLED,
    EMPTY,
    FAILED_OVER,
    KINDS,
    NODES_APPOINTED,
    PASSIVE_LOST,
    PREPARED_TO_BE_COUPLED,
    SWITCHED_OVER,
    ClusterState,
)
from js7es.nodes.cluster_watch.logic import (
    ACTIVE_STILL_ALIVE,
    FAIL_OVER_WHILE_PASSIVE_LOST,
    INAPPLICABLE,
    INVALID,
    NOT_ACTIVE,
    REFUSALS,
    UNTAUGHT,
    Accepted,
    Decision,
    Grant,
    NodeLossConfirmation,
    NodeLossRequest,
    Report,
    WatchState,
    decide_confirmation,
    decide_node_loss,
    decide_report,
)
from tests.cluster_watch.support import B, P, failover, passive_lost, report, state, watch

COVERED: set[str] = set()  # the problem codes the tables below expect


def outcome(decision: Decision) -> str:
    """The problem code, or ``granted <kind>(active …)`` / ``accepted <kind>(active …)``."""
    if isinstance(decision, Problem):
        return decision.code
    return f"{decision.cluster_state}"


def accepted(decision: Decision) -> Accepted:
    assert isinstance(decision, Accepted), decision
    return decision


def expect(code: str) -> str:
    COVERED.add(code)
    return code


# -- node loss --------------------------------------------------------------------------------------------

NODE_LOSS = [
    # (name, watch, request, now, expected outcome)
    ("untaught refuses a failover", watch(), failover(), 10.0, expect(UNTAUGHT)),
    ("untaught refuses a PassiveLost", watch(), passive_lost(), 10.0, expect(UNTAUGHT)),
    ("untaught, loss of the other node confirmed", watch(confirmed=(B,)), failover(P), 10.0, UNTAUGHT),
    ("untaught, confirmed: failover", watch(confirmed=(P,)), failover(P), 10.0, "FailedOver(active Backup)"),
    ("untaught, confirmed: PassiveLost", watch(confirmed=(B,)), passive_lost(P), 10.0, "PassiveLost(active Primary)"),
    (
        "untaught, confirmed, but the passive is not coupled",
        watch(confirmed=(P,)),
        failover(P, sender_kind=PREPARED_TO_BE_COUPLED),
        10.0,
        expect(INAPPLICABLE),
    ),
    (
        "untaught, confirmed, but the active's state allows no PassiveLost",
        watch(confirmed=(B,)),
        passive_lost(P, sender_kind=NODES_APPOINTED),
        10.0,
        INAPPLICABLE,
    ),
    ("the active reported 1 s ago", watch(COUPLED, heard=9.0), failover(), 10.0, expect(ACTIVE_STILL_ALIVE)),
    ("the active reported 1.999 s ago", watch(COUPLED, heard=8.001), failover(), 10.0, ACTIVE_STILL_ALIVE),
    (
        "the active silent for the heartbeat timeout",
        watch(COUPLED, heard=8.0),
        failover(),
        10.0,
        "FailedOver(active Backup)",
    ),
    ("the active silent for 5 s", watch(COUPLED, heard=5.0), failover(), 10.0, "FailedOver(active Backup)"),
    ("the active never reported", watch(COUPLED, heard=None), failover(), 10.0, "FailedOver(active Backup)"),
    (
        "the active seems alive, but a person confirmed its loss",
        watch(COUPLED, heard=9.9, confirmed=(P,)),
        failover(),
        10.0,
        "FailedOver(active Backup)",
    ),
    (
        "a confirmation of the passive does not help the failover",
        watch(COUPLED, heard=9.9, confirmed=(B,)),
        failover(),
        10.0,
        ACTIVE_STILL_ALIVE,
    ),
    (
        "failover while the active lost its passive",
        watch(PASSIVE_LOST, heard=0.0),
        failover(),
        10.0,
        expect(FAIL_OVER_WHILE_PASSIVE_LOST),
    ),
    (
        "failover while PassiveLost, even confirmed",
        watch(PASSIVE_LOST, heard=0.0, confirmed=(P,)),
        failover(),
        10.0,
        FAIL_OVER_WHILE_PASSIVE_LOST,
    ),
    ("failover while not yet coupled", watch(PREPARED_TO_BE_COUPLED), failover(), 10.0, INAPPLICABLE),
    (
        "a Watch that lags (knows PreparedToBeCoupled), the loss confirmed: failover",
        watch(PREPARED_TO_BE_COUPLED, heard=9.9, confirmed=(P,)),
        failover(),
        10.0,
        "FailedOver(active Backup)",
    ),
    (
        "a Watch that knows NodesAppointed, the loss confirmed: failover",
        watch(NODES_APPOINTED, heard=0.0, confirmed=(P,)),
        failover(),
        10.0,
        "FailedOver(active Backup)",
    ),
    (
        "confirmed, but the passive's own state is not Coupled",
        watch(PREPARED_TO_BE_COUPLED, confirmed=(P,)),
        failover(P, sender_kind=PREPARED_TO_BE_COUPLED),
        10.0,
        INAPPLICABLE,
    ),
    ("failover after the active shut down", watch(ACTIVE_SHUT_DOWN), failover(), 10.0, INAPPLICABLE),
    ("failover from the node that is active already", watch(COUPLED, B), failover(P), 10.0, INAPPLICABLE),
    (
        "failover by a passive that is not coupled itself",
        watch(COUPLED),
        failover(P, sender_kind=PREPARED_TO_BE_COUPLED),
        10.0,
        INAPPLICABLE,
    ),
    ("PassiveLost when Coupled", watch(COUPLED, heard=9.9), passive_lost(), 10.0, "PassiveLost(active Primary)"),
    (
        "PassiveLost when PreparedToBeCoupled",
        watch(PREPARED_TO_BE_COUPLED),
        passive_lost(sender_kind=PREPARED_TO_BE_COUPLED),
        10.0,
        "PassiveLost(active Primary)",
    ),
    ("PassiveLost by a replaced active", watch(FAILED_OVER, B), passive_lost(P), 10.0, expect(NOT_ACTIVE)),
    ("PassiveLost by the passive", watch(COUPLED, B), passive_lost(P), 10.0, NOT_ACTIVE),
    ("PassiveLost when PassiveLost already", watch(PASSIVE_LOST), passive_lost(), 10.0, INAPPLICABLE),
    ("PassiveLost when NodesAppointed", watch(NODES_APPOINTED), passive_lost(), 10.0, INAPPLICABLE),
    (
        "PassiveLost by an active whose own state is decoupled",
        watch(COUPLED),
        passive_lost(sender_kind=SWITCHED_OVER),
        10.0,
        INAPPLICABLE,
    ),
    (
        "from and lostNodeId the same",
        watch(COUPLED),
        replace(failover(), lost_node_id=B),
        10.0,
        expect(INVALID),
    ),
    ("from not a node", watch(COUPLED), replace(failover(), from_id="Other"), 10.0, INVALID),
    ("without nodes", watch(COUPLED), replace(failover(), cluster_state=ClusterState(kind=EMPTY)), 10.0, INVALID),
]


@pytest.mark.parametrize(("name", "known", "request_", "now", "expected"), NODE_LOSS, ids=[r[0] for r in NODE_LOSS])
def test_node_loss(name: str, known: WatchState, request_: NodeLossRequest, now: float, expected: str) -> None:
    decision = decide_node_loss(known, request_, now)
    assert outcome(decision) == expected
    if isinstance(decision, Accepted):
        assert decision.watch.known == decision.cluster_state
        assert decision.watch.grant == Grant(
            requester=request_.from_id, lost_node_id=request_.lost_node_id, cluster_state=decision.cluster_state
        )
        assert decision.watch.confirmation_of(request_.lost_node_id) is None  # used up
        assert decision.watch.heartbeat_age(request_.from_id, now) == 0
        assert decision.changed
    else:
        assert decision.code in REFUSALS or decision.code == INVALID
        assert request_.from_id in decision.message or decision.code == INVALID


# Every known state and both kinds of node loss, the active silent, nobody confirmed.
FAILOVER_BY_KNOWN_KIND = {
    NODES_APPOINTED: INAPPLICABLE,
    PREPARED_TO_BE_COUPLED: INAPPLICABLE,
    COUPLED: "FailedOver(active Backup)",
    PASSIVE_LOST: FAIL_OVER_WHILE_PASSIVE_LOST,
    SWITCHED_OVER: INAPPLICABLE,
    ACTIVE_SHUT_DOWN: INAPPLICABLE,
    FAILED_OVER: INAPPLICABLE,
}
PASSIVE_LOST_BY_KNOWN_KIND = {
    NODES_APPOINTED: INAPPLICABLE,
    PREPARED_TO_BE_COUPLED: "PassiveLost(active Primary)",
    COUPLED: "PassiveLost(active Primary)",
    PASSIVE_LOST: INAPPLICABLE,
    SWITCHED_OVER: INAPPLICABLE,
    ACTIVE_SHUT_DOWN: INAPPLICABLE,
    FAILED_OVER: INAPPLICABLE,
}


def test_the_tables_cover_every_state_and_every_refusal() -> None:
    kinds_with_nodes = set(KINDS) - {EMPTY}
    assert set(FAILOVER_BY_KNOWN_KIND) == kinds_with_nodes
    assert set(PASSIVE_LOST_BY_KNOWN_KIND) == kinds_with_nodes
    assert REFUSALS.issubset(COVERED | set(REPORT_CODES))


@pytest.mark.parametrize("kind", sorted(FAILOVER_BY_KNOWN_KIND))
def test_failover_in_every_known_state(kind: str) -> None:
    assert outcome(decide_node_loss(watch(kind, heard=0.0), failover(), 10.0)) == FAILOVER_BY_KNOWN_KIND[kind]


@pytest.mark.parametrize("kind", sorted(PASSIVE_LOST_BY_KNOWN_KIND))
def test_passive_lost_in_every_known_state(kind: str) -> None:
    assert outcome(decide_node_loss(watch(kind), passive_lost(), 10.0)) == PASSIVE_LOST_BY_KNOWN_KIND[kind]


def test_a_granted_failover_has_failed_at_from_the_request_or_its_event_id() -> None:
    granted = accepted(decide_node_loss(watch(COUPLED), failover(event_id=120, failed_at=117), 10.0))
    assert granted.cluster_state == state(FAILED_OVER, B, failed_at=117)
    assert granted.watch.event_id == 120
    granted = accepted(decide_node_loss(watch(COUPLED), failover(event_id=120), 10.0))
    assert granted.cluster_state is not None and granted.cluster_state.failed_at == 120


def test_a_granted_failover_forks_at_the_passive_event_id() -> None:
    # The old active may have reported a later EventId than its passive has: the new active's count.
    granted = accepted(decide_node_loss(watch(COUPLED, event_id=150), failover(event_id=140), 10.0))
    assert granted.watch.event_id == 140
    assert (
        outcome(decide_report(granted.watch, report(FAILED_OVER, B, event_id=141), 11.0)) == "FailedOver(active Backup)"
    )


# -- reports ------------------------------------------------------------------------------------------------

REPORT_CODES: list[str] = []

REPORTS = [
    # (name, watch, report, expected outcome, known state changed)
    ("untaught learns", watch(), report(COUPLED), "Coupled(active Primary)", True),
    ("untaught learns any state", watch(), report(FAILED_OVER, B), "FailedOver(active Backup)", True),
    ("heartbeat", watch(COUPLED), report(COUPLED), "Coupled(active Primary)", False),
    (
        "late heartbeat of the same state",
        watch(COUPLED),
        report(COUPLED, event_id=90),
        "Coupled(active Primary)",
        False,
    ),
    ("a newer state", watch(COUPLED), report(PASSIVE_LOST, event_id=101), "PassiveLost(active Primary)", True),
    ("a changed state, not newer", watch(COUPLED), report(PASSIVE_LOST, event_id=100), INAPPLICABLE, False),
    ("a switchover", watch(COUPLED), report(SWITCHED_OVER, B, event_id=101), "SwitchedOver(active Backup)", True),
    ("after a switchover", watch(COUPLED), report(COUPLED, B, event_id=150), "Coupled(active Backup)", True),
    ("a switchover, not newer", watch(COUPLED), report(SWITCHED_OVER, B, event_id=100), NOT_ACTIVE, False),
    ("a switchover from PassiveLost", watch(PASSIVE_LOST), report(SWITCHED_OVER, B, event_id=200), NOT_ACTIVE, False),
    ("the other node claims Coupled", watch(PASSIVE_LOST), report(COUPLED, B, event_id=200), NOT_ACTIVE, False),
    (
        "a failover the Watch did not see",
        watch(COUPLED),
        report(FAILED_OVER, B, event_id=101),
        "FailedOver(active Backup)",
        True,
    ),
    ("a failover, not newer", watch(COUPLED), report(FAILED_OVER, B, event_id=100), NOT_ACTIVE, False),
    ("a replaced active", watch(FAILED_OVER, B), report(COUPLED, P, event_id=99), NOT_ACTIVE, False),
    ("a replaced active, newer", watch(FAILED_OVER, B), report(COUPLED, P, event_id=200), NOT_ACTIVE, False),
    ("only the active reports", watch(COUPLED), report(COUPLED, P, sender=B), INVALID, False),
    (
        "a state without nodes",
        watch(),
        Report(from_id=P, event_id=1, cluster_state=ClusterState(kind=EMPTY)),
        INVALID,
        False,
    ),
]
REPORT_CODES.extend(r[3] for r in REPORTS)


@pytest.mark.parametrize(("name", "known", "report_", "expected", "changed"), REPORTS, ids=[r[0] for r in REPORTS])
def test_report(name: str, known: WatchState, report_: Report, expected: str, changed: bool) -> None:
    decision = decide_report(known, report_, 7.0)
    assert outcome(decision) == expected
    if isinstance(decision, Accepted):
        assert decision.changed == changed
        assert decision.watch.known == report_.cluster_state
        assert decision.watch.event_id == max(known.event_id, report_.event_id)
        assert decision.watch.heartbeat_age(report_.from_id, 7.0) == 0
    elif decision.code == NOT_ACTIVE:
        assert known.known is not None
        assert decision.arguments["activeId"] == known.known.active_id
        assert decision.arguments["nodeId"] == report_.from_id


def test_a_failover_claim_against_the_watch_own_grant_is_refused() -> None:
    granted = accepted(decide_node_loss(watch(COUPLED), failover(P), 10.0)).watch
    # Primary claims to have failed over (to itself: a bogus journal), with a newer EventId
    claim = Report(from_id=P, event_id=500, cluster_state=state(FAILED_OVER, P))
    assert outcome(decide_report(granted, claim, 11.0)) == NOT_ACTIVE


def test_the_grant_stands_until_the_state_moves_on() -> None:
    granted = accepted(decide_node_loss(watch(COUPLED), failover(P, failed_at=90), 10.0)).watch
    same = accepted(decide_report(granted, report(FAILED_OVER, B, event_id=101), 11.0)).watch
    assert same.grant == granted.grant
    moved = accepted(decide_report(same, report(PREPARED_TO_BE_COUPLED, B, event_id=102), 12.0)).watch
    assert moved.grant is None


# -- split brain, both directions -------------------------------------------------------------------------


def test_once_a_failover_is_granted_the_old_active_is_refused() -> None:
    w = accepted(decide_report(watch(), report(COUPLED, event_id=100), 0.0)).watch
    assert outcome(decide_node_loss(w, failover(event_id=100), 1.0)) == ACTIVE_STILL_ALIVE
    w = accepted(decide_node_loss(w, failover(event_id=100), 2.5)).watch  # Primary silent for 2.5 s
    assert w.known == state(FAILED_OVER, B, failed_at=100)

    # Primary wakes up: it asks to drop Backup, and reports; both refused, naming the active Backup
    for decision in (
        decide_node_loss(w, passive_lost(P, event_id=101), 3.0),
        decide_report(w, report(COUPLED, P, event_id=101), 3.0),
    ):
        assert isinstance(decision, Problem) and decision.code == NOT_ACTIVE
        assert decision.arguments["activeId"] == B
    # Backup's retry (its answer got lost) gets the same consent
    again = accepted(decide_node_loss(w, failover(event_id=100), 3.1))
    assert again.cluster_state == w.known and not again.changed
    # Backup reports its new state; Primary stays refused
    w = accepted(decide_report(again.watch, report(FAILED_OVER, B, event_id=105), 3.2)).watch
    assert outcome(decide_node_loss(w, passive_lost(P, event_id=200), 30.0)) == NOT_ACTIVE


def test_once_a_passive_lost_is_granted_the_failover_is_refused() -> None:
    w = accepted(decide_report(watch(), report(COUPLED, event_id=100), 0.0)).watch
    w = accepted(decide_node_loss(w, passive_lost(P, event_id=100), 0.5)).watch
    assert w.known == state(PASSIVE_LOST, P)
    # A heartbeat Primary sent before the grant must not undo it
    assert outcome(decide_report(w, report(COUPLED, event_id=100), 0.6)) == INAPPLICABLE
    # Backup, cut off from Primary for long, asks to fail over: refused, Primary may have committed alone
    assert outcome(decide_node_loss(w, failover(P, event_id=100), 60.0)) == FAIL_OVER_WHILE_PASSIVE_LOST
    # Primary's retry gets the same consent; its PassiveLost report is a heartbeat
    assert outcome(decide_node_loss(w, passive_lost(P, event_id=100), 60.1)) == "PassiveLost(active Primary)"
    w = accepted(decide_report(w, report(PASSIVE_LOST, event_id=101), 60.2)).watch
    assert outcome(decide_node_loss(w, failover(P, event_id=100), 120.0)) == FAIL_OVER_WHILE_PASSIVE_LOST


def test_only_one_of_two_confirmed_untaught_requests_is_granted() -> None:
    w = accepted(decide_confirmation(watch(), NodeLossConfirmation(lost_node_id=P, confirmer="Jane"), 0.0)).watch
    w = accepted(decide_confirmation(w, NodeLossConfirmation(lost_node_id=B, confirmer="Joe"), 0.0)).watch
    w = accepted(decide_node_loss(w, failover(P), 1.0)).watch
    assert w.known == state(FAILED_OVER, B, failed_at=100)
    assert [c.lost_node_id for c in w.confirmations] == [B]
    # Primary's PassiveLost, though Backup's loss was confirmed too: Primary is no longer active
    assert outcome(decide_node_loss(w, passive_lost(P), 1.1)) == NOT_ACTIVE


# -- confirmations ------------------------------------------------------------------------------------------


def test_a_confirmation_is_used_up_by_the_next_grant_about_the_node() -> None:
    confirm = NodeLossConfirmation(lost_node_id=P, confirmer="Jane")
    w = accepted(decide_confirmation(watch(COUPLED, heard=5.0), confirm, 5.0)).watch
    assert w.confirmation_of(P) is not None and w.confirmation_of(P).confirmer == "Jane"  # type: ignore[union-attr]
    w = accepted(decide_node_loss(w, failover(P), 5.5)).watch  # P reported 0.5 s ago: alive, but confirmed lost
    assert w.confirmations == ()
    # Backup (now active) reports, Primary returns as passive and couples; a later failover is checked again
    w = accepted(decide_report(w, report(COUPLED, B, event_id=300), 6.0)).watch
    assert outcome(decide_node_loss(w, failover(B, event_id=300), 6.5)) == ACTIVE_STILL_ALIVE


def test_a_normal_grant_uses_up_a_confirmation_of_the_same_node() -> None:
    w = watch(COUPLED, confirmed=(B,))
    assert accepted(decide_node_loss(w, passive_lost(P), 1.0)).watch.confirmations == ()


def test_a_confirmation_replaces_the_one_for_the_same_node() -> None:
    w = accepted(decide_confirmation(watch(), NodeLossConfirmation(lost_node_id=P, confirmer="Jane"), 1.0)).watch
    w = accepted(decide_confirmation(w, NodeLossConfirmation(lost_node_id=P, confirmer="Joe"), 2.0)).watch
    assert [(c.lost_node_id, c.confirmer, c.confirmed_at) for c in w.confirmations] == [(P, "Joe", 2.0)]


def test_a_confirmation_must_name_a_node_of_a_known_cluster() -> None:
    unknown = NodeLossConfirmation(lost_node_id="Tertiary", confirmer="Jane")
    assert outcome(decide_confirmation(watch(COUPLED), unknown, 1.0)) == INVALID
    assert accepted(decide_confirmation(watch(), unknown, 1.0)).watch.confirmation_of("Tertiary") is not None


def test_an_untaught_watch_does_not_learn_coupled_from_a_restarted_active() -> None:
    """A node that restarts with a Coupled state may have been failed over while it was down: its
    report must not teach an untaught Watch, or the Watch could consent to its PassiveLost."""
    restarted = replace(report(COUPLED, P), restarted=True)
    decided = decide_report(watch(), restarted, 10.0)
    assert isinstance(decided, Accepted) and decided.watch.known is None
    assert isinstance(decide_node_loss(decided.watch, passive_lost(B), 11.0), Problem)
    # A taught Watch takes the same report as a heartbeat; a decoupled state teaches even after a restart.
    taught = decide_report(watch(COUPLED, P), restarted, 10.0)
    assert isinstance(taught, Accepted) and taught.watch.known == state(COUPLED, P)
    decoupled = decide_report(watch(), replace(report(PASSIVE_LOST, P), restarted=True), 10.0)
    assert isinstance(decoupled, Accepted) and decoupled.watch.known == state(PASSIVE_LOST, P)


# -- each cluster state change racing a node loss (issue 10) ------------------------------------------------
# The active tells the Watch a Coupled state before it writes ClusterCoupled (at the next EventId, with
# its engine quiesced); the other changes are told after they are written, or are the Watch's own grants.


def test_coupled_confirmed_before_it_is_written_then_the_active_dies() -> None:
    w = accepted(decide_report(watch(), report(PREPARED_TO_BE_COUPLED, event_id=100), 0.0)).watch
    w = accepted(decide_report(w, report(COUPLED, event_id=101), 0.1)).watch  # before ClusterCoupled is written
    # A heartbeat sent before the confirmation arrives late: refused, it cannot undo the Coupled state
    assert outcome(decide_report(w, report(PREPARED_TO_BE_COUPLED, event_id=100), 0.2)) == INAPPLICABLE
    assert w.known == state(COUPLED)
    # Primary dies right after writing ClusterCoupled (EventId 101): Backup has it and asks to fail over
    granted = accepted(decide_node_loss(w, failover(P, event_id=101), 3.0))
    assert granted.cluster_state == state(FAILED_OVER, B, failed_at=101)


def test_coupled_confirmed_but_never_written_grants_no_failover_to_an_uncoupled_passive() -> None:
    w = accepted(decide_report(watch(PREPARED_TO_BE_COUPLED), report(COUPLED, event_id=101), 0.0)).watch
    # Primary died before writing ClusterCoupled: Backup's journal says PreparedToBeCoupled
    assert outcome(decide_node_loss(w, failover(P, sender_kind=PREPARED_TO_BE_COUPLED), 10.0)) == INAPPLICABLE
    # Primary restarts (PreparedToBeCoupled, nothing new) and couples again: the same state, a heartbeat
    again = accepted(decide_report(w, report(COUPLED, event_id=101), 11.0))
    assert not again.changed


def test_a_watch_that_missed_coupled_is_unblocked_by_a_confirmation() -> None:
    # Without the confirmation before writing (the bug of issue 10), or a Watch restarted after coupling
    # that learned an older state: a person's confirmation lets the failover through.
    w = watch(PREPARED_TO_BE_COUPLED, heard=0.0)
    assert outcome(decide_node_loss(w, failover(P, event_id=101), 10.0)) == INAPPLICABLE
    w = accepted(decide_confirmation(w, NodeLossConfirmation(lost_node_id=P, confirmer="Jane"), 10.5)).watch
    assert outcome(decide_node_loss(w, failover(P, event_id=101), 11.0)) == "FailedOver(active Backup)"


def test_passive_lost_racing_a_failover_one_of_them_wins() -> None:
    coupled = accepted(decide_report(watch(), report(COUPLED, event_id=100), 0.0)).watch
    # PassiveLost first: the failover is refused
    w = accepted(decide_node_loss(coupled, passive_lost(P, event_id=100), 5.0)).watch
    assert outcome(decide_node_loss(w, failover(P, event_id=100), 5.0)) == FAIL_OVER_WHILE_PASSIVE_LOST
    # The failover first: PassiveLost is refused, naming Backup active
    w = accepted(decide_node_loss(coupled, failover(P, event_id=100), 5.0)).watch
    assert outcome(decide_node_loss(w, passive_lost(P, event_id=100), 5.0)) == NOT_ACTIVE


def test_switchover_racing_a_failover_request() -> None:
    coupled = accepted(decide_report(watch(), report(COUPLED, event_id=100), 0.0)).watch
    # Backup reports the switchover first: its later failover request (its old Coupled state) is refused
    w = accepted(decide_report(coupled, report(SWITCHED_OVER, B, event_id=101), 0.5)).watch
    assert outcome(decide_node_loss(w, failover(P, event_id=100), 10.0)) == INAPPLICABLE
    # Primary's late report of its old Coupled state: refused
    assert outcome(decide_report(w, report(COUPLED, P, event_id=100), 0.6)) == NOT_ACTIVE


def test_active_shutdown_racing_a_failover_request() -> None:
    coupled = accepted(decide_report(watch(), report(COUPLED, event_id=100), 0.0)).watch
    w = accepted(decide_report(coupled, report(ACTIVE_SHUT_DOWN, event_id=101), 0.5)).watch
    # Backup, which has not yet replicated ActiveShutDown, asks to fail over: refused (a clean shutdown)
    assert outcome(decide_node_loss(w, failover(P, event_id=100), 10.0)) == INAPPLICABLE
