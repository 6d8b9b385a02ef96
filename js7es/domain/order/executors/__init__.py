"""One executor per instruction, registered in one table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from js7es.domain.order.executors.add_order import execute_add_order
from js7es.domain.order.executors.cycle import execute_break, execute_cycle
from js7es.domain.order.executors.execute import execute_execute
from js7es.domain.order.executors.fork import execute_fork, execute_fork_list
from js7es.domain.order.executors.lock import execute_lock
from js7es.domain.order.executors.notices import execute_expect_notices, execute_post_notices
from js7es.domain.order.executors.plain import (
    execute_break_order,
    execute_empty,
    execute_options,
    execute_sticky_subagent,
    execute_stop,
)
from js7es.domain.order.executors.retry import execute_retry
from js7es.domain.order.executors.simple import (
    execute_end,
    execute_fail,
    execute_finish,
    execute_if,
    execute_prompt,
    execute_sleep,
    execute_try,
)
from js7es.domain.workflow.instructions import (
    AddOrder,
    Break,
    BreakOrder,
    ConsumeNotices,
    Cycle,
    EmptyInstruction,
    ExecuteAnonymous,
    ExecuteNamed,
    ExpectNotices,
    Fail,
    Finish,
    Fork,
    ForkList,
    If,
    ImplicitEnd,
    Instruction,
    LockInstruction,
    Options,
    PostNotices,
    Prompt,
    Retry,
    Sleep,
    StickySubagent,
    Stop,
    Try,
)

EXECUTORS: dict[type[Instruction], Callable[[Any, Any], list[Any]]] = {
    ExecuteNamed: execute_execute,
    ExecuteAnonymous: execute_execute,
    If: execute_if,
    Fork: execute_fork,
    Try: execute_try,
    Retry: execute_retry,
    Fail: execute_fail,
    Finish: execute_finish,
    Prompt: execute_prompt,
    Sleep: execute_sleep,
    Cycle: execute_cycle,
    Break: execute_break,
    LockInstruction: execute_lock,
    ImplicitEnd: execute_end,
    PostNotices: execute_post_notices,
    ExpectNotices: execute_expect_notices,
    ConsumeNotices: execute_expect_notices,
    EmptyInstruction: execute_empty,
    Stop: execute_stop,
    BreakOrder: execute_break_order,
    Options: execute_options,
    StickySubagent: execute_sticky_subagent,
    AddOrder: execute_add_order,
    ForkList: execute_fork_list,
}
