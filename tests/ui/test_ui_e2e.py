"""The Cockpit's web UI in a real browser (Debian's headless Chromium driven by Playwright) over real
processes: a Controller cluster (Primary, Backup, Cluster Watch), an Agent and the Cockpit, shared by the
tests of this module, in order (the switchover comes last).

Proves: login; an order added with typed arguments through the form runs and its page shows it finished
without a reload; its task log; an order added in another browser appears in an open orders page within a
second; a running task's log grows live; cancelling with an audit comment, found in the audit log; an
account without the permission sees no cancel button and the API refuses it (403), after the forced
password change; an administrator adds a role (permissions, folders) and an account with it in the browser,
the account logs in, changes its password and sees what the role permits, a password reset ends its
session and the account is removed; every page has no serious or critical axe-core violation at 1280 and 390 px
(screenshots in tests/ui/artifacts/); bad input is a 4xx page; the security headers and cookie flags;
a switchover from the dashboard and the roles changing on the open page."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from js7es.nodes.cockpit.api.passwords import hash_password
from js7es.nodes.tls import client_ssl_context
from tests.cockpit.cockpit_process import COCKPIT_USER, CockpitProcess
from tests.cockpit.test_cockpit_e2e import wait_until
from tests.e2e.cluster_topology import ClusterTopology
from tests.e2e.topology import HOST
from tests.ui.browser import WIDTHS, chromium, screenshot, serious_violations

pytestmark = pytest.mark.slow
CONTROLLER_ID = "js7es-ui"
PASSWORD = "root-secret"
JOB = {"agentPath": "agent", "executable": {"TYPE": "ShellScriptExecutable", "script": "echo hello $NAME x $TIMES",
       "env": {"NAME": "$name", "TIMES": "$times"}}}  # fmt: skip
GREET = {
    "path": "greet",
    "orderPreparation": {"parameters": {"name": {"type": "String"}, "times": {"type": "Number", "default": "2"},
                                        "loud": {"type": "Boolean", "default": "false"}}},
    "instructions": [
        {"TYPE": "Execute.Named", "jobName": "hello"},
        {"TYPE": "If", "predicate": "$loud", "then": {"instructions": [{"TYPE": "Execute.Named", "jobName": "hello"}]},
         "else": {"instructions": [{"TYPE": "Execute.Named", "jobName": "hello"}]}},
        {"TYPE": "Fork", "branches": [
            {"id": "a", "workflow": {"instructions": [{"TYPE": "Execute.Named", "jobName": "hello"}]}},
            {"id": "b", "workflow": {"instructions": [{"TYPE": "Execute.Named", "jobName": "hello"}]}}]},
    ],
    "jobs": {"hello": JOB},
}  # fmt: skip
TICKS = "for i in $(seq 1 120); do echo tick $i; sleep 1; done"
SLOW = {"path": "slow", "instructions": [{"TYPE": "Execute.Anonymous", "job": {
    "agentPath": "agent", "executable": {"TYPE": "ShellScriptExecutable", "script": TICKS}}}]}  # fmt: skip


@dataclass
class Ui:
    topology: ClusterTopology
    cockpit: CockpitProcess
    browser: Any

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.cockpit.port}"

    def api(self, token: str | None = None) -> httpx.Client:
        headers = {"X-Access-Token": token} if token else {}
        verify = client_ssl_context(self.topology.client_tls)
        return httpx.Client(base_url=f"{self.url}/joc/api", verify=verify, timeout=30, headers=headers)

    def token(self, account: str = "root", password: str = PASSWORD) -> str:
        basic = base64.b64encode(f"{account}:{password}".encode()).decode()
        with self.api() as c:
            r = c.post("/authentication/login", headers={"Authorization": f"Basic {basic}"})
        assert r.status_code == 200, r.text
        return r.headers["X-Access-Token"]

    def page(self, width: str = "desktop") -> Any:
        w, h = WIDTHS[width]
        context = self.browser.new_context(ignore_https_errors=True, viewport={"width": w, "height": h})
        context.set_default_timeout(20_000)
        return context.new_page()

    def login(self, page: Any, account: str = "root", password: str = PASSWORD) -> None:
        page.goto(self.url + "/")
        page.wait_for_url("**/login**")
        page.fill("#account", account)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_load_state()

    def add_order(self, workflow: str, **arguments: Any) -> str:
        body = {"controllerId": CONTROLLER_ID, "orders": [{"workflowPath": workflow, "arguments": arguments}]}
        with self.api(self.token()) as c:
            r = c.post("/orders/add", json=body)
        assert r.status_code == 200, r.text
        return str(r.json()["orderIds"][0])

    def wait_projected(self, order_id: str) -> None:
        """Until the Cockpit's projection holds the order (an order page renders only what is projected)."""
        body = {"controllerId": CONTROLLER_ID, "orderIds": [order_id]}
        with self.api(self.token()) as c:
            wait_until(lambda: c.post("/orders", json=body).json()["orders"], 30, f"{order_id} in the projection")

    def wait_audited(self, page: Any, comment: str) -> None:
        """Until the audit page lists an entry with `comment`: the audit log is projected from the Cockpit's
        store by its own follower, and the page is rendered once (not live), so it is loaded again."""

        def audited() -> bool:
            page.goto(self.url + "/audit?comment=" + comment.split()[0])
            return int(page.locator("#audit-table tbody tr", has_text=comment).count()) > 0

        wait_until(audited, 30, f"the audit entry '{comment}'")


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ui]:
    root = tmp_path_factory.mktemp("ui")
    users = {"cockpit": {**COCKPIT_USER, "permissions": [*COCKPIT_USER["permissions"], "UpdateItem"]}}  # deploys
    topology = ClusterTopology(
        root / "nodes", controller_id=CONTROLLER_ID, extra_users={"primary": users, "backup": users},
        journal_readers=("cockpit",),
    )  # fmt: skip
    cockpit = CockpitProcess(
        topology, root / "cockpit", {CONTROLLER_ID: "primary"},
        sections={"joc": {"root-password-hash": hash_password(PASSWORD)}},
    )  # fmt: skip
    primary, backup = (f"https://{HOST}:{topology.nodes[n].port}" for n in ("primary", "backup"))
    cockpit.config.write_text(
        cockpit.config.read_text().replace(f'uris = ["{primary}"]', f'uris = ["{primary}", "{backup}"]')
    )
    with chromium() as browser:
        try:
            for name in ("watch", "agent", "primary", "backup"):
                topology.start(name, wait=False)
            for name in ("watch", "agent", "primary", "backup"):
                topology.wait_ready(name)
            assert topology.wait_coupled() == "primary"
            cockpit.start()
            cockpit.wait_ready()
            setup = Ui(topology, cockpit, browser)
            with setup.api(setup.token()) as c:  # the Agent as JOC has it: in the inventory, deployed by it
                agent = {
                    "agentId": "agent",
                    "agentName": "agent",
                    "url": f"https://{HOST}:{topology.nodes['agent'].port}",
                }
                agents = {"controllerId": CONTROLLER_ID, "agents": [agent]}
                assert c.post("/agents/inventory/store", json=agents).status_code == 200
                deploy = {"controllerId": CONTROLLER_ID, "agentIds": ["agent"]}
                assert c.post("/agents/inventory/deploy", json=deploy).status_code == 200
            assert topology.deploy(GREET, SLOW, version="v1", with_agents=False).status_code == 200
            with setup.api(setup.token()) as c:
                wait_until(
                    lambda: len(c.post("/workflows", json={"controllerId": CONTROLLER_ID}).json()["workflows"]) == 2,
                    30, "the workflows in the projection",
                )  # fmt: skip
            yield setup
        finally:
            cockpit.kill()
            topology.stop_all()


