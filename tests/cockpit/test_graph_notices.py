"""The web UI's workflow graph draws the notice instructions: a ConsumeNotices block as a branch, the
boards on each box, the order counts at positions inside the block."""

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
