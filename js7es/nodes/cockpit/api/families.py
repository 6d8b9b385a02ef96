"""The endpoint families: importing them fills the endpoint table (endpoint.API)."""

from __future__ import annotations


def load() -> None:
    from js7es.nodes.cockpit.api import (  # noqa: F401
        agents_inventory,
        audit,
        auth,
        controllers,
        daily_plan,
        deployment,
        events,
        history,
        iam,
        iam_roles,
        inventory,
        joc_cluster,
        locks,
        logs,
        notices,
        order_views,
        orders,
        registration,
        settings,
        subagents,
        transfer,
        workflow_controls,
        workflows,
    )
