"""The web UI's workflow graph draws the blocks of JS7's instructions beyond If/Fork/Try: a ConsumeNotices block
as a branch, the boards on each box, the order counts at positions inside the block; Cycle and Lock blocks."""

from __future__ import annotations

from js7es.nodes.cockpit.ui.graph import block_of, workflow_svg

WORKFLOW = {
    "path": "W",
    "instructions": [
        {"TYPE": "PostNotices", "boardPaths": ["A", "B"]},
        {
            "TYPE": "ConsumeNotices",
            "boardPaths": "'A' && 'B'",
            "subworkflow": {"instructions": [{"TYPE": "Execute.Named", "jobName": "J"}]},
        },
        {"TYPE": "ExpectNotice", "boardPath": "A"},
    ],
}


def test_notice_instructions_in_the_graph() -> None:
    block = block_of(WORKFLOW["instructions"])
    assert [node.label for node in block.nodes[:3]] == ["PostNotices A, B", "ConsumeNotices 'A' &&…", "ExpectNotice A"]
    assert [name for name, _ in block.nodes[1].branches] == ["consumeNotices"]
    svg = str(workflow_svg(WORKFLOW, {"1/consumeNotices:0": 2}, title="W"))
    assert 'data-position="1/consumeNotices:0"' in svg and "2 order(s)" in svg
    assert "&#39;A&#39; &amp;" in svg  # escaped


def test_a_cycle_and_a_lock_draw_their_blocks() -> None:
    """JS7's keys: a Cycle's block is `cycleWorkflow`, a Lock's `lockedWorkflow` (its locks on the box)."""
    execute = {"TYPE": "Execute.Named", "jobName": "J"}
    workflow = {
        "path": "W",
        "instructions": [
            {"TYPE": "Cycle", "schedule": {"schemes": []}, "cycleWorkflow": {"instructions": [execute]}},
            {"TYPE": "Lock", "demands": [{"lockPath": "L1"}, {"lockPath": "L2", "count": 2}],
             "lockedWorkflow": {"instructions": [execute, execute]}},
        ],
    }  # fmt: skip
    block = block_of(workflow["instructions"])
    [(cycle_name, cycle_block)], [(lock_name, lock_block)] = block.nodes[0].branches, block.nodes[1].branches
    assert (cycle_name, len(cycle_block.nodes)) == ("cycle", 1)
    assert (lock_name, len(lock_block.nodes), block.nodes[1].label) == ("lock", 2, "Lock L1, L2")
    svg = str(workflow_svg(workflow, {"1/lock:1": 3}, title="W"))
    assert 'data-position="1/lock:1"' in svg and "3 order(s)" in svg
