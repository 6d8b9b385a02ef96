"""JOC's global settings (joc-cockpit.md §2.3): `/settings` and `/settings/store`, for the settings that
js7es uses. Shapes: js7-api-schemas `configuration/configuration200-schema.json` (read) and
`settings/storeSettings-schema.json` (store): the settings travel as a JSON object *in a string*,
`configurationItem`, of sections of entries ``{"<section>": {"<name>": {"value": "…"}}}`` (sos-components
`GlobalSettingsSection`/`GlobalSettingsSectionEntry`; JOC writes the values as strings).

The sections and names js7es reads, with JOC's defaults (sos-components ConfigurationGlobals*):

- ``joc.force_comments_for_audit_log`` (false): every changing call needs `auditLog.comment` (JOC-300);
- ``identityService.idle_session_timeout`` ("30m"): a session idle for longer ends (440);
- ``identityService.minimum_password_length`` ("1"): the shortest password accepted;
- ``dailyplan.time_zone`` ("UTC"): the daily plan's time zone;
- ``dailyplan.period_begin`` ("00:00:00"): when a daily-plan date begins;
- ``dailyplan.days_ahead_plan`` ("7"), ``dailyplan.days_ahead_submit`` ("3"): how many dates the daily plan
  service plans and submits ahead (nodes/cockpit/daily_plan.py);
- ``dailyplan.projections_month_ahead`` ("6"): how far /daily_plan/projections looks by default;
- ``dailyplan.submit_late_orders`` ("true", js7es's own): whether an order whose start passed unsubmitted
  (the Cockpit was away) is submitted late or skipped.

Decisions: other sections and names (JOC's GUI sends all of them) are ignored, not stored; a value of a
known name that js7es cannot read answers 420 JOC-400 and stores nothing. Reading needs
`…:settings:view`, storing `…:settings:manage` (JOC lets any account read and store its `user` section;
js7es has none).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import StringConstraints
from starlette.responses import Response

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import keys
from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.joc import bad_request, delivered, joc_response, ok
from js7es.nodes.cockpit.api.models import Audited, Empty, OkResponse
from js7es.nodes.cockpit.api.models import Response as JocResponse

VIEW = "sos:products:joc:administration:settings:view"
MANAGE = "sos:products:joc:administration:settings:manage"
MAX_ITEM = 1_000_000


def _boolean(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise ValueError("true or false")
    return text


def _duration(value: Any) -> str:
    text = str(value).strip()
    number = text[:-1] if text and text[-1] in "smhd" else text
    if not number.isdigit() or int(number) == 0 or len(number) > 9:
        raise ValueError("a duration such as 30m, 1h, 45s or 90")
    return text


def _count(value: Any) -> str:
    text = str(value).strip()
    if not text.isdigit() or len(text) > 4:
        raise ValueError("a number from 0 to 9999")
    return str(int(text))


def _time_of_day(value: Any) -> str:
    from js7es.nodes.cockpit.daily_plan import seconds_of_day

    text = str(value).strip()
    seconds_of_day(text)
    return text


def _days(value: Any) -> str:
    text = _count(value)
    if not 0 <= int(text) <= 366:
        raise ValueError("a number of days from 0 to 366")
    return text


def _time_zone(value: Any) -> str:
    text = str(value).strip()
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("a time zone such as Europe/Berlin or UTC") from None
    return text


# section → name → (JOC's default, the check that makes the stored value)
KNOWN: Mapping[str, Mapping[str, tuple[str, Callable[[Any], str]]]] = {
    "joc": {"force_comments_for_audit_log": ("false", _boolean)},
    "identityService": {
        "idle_session_timeout": ("30m", _duration),
        "minimum_password_length": ("1", _count),
    },
    "dailyplan": {
        "time_zone": ("UTC", _time_zone),
        "period_begin": ("00:00:00", _time_of_day),
        "days_ahead_plan": ("7", _days),
        "days_ahead_submit": ("3", _days),
        "projections_month_ahead": ("6", _count),
        "submit_late_orders": ("true", _boolean),
    },
}


def current_item(call: Call) -> dict[str, Any]:
    stored = call.services.iam().settings
    item: dict[str, Any] = {}
    for section, names in KNOWN.items():
        values = stored.get(section, {})
        entries: dict[str, Any] = {"ordering": list(KNOWN).index(section)}
        for ordering, (name, (default, _)) in enumerate(names.items()):
            value = values.get(name)
            entries[name] = {
                "value": default if value is None else str(value).lower() if isinstance(value, bool) else str(value),
                "default": default,
                "ordering": ordering,
            }
        item[section] = entries
    return item


class Configuration200(JocResponse):
    """configuration/configuration200-schema.json"""

    configuration: dict[str, Any]


@API.post("/settings", summary="The global settings js7es uses", response=Configuration200, permission=VIEW)
async def read_settings(call: Call, body: Empty) -> Response:
    configuration = {
        "id": 0,
        "account": ".",
        "controllerId": ".",
        "configurationType": "GLOBALS",
        "shared": False,
        "configurationItem": json.dumps(current_item(call)),
    }
    return joc_response(delivered({"configuration": configuration}))


class StoreSettingsFilter(Audited):
    """settings/storeSettings-schema.json"""

    configurationItem: Annotated[str, StringConstraints(max_length=MAX_ITEM)]


def _parse(item: str) -> dict[str, dict[str, str]]:
    """The known settings of a configurationItem: section → name → value, checked."""
    try:
        parsed = json.loads(item)
    except (ValueError, RecursionError):
        raise bad_request("configurationItem is not a JSON object") from None
    if not isinstance(parsed, dict):
        raise bad_request("configurationItem is not a JSON object")
    out: dict[str, dict[str, str]] = {}
    for section, names in KNOWN.items():
        entries = parsed.get(section)
        if entries is None:
            continue
        if not isinstance(entries, dict):
            raise bad_request(f"the section '{section}' is not an object")
        for name, (_, check) in names.items():
            entry = entries.get(name)
            if entry is None:
                continue
            value = entry.get("value") if isinstance(entry, dict) else entry
            if value is None:
                continue
            if isinstance(value, (dict, list)):
                raise bad_request(f"{section}.{name}: not a plain value")
            try:
                out.setdefault(section, {})[name] = check(value)
            except ValueError as e:
                raise bad_request(f"{section}.{name}: expected {e}") from None
    return out


@API.post("/settings/store", summary="Stores the global settings js7es uses", request=StoreSettingsFilter,
          response=OkResponse, permission=MANAGE)  # fmt: skip
async def store_settings(call: Call, body: StoreSettingsFilter) -> Response:
    parsed = _parse(body.configurationItem)
    meta = call.change_meta(body)
    stored = call.services.iam().settings
    for section, values in parsed.items():
        merged = {**stored.get(section, {}), **values}
        await call.services.execute(keys.settings(section), cmd.StoreSettings(values=merged), meta)
    if "dailyplan" in parsed and call.services.daily_plan is not None:
        call.services.daily_plan.wake()  # a new time zone, period begin or horizon: plan with it now
    return ok()
