"""The daily plan: the planned orders of a date (/daily_plan/orders) with submit, cancel and delete, and
the projections calendar of the month (/daily_plan/projections/calendar)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from js7es.nodes.cockpit.ui.pages.dashboard import audit_log
from js7es.nodes.cockpit.ui.web import Ui, UiError, Viewer, changing, first, guarded, redirect


def _day(text: str) -> date:
    if not text:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UiError(400, f"Not a date (YYYY-MM-DD): '{text[:20]}'.") from None


def month_weeks(first_day: date) -> list[list[date | None]]:
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(first_day.year, first_day.month)
    return [[d if d.month == first_day.month else None for d in week] for week in weeks]


def routes(ui: Ui) -> list[Route]:
    async def planned_orders(request: Request, viewer: Viewer, day: date) -> list[dict[str, Any]]:
        cids = [viewer.controller_id]
        body = {"controllerIds": cids, "dailyPlanDateFrom": day.isoformat(), "dailyPlanDateTo": day.isoformat()}
        orders = await ui.call(request, viewer, "/daily_plan/orders", body)
        return list(orders.get("plannedOrderItems", []))

    async def plan_table(request: Request, viewer: Viewer) -> Response:
        day = _day(request.query_params.get("date", ""))
        orders = await planned_orders(request, viewer, day)
        return ui.render("_daily_plan_orders.html", viewer=viewer, day=day, orders=orders)

    async def plan_page(request: Request, viewer: Viewer) -> Response:
        day = _day(request.query_params.get("date", ""))
        cids = [viewer.controller_id]
        orders = await planned_orders(request, viewer, day)
        month = day.replace(day=1)
        last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
        projection = await ui.try_call(
            request, viewer, "/daily_plan/projections/calendar",
            {"controllerIds": cids, "dateFrom": month.isoformat(), "dateTo": last.isoformat()},
        )  # fmt: skip
        planned: set[str] = set()
        if projection.ok:
            for months in projection.body.get("years", {}).values():
                for days in months.values():
                    planned |= {d for d, entry in days.items() if entry.get("planned", True)}
        return ui.page(
            request, "daily_plan.html", viewer, "daily-plan", day=day, orders=orders,
            weeks=month_weeks(month), planned=planned, projection=projection,
            previous=(month - timedelta(days=1)).replace(day=1), following=last + timedelta(days=1),
        )  # fmt: skip

    def action(path: str, done: str) -> Any:
        async def act(request: Request, viewer: Viewer, form: dict[str, list[str]]) -> Response:
            day = _day(first(form, "date"))
            order_ids = [o for o in form.get("orderId", []) if o]
            body: dict[str, Any] = {
                "controllerIds": [viewer.controller_id],
                "dailyPlanDateFrom": day.isoformat(),
                "dailyPlanDateTo": day.isoformat(),
                **({"orderIds": order_ids} if order_ids else {}),
                **audit_log(form),
            }
            await ui.call(request, viewer, path, body)
            return redirect(f"/daily-plan?date={day.isoformat()}&notice=" + quote(done))

        return changing(ui, act)

    return [
        Route("/daily-plan", guarded(ui, plan_page), methods=["GET"]),
        Route("/daily-plan/table", guarded(ui, plan_table), methods=["GET"]),
        Route("/daily-plan/submit", action("/daily_plan/orders/submit", "Submitted."), methods=["POST"]),
        Route("/daily-plan/cancel", action("/daily_plan/orders/cancel", "Cancelled."), methods=["POST"]),
        Route("/daily-plan/delete", action("/daily_plan/orders/delete", "Deleted."), methods=["POST"]),
    ]
