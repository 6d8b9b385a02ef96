"""Roles of JOC's identity services (a minimal version; the IAM work owns and extends this module)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class PermissionGrant:  # JOC's {permissionPath, excluded}; excluded=True means denied
    path: str
    excluded: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderGrant:  # JOC's {folder, recursive}
    folder: str
    recursive: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Role:
    name: str
    ordering: int = 0
    permissions: Mapping[
        str, tuple[PermissionGrant, ...]
    ]  # scope "" = default scope (all Controllers), else a controllerId
    folders: Mapping[str, tuple[FolderGrant, ...]]  # same scopes
