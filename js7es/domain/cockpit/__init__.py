"""The Cockpit's own write side, pure: identity and access (accounts, roles, identity services),
global settings, and the trail of commands sent to Controllers (ARCHITECTURE §7).

- `iam`: the state the API and the permission checks read (`Account`, `Role`, `IamState`, …);
- `keys`: the aggregate keys (``account:<name>``, ``role:<name>``, …);
- `events`: the events, their `ChangeMeta` envelope, and the TYPE → class registry `COCKPIT_EVENTS`;
- `apply`: one transition function per aggregate, and `apply_iam` for the whole IAM state;
- `commands` and `decide`: what the API asks for, and the events it yields or the Problem why not;
- `permissions`, `folders`, `default_roles`: JOC's permission tree, effective permissions and folder
  permissions of an account's roles, and JOC's default roles.

The journal layer (js7es/journal/cockpit) persists these events with the `eventsourcing` library.
"""
