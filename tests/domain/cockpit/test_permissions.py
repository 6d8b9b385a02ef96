"""JOC's permission tree, the merging of roles and the `/authentication/joc_cockpit_permissions` answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from js7es.domain.cockpit.iam import PermissionGrant, Role
from js7es.domain.cockpit.permissions import (
    DEFAULT_ROLES,
    LEAF_PERMISSIONS,
    PERMISSION_NODES,
    PERMISSION_PATHS,
    check_permission_path,
    effective,
)

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "cockpit"

# Every literal in sos-components (bd6773408b) sos-webservices-joc-global/.../auth/classes/SOSListOfPermissions.java,
# written out here rather than derived, so that the tree is checked against JOC's list.
JOC_LEAVES = [
    "joc:get_log",
    "joc:administration:accounts:view",
    "joc:administration:accounts:manage",
    "joc:administration:certificates:view",
    "joc:administration:certificates:manage",
    "joc:administration:controllers:view",
    "joc:administration:controllers:manage",
    "joc:administration:customization:view",
    "joc:administration:customization:manage",
    "joc:administration:customization:share",
    "joc:administration:settings:view",
    "joc:administration:settings:manage",
    "joc:auditlog:view",
    "joc:calendars:view",
    "joc:cluster:manage",
    "joc:dailyplan:view",
    "joc:dailyplan:manage",
    "joc:documentations:view",
    "joc:documentations:manage",
    "joc:filetransfer:view",
    "joc:filetransfer:manage",
    "joc:inventory:view",
    "joc:inventory:manage",
    "joc:inventory:deploy",
    "joc:notification:view",
    "joc:notification:manage",
    "joc:reports:view",
    "joc:reports:manage",
    "joc:others:view",
    "joc:others:manage",
    "joc:encipherment:encrypt",
    "controller:view",
    "controller:restart",
    "controller:terminate",
    "controller:switch_over",
    "controller:get_log",
    "controller:agents:view",
    "controller:deployment:view",
    "controller:deployment:deploy",
    "controller:locks:view",
    "controller:workflows:view",
    "controller:noticeboards:view",
    "controller:noticeboards:post",
    "controller:noticeboards:delete",
    "controller:orders:view",
    "controller:orders:create",
    "controller:orders:cancel",
    "controller:orders:modify",
    "controller:orders:suspend_resume",
    "controller:orders:resume_failed",
    "controller:orders:confirm",
    "controller:orders:manage_positions",
]

C = "sos:products:controller"


def role(name: str = "r", **scopes: list[str]) -> Role:
    """A role from scopes (`default=` for "", else a controllerId); a path with a leading '-' is denied."""
    return Role(
        name=name,
        permissions={
            ("" if scope == "default" else scope): tuple(
                PermissionGrant(path=p.lstrip("-"), excluded=p.startswith("-")) for p in paths
            )
            for scope, paths in scopes.items()
        },
        folders={},
    )


def test_the_leaves_are_those_of_joc() -> None:
    assert sorted(LEAF_PERMISSIONS) == sorted(f"sos:products:{leaf}" for leaf in JOC_LEAVES)


def test_the_tree_has_every_inner_node_of_its_leaves() -> None:
    inner = {leaf.rsplit(":", n)[0] for leaf in LEAF_PERMISSIONS for n in range(1, leaf.count(":"))}
    assert set(LEAF_PERMISSIONS) | inner == PERMISSION_PATHS
    assert "sos" not in PERMISSION_PATHS


@pytest.mark.parametrize(
    ("path", "controller_scoped"),
    [("sos:products", False), ("sos:products:joc:get_log", False), (C, True), (C + ":orders:confirm", True)],
)
def test_only_controller_permissions_have_controller_scopes(path: str, controller_scoped: bool) -> None:
    assert PERMISSION_NODES[path].controller_scoped is controller_scoped


@pytest.mark.parametrize(
    ("path", "scope", "code"),
    [
        ("sos:products", "", None),
        ("sos:products:joc:administration", "", None),
        (C + ":orders:manage_positions", "", None),
        (C + ":orders", "controller-1", None),
        ("sos:products", "controller-1", None),
        ("sos", "", "UnknownPermission"),
        ("sos:products:joc:administration:controller:view", "", "UnknownPermission"),
        ("sos:products:joc:adminstration:accounts:view", "", "UnknownPermission"),
        (C + ":orders:", "", "UnknownPermission"),
        (C + ":orders:*", "", "UnknownPermission"),
        ("", "", "UnknownPermission"),
        ("sos:products:joc:inventory:view", "controller-1", "PermissionNotControllerScoped"),
    ],
)
def test_check_permission_path(path: str, scope: str, code: str | None) -> None:
    checked = check_permission_path(path, scope)
    assert (checked and checked.code) == code


@pytest.mark.parametrize(
    ("grants", "allowed", "refused"),
    [
        (["sos:products"], LEAF_PERMISSIONS, []),
        (
            [C + ":orders"],
            [C + ":orders", C + ":orders:view", C + ":orders:cancel"],
            [C, C + ":view", C + ":agents:view"],
        ),
        ([C + ":orders:view"], [C + ":orders:view"], [C + ":orders", C + ":orders:create"]),
        (["sos:products:joc"], ["sos:products:joc:administration:accounts:manage"], [C + ":view"]),
        ([], [], ["sos:products", C + ":view", "sos:products:joc:get_log"]),
    ],
)
def test_a_grant_inherits_to_the_children(grants: list[str], allowed: list[str], refused: list[str]) -> None:
    permissions = effective([role(default=grants)])
    assert [p for p in allowed if not permissions.allows(p)] == []
    assert [p for p in refused if permissions.allows(p)] == []


@pytest.mark.parametrize(
    ("roles", "path", "expected"),
    [
        # A deny in one role beats a grant in another, at the same node, below or above it.
        ([role(default=[C]), role(default=["-" + C + ":orders:cancel"])], C + ":orders:cancel", False),
        ([role(default=[C]), role(default=["-" + C + ":orders:cancel"])], C + ":orders:view", True),
        ([role(default=[C + ":orders:cancel"]), role(default=["-" + C + ":orders"])], C + ":orders:cancel", False),
        ([role(default=[C + ":orders:cancel"]), role(default=["-sos:products"])], C + ":orders:cancel", False),
        # A deny below a node leaves the node itself (JOC asks only the node and its ancestors).
        ([role(default=[C]), role(default=["-" + C + ":orders:cancel"])], C + ":orders", True),
        # A deny alone grants nothing; denying inside the same role works the same.
        ([role(default=["-" + C + ":view"])], C + ":orders:view", False),
        ([role(default=[C, "-" + C + ":restart"])], C + ":restart", False),
    ],
)
def test_deny_wins_across_roles(roles: list[Role], path: str, expected: bool) -> None:
    assert effective(roles).allows(path) is expected
    assert effective(reversed(roles)).allows(path) is expected


VIEW = C + ":orders:view"


@pytest.mark.parametrize(
    ("default", "for_a", "expected_default", "expected_a", "expected_b"),
    [
        # per-Controller deny overrides a default grant
        ([VIEW], ["-" + VIEW], True, False, True),
        # default deny overrides every per-Controller grant
        (["-" + VIEW], [VIEW], False, False, False),
        # per-Controller grant adds to the default
        ([], [VIEW], False, True, False),
        ([C + ":orders:cancel"], [VIEW], False, True, False),
        # both grant
        ([VIEW], [VIEW], True, True, True),
        # a deny of an ancestor in either scope
        ([VIEW], ["-" + C], True, False, True),
        (["-" + C + ":orders"], [C], False, False, False),
    ],
)
def test_default_and_per_controller_scopes(
    default: list[str], for_a: list[str], expected_default: bool, expected_a: bool, expected_b: bool
) -> None:
    together = effective([role(default=default, A=for_a)])
    apart = effective([role("d", default=default), role("a", A=for_a)])
    for permissions in (together, apart):
        assert permissions.allows(VIEW) is expected_default
        assert permissions.allows(VIEW, "A") is expected_a
        assert permissions.allows(VIEW, "B") is expected_b


def test_joc_permissions_ignore_the_controller() -> None:
    permissions = effective([role(default=["sos:products:joc:inventory:view"])])
    assert permissions.allows("sos:products:joc:inventory:view", "A")
    # JOC asks JOC permissions in the default scope only: a Controller scope does not grant them.
    assert not effective([role(A=["sos:products"])]).allows("sos:products:joc:inventory:view", "A")
    assert effective([role(A=["sos:products"])]).allows(C + ":view", "A")


def test_an_unknown_path_is_a_bug() -> None:
    with pytest.raises(ValueError, match="Unknown permission"):
        effective([]).allows("sos:products:joc:nothing")


def test_controller_scopes_are_those_of_the_roles() -> None:
    permissions = effective([role("x", default=[C], B=["-" + VIEW]), role("y", A=[VIEW]), role("x")])
    assert permissions.controller_scopes == ("A", "B")
    assert permissions.role_names == ("x", "y")


def test_joc_json_of_the_role_all_is_jocs_example() -> None:
    # JOC's documented answer for an account with the role "all": sos-berlin/js7-api-schemas c5054345c9,
    # src/main/resources/raml/api/examples/user/permissions-example.json (the example200 of
    # /authentication/joc_cockpit_permissions in api.raml), copied unchanged. Field order counts: JOC
    # serialises in @JsonPropertyOrder.
    expected = (GOLDEN / "joc_cockpit_permissions-all.json").read_text()
    actual = effective([DEFAULT_ROLES["all"]]).to_joc_json([])
    assert json.dumps(actual, indent=4) == json.dumps(json.loads(expected), indent=4)


def _shape(value: object) -> object:
    return {k: _shape(v) for k, v in value.items()} if isinstance(value, dict) else type(value).__name__


def test_joc_json_has_the_shape_of_the_example_for_any_roles() -> None:
    example = json.loads((GOLDEN / "joc_cockpit_permissions-all.json").read_text())
    permissions = effective([role("op", default=[C + ":orders", "-" + C + ":orders:cancel"], A=[C + ":orders:cancel"])])
    answer = permissions.to_joc_json(permissions.controller_scopes)
    assert json.dumps(_shape({**answer, "controllers": {}})) == json.dumps(_shape(example))
    assert answer["roles"] == ["op"]
    assert json.dumps(_shape(answer["controllers"])) == json.dumps({"A": _shape(example["controllerDefaults"])})
    defaults, for_a = answer["controllerDefaults"], answer["controllers"]["A"]  # type: ignore[index]
    assert defaults["orders"] == {  # type: ignore[index]
        "view": True,
        "create": True,
        "cancel": False,
        "suspendResume": True,
        "resumeFailed": True,
        "modify": True,
        "managePositions": True,
        "confirm": True,
    }
    assert for_a["orders"]["cancel"] is False  # the default deny beats A's grant
    assert defaults["view"] is False and answer["joc"]["getLog"] is False  # type: ignore[index]


def test_joc_json_of_no_roles_is_all_false() -> None:
    def leaves(value: object) -> list[object]:
        return [x for v in value.values() for x in leaves(v)] if isinstance(value, dict) else [value]

    answer = effective([]).to_joc_json(["A"])
    assert set(leaves({k: v for k, v in answer.items() if k != "roles"})) == {False}


# Properties: random roles over a few paths and two Controllers.
_PATHS = ["sos:products", C, C + ":orders", VIEW, C + ":orders:cancel", "sos:products:joc", "sos:products:joc:get_log"]
_grant = st.builds(PermissionGrant, path=st.sampled_from(_PATHS), excluded=st.booleans())
_role = st.builds(
    Role,
    name=st.sampled_from(["a", "b", "c"]),
    permissions=st.dictionaries(st.sampled_from(["", "A", "B"]), st.lists(_grant, max_size=4).map(tuple), max_size=3),
    folders=st.just({}),
)
_queries = [(p, c) for p in _PATHS for c in (None, "A", "B")]


@given(st.lists(_role, max_size=4), st.randoms())
def test_the_order_of_roles_does_not_matter(roles: list[Role], random: object) -> None:
    shuffled = list(roles)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    assert [effective(roles).allows(*q) for q in _queries] == [effective(shuffled).allows(*q) for q in _queries]


@given(st.lists(_role, max_size=4), _role)
def test_another_role_only_adds_grants_and_denies(roles: list[Role], extra: Role) -> None:
    before, after = effective(roles), effective([*roles, extra])
    denies = any(g.excluded for gs in extra.permissions.values() for g in gs)
    grants = any(not g.excluded for gs in extra.permissions.values() for g in gs)
    for query in _queries:
        if not denies:
            assert not before.allows(*query) or after.allows(*query)
        if not grants:
            assert not after.allows(*query) or before.allows(*query)


def test_default_roles_use_only_known_permissions() -> None:
    assert set(DEFAULT_ROLES) == {
        "all",
        "administrator",
        "api_user",
        "application_manager",
        "business_user",
        "incident_manager",
        "it_operator",
    }
    for name, default_role in DEFAULT_ROLES.items():
        assert default_role.name == name
        for scope, grants in default_role.permissions.items():
            assert [check_permission_path(g.path, scope) for g in grants] == [None] * len(grants)


def _allowed(name: str) -> set[str]:
    permissions = effective([DEFAULT_ROLES[name]])
    return {leaf for leaf in LEAF_PERMISSIONS if permissions.allows(leaf)}


def test_default_roles_as_their_descriptions_say() -> None:
    assert _allowed("all") == set(LEAF_PERMISSIONS)
    for viewer in ("business_user", "api_user"):  # read-only
        assert {p for p in _allowed(viewer) if not p.endswith(":view")} == set()
    controller = {p for p in LEAF_PERMISSIONS if p.startswith(C)}
    assert controller <= _allowed("incident_manager")  # all of the Controller, logs included
    assert _allowed("application_manager") <= _allowed("incident_manager") | {
        "sos:products:joc:administration:controllers:view"
    }
    assert {C + ":restart", C + ":switch_over", "sos:products:joc:cluster:manage"} <= _allowed("administrator")
    assert {C + ":orders:cancel", "sos:products:joc:dailyplan:manage"} <= _allowed("it_operator")
    assert "sos:products:joc:inventory:manage" not in _allowed("it_operator")
    assert not any(p.startswith("sos:products:joc:administration:accounts") for p in _allowed("application_manager"))
