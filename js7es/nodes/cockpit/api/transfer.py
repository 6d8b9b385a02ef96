"""Export and import (joc-cockpit.md §3): /inventory/export answers a zip or tar.gz of
`<folder>/<name>.<type>.json` files (JOC's shallow copy), /inventory/import takes such an archive as
JOC's GUI uploads it (multipart/form-data with the fields of sos-components' IImportResource: file,
format, overwrite, targetFolder, prefix, suffix, comment, timeSpent, ticketLink). Imported objects
arrive as drafts, not deployed.

An archive is read whole before anything is stored: an entry that is absolute, has `..` or a
backslash, or a folder or name that `normalize_folder` refuses, more than MAX_ENTRIES entries, an entry
or a total larger than MAX_ENTRY_BYTES/MAX_TOTAL_BYTES uncompressed (counted while reading, not taken
from the headers), or a file that is not JSON refuses the whole import (420). Files of unknown types
(JOC's `meta_inf`, Agent files) are skipped. Without `overwrite`, an object whose name exists already is
kept; with a prefix or suffix the imported one is stored as `<prefix>-<name>` or `<name>-<suffix>`.
"""

from __future__ import annotations

import io
import tarfile
import urllib.parse
import zipfile
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, Literal

from starlette.responses import Response

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.folders import normalize_folder
from js7es.domain.cockpit.inventory import EXTENSIONS, OBJECT_TYPES
from js7es.domain.problem import Problem
from js7es.domain.value import dumps, loads, value_from_json, value_to_json
from js7es.nodes.cockpit.api.call import Call, ChangeMetaArgs
from js7es.nodes.cockpit.api.deployment import Config, Configuration
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.inventory import MANAGE, VIEW, normal_path
from js7es.nodes.cockpit.api.joc import NO_CACHE, JocError, bad_request, delivered, joc_response, now_ms
from js7es.nodes.cockpit.api.models import Audited, AuditParams, OkResponse, Request, String255

MAX_ARCHIVE_BYTES = 64 * 1024 * 1024
MAX_ENTRIES = 10_000
MAX_ENTRY_BYTES = 16 * 1024 * 1024
MAX_TOTAL_BYTES = 128 * 1024 * 1024
_EXTENSION_TYPES = {ext: t for t, ext in EXTENSIONS.items() if t != "NONWORKINGDAYSCALENDAR"}


class ExportFile(Request):
    """publish/exportFile-schema.json"""

    filename: String255
    format: Literal["ZIP", "TAR_GZ"] = "ZIP"


class DeployablesFilter(Request):
    draftConfigurations: list[Config] = []
    deployConfigurations: list[Config] = []
    withoutInvalid: bool = False


class ShallowCopy(Request):
    """publish/exportShallowCopyFilter-schema.json"""

    deployables: DeployablesFilter | None = None
    releasables: DeployablesFilter | None = None
    inclAllTags: bool = False


class ExportFilter(Audited):
    """publish/exportFilter-schema.json (shallowCopy only: no signing here)."""

    useShortPath: bool = False
    startFolder: String255 | None = None
    forSigning: dict[str, Any] | None = None
    shallowCopy: ShallowCopy | None = None
    exportFile: ExportFile


def _bad_archive(message: str) -> JocError:
    return JocError("JOC-420", f"InvalidArchive: {message}")


def _export_entries(call: Call, body: ExportFilter) -> list[tuple[str, bytes]]:
    if body.forSigning is not None or body.shallowCopy is None:
        raise bad_request("only shallowCopy exports are supported (js7es does not sign)")
    inventory = call.services.store.inventory()
    entries: dict[str, bytes] = {}
    start = normal_path(body.startFolder) if body.startFolder else "/"
    for part, deployed in ((body.shallowCopy.deployables, True), (body.shallowCopy.releasables, False)):
        if part is None:
            continue
        for config, from_deployed in [(c, False) for c in part.draftConfigurations] + [
            (c, deployed) for c in part.deployConfigurations
        ]:
            c: Configuration = config.the
            path = normal_path(c.path)
            if c.objectType == "FOLDER":
                objects = [
                    o
                    for o in inventory.objects.values()
                    if o.object_type in OBJECT_TYPES
                    and not o.deleted
                    and (o.folder == path or (c.recursive and (path == "/" or o.folder.startswith(path + "/"))))
                ]
            else:
                found = inventory.object(c.objectType, path.rsplit("/", 1)[-1])
                if found is None or found.path != path or found.deleted:
                    raise JocError("JOC-002", f"No {c.objectType} at {path}")
                objects = [found]
            for obj in objects:
                if not call.folder_permitted(obj.path):
                    if c.objectType == "FOLDER":
                        continue
                    call.require_folder(obj.path)
                if part.withoutInvalid and not obj.valid:
                    continue
                configuration = obj.configuration
                if from_deployed and obj.deployments:
                    configuration = max(obj.deployments.values(), key=lambda v: v.at_ms).configuration
                relative = (
                    obj.path[len(start) :].lstrip("/")
                    if body.useShortPath and obj.path.startswith(start)
                    else obj.path.lstrip("/")
                )
                entries[relative + EXTENSIONS[obj.object_type]] = (
                    dumps(value_to_json(configuration), indent=2) + "\n"
                ).encode()
    return sorted(entries.items())


