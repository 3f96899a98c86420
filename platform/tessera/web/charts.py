"""Server-rendered SVG charts: no script, no library, readable without colour."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from markupsafe import Markup, escape

ROW = 34
LABEL_W = 160
BAR_W = 420
VALUE_W = 130


def bars(data: list[tuple[str, int | float | Decimal]], fmt: Callable = str) -> Markup:
    """Horizontal bars, one row per (label, value), longest bar = the largest value."""
    if not data:
        return Markup("")
    top = max((float(v) for _label, v in data), default=0) or 1.0
    height = ROW * len(data) + 8
    width = LABEL_W + BAR_W + VALUE_W
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (text, value) in enumerate(data):
        y = 4 + i * ROW
        length = max(0.0, float(value)) / top * BAR_W
        parts.append(
            f"<g><title>{escape(text)}: {escape(fmt(value))}</title>"
            f'<text x="{LABEL_W - 8}" y="{y + 20}" text-anchor="end" class="chart-label">'
            f"{escape(_clip(text))}</text>"
            f'<rect x="{LABEL_W}" y="{y + 4}" width="{length:.1f}" height="{ROW - 10}" rx="3" '
            f'class="chart-bar"/>'
            f'<text x="{LABEL_W + length + 6:.1f}" y="{y + 20}" class="chart-value">'
            f"{escape(fmt(value))}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _clip(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