def test_add_an_order_with_arguments_watch_it_finish_without_reloading_and_open_its_log(ui: Ui) -> None:
    page = ui.page()
    ui.login(page)
    assert page.url == ui.url + "/"
    page.goto(ui.url + "/orders/new?workflow=/greet")
    page.fill("#arg-name", "Ada")
    page.fill("#arg-times", "3")
    page.check("#arg-loud")
    page.fill("#o-comment", "a test order")
    page.click("button.primary")
    page.wait_for_url("**/order?orderId=*")
    page.evaluate("window.notReloaded = true")
    page.locator("#order-state", has_text="FINISHED").wait_for(timeout=60_000)
    assert page.evaluate("window.notReloaded === true"), "the page was reloaded"
    arguments = page.locator("#order-live dd ul").inner_text()
    assert '"Ada"' in arguments and "3" in arguments and "true" in arguments
    page.locator("#order-tasks a").first.click()
    page.wait_for_url("**/log?taskId=*")
    assert "hello Ada x 3" in page.locator("#log").inner_text()
    page.context.close()


def test_an_order_added_in_another_browser_shows_within_a_second(ui: Ui) -> None:
    watcher, adder = ui.page(), ui.page()
    ui.login(watcher)
    ui.login(adder)
    # the page's event stream answered (its headers): what comes now is pushed, not read at render
    with watcher.expect_response(lambda r: "/live?" in r.url and r.status == 200, timeout=10_000):
        watcher.goto(ui.url + "/orders?workflow=/greet")
    adder.goto(ui.url + "/orders/new?workflow=/greet")
    adder.fill("#arg-name", "Grace")
    adder.fill("#o-name", "second")
    adder.click("button.primary")
    adder.wait_for_url("**/order?orderId=*")
    added = time.monotonic()
    order_id = adder.url.split("orderId=")[1].split("&")[0].replace("%23", "#")
    watcher.locator(f'tr[data-order-id="{order_id}"]').wait_for(timeout=5_000)
    shown_after = time.monotonic() - added
    assert shown_after < 1.0, f"the order showed after {shown_after:.2f} s"
    watcher.context.close()
    adder.context.close()


