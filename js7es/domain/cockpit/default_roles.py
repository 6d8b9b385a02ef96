"""The roles JOC ships with, and `all` (everything, given to `root`).

Source: the JS7 role definitions in `sos-berlin/sos-components`
`sos-webservices/sos-webservices-joc-global/src/test/resources/auth/shiro.ini` (last changed in commit
f4a1e0af3a, 2021-12-01, "JOC-1148, JOC-1146"; read at bd6773408b). It is the only role → permission
list for the JS7 tree (`sos:products:joc…`, `sos:products:controller…`) in JOC's public sources; the
`shiro _default.ini` beside JOC's server resources is the JobScheduler 1.x model. The authoritative
matrix is the KB's `js7_permissions.xls`, which is not public in a readable form. The role purposes
in the GUI's help (`sos-berlin/joc-cockpit` 7c9a544b14, `help-files/en/identity-service-roles.md`)
agree with this list: api_user and business_user only view, administrator runs the products,
incident_manager gets all of the Controller.

Deliberate differences from that file:
- application_manager's `sos:products:joc:administration:controller:view` (not a permission: the node
  is `controllers`) is read as `sos:products:joc:administration:controllers:view`.
- Permissions added to JOC after 2021 (notice boards, reports, encipherment, `get_log`) are granted
  only where a role holds a whole subtree (e.g. incident_manager's `sos:products:controller`).
All grants are in the default scope; none is denied; no role is limited to folders.
"""

from __future__ import annotations

from collections.abc import Mapping

from js7es.domain.cockpit.iam import PermissionGrant, Role

_JOC = "sos:products:joc:"
_CONTROLLER = "sos:products:controller:"


def _role(name: str, ordering: int, *paths: str) -> Role:
    return Role(
        name=name,
        ordering=ordering,
        permissions={"": tuple(PermissionGrant(path=path) for path in paths)},
        folders={},
    )


_CONTROLLER_VIEWS = (
    _CONTROLLER + "view",
    _CONTROLLER + "agents:view",
    _CONTROLLER + "deployment:view",
    _CONTROLLER + "locks:view",
    _CONTROLLER + "workflows:view",
)

DEFAULT_ROLES: Mapping[str, Role] = {
    role.name: role
    for role in (
        _role("all", 0, "sos:products"),
        _role(
            "administrator",
            1,
            _JOC + "administration",
            _JOC + "auditlog:view",
            _JOC + "calendars:view",
            _JOC + "cluster:manage",
            _JOC + "dailyplan:view",
            _JOC + "documentations:view",
            _JOC + "filetransfer:view",
            _JOC + "inventory:view",
            _JOC + "notification",
            _JOC + "others",
            _CONTROLLER + "view",
            _CONTROLLER + "restart",
            _CONTROLLER + "terminate",
            _CONTROLLER + "switch_over",
            _CONTROLLER + "agents:view",
            _CONTROLLER + "deployment:view",
            _CONTROLLER + "locks:view",
            _CONTROLLER + "workflows:view",
            _CONTROLLER + "orders:view",
        ),
        _role(
            "api_user",
            2,
            _JOC + "auditlog:view",
            _JOC + "calendars:view",
            _JOC + "dailyplan:view",
            _JOC + "documentations:view",
            _JOC + "filetransfer:view",
            *_CONTROLLER_VIEWS,
            _CONTROLLER + "orders:view",
        ),
        _role(
            "application_manager",
            3,
            _JOC + "administration:controllers:view",
            _JOC + "administration:customization",
            _JOC + "administration:settings",
            _JOC + "auditlog:view",
            _JOC + "calendars:view",
            _JOC + "dailyplan",
            _JOC + "documentations",
            _JOC + "filetransfer",
            _JOC + "inventory",
            _JOC + "notification:view",
            _CONTROLLER + "view",
            _CONTROLLER + "agents:view",
            _CONTROLLER + "deployment",
            _CONTROLLER + "locks:view",
            _CONTROLLER + "workflows:view",
            _CONTROLLER + "orders",
        ),
        _role(
            "business_user",
            4,
            _JOC + "administration:customization:view",
            _JOC + "auditlog:view",
            _JOC + "calendars:view",
            _JOC + "dailyplan:view",
            _JOC + "documentations:view",
            _JOC + "filetransfer:view",
            _CONTROLLER + "view",
            _CONTROLLER + "agents:view",
            _CONTROLLER + "locks:view",
            _CONTROLLER + "workflows:view",
            _CONTROLLER + "orders:view",
        ),
        _role(
            "incident_manager",
            5,
            _JOC + "administration:accounts",
            _JOC + "administration:customization",
            _JOC + "administration:settings",
            _JOC + "auditlog:view",
            _JOC + "calendars:view",
            _JOC + "dailyplan",
            _JOC + "documentations",
            _JOC + "filetransfer",
            _JOC + "inventory",
            _JOC + "notification",
            _JOC + "others",
            "sos:products:controller",
        ),
        _role(
            "it_operator",
            6,
            _JOC + "administration:customization",
            _JOC + "administration:settings:view",
            _JOC + "auditlog:view",
            _JOC + "calendars:view",
            _JOC + "dailyplan",
            _JOC + "documentations",
            _JOC + "filetransfer",
            _JOC + "inventory:view",
            _JOC + "notification:view",
            *_CONTROLLER_VIEWS,
            _CONTROLLER + "orders",
        ),
    )
}
