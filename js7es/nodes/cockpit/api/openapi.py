"""The OpenAPI 3.1 document of the JOC API, generated from the endpoint table (the same request and
response models and permissions the routes use)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from js7es.nodes.cockpit.api.endpoint import Api
from js7es.nodes.http.app import js7es_version

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "deliveryDate": {"type": "string"},
        "surveyDate": {"type": "string"},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        },
    },
}
_ACCOUNT_ANSWER = {
    "type": "object",
    "required": ["isAuthenticated", "message"],
    "properties": {
        "account": {"type": "string"},
        "isAuthenticated": {"type": "boolean"},
        "isPermitted": {"type": "boolean"},
        "hasRole": {"type": "boolean"},
        "permission": {"type": "string"},
        "message": {"type": "string"},
    },
}


def openapi_document(api: Api) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Any]] = []
    for e in api.endpoints.values():
        models.append((e.request, "validation"))
        if e.response is not None:
            models.append((e.response, "serialization"))
    keyed, definitions = models_json_schema(models, ref_template="#/components/schemas/{model}")
    paths: dict[str, Any] = {}
    for e in sorted(api.endpoints.values(), key=lambda x: x.path):
        operation: dict[str, Any] = {
            "summary": e.summary,
            "operationId": f"{e.method.lower()}{e.path.replace('/', '_')}",
            "responses": {
                "200": _success(e, keyed),
                "420": {
                    "description": "Invalid Request (JOC-…)",
                    "content": _json({"$ref": "#/components/schemas/JocError"}),
                },
            },
        }
        if e.access != "public":
            operation["security"] = [{"accessToken": []}]
            operation["responses"]["401"] = _account("not authenticated")
            operation["responses"]["440"] = {
                "description": "Login Timeout: the session expired",
                "content": _json({"$ref": "#/components/schemas/AccountAnswer"}),
            }
        else:
            operation["security"] = [{"basic": []}]
            operation["responses"]["401"] = _account("wrong account or password")
        if e.access == "permission":
            operation["responses"]["403"] = _account("the account lacks the permission")
            operation["x-permission"] = e.permission
            operation["x-controller-scoped"] = e.controller_scoped
            operation["description"] = f"Permission: `{e.permission}`" + (
                " (for the request's controllerId)" if e.controller_scoped else ""
            )
        if e.method == "POST":
            operation["requestBody"] = {
                "required": bool(e.request.model_json_schema().get("required")),
                "content": _json(keyed[(e.request, "validation")]),
            }
        paths.setdefault(f"/joc/api{e.path}", {})[e.method.lower()] = operation
    schemas = dict(definitions.get("$defs", {}))
    schemas["JocError"] = _ERROR
    schemas["AccountAnswer"] = _ACCOUNT_ANSWER
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "js7es Cockpit — JOC API",
            "version": js7es_version(),
            "description": "JS7 JOC Cockpit's REST API as js7es serves it: POST with JSON, X-Access-Token "
            "from /authentication/login, JOC's error bodies (420 JOC-…, 401, 403, 440).",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "accessToken": {"type": "apiKey", "in": "header", "name": "X-Access-Token"},
                "basic": {"type": "http", "scheme": "basic"},
            },
        },
    }


def _json(schema: Any) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _account(description: str) -> dict[str, Any]:
    return {"description": description, "content": _json({"$ref": "#/components/schemas/AccountAnswer"})}


def _success(e: Any, keyed: Any) -> dict[str, Any]:
    if e.response is None:
        return {"description": "OK", "content": {e.produces: {"schema": {"type": "string"}}}}
    return {"description": "OK", "content": _json(keyed[(e.response, "serialization")])}