def test_a_running_tasks_log_grows_live_and_cancelling_with_a_comment_is_audited(ui: Ui) -> None:
    order_id = ui.add_order("/slow")
    ui.wait_projected(order_id)
    page = ui.page()
    ui.login(page)
    page.goto(ui.url + f"/order?orderId={order_id.replace('#', '%23')}")
    page.locator("#order-tasks a").first.wait_for(timeout=30_000)
    page.locator("#order-tasks a").first.click()
    page.wait_for_url("**/log?taskId=*")
    log = page.locator("#log")
    log.locator("xpath=.", has_text="tick 1").wait_for()
    seen = log.inner_text().count("tick")
    page.wait_for_function(
        f"() => document.getElementById('log').textContent.split('tick').length - 1 > {seen + 1}", timeout=15_000
    )
    page.goto(ui.url + f"/order?orderId={order_id.replace('#', '%23')}")
    page.fill("#cancel-comment", "stopped by the UI test")
    page.check("#cancel-kill")
    page.click("#cancel-button")
    page.locator(".notice", has_text="Cancel requested").wait_for()
    page.locator("#order-state", has_text="CANCELLED").wait_for(timeout=30_000)
    ui.wait_audited(page, "stopped by the UI test")
    row = page.locator("#audit-table tbody tr", has_text="stopped by the UI test")
    assert "/orders/cancel" in row.first.inner_text() and "root" in row.first.inner_text()
    page.context.close()


