"""The add-order form built from a workflow's declared parameters (orderPreparation.parameters), and the
typed arguments read back from it: a String as given, a Number as a JSON number, a Boolean from a checkbox.
A missing required argument or a number that is not one is the user's error (a 400 page), found here
before the Controller would refuse the order."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from js7es.nodes.cockpit.ui.web import UiError, first

_QUOTED = re.compile(r'^"(.*)"$|^\'(.*)\'$')


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: str  # String, Number, Boolean, or another JS7 type (entered as a string)
    default: str | None  # the default's expression, as declared
    required: bool

    @property
    def input_type(self) -> str:
        return {"Number": "number", "Boolean": "checkbox"}.get(self.type, "text")

    @property
    def shown_default(self) -> str:
        """The default as the field shows it: a quoted string literal without its quotes."""
        if self.default is None:
            return ""
        match = _QUOTED.match(self.default.strip())
        return next((g for g in match.groups() if g is not None), "") if match else self.default


def fields_of(workflow: Mapping[str, Any]) -> list[Field]:
    preparation = workflow.get("orderPreparation")
    parameters = preparation.get("parameters", {}) if isinstance(preparation, Mapping) else {}
    out = []
    for name, p in parameters.items() if isinstance(parameters, Mapping) else ():
        if not isinstance(p, Mapping) or p.get("final") is not None:
            continue  # a final value is the workflow's, not the order's
        kind = p.get("type", "Any")
        if isinstance(kind, Mapping):
            kind = kind.get("TYPE", "Any")
        default = p.get("default")
        out.append(Field(name=str(name), type=str(kind), default=None if default is None else str(default),
                         required=default is None))  # fmt: skip
    return out


def arguments_of(fields: list[Field], form: Mapping[str, list[str]]) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    for f in fields:
        key = f"arg.{f.name}"
        if f.type == "Boolean":
            if key in form or f.required:  # the checkbox's "true" follows the hidden field's "false"
                arguments[f.name] = form.get(key, ["false"])[-1] == "true"
            continue
        text = first(form, key).strip() if f.type == "Number" else first(form, key)
        if text == "":
            if f.required:
                raise UiError(400, f"The argument '{f.name}' is required.")
            continue
        if f.type == "Number":
            try:
                number = Decimal(text)
            except InvalidOperation:
                raise UiError(400, f"The argument '{f.name}' must be a number, not '{text[:40]}'.") from None
            if not number.is_finite():
                raise UiError(400, f"The argument '{f.name}' must be a finite number.")
            arguments[f.name] = int(number) if number == number.to_integral_value() else float(number)
        else:
            arguments[f.name] = text
    return arguments
