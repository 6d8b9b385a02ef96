"""Inventory folders: their normal form, and the folder permissions of an account's roles.

Facts from `sos-berlin/sos-components` at commit bd6773408b (2026-08-21, JOC 2.8.x/2.9 dev):

- Name rules: `sos-commons-util/.../SOSCheckJavaVariableName.check` (no whitespace, no control
  characters, no punctuation or symbols but `_ - .`, no full-width punctuation, no leading `_ . -`, no
  trailing `. -`, no `..` or `--`). JOC's `checkFolder` applies them to the folder with its slashes
  removed; we apply them to each segment, which is stricter (`/a-/b` is refused) and is what a folder
  name means. JOC refuses Java's reserved words as object names; folder segments are not object names,
  so we do not.  JOC's full-width class leaves out U+FF0D to U+FF0F (full-width `-`, `.`, `/`),
  so they pass here too: lookalikes, but ordinary characters to every file system and database.
- Matching: `sos-webservices-joc-global/.../auth/classes/SOSAuthFolderPermissions.isPermittedForFolder`:
  no folder list permits everything; otherwise a folder passes if it equals a listed folder, or a listed
  folder is recursive and is `/` or a prefix `folder + "/"`.
- Combining: `SOSAuthFolderPermissions.setFolders` collects the folders of all the account's roles per
  scope (`""` = all Controllers, else a controllerId) into one set; `getListOfFolders(controllerId)` is
  that Controller's set plus the default set (a default entry for a folder the Controller already lists
  is left out), or the default set alone. Consequences we keep on purpose:
  * folders of several roles are united;
  * a role without folders adds nothing, so it does not lift the restriction another role of the same
    account sets (JOC: only roles with folders reach `setFolders`);
  * folders listed only for Controller A do not restrict Controller B.
  JOC's login code at that commit (`SOSAuthHelper.getMapOfFolderPermissions`) keys the folders by role
  name only and so drops their controllerId, which puts every folder into the default scope; we follow
  the per-Controller model of `SOSAuthFolderPermissions`, which is what the API (`/iam/folders/store`
  with a `controllerId`) and the GUI offer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from js7es.domain.cockpit.iam import FolderGrant, Role
from js7es.domain.problem import Problem, problem

DEFAULT_SCOPE = ""
MAX_NAME_LENGTH = 255

# The character classes of SOSCheckJavaVariableName, as Python regular expressions.
_PUNCTUATION = re.compile(r"[\x21-\x2C\x2F\x3A-\x40\x5B-\x5E\x60\x7B-\x7E\xA0-\xBF\xD7\xF7]")
_FULL_WIDTH_PUNCTUATION = re.compile(
    r"[\uFF01-\uFF0C\uFFFF\uFF1A-\uFF20\uFF3B-\uFF3E\uFF40\uFF5B-\uFF60\uFF62-\uFF65\uFFE0-\uFFEE]"
)
_IN_A_ROW = re.compile(r"\.\.|--")


def _invalid_path(path: str, reason: str) -> Problem:
    return problem("InvalidPath", f"Invalid inventory path {path!r}: {reason}", path=path, reason=reason)


def _traversal(path: str) -> Problem:
    return problem("PathTraversal", f"Inventory path {path!r} tries to leave its folder (., .. or \\)", path=path)


def _check_segment(path: str, segment: str) -> Problem | None:
    if segment == "":
        return _invalid_path(path, "empty folder name (// or a trailing /)")
    if len(segment) > MAX_NAME_LENGTH:
        return _invalid_path(path, f"a name longer than {MAX_NAME_LENGTH} characters")
    # Unicode categories C*: control, format (e.g. bidirectional overrides), surrogates, private, unassigned.
    if any(unicodedata.category(c).startswith("C") for c in segment):
        return _invalid_path(path, "control or format characters")
    if any(c.isspace() for c in segment):
        return _invalid_path(path, "spaces")
    if _PUNCTUATION.search(segment) or _FULL_WIDTH_PUNCTUATION.search(segment):
        return _invalid_path(path, "punctuation or symbols other than '_', '-' and '.'")
    if segment[0] in "_.-":
        return _invalid_path(path, "a name beginning with '_', '.' or '-'")
    if segment[-1] in ".-":
        return _invalid_path(path, "a name ending with '.' or '-'")
    if _IN_A_ROW.search(segment):
        return _invalid_path(path, "consecutive '.' or '-'")
    return None


def normalize_folder(path: str) -> str | Problem:
    """The inventory folder or object path `path` in its one form, or why it is refused.

    An absolute, `/`-separated path of JS7 names; `/` is the root. Nothing is repaired: a path is
    either already normal or refused, so what a caller checked is what it stores. `.` and `..`
    segments and backslashes (another system's separator, a zip-slip classic) are `PathTraversal`;
    every other defect is `InvalidPath`.
    """
    if "\\" in path or any(segment in (".", "..") for segment in path.split("/")):
        return _traversal(path)
    if not path.startswith("/"):
        return _invalid_path(path, "not absolute (must begin with /)")
    if path == "/":
        return path
    for segment in path[1:].split("/"):
        if checked := _check_segment(path, segment):
            return checked
    return path


def parent_folder(object_path: str) -> str:
    """The folder of a normal object path: `/a/b/wf` → `/a/b`, `/wf` → `/`."""
    return object_path.rsplit("/", 1)[0] or "/"


def _folder_matches(grant: FolderGrant, folder: str) -> bool:
    return grant.folder == folder or (
        grant.recursive and (grant.folder == "/" or folder.startswith(grant.folder + "/"))
    )


def _merge(grants: Iterable[FolderGrant]) -> tuple[FolderGrant, ...]:
    """One grant per folder, recursive if any grant of it is, sorted by folder."""
    recursive: dict[str, bool] = {}
    for grant in grants:
        recursive[grant.folder] = recursive.get(grant.folder, False) or grant.recursive
    return tuple(FolderGrant(folder=f, recursive=r) for f, r in sorted(recursive.items()))


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderPermissions:
    """The folders an account may see, per scope: `""` for all Controllers, else a controllerId.

    A scope missing from `scopes` does not restrict. A scope whose grants are all invalid maps to `()`
    and permits nothing: a corrupt grant must narrow, never widen, what an account sees.
    """

    scopes: Mapping[str, tuple[FolderGrant, ...]] = field(default_factory=dict)

    @staticmethod
    def of_roles(roles: Iterable[Role]) -> FolderPermissions:
        collected: dict[str, list[FolderGrant]] = {}
        for role in roles:
            for scope, grants in role.folders.items():
                if not grants:
                    continue
                valid = collected.setdefault(scope, [])
                for grant in grants:
                    folder = normalize_folder(grant.folder)
                    if isinstance(folder, str):
                        valid.append(FolderGrant(folder=folder, recursive=grant.recursive))
        return FolderPermissions(scopes={scope: _merge(grants) for scope, grants in sorted(collected.items())})

    def folders_for(self, controller_id: str | None = None) -> tuple[FolderGrant, ...] | None:
        """The permitted folders for SQL filtering; None means unrestricted."""
        default = self.scopes.get(DEFAULT_SCOPE)
        own = self.scopes.get(controller_id) if controller_id else None
        if own is None:
            return default
        if default is None:
            return own
        own_folders = {grant.folder for grant in own}
        return tuple(sorted((*own, *(g for g in default if g.folder not in own_folders)), key=lambda g: g.folder))

    def is_permitted(self, folder: str, controller_id: str | None = None) -> bool:
        """Whether objects in `folder` are visible; a path that is not normal never is."""
        if isinstance(normalize_folder(folder), Problem):
            return False
        grants = self.folders_for(controller_id)
        return grants is None or any(_folder_matches(grant, folder) for grant in grants)

    def is_path_permitted(self, object_path: str, controller_id: str | None = None) -> bool:
        """Whether the object at `object_path` is visible, by its folder."""
        if object_path == "/" or isinstance(normalize_folder(object_path), Problem):
            return False
        return self.is_permitted(parent_folder(object_path), controller_id)