def test_an_account_without_the_permission_sees_no_cancel_button_and_the_api_refuses(ui: Ui) -> None:
    with ui.api(ui.token()) as c:
        service = c.post("/iam/identityservices", json={}).json()["identityServiceItems"][0]["identityServiceName"]
        body = {"identityServiceName": service, "accountName": "watcher", "password": "first-secret-1",
                "forcePasswordChange": True, "roles": ["business_user"]}  # fmt: skip
        assert c.post("/iam/account/store", json=body).status_code == 200
    order_id = ui.add_order("/slow")
    page = ui.page()
    ui.login(page, "watcher", "first-secret-1")
    page.wait_for_url("**/password")
    page.fill("#old", "first-secret-1")
    page.fill("#new", "second-secret-2")
    page.fill("#again", "second-secret-2")
    page.click("button.primary")
    page.wait_for_url(ui.url + "/?*")
    page.goto(ui.url + f"/order?orderId={order_id.replace('#', '%23')}")
    page.locator("#order-state").wait_for()
    assert page.locator("#cancel-button").count() == 0
    assert "may not change orders" in page.locator("#main").inner_text()
    [token] = [c["value"] for c in page.context.cookies() if c["name"] == "js7es_session"]
    with ui.api(token) as c:
        r = c.post("/orders/cancel", json={"controllerId": CONTROLLER_ID, "orderIds": [order_id]})
    assert r.status_code == 403, r.text
    # the UI's own action is refused by the API as well (a hand-made form with a valid CSRF token)
    csrf = page.locator("body").get_attribute("hx-headers")
    assert csrf is not None
    answer = page.request.post(
        ui.url + "/order/cancel", form={"orderId": order_id, "_csrf": csrf.split('"')[3]}, max_redirects=0
    )
    assert answer.status == 403 and "lacks the permission" in answer.text()
    page.context.close()


def test_an_administrator_adds_a_role_and_an_account_that_logs_in_and_sees_what_the_role_permits(ui: Ui) -> None:
    admin = ui.page()
    ui.login(admin)
    admin.goto(ui.url + "/accounts")
    admin.fill("#new-role", "viewer")
    admin.fill("#new-role-comment", "a role for the UI test")
    admin.click("#add-role")
    admin.locator(".notice", has_text="Role viewer stored.").wait_for()
    for path in ("controller:view", "controller:orders:view", "controller:workflows:view"):
        admin.get_by_label(f"sos:products:{path}", exact=True).select_option("granted")
    admin.fill("#p-comment", "what the viewer sees")
    admin.click("#store-permissions")
    admin.locator(".notice", has_text="The permissions of viewer were stored.").wait_for()
    admin.fill("#f-1", "/")
    admin.fill("#f-comment", "every folder")
    admin.click("#store-folders")
    admin.locator(".notice", has_text="The folders of viewer were stored.").wait_for()
    assert admin.input_value("#f-1") == "/" and admin.is_checked("#fr-1")
    admin.goto(ui.url + "/accounts")
    admin.click("#new-account")
    admin.fill("#a-name", "operator")
    admin.fill("#a-password", "first-pass-1")
    admin.fill("#a-repeat", "first-pass-1")
    admin.get_by_label("viewer", exact=True).check()
    assert admin.is_checked("#a-force")
    admin.fill("#a-comment", "an account for the UI test")
    admin.click("#store-account")
    admin.locator(".notice", has_text="Account operator stored.").wait_for()
    with ui.api(ui.token()) as c:
        service = c.post("/iam/identityservices", json={}).json()["identityServiceItems"][0]["identityServiceName"]
        stored = c.post("/iam/account", json={"identityServiceName": service, "accountName": "operator"}).json()

        def audit_entries() -> list[dict[str, Any]]:  # projected from the Cockpit's store by its own follower
            entries: list[dict[str, Any]] = c.post("/audit_log", json={"comment": "an account for the UI test"}).json()[
                "auditLog"
            ]
            return entries

        wait_until(audit_entries, 30, "the account's audit entry")
        audit = audit_entries()
    assert stored["roles"] == ["viewer"] and stored["forcePasswordChange"] and not stored["disabled"]
    assert [e["request"] for e in audit] == ["./iam/account/store"]  # JOC writes its requests so

    operator = ui.page()
    ui.login(operator, "operator", "first-pass-1")
    operator.wait_for_url("**/password")
    operator.fill("#old", "first-pass-1")
    operator.fill("#new", "second-pass-2")
    operator.fill("#again", "second-pass-2")
    operator.click("button.primary")
    operator.wait_for_url(ui.url + "/?*")
    nav = operator.locator("header nav").inner_text()
    assert "Orders" in nav and "Workflows" in nav and "Accounts" not in nav and "Audit log" not in nav
    operator.goto(ui.url + "/orders")
    operator.locator("tr[data-order-id]").first.wait_for()
    for path in ("/accounts", "/audit"):
        response = operator.goto(ui.url + path)
        assert response is not None and response.status == 403, path

    # a reset password ends the account's session; removing the account takes it off the list
    admin.goto(ui.url + "/account?account=operator")
    admin.fill("#r-password", "third-pass-3")
    admin.fill("#r-repeat", "third-pass-3")
    admin.click("#reset-password")
    admin.locator(".notice", has_text="The password of operator was reset.").wait_for()
    operator.goto(ui.url + "/orders")
    operator.wait_for_url("**/login**")
    admin.fill("#x-comment", "the UI test is done with it")
    admin.click("#remove-account")
    admin.locator(".notice", has_text="Account operator removed.").wait_for()
    assert admin.locator("#accounts-table tr[data-account='operator']").count() == 0
    assert admin.locator("#accounts-table tr[data-account='watcher']").count() == 1
    admin.context.close()
    operator.context.close()


