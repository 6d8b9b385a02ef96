"""The daily plan across a Cockpit takeover (issue 19, Must 4): two real Cockpits on the real PostgreSQL, the
active one killed -9 by itself at the daily plan's crash points (right after planning, after recording a
submission before AddOrders leaves, after the Controller accepted it but before the Cockpit recorded that).
The standby takes over and goes on from what the database says: every planned start runs exactly once,
no planned order is submitted twice, every plan row ends SUBMITTED (tests/cockpit/api/test_daily_plan_e2e.py
proves the same for one Cockpit restarting)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from js7es.nodes.cockpit.api.endpoint import PREFIX
from js7es.nodes.tls import client_ssl_context
from tests.cockpit.api.test_daily_plan_e2e import exactly_once, midday_zone, release_schedule
from tests.cockpit.cockpit_process import CockpitProcess
from tests.cockpit.test_cockpit_e2e import wait_until
from tests.cockpit.test_joc_standby_e2e import Pair, cluster, login
from tests.ports import HOST

pytestmark = pytest.mark.slow


def api(cockpit: CockpitProcess, token: str) -> httpx.Client:
    verify = client_ssl_context(cockpit.topology.client_tls)
    return httpx.Client(
        base_url=f"https://{HOST}:{cockpit.port}{PREFIX}", verify=verify, timeout=60, headers={"X-Access-Token": token}
    )


@pytest.mark.parametrize("crash_at", ["daily-plan-submitting", "daily-plan-submitted"])
def test_a_takeover_in_the_middle_of_the_daily_plan_submits_nothing_twice(tmp_path: Path, crash_at: str) -> None:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    pair = Pair(tmp_path)
    for cockpit in (pair.a, pair.b):
        cockpit.sections["daily-plan"] = {"check-interval": 0.5}
        cockpit.__post_init__()  # writes its configuration anew
    pair.a.env = {**pair.a.env, "JS7ES_TEST_CRASH_AT": crash_at}
    try:
        pair.start()
        token = login(pair.b).headers["X-Access-Token"]  # forwarded to a: the session is in the database
        now = datetime.now(UTC)
        first = (now + timedelta(seconds=12)).replace(microsecond=0)
        zone = midday_zone(now)
        with api(pair.b, token) as client:  # the standby forwards the inventory changes to a
            release_schedule(client, zone, first)
        wait_until(lambda: pair.a.process is not None and pair.a.process.poll() is not None, 60, "a's crash")
        wait_until(lambda: cluster(pair.b)["active"], 15, "b to take over")
        today = first.astimezone(ZoneInfo(zone)).date().isoformat()
        exactly_once(SimpleNamespace(engine=pair.engine), today)  # type: ignore[arg-type]
    finally:
        pair.close()
