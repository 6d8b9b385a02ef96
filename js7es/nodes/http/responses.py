"""JSON responses written with js7es's own JSON (`js7es.domain.value.dumps`: compact, exact Decimals)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from js7es.domain.value import dumps

JSON = "application/json"
NDJSON = "application/x-ndjson"


class JsonResponse(Response):
    media_type = JSON

    def render(self, content: Any) -> bytes:
        return dumps(content).encode()


def json_response(obj: Any, status: int = 200, *, headers: Mapping[str, str] | None = None) -> Response:
    return JsonResponse(obj, status_code=status, headers=headers)