PAGES = {
    "dashboard": "/",
    "orders": "/orders",
    "order-new": "/orders/new?workflow=/greet",
    "history": "/history",
    "workflows": "/workflows",
    "workflow-graph": "/workflow?path=/greet",
    "agents": "/agents",
    "audit": "/audit",
    "accounts": "/accounts",
    "account-new": "/account",
    "account": "/account?account=watcher",
    "role": "/role?role=business_user",
    "daily-plan": "/daily-plan",
}


def test_every_page_has_no_serious_accessibility_violation_at_desktop_and_phone_width(ui: Ui) -> None:
    order_id = ui.add_order("/greet", name="Axe")
    with ui.api(ui.token()) as c:
        body = {"controllerId": CONTROLLER_ID, "orderId": order_id}
        wait_until(lambda: c.post("/orders/history", json=body).json()["history"], 30, "the order's run")
        history_id = c.post("/orders/history", json=body).json()["history"][0]["historyId"]
        run = {"controllerId": CONTROLLER_ID, "historyId": history_id}
        wait_until(lambda: c.post("/order/history", json=run).json()["children"], 30, "the order's first task")
        task_id = c.post("/order/history", json=run).json()["children"][0]["task"]["taskId"]
    quoted = order_id.replace("#", "%23")
    pages = {
        **PAGES,
        "order": f"/order?orderId={quoted}",
        "run": f"/history/order?historyId={history_id}&orderId={quoted}",
        "task-log": f"/log?taskId={task_id}",
        "error": "/orders?state=bogus",
    }
    problems: dict[str, list[str]] = {}
    shots: list[Path] = []
    for width in WIDTHS:
        page = ui.page(width)
        page.goto(ui.url + "/login")
        problems[f"login-{width}"] = serious_violations(page)
        shots.append(screenshot(page, f"login-{width}"))
        ui.login(page)
        for name, path in pages.items():
            page.goto(ui.url + path)
            page.wait_for_load_state("networkidle")
            problems[f"{name}-{width}"] = serious_violations(page)
            shots.append(screenshot(page, f"{name}-{width}"))
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if name not in ("workflow-graph",):  # a wide graph scrolls inside its own box
                assert overflow <= 1, f"{name} at {width}: the page is {overflow} px wider than the screen"
        page.context.close()
    assert {k: v for k, v in problems.items() if v} == {}
    assert all(s.stat().st_size > 0 for s in shots) and len(shots) == 2 * (len(pages) + 1)