def archive(entries: list[tuple[str, bytes]], archive_format: str) -> bytes:
    buffer = io.BytesIO()
    if archive_format == "TAR_GZ":
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for name, data in entries:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mtime = now_ms() // 1000
                tar.addfile(info, io.BytesIO(data))
    else:
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries:
                zf.writestr(name, data)
    return buffer.getvalue()


@API.post(
    "/inventory/export",
    summary="Exports objects as a zip or tar.gz of <folder>/<name>.<type>.json files",
    request=ExportFilter,
    response=None,
    produces="application/octet-stream",
    permission=VIEW,
)
async def export(call: Call, body: ExportFilter) -> Response:
    entries = _export_entries(call, body)
    data = archive(entries, body.exportFile.format)
    # JOC's form (JOCDefaultResponse): RFC 5987, so that any file name fits into the (latin-1) header
    filename = urllib.parse.quote(body.exportFile.filename, safe="")
    headers = {**NO_CACHE, "Content-Disposition": f"attachment; filename*=UTF-8''{filename}"}
    return Response(data, media_type="application/octet-stream", headers=headers)


# --- import -------------------------------------------------------------------------------------------


def read_archive(data: bytes, archive_format: str) -> list[tuple[str, bytes]]:
    """The files of an archive, each name checked, sizes limited (see the module's docstring)."""
    if len(data) > MAX_ARCHIVE_BYTES:
        raise _bad_archive(f"larger than {MAX_ARCHIVE_BYTES} bytes")
    files: list[tuple[str, bytes]] = []
    total = 0

    def add(name: str, stream: Any) -> None:
        nonlocal total
        if len(files) >= MAX_ENTRIES:
            raise _bad_archive(f"more than {MAX_ENTRIES} entries")
        content = stream.read(MAX_ENTRY_BYTES + 1)
        if len(content) > MAX_ENTRY_BYTES:
            raise _bad_archive(f"{name}: larger than {MAX_ENTRY_BYTES} bytes uncompressed")
        total += len(content)
        if total > MAX_TOTAL_BYTES:
            raise _bad_archive(f"more than {MAX_TOTAL_BYTES} bytes uncompressed")
        files.append((name, content))

    try:
        if archive_format == "TAR_GZ":
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
                for member in tar:
                    if member.isdir():
                        continue
                    if not member.isfile():
                        raise _bad_archive(f"{member.name}: links and devices are not allowed")
                    stream = tar.extractfile(member)
                    assert stream is not None
                    add(member.name, stream)
        else:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                infos = zf.infolist()
                if len(infos) > MAX_ENTRIES:
                    raise _bad_archive(f"more than {MAX_ENTRIES} entries")
                for info in infos:
                    if info.is_dir():
                        continue
                    with zf.open(info) as stream:
                        add(info.filename, stream)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as e:
        raise _bad_archive(f"cannot read it as {archive_format}: {e}") from None
    return files


