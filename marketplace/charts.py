"""Geometry for the small server-rendered SVG bar charts of the operator dashboard."""

from __future__ import annotations

from decimal import Decimal

WIDTH = 600
HEIGHT = 160
LABEL_SPACE = 20


def bar_chart(points: list[tuple[str, Decimal | int | float]], *, width: int = WIDTH, height: int = HEIGHT) -> dict:
    """Bars for (label, value) pairs scaled to the largest value; the template draws them."""
    top = max((float(v) for _l, v in points), default=0.0) or 1.0
    n = max(len(points), 1)
    slot = width / n
    plot = height - LABEL_SPACE
    bars = []
    for i, (label, value) in enumerate(points):
        h = round(float(value) / top * (plot - 4), 2)
        bars.append(
            {
                "label": label,
                "value": value,
                "x": round(i * slot + slot * 0.1, 2),
                "w": round(slot * 0.8, 2),
                "y": round(plot - h, 2),
                "h": h,
                "text_x": round(i * slot + slot / 2, 2),
            }
        )
    return {"width": width, "height": height, "plot": plot, "bars": bars}
