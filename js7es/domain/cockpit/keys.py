"""Aggregate keys of the Cockpit's store: ``<kind>:<name>``, stable names the store turns into ids.

An event carries no key (JS7's habit: the key travels beside it, in the store's record), so the key says
which account, role, identity service, settings section, Controller command, login or registered
Controller an event is about.
"""

from __future__ import annotations

from typing import Final

ACCOUNT: Final = "account"
ROLE: Final = "role"
IDENTITY_SERVICE: Final = "identity-service"
SETTINGS: Final = "settings"
COMMAND: Final = "command"
LOGIN: Final = "login"
INVENTORY: Final = "inventory"  # inventory:<objectType>:<name> (JS7 names are unique per type)
DEPLOYMENT: Final = "deployment"  # deployment:<commitId>, one per Controller and deploy call
FOLDER: Final = "folder"  # folder:<path>, an inventory folder stored on its own (e.g. empty)
CONTROLLER: Final = "controller"  # controller:<controllerId>, a Controller registered through the API
DAILY_PLAN: Final = "dailyplan"  # dailyplan:<controllerId>:<date>:<schedulePath>, one schedule's orders of a day
KINDS: Final = (
    ACCOUNT,
    ROLE,
    IDENTITY_SERVICE,
    SETTINGS,
    COMMAND,
    LOGIN,
    INVENTORY,
    DEPLOYMENT,
    FOLDER,
    CONTROLLER,
    DAILY_PLAN,
)
INVENTORY_KINDS: Final = frozenset({INVENTORY, DEPLOYMENT, FOLDER})
IAM_KINDS: Final = frozenset({ACCOUNT, ROLE, IDENTITY_SERVICE, SETTINGS})


def key(kind: str, name: str) -> str:
    return f"{kind}:{name}"


def account(name: str) -> str:
    return key(ACCOUNT, name)


def role(name: str) -> str:
    return key(ROLE, name)


def identity_service(name: str) -> str:
    return key(IDENTITY_SERVICE, name)


def settings(section: str) -> str:
    return key(SETTINGS, section)


def command(request_id: str) -> str:
    return key(COMMAND, request_id)


def login(login_id: str) -> str:
    return key(LOGIN, login_id)


def inventory(object_type: str, name: str) -> str:
    return key(INVENTORY, f"{object_type}:{name}")


def deployment(commit_id: str) -> str:
    return key(DEPLOYMENT, commit_id)


def folder(path: str) -> str:
    return key(FOLDER, path)


def controller(controller_id: str) -> str:
    return key(CONTROLLER, controller_id)


def daily_plan(controller_id: str, plan_date: str, schedule_path: str) -> str:
    """JS7 Controller ids and dates hold no colon, so the name splits back (`daily_plan_parts`)."""
    return key(DAILY_PLAN, f"{controller_id}:{plan_date}:{schedule_path}")


def daily_plan_parts(name: str) -> tuple[str, str, str]:
    """(controllerId, date, schedulePath) of a daily-plan aggregate's name."""
    controller_id, _, rest = name.partition(":")
    plan_date, _, schedule_path = rest.partition(":")
    return controller_id, plan_date, schedule_path


def split(aggregate_key: str) -> tuple[str, str]:
    """(kind, name); the kind is "" when the key has none of the known kinds."""
    kind, sep, name = aggregate_key.partition(":")
    if not sep or kind not in KINDS or not name:
        return "", aggregate_key
    return kind, name
