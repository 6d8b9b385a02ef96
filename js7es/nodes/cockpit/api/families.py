"""The endpoint families: importing them fills the endpoint table (endpoint.API)."""

from __future__ import annotations


def load() -> None:
    from js7es.nodes.cockpit.api import audit, auth, controllers, iam, iam_roles, orders, settings  # noqa: F401
