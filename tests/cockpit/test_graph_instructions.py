"""The web UI's workflow graph draws the blocks of ForkList, Options and StickySubagent as branches,
with the order counts at positions inside them."""

from __future__ import annotations

from js7es.nodes.cockpit.ui.graph import block_of, workflow_svg

EXECUTE = {"TYPE": "Execute.Named", "jobName": "J"}
WORKFLOW = {
    "path": "W",
    "instructions": [
        {"TYPE": "AddOrder", "orderId": "'X'", "workflowPath": "V"},
        {"TYPE": "ForkList", "children": "$l", "childToId": "x => $x", "childToArguments": "x => {}",
         "workflow": {"instructions": [EXECUTE]}},
        {"TYPE": "Options", "stopOnFailure": True, "block": {"instructions": [EXECUTE]}},
        {"TYPE": "StickySubagent", "agentPath": "A", "subworkflow": {"instructions": [EXECUTE]}},
        {"TYPE": "Stop"},
    ],
}  # fmt: skip


def test_instruction_blocks_in_the_graph() -> None:
    block = block_of(WORKFLOW["instructions"])
    assert [node.label for node in block.nodes[:5]] == ["AddOrder", "ForkList", "Options", "StickySubagent", "Stop"]
    assert [[name for name, _ in node.branches] for node in block.nodes[1:4]] == [
        ["fork"],
        ["options"],
        ["stickySubagent"],
    ]
    svg = str(workflow_svg(WORKFLOW, {"1/fork:0": 3}, title="W"))
    assert 'data-position="1/fork:0"' in svg and "3 order(s)" in svg
