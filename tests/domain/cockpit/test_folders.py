"""Inventory paths in normal form, and folder permissions as JOC's SOSAuthFolderPermissions has them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from js7es.domain.cockpit.folders import FolderPermissions, normalize_folder, parent_folder
from js7es.domain.cockpit.iam import FolderGrant, Role
from js7es.domain.problem import Problem


def role(name: str = "r", **scopes: list[str]) -> Role:
    """A role from folder scopes (`default=` for "", else a controllerId); a folder ending in '/*' is recursive."""
    return Role(
        name=name,
        permissions={},
        folders={
            ("" if scope == "default" else scope): tuple(
                FolderGrant(folder=f.removesuffix("/*") or "/", recursive=f.endswith("/*")) for f in folders
            )
            for scope, folders in scopes.items()
        },
    )


@pytest.mark.parametrize(
    ("grants", "folder", "expected"),
    [
        (["/*"], "/", True),
        (["/*"], "/a/b/c", True),
        (["/"], "/", True),
        (["/"], "/a", False),
        (["/a"], "/a", True),
        (["/a"], "/a/b", False),
        (["/a"], "/", False),
        (["/a/*"], "/a", True),
        (["/a/*"], "/a/b/c", True),
        (["/a/*"], "/ab", False),  # a prefix of the name is not a prefix of the path
        (["/a/*"], "/", False),
        (["/a/b/*"], "/a", False),  # a parent of a permitted folder is not permitted
        (["/ab/*"], "/a", False),
        (["/a", "/b/*"], "/b/c", True),
        (["/a", "/b/*"], "/c", False),
        ([], "/anything", True),
        ([], "/a/../b", False),  # a path that is not normal never passes
        (["/*"], "a", False),
    ],
)
def test_folder_rules(grants: list[str], folder: str, expected: bool) -> None:
    permissions = FolderPermissions.of_roles([role(default=grants)] if grants else [])
    assert permissions.is_permitted(folder) is expected
    assert permissions.is_permitted(folder, "A") is expected


@pytest.mark.parametrize(
    ("grants", "path", "expected"),
    [
        (["/a"], "/a/workflow", True),
        (["/a"], "/a/b/workflow", False),
        (["/a/*"], "/a/b/workflow", True),
        (["/"], "/workflow", True),
        (["/a/*"], "/ab/workflow", False),
        (["/a/*"], "/a", False),  # the object /a is in the folder /
        ([], "/", False),  # the root is a folder, not an object
        ([], "/a/../workflow", False),
    ],
)
def test_an_object_is_permitted_by_its_folder(grants: list[str], path: str, expected: bool) -> None:
    permissions = FolderPermissions.of_roles([role(default=grants)])
    assert permissions.is_path_permitted(path) is expected


def test_no_folder_list_is_unrestricted() -> None:
    permissions = FolderPermissions.of_roles([role(), role("empty", default=[])])
    assert permissions.folders_for(None) is None
    assert permissions.folders_for("A") is None


def test_the_folders_of_several_roles_are_united() -> None:
    permissions = FolderPermissions.of_roles([role("x", default=["/a/*"]), role("y", default=["/b", "/a"])])
    assert permissions.folders_for() == (
        FolderGrant(folder="/a", recursive=True),
        FolderGrant(folder="/b", recursive=False),
    )


def test_a_role_without_folders_does_not_lift_another_roles_restriction() -> None:
    # JOC: only roles with folders reach SOSAuthFolderPermissions.setFolders.
    permissions = FolderPermissions.of_roles([role("tenant", default=["/tenant/*"]), role("viewer")])
    assert not permissions.is_permitted("/other")


def test_default_and_per_controller_folders() -> None:
    permissions = FolderPermissions.of_roles(
        [role("x", default=["/common/*", "/shared/*"]), role("y", A=["/a-only/*", "/shared"])]
    )
    # Controller A: its own folders plus the default ones; its own entry for a folder wins.
    assert permissions.folders_for("A") == (
        FolderGrant(folder="/a-only", recursive=True),
        FolderGrant(folder="/common", recursive=True),
        FolderGrant(folder="/shared", recursive=False),
    )
    assert permissions.is_permitted("/common/x", "A") and permissions.is_permitted("/a-only/x", "A")
    assert not permissions.is_permitted("/shared/x", "A")
    # Controller B and JOC-wide objects: the default folders only.
    assert permissions.folders_for("B") == permissions.folders_for(None) == permissions.folders_for("")
    assert not permissions.is_permitted("/a-only", "B") and permissions.is_permitted("/shared/x", "B")


def test_folders_of_one_controller_do_not_restrict_others() -> None:
    permissions = FolderPermissions.of_roles([role(A=["/a/*"])])
    assert permissions.folders_for("A") == (FolderGrant(folder="/a", recursive=True),)
    assert permissions.folders_for("B") is None and permissions.folders_for() is None
    assert permissions.is_permitted("/b", "B") and not permissions.is_permitted("/b", "A")


def test_an_invalid_grant_narrows_and_never_widens() -> None:
    permissions = FolderPermissions.of_roles([role(default=["/../x/*"])])
    assert permissions.folders_for() == ()
    assert not permissions.is_permitted("/")
    assert not permissions.is_permitted("/x")


@pytest.mark.parametrize(
    "path", ["/", "/a", "/a/b", "/A1/b_c/d-e/f.g", "/Übersicht/日本", "/a/" + "x" * 255, "/1/new/class", "/a\uff0fb"]
)
def test_normal_paths(path: str) -> None:
    assert normalize_folder(path) == path


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/..", "PathTraversal"),
        ("/a/../b", "PathTraversal"),
        ("/a/..", "PathTraversal"),
        ("/.", "PathTraversal"),
        ("/a/./b", "PathTraversal"),
        ("\\a", "PathTraversal"),
        ("/a\\..\\..\\etc", "PathTraversal"),
        ("../etc/passwd", "PathTraversal"),
        ("", "InvalidPath"),
        ("a/b", "InvalidPath"),
        ("//a", "InvalidPath"),
        ("/a//b", "InvalidPath"),
        ("/a/", "InvalidPath"),
        ("/a b", "InvalidPath"),
        ("/a\tb", "InvalidPath"),
        ("/a\x00b", "InvalidPath"),
        ("/a\x7f", "InvalidPath"),
        ("/a\u202eb", "InvalidPath"),  # a bidirectional override
        ("/a\u3000b", "InvalidPath"),  # an ideographic space
        ("/a:b", "InvalidPath"),
        ("/a$b", "InvalidPath"),
        ("/a*", "InvalidPath"),
        ("/a\uff01b", "InvalidPath"),  # a full-width exclamation mark
        ("/-a", "InvalidPath"),
        ("/_a", "InvalidPath"),
        ("/.a", "InvalidPath"),
        ("/a.", "InvalidPath"),
        ("/a-", "InvalidPath"),
        ("/a..b", "InvalidPath"),
        ("/a--b", "InvalidPath"),
        ("/" + "x" * 256, "InvalidPath"),
    ],
)
def test_refused_paths(path: str, code: str) -> None:
    checked = normalize_folder(path)
    assert isinstance(checked, Problem) and checked.code == code
    assert checked.arguments["path"] == path


@given(st.text(alphabet="/.\\ab-_:\x00 ", max_size=12))
def test_a_normal_path_never_leaves_the_root(path: str) -> None:
    checked = normalize_folder(path)
    if isinstance(checked, str):
        assert checked == path and checked.startswith("/")
        assert normalize_folder(checked) == checked
        assert checked == "/" or all(segment not in ("", ".", "..") for segment in checked[1:].split("/"))
        assert "\\" not in checked


_name = st.sampled_from(["a", "ab", "b"])
_folder = st.lists(_name, max_size=3).map(lambda names: "/" + "/".join(names))


@given(_folder, st.booleans(), _folder)
def test_matching_is_by_whole_segments(granted: str, recursive: bool, folder: str) -> None:
    permissions = FolderPermissions(scopes={"": (FolderGrant(folder=granted, recursive=recursive),)})
    granted_segments = [s for s in granted.split("/") if s]
    folder_segments = [s for s in folder.split("/") if s]
    below = folder_segments[: len(granted_segments)] == granted_segments
    assert permissions.is_permitted(folder) is (folder == granted or (recursive and below))


@pytest.mark.parametrize(("path", "folder"), [("/a/b/wf", "/a/b"), ("/wf", "/")])
def test_parent_folder(path: str, folder: str) -> None:
    assert parent_folder(path) == folder
