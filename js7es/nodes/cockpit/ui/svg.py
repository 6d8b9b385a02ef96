"""Small SVG pictures made on the server (no script, no inline style: the CSP allows neither)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape


def sparkline(values: Sequence[float], *, width: int = 240, height: int = 40, label: str) -> Markup:
    """A line of `values` (oldest first) scaled to the box, with the last value as a dot."""
    if not values:
        values = [0]
    top = max(max(values), 1)
    step = width / max(len(values) - 1, 1)
    points = [(round(i * step, 1), round(height - 2 - (v / top) * (height - 4), 1)) for i, v in enumerate(values)]
    path = " ".join(f"{x},{y}" for x, y in points)
    lx, ly = points[-1]
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}"><polyline points="{path}" fill="none" stroke="currentColor" '
        f'stroke-width="1.5"/><circle cx="{lx}" cy="{ly}" r="2.5" fill="currentColor"/></svg>'
    )


def bar(value: int, total: int, *, width: int = 160, height: int = 12) -> Markup:
    """A horizontal bar of value/total (decorative: the number is written beside it)."""
    filled = 0 if total <= 0 else round(width * value / total)
    return Markup(
        f'<svg class="bar" viewBox="0 0 {width} {height}" width="{width}" height="{height}" aria-hidden="true">'
        f'<rect width="{width}" height="{height}" class="bar-bg"/><rect width="{filled}" height="{height}" '
        f'class="bar-fg"/></svg>'
    )
