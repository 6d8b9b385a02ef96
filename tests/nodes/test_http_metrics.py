"""/metrics per node (own registry), request counting, and the overview."""

from __future__ import annotations

import base64
import warnings
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from starlette.exceptions import StarletteDeprecationWarning
from starlette.routing import Route

from js7es.journal import Journal, MemoryJournal
from js7es.nodes.http import Authenticator, NodeMetrics, NodeOverview, Users, build_app, event_stream_route
from tests.nodes.test_http_event_stream import persist

with warnings.catch_warnings():  # starlette 1.10 prefers httpx2 for its TestClient; httpx works the same
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

PREFIX = "/test/api"
MONITOR = {"authorization": "Basic " + base64.b64encode(b"monitor:m").decode()}


def make_app(journal: Journal, metrics: NodeMetrics, *, public_metrics: bool = False) -> Any:
    users = Users.from_config({"monitor": {"password": "plain:m", "permissions": ["ReadMetrics", "ReadState"]}})
    auth = Authenticator(users, failed_login_delay=0)
    metrics.track_journal(journal, "controller")
    return build_app(
        prefix=PREFIX,
        overview=NodeOverview(id="TestNode", extra=lambda: {"orderCount": 0}),
        authenticator=auth,
        metrics=metrics,
        public_metrics=public_metrics,
        routes=[Route(f"{PREFIX}/event", event_stream_route(lambda: journal, authenticator=auth))],
    )


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_of_two_nodes_in_one_process_do_not_clash() -> None:
    with MemoryJournal.open() as journal_a, MemoryJournal.open() as journal_b:
        metrics_a, metrics_b = NodeMetrics(), NodeMetrics()
        last = persist(journal_a, 1)
        with TestClient(make_app(journal_a, metrics_a)) as a, TestClient(make_app(journal_b, metrics_b)) as b:
            assert a.get(f"{PREFIX}/event", headers=MONITOR).status_code == 200
            assert a.get(f"{PREFIX}/nowhere/{last}").status_code == 404
            assert a.get("/metrics").status_code == 401
            response = a.get("/metrics", headers=MONITOR)
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
            found = samples(response.text)
            assert found[("js7es_journal_last_event_id", (("journal", "controller"),))] == last
            route = (("method", "GET"), ("route", f"{PREFIX}/event"), ("status", "200"))
            assert found[("js7es_http_requests_total", route)] == 1
            unmatched = (("method", "GET"), ("route", "<unmatched>"), ("status", "404"))
            assert found[("js7es_http_requests_total", unmatched)] == 1  # not one series per path
            assert found[("js7es_http_requests_total", (("method", "GET"), ("route", "/metrics"), ("status", "401")))]
            found_b = samples(b.get("/metrics", headers=MONITOR).text)
            assert found_b[("js7es_journal_last_event_id", (("journal", "controller"),))] == 0
            assert ("js7es_http_requests_total", route) not in found_b


def test_public_metrics_and_engine_metrics() -> None:
    with MemoryJournal.open() as journal:
        metrics = NodeMetrics()
        orders = metrics.counter("js7es_orders_added", "Orders added")
        orders.inc(3)
        with TestClient(make_app(journal, metrics, public_metrics=True)) as client:
            found = samples(client.get("/metrics").text)
    assert found[("js7es_orders_added_total", ())] == 3


def test_overview_is_public() -> None:
    with MemoryJournal.open() as journal, TestClient(make_app(journal, NodeMetrics())) as client:
        overview = client.get(PREFIX).json()
    assert overview["id"] == "TestNode" and overview["isTerminating"] is False and overview["orderCount"] == 0
    assert {"version", "buildId", "startedAt", "totalRunningTime", "system"} <= overview.keys()