def test_bad_input_is_a_4xx_page_and_the_security_headers_and_cookie_are_set(ui: Ui) -> None:
    page = ui.page()
    ui.login(page)
    [cookie] = [c for c in page.context.cookies() if c["name"] == "js7es_session"]
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    for path, status, text in [
        ("/orders?state=bogus", 400, "JOC-400"),
        ("/log?taskId=abc", 400, "taskId must be a number"),
        ("/order?orderId=no-such-order", 404, "no-such-order"),
        # just added, not yet in the Cockpit's projection: a page that waits for it, not a 404
        ("/order?orderId=just-added&added=1", 200, "the Cockpit shows it as soon as"),
        ("/workflow?path=/nowhere", 404, "nowhere"),
        ("/daily-plan?date=2026-13-45", 400, "Not a date"),
        ("/no/such/page", 404, "There is no page"),
        ("/account?account=no-such-account", 404, "no-such-account"),
        ("/role?role=no-such-role", 404, "no-such-role"),
        ("/role?role=business_user&scope=nowhere", 400, "nowhere"),
    ]:
        response = page.goto(ui.url + path)
        assert response is not None and response.status == status, (path, response and response.status)
        assert text in page.locator("#main").inner_text(), path
    response = page.goto(ui.url + "/")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    scripts = page.locator("script")
    assert scripts.count() == 2
    for i in range(scripts.count()):
        src, integrity = scripts.nth(i).get_attribute("src"), scripts.nth(i).get_attribute("integrity")
        assert src and integrity and integrity.startswith("sha384-")
        asset = page.request.get(ui.url + src)
        assert asset.status == 200 and "immutable" in asset.headers["cache-control"]
    csrf = (page.locator("body").get_attribute("hx-headers") or "").split('"')[3]
    for path, form, text in [
        ("/role/permissions", {"roleName": "business_user", "p:sos:products": "bogus"}, "neither granted"),
        ("/role/permissions", {"roleName": "business_user", "p:sos:nothing": "granted"}, "Unknown permission"),
        ("/account/store", {"accountName": " "}, "needs a name"),
        ("/account/store", {"accountName": "x", "new": "true", "password": "a", "repeatedPassword": "b"}, "differ"),
    ]:
        answer = page.request.post(ui.url + path, form={"_csrf": csrf, "service": "JOC-INITIAL", **form})
        assert answer.status == 400 and text in answer.text(), (path, answer.status, answer.text()[:300])
    # a change without the CSRF token is refused, with it passes the API's checks
    refused = page.request.post(ui.url + "/controller/switchover", form={"comment": "x"}, max_redirects=0)
    assert refused.status == 403 and "CSRF" in refused.text()
    page.context.close()


def test_an_agent_disabled_in_the_browser_holds_its_orders_until_enabled_again(ui: Ui) -> None:
    page = ui.page()
    ui.login(page)
    page.goto(ui.url + "/agents")
    row = page.locator("#agents-table tr[data-agent='agent']")
    assert row.locator(".agent-enabled").inner_text() == "yes"
    assert "(Primary Director)" in row.locator(".agent-subagents").inner_text()  # its Subagents (issue 16)
    page.fill("#agent-comment", "agent maintenance from the UI test")
    row.get_by_role("button", name="Disable Agent agent").click()
    page.locator(".notice", has_text="Disabled the Agent agent").wait_for()
    page.evaluate("window.notReloaded = true")
    row.locator(".agent-enabled", has_text="no").wait_for(timeout=10_000)  # the live panel, no reload
    order_id = ui.add_order("/greet", name="Held")
    with ui.api(ui.token()) as c:
        body = {"controllerId": CONTROLLER_ID, "orderIds": [order_id]}
        wait_until(lambda: c.post("/orders", json=body).json()["orders"], 30, "the order in the projection")
        time.sleep(1.0)  # time enough for a job to start on an idle, enabled Agent
        [held] = c.post("/orders", json=body).json()["orders"]
        assert held["state"]["_text"] != "RUNNING" and held["position"] == [0], held
    row.get_by_role("button", name="Enable Agent agent").click()
    page.locator(".notice", has_text="Enabled the Agent agent").wait_for()
    row.locator(".agent-enabled", has_text="yes").wait_for(timeout=10_000)
    page.goto(ui.url + f"/order?orderId={order_id.replace('#', '%23')}")
    page.locator("#order-state", has_text="FINISHED").wait_for(timeout=30_000)
    ui.wait_audited(page, "agent maintenance from the UI test")
    assert "/agents/inventory/disable" in page.locator("#audit-table").inner_text()
    page.context.close()


