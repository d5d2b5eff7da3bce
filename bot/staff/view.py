"""What the console's templates need besides the data: wording and chart geometry.

Wording comes from ``knowledge/wording/hotline.yml`` (content is data). Charts are
inline SVG drawn by the templates (no script, no CDN, which the gateway's CSP
allows); this module only computes their coordinates, so every text that reaches
the page goes through Jinja2's autoescaping.
"""
from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

import yaml

from hotline import tickets

WORDING_PATH = Path(__file__).resolve().parents[2] / "knowledge" / "wording" / "hotline.yml"
CHART_COLOURS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280", "#718096")


@functools.lru_cache(maxsize=1)
def wording() -> dict[str, Any]:
    with open(WORDING_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def say(path: str, **values: Any) -> str:
    """The wording at ``a.b.c`` in ``knowledge/wording/hotline.yml``, formatted."""
    node: Any = wording()
    for part in path.split("."):
        node = node[part]
    return str(node).format(**values)


def label(group: str, key: str | None = None) -> str:
    """A display label (reason, status, scope…) or the key itself when unlabelled."""
    node = wording()["labels"].get(group, {})
    if isinstance(node, str):   # a single label (e.g. labels.no_place)
        return node
    return str(node.get(key or "", key or ""))


def local(ts: dt.datetime | None) -> str:
    """A timestamp as staff read it: Beijing time to the minute."""
    return ts.astimezone(tickets.REPORT_TZ).strftime("%Y-%m-%d %H:%M") if ts else say("pages.unknown")


def topic_labels() -> dict[str, str]:
    from bot.staff.suggest import topic_labels as labels  # the knowledge base's topic names

    return labels()


def bar_chart(days: list[str], counts: dict[str, int], *, width: int = 720, height: int = 200) -> dict[str, Any]:
    """Geometry of a daily bar chart with a date axis (``templates/_charts.html``)."""
    pad_l, pad_b, pad_t = 36, 28, 12
    inner_w, inner_h = width - pad_l - 8, height - pad_b - pad_t
    top = max([1, *counts.values()])
    step = inner_w / max(1, len(days))
    base_y = pad_t + inner_h
    label_every = max(1, len(days) // 8)
    bars = []
    for i, day in enumerate(days):
        n = counts.get(day, 0)
        h = inner_h * n / top
        x = pad_l + i * step + step * 0.15
        bars.append({"day": day, "count": n, "x": f"{x:.1f}", "y": f"{base_y - h:.1f}",
                     "width": f"{step * 0.7:.1f}", "height": f"{h:.1f}",
                     "label": day[5:] if i % label_every == 0 else None,
                     "label_x": f"{x + step * 0.35:.1f}"})
    return {"width": width, "height": height, "pad_l": pad_l, "pad_t": pad_t, "base_y": base_y,
            "right": width - 8, "top": top, "bars": bars, "colour": CHART_COLOURS[0]}


def sparkline(days: list[str], counts: dict[str, int], *, width: int = 160, height: int = 28) -> dict[str, Any]:
    """Geometry of a small polyline of daily counts (one per table row)."""
    top = max([1, *counts.values()])
    step = (width - 4) / max(1, len(days) - 1)
    points = " ".join(
        f"{2 + i * step:.1f},{height - 2 - (height - 4) * counts.get(d, 0) / top:.1f}"
        for i, d in enumerate(days))
    summary = "，".join(f"{d[5:]}:{counts.get(d, 0)}" for d in days if counts.get(d, 0))
    return {"width": width, "height": height, "points": points, "summary": summary,
            "colour": CHART_COLOURS[1]}
