"""Request and response pieces shared by JOC's endpoints, as pydantic models (JOC's JSON schemas from
sos-berlin/js7-api-schemas, `raml/api/schemas/…`). The OpenAPI document is generated from these models.

Every request model refuses unknown fields (JOC's clients never need them; a typo must not pass as a
no-op) and takes JOC's field names unchanged.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# common/controllerId-schema.json
ControllerId = Annotated[str, StringConstraints(pattern=r'^[^/\\<>?!&:;()"|*^]*$', max_length=100)]
String255 = Annotated[str, StringConstraints(max_length=255)]


class Request(BaseModel):
    """A JOC request body: unknown fields refused, JOC's names."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)


class Response(BaseModel):
    """A JOC response body (documented for the OpenAPI document; handlers answer JSON dicts)."""

    model_config = ConfigDict(extra="allow")

    deliveryDate: str = Field(description="when the answer was made (ISO 8601, UTC)")


class AuditParams(Request):
    """audit/auditParams-schema.json: the `auditLog` object of every changing request."""

    comment: String255 | None = None
    timeSpent: Annotated[int, Field(ge=0, le=(2**31 - 1) // 60, description="in minutes")] | None = None
    ticketLink: String255 | None = None


class Audited(Request):
    auditLog: AuditParams | None = None


class OkResponse(Response):
    ok: bool = True
    surveyDate: str | None = None


class Empty(Request):
    """No fields (JOC's postOnlyAccessToken calls)."""
