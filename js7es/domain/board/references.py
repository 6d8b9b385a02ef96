"""Deployment checks of boards: a workflow naming an unknown board is refused (the whole deployment
with it), a board is not deleted while a workflow names it or orders wait for, post or consume its
notices, and a board does not change between global and plannable while it holds notices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from js7es.domain.board.item import GlobalBoard, PlannableBoard
from js7es.domain.problem import Problem, problem
from js7es.domain.workflow import position as pos
from js7es.domain.workflow.workflow import Workflow

if TYPE_CHECKING:
    from js7es.domain.items import SimpleItem
    from js7es.domain.state import ControllerState


def check_board_references(
    state: ControllerState,
    current_workflows: Sequence[Workflow | None],
    simple: Sequence[SimpleItem],
    deleted_keys: Sequence[str],
) -> Problem | None:
    deleted = {k.removeprefix("Board:") for k in deleted_keys if k.startswith("Board:")}
    added = [i for i in simple if isinstance(i, (GlobalBoard, PlannableBoard))]
    boards = (set(state.boards.items) | {b.path for b in added}) - deleted
    for workflow in current_workflows:
        for board_path in deleted & set(workflow.board_paths if workflow is not None else ()):
            assert workflow is not None
            key = f"Board:{board_path}"
            return problem("ItemIsStillReferenced", f"{key} is used by Workflow:{workflow.path}", key=key)
    for workflow in current_workflows:
        if workflow is None:
            continue
        for board_path, where in workflow.board_paths.items():
            if board_path not in boards:
                return problem(
                    "UnknownItem",
                    f"Workflow {workflow.path} at {pos.to_string(where)}: unknown Board:{board_path}",
                    key=f"Board:{board_path}",
                    workflow=workflow.path,
                    position=pos.to_string(where),
                )
    for path in deleted:
        key = f"Board:{path}"
        for wid, workflow in state.workflows.items():
            if path in workflow.board_paths and state.orders_using(wid):
                return problem("ItemIsStillReferenced", f"{key} is used by orders of Workflow:{wid}", key=key)
        consuming = any(
            i.board_path == path for stack in state.boards.consumptions.values() for ids in stack for i in ids
        )
        if consuming:
            return problem("ItemIsStillReferenced", f"{key}: orders consume its notices", key=key)
    for board in added:
        old = state.boards.items.get(board.path)
        if old is not None and old.is_global != board.is_global and state.boards.is_board_in_use(board.path):
            return problem(
                "NotSupported",
                f"Board:{board.path}: js7es does not change a board between global and plannable while it "
                "holds notices (JS7's ChangeGlobalToPlannableBoard) yet",
                key=f"Board:{board.path}",
            )
    return None
