"""The UI's static files: served under a URL holding a hash of their content, so that they can be cached
for good (`immutable`), each with its Subresource Integrity value (sha384) for the page's tags."""

from __future__ import annotations

import base64
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

IMMUTABLE = "public, max-age=31536000, immutable"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}


@dataclass(frozen=True, slots=True)
class Asset:
    data: bytes
    version: str
    integrity: str
    media_type: str


class Assets:
    def __init__(self, root: Path) -> None:
        self.files: dict[str, Asset] = {}
        for file in sorted(root.rglob("*")):
            if not file.is_file():
                continue
            data = file.read_bytes()
            name = file.relative_to(root).as_posix()
            media_type = TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "text/plain; charset=utf-8"
            self.files[name] = Asset(
                data=data,
                version=hashlib.sha256(data).hexdigest()[:16],
                integrity="sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode(),
                media_type=media_type,
            )

    def url(self, name: str) -> str:
        return f"/static/{self.files[name].version}/{name}"

    def integrity(self, name: str) -> str:
        return self.files[name].integrity

    async def serve(self, request: Request) -> Response:
        asset = self.files.get(request.path_params["name"])
        if asset is None or asset.version != request.path_params["version"]:
            return Response("no such file", 404, media_type="text/plain", headers={"Cache-Control": "no-store"})
        return Response(
            asset.data,
            media_type=asset.media_type,
            headers={"Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff"},
        )