def test_the_daily_plan_page_shows_a_planned_order_and_submits_it_with_a_comment(ui: Ui) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    schedule = {
        "workflowNames": ["greet"], "planOrderAutomatically": False, "submitOrderToControllerWhenPlanned": False,
        "calendars": [{"calendarName": "EveryDay", "timeZone": "Etc/UTC", "periods": [{"singleStart": "12:00:00"}]}],
        "orderParameterisations": [{"orderName": "planned", "variables": {"name": "Plan"}}],
    }  # fmt: skip
    every_day = {"type": "WORKINGDAYSCALENDAR", "includes": {"weekdays": [{"days": [0, 1, 2, 3, 4, 5, 6]}]}}
    with ui.api(ui.token()) as c:
        for object_type, path, config in (
            ("WORKINGDAYSCALENDAR", "/EveryDay", every_day),
            ("SCHEDULE", "/noon", schedule),
        ):
            r = c.post("/inventory/store", json={"objectType": object_type, "path": path, "configuration": config})
            assert r.status_code == 200 and r.json().get("valid", True), r.text
        update = [
            {"objectType": "WORKINGDAYSCALENDAR", "path": "/EveryDay"},
            {"objectType": "SCHEDULE", "path": "/noon"},
        ]
        assert c.post("/inventory/release", json={"update": update}).status_code == 200
        generate = {"controllerId": CONTROLLER_ID, "dailyPlanDate": tomorrow, "includeNonAutoPlannedOrders": True}
        assert c.post("/daily_plan/orders/generate", json=generate).status_code == 200
        listed = {"controllerIds": [CONTROLLER_ID], "dailyPlanDateFrom": tomorrow, "dailyPlanDateTo": tomorrow}
        wait_until(
            lambda: c.post("/daily_plan/orders", json=listed).json()["plannedOrderItems"], 30, "the planned order"
        )
    page = ui.page()
    ui.login(page)
    page.goto(ui.url + f"/daily-plan?date={tomorrow}")
    row = page.locator("#h-dp-orders ~ .table-wrap tbody tr", has_text="greet")
    assert row.count() == 1 and "/noon" in row.inner_text() and "PLANNED" in row.inner_text()
    assert page.locator(f".calendar a.planned[href='/daily-plan?date={tomorrow}']").count() == 1
    page.fill("#dp-submit-comment", "submitted from the UI test")
    page.get_by_role("button", name="Submit all").click()
    page.locator(".notice").wait_for()

    def submitted() -> bool:  # the plan's table is a projection of the Cockpit's store: load the page again
        page.goto(ui.url + f"/daily-plan?date={tomorrow}")
        return int(page.locator("#h-dp-orders ~ .table-wrap tbody tr", has_text="SUBMITTED").count()) == 1

    wait_until(submitted, 30, "the order shown SUBMITTED")

    ui.wait_audited(page, "submitted from the UI test")
    assert "/daily_plan/orders/submit" in page.locator("#audit-table").inner_text()
    page.context.close()


def test_a_switchover_from_the_dashboard_changes_the_roles_on_the_open_page(ui: Ui) -> None:
    page = ui.page()
    ui.login(page)
    active = page.locator("#cluster-nodes [data-role='PRIMARY']", has_text="active")
    active.wait_for()
    assert page.locator("#cluster-nodes [data-role='BACKUP']").inner_text() == "inactive"
    page.fill("#switchover-comment", "switch over from the UI test")
    page.click("#h-cluster ~ form button[type=submit]")
    page.locator(".notice", has_text="Switchover requested").wait_for()
    page.evaluate("window.notReloaded = true")
    page.locator("#cluster-nodes [data-role='BACKUP']", has_text="active").wait_for(timeout=30_000)
    assert page.locator("#cluster-nodes [data-role='PRIMARY']").inner_text() == "inactive"
    assert page.evaluate("window.notReloaded === true")
    assert ui.topology.wait_active("backup") == "backup"
    page.context.close()
