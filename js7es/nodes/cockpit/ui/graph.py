"""A workflow drawn as SVG on the server: JS7's block structure top to bottom, the branches of an If, a
Fork, a Try and a Cycle side by side inside a dashed frame, and on each instruction the number of
current orders at its position (JS7's position string: ``1/then:0``, ``2/fork+a:0``). Pure: JSON in,
markup out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

BOX_W, BOX_H, GAP, PAD, BRANCH_GAP, LABEL_H = 170, 30, 16, 10, 18, 18


@dataclass
class Node:
    label: str
    position: str
    kind: str = "instruction"  # "job", "instruction", "end"
    branches: list[tuple[str, Block]] = field(default_factory=list)

    @property
    def width(self) -> int:
        if not self.branches:
            return BOX_W
        inner = sum(b.width for _, b in self.branches) + BRANCH_GAP * (len(self.branches) - 1) + 2 * PAD
        return max(BOX_W, inner)

    @property
    def height(self) -> int:
        if not self.branches:
            return BOX_H
        return BOX_H + GAP + LABEL_H + max(b.height for _, b in self.branches) + PAD


@dataclass
class Block:
    nodes: list[Node]

    @property
    def width(self) -> int:
        return max((n.width for n in self.nodes), default=BOX_W // 2)

    @property
    def height(self) -> int:
        if not self.nodes:
            return BOX_H // 2
        return sum(n.height for n in self.nodes) + GAP * (len(self.nodes) - 1)


def _short(text: Any, limit: int = 22) -> str:
    s = str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _sub(obj: Any) -> list[Any]:
    instructions = obj.get("instructions") if isinstance(obj, Mapping) else None
    return instructions if isinstance(instructions, list) else []


def _branches(instruction: Mapping[str, Any]) -> list[tuple[str, list[Any]]]:
    match instruction.get("TYPE"):
        case "If":
            pairs = instruction.get("ifThens") or [{"then": instruction.get("then")}]
            out = [("then" if i == 0 else f"then+{i + 1}", _sub(p.get("then"))) for i, p in enumerate(pairs)]
            if instruction.get("else") is not None:
                out.append(("else", _sub(instruction.get("else"))))
            return out
        case "Fork":
            return [(f"fork+{b.get('id')}", _sub(b.get("workflow"))) for b in instruction.get("branches", [])]
        case "Try":
            return [("try+0", _sub(instruction.get("try"))), ("catch+0", _sub(instruction.get("catch")))]
        case "Cycle":
            return [("cycle", _sub(instruction.get("cycleWorkflow")))]
        case "Lock":
            return [("lock", _sub(instruction.get("lockedWorkflow")))]
        case "ConsumeNotices":
            return [("consumeNotices", _sub(instruction.get("subworkflow")))]
        case "ForkList":
            return [("fork", _sub(instruction.get("workflow")))]
        case "Options":
            return [("options", _sub(instruction.get("block")))]
        case "StickySubagent":
            return [("stickySubagent", _sub(instruction.get("subworkflow")))]
    return []


def _label(instruction: Mapping[str, Any]) -> tuple[str, str]:
    kind = str(instruction.get("TYPE", "?"))
    match kind:
        case "Execute.Named":
            return _short(instruction.get("jobName", "job")), "job"
        case "Execute.Anonymous":
            return "job", "job"
        case "If":
            predicate = instruction.get("predicate") or (instruction.get("ifThens") or [{}])[0].get("predicate", "")
            return _short(f"If {predicate}"), "instruction"
        case "PostNotices" | "ExpectNotices" | "ConsumeNotices" | "PostNotice" | "ExpectNotice":
            boards = instruction.get("boardPaths", instruction.get("boardPath", ""))
            return _short(f"{kind} {', '.join(boards) if isinstance(boards, list) else boards}"), "instruction"
        case "Lock":
            demands = instruction.get("demands") or [{"lockPath": instruction.get("lockPath", "")}]
            paths = [str(d.get("lockPath", "")) for d in demands if isinstance(d, Mapping)]
            return _short(f"Lock {', '.join(paths)}"), "instruction"
    return kind, "instruction"


def block_of(instructions: Sequence[Any], prefix: str = "") -> Block:
    nodes = []
    for i, instruction in enumerate(instructions):
        if not isinstance(instruction, Mapping):
            continue
        position = f"{prefix}{i}"
        label, kind = _label(instruction)
        branches = [(name, block_of(sub, f"{position}/{name}:")) for name, sub in _branches(instruction)]
        nodes.append(Node(label=label, position=position, kind=kind, branches=branches))
    return Block(nodes)


def workflow_block(workflow: Mapping[str, Any]) -> Block:
    instructions = _sub(workflow)
    block = block_of(instructions)
    block.nodes.append(Node(label="end", position=str(len(instructions)), kind="end"))
    return block


def _draw_block(block: Block, x: float, y: float, width: float, counts: Mapping[str, int], out: list[str]) -> None:
    if not block.nodes:
        cx = x + width / 2
        out.append(f'<line class="edge" x1="{cx}" y1="{y}" x2="{cx}" y2="{y + block.height}"/>')
        return
    for i, node in enumerate(block.nodes):
        nx = x + (width - node.width) / 2
        _draw_node(node, nx, y, counts, out)
        if i < len(block.nodes) - 1:
            cx = x + width / 2
            out.append(f'<line class="edge" x1="{cx}" y1="{y + node.height}" x2="{cx}" y2="{y + node.height + GAP}"/>')
        y += node.height + GAP


def _draw_node(node: Node, x: float, y: float, counts: Mapping[str, int], out: list[str]) -> None:
    cx = x + node.width / 2
    if node.branches:
        out.append(f'<rect class="box block" x="{x}" y="{y}" width="{node.width}" height="{node.height}" rx="6"/>')
    bx = cx - BOX_W / 2
    count = counts.get(node.position, 0)
    title = f"{node.label} at position {node.position}" + (f": {count} order(s)" if count else "")
    out.append(f'<g data-position="{escape(node.position)}"><title>{escape(title)}</title>')
    rx = 15 if node.kind == "end" else 4
    out.append(f'<rect class="box {node.kind}" x="{bx}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="{rx}"/>')
    out.append(f'<text x="{cx}" y="{y + BOX_H / 2 + 4}" text-anchor="middle">{escape(node.label)}</text>')
    out.append(f'<text x="{bx + 4}" y="{y + 11}" class="pos" font-size="9">{escape(node.position)}</text>')
    if count:
        out.append(f'<circle class="count" cx="{bx + BOX_W}" cy="{y}" r="11"/>')
        out.append(
            f'<text class="count-text" x="{bx + BOX_W}" y="{y + 4}" text-anchor="middle" '
            f'data-count="{count}">{count}</text>'
        )
    out.append("</g>")
    if not node.branches:
        return
    top = y + BOX_H + GAP
    bx = (
        x
        + PAD
        + (node.width - 2 * PAD - (sum(b.width for _, b in node.branches) + BRANCH_GAP * (len(node.branches) - 1))) / 2
    )
    bottom = y + node.height - PAD / 2
    for name, block in node.branches:
        bcx = bx + block.width / 2
        out.append(f'<path class="edge" d="M{cx},{y + BOX_H} V{top - 4} H{bcx} V{top + LABEL_H}"/>')
        out.append(f'<text x="{bcx}" y="{top + 12}" text-anchor="middle" font-size="10">{escape(name)}</text>')
        _draw_block(block, bx, top + LABEL_H, block.width, counts, out)
        out.append(f'<path class="edge" d="M{bcx},{top + LABEL_H + block.height} V{bottom} H{cx}"/>')
        bx += block.width + BRANCH_GAP


def workflow_svg(workflow: Mapping[str, Any], counts: Mapping[str, int], *, title: str) -> Markup:
    block = workflow_block(workflow)
    width, height = block.width + 40, block.height + 40
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}">'
    ]
    _draw_block(block, 20, 20, block.width, counts, out)
    out.append("</svg>")
    return Markup("".join(out))
