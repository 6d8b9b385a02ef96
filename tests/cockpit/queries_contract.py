"""The Cockpit queries' contract (js7es/projections/cockpit/queries), one abstract suite run on SQLite
and on PostgreSQL: JOC's shapes validated against JOC's schemas (joc_schemas.py), the state mapping,
filters, folder restrictions inside SQL, meta-characters, paging and running log increments."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from js7es.domain.event import NO_KEY, KeyedEvent
from js7es.domain.items import ItemDeleted, UnsignedSimpleItemAdded, UnsignedSimpleItemChanged
from js7es.domain.order.events import OrderProcessingStarted, OrderStdoutWritten
from js7es.domain.value import dumps, value_from_json
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.queries import agents, controllers, history, logs, orders, workflows
from js7es.projections.cockpit.queries import events as event_queries
from js7es.projections.cockpit.queries.common import NEVER_MS, joc_date
from tests.cockpit import joc_schemas
from tests.cockpit.conftest import DatabaseFactory
from tests.cockpit.contract import C1, project
from tests.cockpit.support import T0, linear_workflow, simulated_history, stamp
from tests.domain.simulator import Simulator

NOW = T0 + 10_000_000  # after every event of the simulated histories


def jsonable(answer: Any) -> Any:
    return json.loads(dumps(answer))  # Decimals as JSON numbers, as the API writes them


def check(answer: dict[str, Any], schema_path: str, **patch: Any) -> None:
    joc_schemas.validate(jsonable({"deliveryDate": joc_date(NOW), **answer}), schema_path, patch=patch or None)


def order_row(order_id: str, path: str = "W", state: str = "Ready", **kw: Any) -> dict[str, Any]:
    row = {
        "controller_id": C1,
        "order_id": order_id,
        "workflow_path": path,
        "workflow_version": "v1",
        "state": state,
        "is_suspended": False,
        "position": "[0]",
        "arguments": "{}",
        "scheduled_for": None,
        "agent_path": None,
        "parent_order_id": None,
        "run_event_id": 1,
        "step_event_id": None,
        "order_json": "{}",
        "updated_at": T0,
        "last_event_id": 1,
    }
    row.update(kw)
    return row


def history_row(order_id: str, run: int, path: str = "W", state: str = "Finished", **kw: Any) -> dict[str, Any]:
    row = {
        "controller_id": C1,
        "order_id": order_id,
        "run_event_id": run,
        "parent_order_id": None,
        "workflow_path": path,
        "workflow_version": "v1",
        "arguments": "{}",
        "added_at": T0 + run,
        "scheduled_for": None,
        "started_at": T0 + run,
        "ended_at": T0 + run + 1,
        "state": state,
        "end_position": "[1]",
        "error_message": None,
    }
    row.update(kw)
    return row


def insert(engine: Engine, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as c:
        c.execute(table.insert(), rows)


# JOC's mapping (OrdersHelper.groupByStates, severityByGroupedStates, mapJOrderToOrderV):
# (state, suspended, scheduledFor) → (text, severity)
STATE_TABLE = [
    ("Fresh", False, None, "SCHEDULED", 1),
    ("Fresh", False, NOW + 60_000, "SCHEDULED", 1),
    ("Fresh", False, NOW - 60_000, "BLOCKED", 7),
    ("Fresh", False, NEVER_MS, "PENDING", 10),
    ("Fresh", True, NEVER_MS, "SUSPENDED", 5),
    ("Ready", False, None, "WAITING", 8),
    ("DelayingRetry", False, None, "WAITING", 8),
    ("Forked", False, None, "WAITING", 8),
    ("Sleeping", False, None, "WAITING", 8),
    ("Processing", False, None, "RUNNING", 0),
    ("Processed", False, None, "INPROGRESS", 3),
    ("ProcessingKilled", False, None, "FAILED", 2),
    ("Prompting", False, None, "PROMPTING", 12),
    ("Failed", False, None, "FAILED", 2),
    ("FailedInFork", False, None, "FAILED", 2),
    ("Broken", False, None, "FAILED", 2),
    ("Failed", True, None, "SUSPENDED", 5),
    ("Ready", True, None, "SUSPENDED", 5),
    ("Finished", False, None, "FINISHED", 6),
    ("Finished", True, None, "FINISHED", 6),  # SUSPENDED does not hide a terminated order
    ("Cancelled", True, None, "CANCELLED", 6 - 4),
    ("SomethingNew", False, None, "UNKNOWN", 2),
]


class QueriesContract:
    @pytest.fixture
    def make_database(self) -> DatabaseFactory:
        raise NotImplementedError

    @pytest.fixture
    def engine(self, make_database: DatabaseFactory) -> Engine:
        return make_database()[0]

    def test_state_mapping_table_in_python_and_in_sql(self, engine: Engine) -> None:
        rows = [
            order_row(f"o{i}", state=s, is_suspended=susp, scheduled_for=sf)
            for i, (s, susp, sf, _, _) in enumerate(STATE_TABLE)
        ]
        insert(engine, schema.orders, rows)
        for i, (_, _, _, text, severity) in enumerate(STATE_TABLE):
            answer = orders.get_order(engine, C1, f"o{i}", now_ms=NOW)
            assert answer is not None and answer["state"] == {"severity": severity, "_text": text}, STATE_TABLE[i]
            listed = orders.list_orders(engine, C1, now_ms=NOW, states=[text])["orders"]
            assert f"o{i}" in {o["orderId"] for o in listed}, STATE_TABLE[i]
            assert all(o["state"]["_text"] == text for o in listed)
        snapshot = orders.orders_snapshot(engine, C1, now_ms=NOW)
        assert snapshot == {
            "pending": 1,
            "scheduled": 2,
            "inProgress": 1,
            "running": 1,
            "prompting": 1,
            "suspended": 3,
            "waiting": 4,
            "blocked": 1,
            "failed": 4,
            "terminated": 3,
        }
        check({"surveyDate": joc_date(NOW), "orders": snapshot}, "order/snapshot-schema.json")

    def test_orders_of_a_projected_history_in_joc_shape(self, engine: Engine) -> None:
        events = simulated_history(5)
        project(engine, events, batch=len(events))
        answer = orders.list_orders(engine, C1, now_ms=NOW)
        check(answer, "order/orders_v-schema.json")
        by_id = {o["orderId"]: o for o in answer["orders"]}
        assert by_id["o-0"]["workflowId"]["path"] == "/W"
        assert by_id["o-0"]["state"] == {"severity": 6, "_text": "FINISHED"}
        assert by_id["o-0"]["arguments"] == {"n": 0, "text": "ä0"}
        assert by_id["o-fail"]["state"]["_text"] == "FAILED" and by_id["o-fail"]["isResumable"] is True
        compact = orders.list_orders(engine, C1, now_ms=NOW, compact=True)["orders"]
        assert all("arguments" not in o for o in compact)
        single = orders.get_order(engine, C1, "o-1", now_ms=NOW)
        assert single is not None
        check(single, "order/order_v-schema.json")
        assert orders.get_order(engine, C1, "nope", now_ms=NOW) is None
        summary = orders.orders_summary(engine, C1, now_ms=NOW, date_from="-1y")
        assert summary == {"successful": 6, "failed": 1}  # main orders only, as JOC
        check({"surveyDate": joc_date(NOW), "orders": summary}, "order/summary-schema.json")

    def test_paging_latest_scheduled_first_then_unscheduled_as_now(self, engine: Engine) -> None:
        rows = [order_row(f"s{i:02}", state="Fresh", scheduled_for=NOW + i * 1000) for i in range(1, 21)]
        rows += [order_row(f"n{i:02}", state="Fresh") for i in range(5)]
        rows += [order_row(f"p{i:02}", state="Ready", scheduled_for=NOW - i * 1000) for i in range(1, 6)]
        insert(engine, schema.orders, rows)
        ids = [o["orderId"] for o in orders.list_orders(engine, C1, now_ms=NOW, limit=-1)["orders"]]
        expected = [f"s{i:02}" for i in range(20, 0, -1)] + [f"n{i:02}" for i in range(5)]
        assert ids == expected + [f"p{i:02}" for i in range(1, 6)]
        page = [o["orderId"] for o in orders.list_orders(engine, C1, now_ms=NOW, limit=22)["orders"]]
        assert page == ids[:22]
        # JOC's dateTo: SCHEDULED orders planned after it are left out
        later = orders.list_orders(engine, C1, now_ms=NOW, date_to=joc_date(NOW + 5500), limit=-1)["orders"]
        assert {o["orderId"] for o in later} == set(ids) - {f"s{i:02}" for i in range(6, 21)}

    def test_folder_restriction_is_applied_inside_sql_before_the_limit(self, engine: Engine) -> None:
        paths = {"a": "/x/A", "b": "x/sub/B", "c": "/xy/C", "d": "W", "e": "/x_/E", "f": "/x%/F"}
        rows = [order_row(k, path=p, scheduled_for=NOW + 1000) for k, p in paths.items()]
        rows += [order_row(f"other{i}", path="/elsewhere/O", scheduled_for=NOW + 5000) for i in range(50)]
        insert(engine, schema.orders, rows)

        def listed(folders: list[tuple[str, bool]], limit: int = 3) -> set[str]:
            return {
                o["orderId"] for o in orders.list_orders(engine, C1, now_ms=NOW, folders=folders, limit=limit)["orders"]
            }

        assert listed([("/x", True)]) == {"a", "b"}  # the 50 newer orders outside do not eat the page
        assert listed([("/x", False)]) == {"a"}
        assert listed([("/x/", True)]) == {"a", "b"}
        assert listed([("/", False)], limit=-1) == {"d"}
        assert listed([("/x_", True)]) == {"e"}  # '_' is no wildcard
        assert listed([("/x%", True)]) == {"f"}
        assert listed([]) == set()
        assert orders.get_order(engine, C1, "c", now_ms=NOW, folders=[("/x", True)]) is None
        counts = orders.orders_snapshot(engine, C1, now_ms=NOW, folders=[("/x", True)])
        assert counts["waiting"] == 2 and sum(counts.values()) == 2

    def test_history_filters_globs_and_meta_characters(self, engine: Engine) -> None:
        names = ["plain", "it's", "100%", "a_b", "x;--DROP TABLE orders", "axb"]
        rows = [history_row(n, i + 1, path="/f/W") for i, n in enumerate(names)]
        rows.append(history_row("bad", 100, path="/g/W", state="Failed", error_message="boom"))
        rows.append(history_row("running", 101, path="/f/W", state="Running", ended_at=None, end_position=None))
        rows.append(history_row("pending", 102, state="Pending", started_at=None, ended_at=None))
        rows.append(history_row("plain|child", 1, path="/f/W", parent_order_id="plain"))
        insert(engine, schema.order_history, rows)
        controller = {"controller_id": C1, "event_id": 1, "event_count": 1, "inapplicable_events": 0}
        insert(engine, schema.controllers, [controller])

        def ids(**kw: Any) -> list[str]:
            return [h["orderId"] for h in history.orders_history(engine, now_ms=NOW, **kw)["history"]]

        assert ids() == ["running", "bad", *reversed(names)]  # newest start first, started main orders only
        assert ids(limit=2) == ["running", "bad"]
        assert ids(order_id="it's") == ["it's"]
        assert ids(order_id="100%") == ["100%"]
        assert ids(order_id="a_b") == ["a_b"]
        assert ids(order_id="a?b") == ["axb", "a_b"]
        assert ids(order_id="x;--*") == ["x;--DROP TABLE orders"]
        assert ids(order_id="%") == []
        assert ids(workflow_path="/g/*") == ["bad"]
        assert ids(history_states=["FAILED"]) == ["bad"]
        assert ids(history_states=["INCOMPLETE"]) == ["running"]
        assert ids(folders=[("/g", True)]) == ["bad"]
        assert ids(controller_ids=["other"]) == []
        assert ids(date_from=joc_date(T0 + 100)) == ["running", "bad"]
        assert ids(completed_date_to=joc_date(T0 + 3)) == ["plain"]
        answer = history.orders_history(engine, now_ms=NOW)
        check(answer, "order/orderHistory-schema.json")
        bad = answer["history"][1]
        assert bad["state"] == {"severity": 2, "_text": "FAILED"}
        assert bad["orderState"] == {"severity": 2, "_text": "FAILED"}
        assert answer["history"][0]["state"] == {"severity": 3, "_text": "INCOMPLETE"}
        with engine.connect() as c:
            assert c.execute(sa.select(sa.func.count()).select_from(schema.orders)).scalar() == 0  # still there

    def test_orders_ended_per_minute_count_main_orders_by_the_minute_of_their_end(self, engine: Engine) -> None:
        minute = 60_000
        rows = [
            history_row("a", 1, started_at=NOW - 200 * minute, ended_at=NOW - 1),  # the last minute
            history_row("b", 2, state="Failed", ended_at=NOW - minute),  # exactly a minute ago: still the last minute
            history_row("c", 3, ended_at=NOW - minute - 1),  # the minute before
            history_row("d", 4, state="Cancelled", ended_at=NOW - 3 * minute + 1),  # the first of 3 minutes
            history_row("e", 5, ended_at=NOW - 3 * minute - 1),  # too early
            history_row("f", 6, ended_at=NOW),  # not yet: the window ends before now
            history_row("g", 7, state="Running", ended_at=None),
            history_row("h", 8, parent_order_id="a", ended_at=NOW - 1),  # a child order
            history_row("i", 9, path="/x/V", ended_at=NOW - 1),
            history_row("j", 10, controller_id="other", ended_at=NOW - 1),
        ]
        insert(engine, schema.order_history, rows)
        assert history.ended_per_minute(engine, C1, now_ms=NOW, minutes=3) == [1, 1, 3]
        assert history.ended_per_minute(engine, C1, now_ms=NOW, minutes=1) == [3]
        assert history.ended_per_minute(engine, C1, now_ms=NOW, minutes=3, folders=[("/x", True)]) == [0, 0, 1]
        assert history.ended_per_minute(engine, "nobody", now_ms=NOW, minutes=2) == [0, 0]

    def test_task_history_order_history_and_order_log(self, engine: Engine) -> None:
        events = simulated_history(3)
        project(engine, events, batch=len(events))
        tasks = history.tasks_history(engine, now_ms=NOW)
        check(tasks, "job/history-schema.json")
        assert {t["job"] for t in tasks["history"]} == {"J0", "J1", "A", "B", "C"}
        assert all(t["state"] == {"severity": 6, "_text": "SUCCESSFUL"} for t in tasks["history"])
        starts = [t["startTime"] for t in tasks["history"]]
        assert starts == sorted(starts, reverse=True)
        j0 = history.tasks_history(engine, now_ms=NOW, jobs=[("/W", "J0")])["history"]
        assert {t["orderId"] for t in j0} == {"o-0", "o-1", "o-2"}
        fork = next(h for h in history.orders_history(engine, now_ms=NOW)["history"] if h["orderId"] == "o-fork")
        children = history.order_history_children(engine, C1, fork["historyId"])
        assert children is not None
        check(children, "order/orderHistoryItemChildren-schema.json")
        assert [c.get("task", {}).get("job") or c["order"]["orderId"] for c in children["children"]] == [
            "o-fork|a",
            "o-fork|b",
            "C",
        ]
        log = history_log = logs.order_log(engine, C1, fork["historyId"])
        assert history_log is not None and log is not None
        # order/orderLog-schema.json says "type": "array" for what JOC sends as an object
        check(log, "order/orderLog-schema.json", type="object")
        assert [e["logEvent"] for e in log["logEvents"]] == [
            "OrderStarted",
            "OrderProcessingStarted",
            "OrderProcessed",
            "OrderFinished",
        ]

    def test_task_log_streams_and_the_running_log_continues_after_the_last_event(self, engine: Engine) -> None:
        sim = Simulator()
        sim.deploy(linear_workflow(steps=1))
        sim.add_order("big", "W")
        sim.run()
        start = next(i for i, k in enumerate(sim.log) if isinstance(k.event, OrderProcessingStarted))
        head = stamp(sim.log[: start + 1])
        first = stamp(
            [KeyedEvent("big", OrderStdoutWritten(chunk=f"line {i}\n")) for i in range(3)],
            start=head[-1].event_id + 1000,
        )
        projector = project(engine, head + first, batch=100)
        (task,) = history.tasks_history(engine, now_ms=NOW)["history"]
        task_id = task["taskId"]
        log = logs.task_log(engine, C1, task_id)
        assert log is not None and not log.complete
        assert b"".join(log.chunks) == b"line 0\nline 1\nline 2\n"
        assert log.headers() == {
            "X-Log-Complete": "false",
            "X-Log-Event-Id": str(first[-1].event_id),
            "X-Log-Task-Id": str(task_id),
        }
        nothing_new = logs.running_task_log(engine, C1, task_id, log.event_id)
        assert nothing_new == {"controllerId": C1, "taskId": task_id, "eventId": log.event_id, "complete": False}
        more = stamp([KeyedEvent("big", OrderStdoutWritten(chunk="line 3\n"))], start=first[-1].event_id + 1000)
        projector.apply(C1, more)
        step = logs.running_task_log(engine, C1, task_id, log.event_id)
        assert step is not None
        check(step, "job/runningTaskLog-schema.json")
        assert step["log"] == "line 3\n" and step["eventId"] == more[0].event_id and not step["complete"]
        projector.apply(C1, stamp(sim.log[start + 1 :], start=more[-1].event_id + 1000))
        end = logs.running_task_log(engine, C1, task_id, step["eventId"])
        assert end is not None and end["complete"] and "log" not in end
        whole = logs.task_log(engine, C1, task_id)
        assert whole is not None and whole.complete
        assert b"".join(whole.chunks) == b"line 0\nline 1\nline 2\nline 3\n"
        assert logs.task_log(engine, C1, task_id, folders=[("/elsewhere", True)]) is None

    def test_workflows_agents_and_controllers(self, engine: Engine) -> None:
        events = simulated_history(2)
        project(engine, events, batch=len(events))
        answer = workflows.list_workflows(engine, C1)
        check(answer, "workflow/workflows-schema.json")
        assert [w["path"] for w in answer["workflows"]] == ["/F", "/W", "/X"]
        compact = workflows.list_workflows(engine, C1, compact=True, folders=[("/", False)])["workflows"]
        assert all("instructions" not in w for w in compact) and len(compact) == 3
        one = workflows.get_workflow(engine, C1, "/W")
        assert one is not None and one["instructions"][0]["jobName"] == "J0"
        check({"workflow": one}, "workflow/workflow-schema.json")
        counts = workflows.workflows_order_count(engine, C1, now_ms=NOW)
        check(counts, "workflow/workflowsOrderCount-schema.json")
        assert counts["numOfAllOrders"]["terminated"] == 3 and counts["numOfAllOrders"]["failed"] == 1
        agent_answer = agents.list_agents(engine, C1)
        check(agent_answer, "agent/agents_v-schema.json")
        (agent,) = agent_answer["agents"]
        assert agent["agentId"] == "AGENT" and agent["state"]["_text"] == "INITIALISED"
        assert agents.list_agents(engine, C1, states=["COUPLED"])["agents"] == []
        listed = controllers.list_controllers(engine)
        check(listed, "controller/masters-schema.json")
        assert [c["controllerId"] for c in listed["controllers"]] == [C1]
        single = controllers.get_controller(engine, C1)
        assert single is not None
        check({"controller": single}, "controller/jobscheduler200_v-schema.json")

    def test_an_agent_of_a_director_shows_its_subagents_url_and_disabled(self, engine: Engine) -> None:
        ref = {"TYPE": "AgentRef", "path": "A", "directors": ["A-director"]}
        director = {"TYPE": "SubagentItem", "id": "A-director", "agentPath": "A", "uri": "https://a:1"}
        added = [KeyedEvent(NO_KEY, UnsignedSimpleItemAdded(item=value_from_json(i))) for i in (ref, director)]
        disabled = {**director, "disabled": True}
        changed = [KeyedEvent(NO_KEY, UnsignedSimpleItemChanged(item=value_from_json(disabled)))]
        projector = project(engine, stamp(added), batch=10)
        (agent,) = agents.list_agents(engine, C1)["agents"]
        check({"agents": [agent]}, "agent/agents_v-schema.json")
        assert (agent["url"], agent["disabled"]) == ("https://a:1", False)
        projector.apply(C1, stamp(changed, start=T0 * 1000 + 10_000_000))
        (agent,) = agents.list_agents(engine, C1)["agents"]
        assert (agent["url"], agent["disabled"]) == ("https://a:1", True)

    def test_a_cluster_agent_shows_its_subagents_and_its_subagent_clusters(self, engine: Engine) -> None:
        """Issue 16: the JS7 samples' agent-1 (two Directors, three Subagents) and a bundle over them."""
        ref = {"TYPE": "AgentRef", "path": "A", "directors": ["A-1", "A-2"]}
        subs = [{"TYPE": "SubagentItem", "id": f"A-{n}", "agentPath": "A", "uri": f"https://a{n}:1"} for n in (1, 2, 3)]
        other = [
            {"TYPE": "AgentRef", "path": "B", "directors": ["B-1"]},
            {"TYPE": "SubagentItem", "id": "B-1", "agentPath": "B", "uri": "https://b:1"},
        ]
        bundle = {"TYPE": "SubagentBundle", "id": "fixed", "subagentToPriority": {"A-1": 3, "A-3": "$x + 1"}}
        old = {"TYPE": "SubagentSelection", "id": "b-only", "subagentToPriority": {"B-1": 1}}
        items = (ref, *subs, *other, bundle, old)
        added = [KeyedEvent(NO_KEY, UnsignedSimpleItemAdded(item=value_from_json(i))) for i in items]
        projector = project(engine, stamp(added), batch=20)
        answer = agents.list_agents(engine, C1, agent_ids=["A"])
        check(answer, "agent/agents_v-schema.json")
        (agent,) = answer["agents"]
        assert [(s["subagentId"], s["isDirector"], s["url"], s["disabled"]) for s in agent["subagents"]] == [
            ("A-1", "PRIMARY_DIRECTOR", "https://a1:1", False),
            ("A-2", "SECONDARY_DIRECTOR", "https://a2:1", False),
            ("A-3", "NO_DIRECTOR", "https://a3:1", False),
        ]
        assert all(s["runningTasks"] == 0 and s["agentId"] == "A" for s in agent["subagents"])
        clusters = agents.list_subagent_clusters(engine, C1)["subagentClusters"]
        assert [(c["subagentClusterId"], c["agentId"], c["subagentIds"]) for c in clusters] == [
            ("b-only", "B", [{"subagentId": "B-1", "priority": "1"}]),
            ("fixed", "A", [{"subagentId": "A-1", "priority": "3"}, {"subagentId": "A-3", "priority": "$x + 1"}]),
        ]
        assert [c["subagentClusterId"] for c in agents.list_subagent_clusters(engine, C1, agent_ids=["A"])[
            "subagentClusters"]] == ["fixed"]  # fmt: skip
        changes = [
            KeyedEvent(NO_KEY, UnsignedSimpleItemChanged(item=value_from_json({**subs[2], "disabled": True}))),
            KeyedEvent(NO_KEY, ItemDeleted(key="SubagentBundle:b-only")),
        ]
        projector.apply(C1, stamp(changes, start=T0 * 1000 + 10_000_000))
        (agent,) = agents.list_agents(engine, C1, agent_ids=["A"])["agents"]
        assert [s["disabled"] for s in agent["subagents"]] == [False, False, True]
        remaining = agents.list_subagent_clusters(engine, C1)["subagentClusters"]
        assert [c["subagentClusterId"] for c in remaining] == ["fixed"]

    def test_deployed_paths_give_folders_to_every_query(self, engine: Engine) -> None:
        """A workflow deployed through the Cockpit's inventory shows at its path (deployed_objects); without
        a row at /name; folder restrictions and path filters work on these paths."""
        events = simulated_history(3)
        project(engine, events, batch=len(events))

        def deployed(controller_id: str, object_type: str, name: str, path: str) -> dict[str, Any]:
            folder = path.rsplit("/", 1)[0] or "/"
            return {
                "controller_id": controller_id,
                "object_type": object_type,
                "name": name,
                "path": path,
                "folder": folder,
                "commit_id": "v1",
                "deployed_at": T0,
                "store_notification_id": 1,
            }

        insert(
            engine,
            schema.deployed_objects,
            [
                deployed(C1, "WORKFLOW", "W", "/a/b/W"),
                deployed(C1, "WORKFLOW", "F", "/c/F"),
                deployed("other", "WORKFLOW", "X", "/z/X"),  # another Controller's
                deployed(C1, "JOBRESOURCE", "X", "/j/X"),  # another type
            ],
        )
        expected = {"W": "/a/b/W", "F": "/c/F", "X": "/X"}
        workflow_of = {"o-0": "W", "o-1": "W", "o-2": "W", "o-fork": "F", "o-fail": "X"}

        def order_paths(**kw: Any) -> dict[str, str]:
            answer = orders.list_orders(engine, C1, now_ms=NOW, limit=-1, **kw)["orders"]
            return {o["orderId"]: o["workflowId"]["path"] for o in answer if "|" not in o["orderId"]}

        def history_paths(**kw: Any) -> dict[str, str]:
            return {h["orderId"]: h["workflow"] for h in history.orders_history(engine, now_ms=NOW, **kw)["history"]}

        def task_paths(**kw: Any) -> set[str]:
            return {t["workflow"] for t in history.tasks_history(engine, now_ms=NOW, **kw)["history"]}

        def workflow_paths(**kw: Any) -> list[str]:
            return [w["path"] for w in workflows.list_workflows(engine, C1, **kw)["workflows"]]

        assert order_paths() == {o: expected[w] for o, w in workflow_of.items()}
        assert history_paths() == {o: expected[w] for o, w in workflow_of.items()}
        assert task_paths() == {"/a/b/W", "/c/F"}  # X fails before a task
        assert workflow_paths() == ["/X", "/a/b/W", "/c/F"]  # by path
        one = workflows.get_workflow(engine, C1, "/a/b/W")
        assert one is not None and one["path"] == "/a/b/W"
        assert workflows.get_workflow(engine, C1, "/c/W") is None  # not where it is
        assert workflows.get_workflow(engine, C1, "W") is not None  # a name is a name
        fork = next(h for h in history.orders_history(engine, now_ms=NOW)["history"] if h["orderId"] == "o-fork")
        children = history.order_history_children(engine, C1, fork["historyId"])
        assert children is not None and children["workflow"]["path"] == "/c/F"
        assert {c["order"]["workflow"] for c in children["children"] if "order" in c} == {"/c/F"}

        # folder restrictions, inside SQL
        in_a = [("/a", True)]
        assert set(order_paths(folders=in_a)) == {"o-0", "o-1", "o-2"}
        assert set(history_paths(folders=in_a)) == {"o-0", "o-1", "o-2"}
        assert task_paths(folders=in_a) == {"/a/b/W"}
        assert workflow_paths(folders=in_a) == ["/a/b/W"]
        assert order_paths(folders=[("/a", False)]) == {}
        assert set(order_paths(folders=[("/a/b", False)])) == {"o-0", "o-1", "o-2"}
        assert set(order_paths(folders=[("/", False)])) == {"o-fail"}
        assert workflow_paths(folders=[("/c", True)]) == ["/c/F"]
        assert orders.get_order(engine, C1, "o-fork", now_ms=NOW, folders=in_a) is None
        assert orders.get_order(engine, C1, "o-0", now_ms=NOW, folders=in_a) is not None
        assert history.order_history_children(engine, C1, fork["historyId"], folders=in_a) is None
        assert logs.order_log(engine, C1, fork["historyId"], folders=in_a) is None
        assert logs.order_log(engine, C1, fork["historyId"], folders=[("/c", True)]) is not None
        snapshot = orders.orders_snapshot(engine, C1, now_ms=NOW, folders=in_a)
        assert sum(snapshot.values()) == 3
        assert orders.orders_summary(engine, C1, now_ms=NOW, date_from="-1y", folders=in_a) == {
            "successful": 3,
            "failed": 0,
        }

        # path filters: a path with folders is the JOC path, a bare name the Controller's name
        assert set(history_paths(workflow_path="/a/b/W")) == {"o-0", "o-1", "o-2"}
        assert set(history_paths(workflow_path="/W")) == {"o-0", "o-1", "o-2"}
        assert history_paths(workflow_path="/x/W") == {}
        assert set(history_paths(workflow_path="/a/*")) == {"o-0", "o-1", "o-2"}
        assert set(history_paths(orders=[("/c/F", None)])) == {"o-fork"}
        assert set(history_paths(exclude_workflows=["/a/b/W", "/c/F"])) == {"o-fail"}
        assert task_paths(jobs=[("/c/F", None)]) == {"/c/F"}
        assert set(order_paths(workflow_ids=[("/a/b/W", None)])) == {"o-0", "o-1", "o-2"}
        assert order_paths(workflow_ids=[("/b/W", None)]) == {}
        assert set(order_paths(regex="^/a/b/W/o-0$")) == {"o-0"}
        counts = workflows.workflows_order_count(engine, C1, now_ms=NOW, workflow_ids=[("/a/b/W", None)])
        assert [w["path"] for w in counts["workflows"]] == ["/a/b/W"]
        assert (
            workflows.workflows_order_count(engine, C1, now_ms=NOW, folders=in_a)["numOfAllOrders"]["terminated"] == 3
        )
        # the /events snapshots name the deployed paths, inside the folders
        _, snapshots = event_queries.event_snapshots(engine, C1, 0, folders=in_a)
        assert {s["workflow"]["path"] for s in snapshots if "workflow" in s} == {"/a/b/W"}