def imported_object(name: str, content: bytes, target: str) -> tuple[str, str, Any] | None:
    """(objectType, path, configuration) of an archive file, None for a file of no inventory type."""
    ext = next((e for e in _EXTENSION_TYPES if name.lower().endswith(e)), None)
    if ext is None:
        return None
    if name.startswith("/") or "\\" in name:
        raise _bad_archive(f"{name!r}: absolute or with a backslash")
    path = (target.rstrip("/") + "/" + name[: -len(ext)]).replace("//", "/")
    normal = normalize_folder(path)
    if isinstance(normal, Problem):
        raise _bad_archive(f"{name!r}: {normal.code}: {normal.message}")
    try:
        configuration = loads(content)
    except (ValueError, UnicodeDecodeError) as e:
        raise _bad_archive(f"{name}: not JSON: {e}") from None
    if not isinstance(configuration, dict):
        raise _bad_archive(f"{name}: not a JSON object")
    object_type = _EXTENSION_TYPES[ext]
    # JOC's archives: a working-day or non-working-day calendar (not the Controller's Calendar item, which
    # js7es ctl deploy reads from the same suffix: js7es.nodes.client.items)
    if ext == ".calendar.json" and configuration.get("type") == "NONWORKINGDAYSCALENDAR":
        object_type = "NONWORKINGDAYSCALENDAR"
    return object_type, normal, configuration


def _form(call: Call, body: bytes) -> tuple[dict[str, str], bytes, str]:
    content_type = call.request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise bad_request("expected multipart/form-data with a file")
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields: dict[str, str] = {}
    file_data, file_name = None, ""
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        decoded = part.get_payload(decode=True)
        payload = decoded if isinstance(decoded, bytes) else b""
        if name == "file":
            file_data, file_name = payload, str(part.get_filename() or "")
        elif isinstance(name, str):
            fields[name] = payload.decode("utf-8", "replace")
    if file_data is None:
        raise bad_request("the form has no field 'file'")
    return fields, file_data, file_name


@API.post(
    "/inventory/import",
    summary="Imports an archive of <folder>/<name>.<type>.json files as drafts (multipart upload)",
    request=Audited,
    response=OkResponse,
    permission=MANAGE,
    body="raw",
)
async def import_archive(call: Call, _: Any) -> Any:
    raw = await call.request.body()
    if len(raw) > MAX_ARCHIVE_BYTES + 1024 * 1024:
        raise _bad_archive(f"larger than {MAX_ARCHIVE_BYTES} bytes")
    fields, data, file_name = _form(call, raw)
    overwrite = fields.get("overwrite", "false").lower() == "true"
    prefix, suffix = fields.get("prefix") or "", fields.get("suffix") or ""
    if overwrite and (prefix or suffix):
        raise bad_request("conflicting arguments: overwrite=true - no prefix/suffix allowed!")
    archive_format = fields.get("format") or ("TAR_GZ" if file_name.lower().endswith((".tar.gz", ".tgz")) else "ZIP")
    if archive_format not in ("ZIP", "TAR_GZ"):
        raise bad_request(f"format: {archive_format!r} is neither ZIP nor TAR_GZ")
    target = normal_path(fields.get("targetFolder") or "/")
    audit = AuditParams(
        comment=fields.get("comment") or None,
        timeSpent=int(fields["timeSpent"]) if fields.get("timeSpent", "").isdigit() else None,
        ticketLink=fields.get("ticketLink") or None,
    )
    meta = call.change_meta(Audited(auditLog=audit))
    objects = [
        o for name, content in read_archive(data, archive_format) if (o := imported_object(name, content, target))
    ]
    inventory = call.services.store.inventory()
    planned: list[tuple[str, str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for object_type, path, configuration in objects:
        folder, name = path.rsplit("/", 1)
        if (prefix or suffix) and inventory.object(object_type, name) is not None:
            name = "-".join(p for p in (prefix, name, suffix) if p)
            path = f"{folder}/{name}"
            if isinstance(problem := normalize_folder(path), Problem):
                raise _bad_archive(f"{path}: {problem.message}")
        elif not overwrite and inventory.object(object_type, name) is not None:
            continue
        if (object_type, name) in seen:
            raise _bad_archive(f"{object_type} {name} is twice in the archive")
        seen.add((object_type, name))
        call.require_folder(path)
        planned.append((object_type, path, configuration))
    for object_type, path, configuration in planned:
        await _store(call, meta, object_type, path, configuration)
    return joc_response(delivered({"ok": True}))


async def _store(call: Call, meta: ChangeMetaArgs, object_type: str, path: str, configuration: Any) -> None:
    await call.services.execute(
        keys.inventory(object_type, path.rsplit("/", 1)[-1]),
        cmd.StoreInventoryObject(path=path, configuration=value_from_json(configuration)),  # type: ignore[arg-type]
        meta,
    )
