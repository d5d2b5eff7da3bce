"""HTML for the console: ``string.Template`` files, every value escaped.

A value is escaped with :func:`html.escape` unless it is :class:`Safe` — markup
this module built itself from escaped parts. Charts are inline SVG built on the
server (no script, no CDN), which the gateway's CSP allows.
"""
from __future__ import annotations

import functools
import html
from pathlib import Path
from string import Template
from typing import Any, Iterable

import yaml

TEMPLATES = Path(__file__).resolve().parent / "templates"
WORDING_PATH = Path(__file__).resolve().parents[2] / "knowledge" / "wording" / "hotline.yml"
CHART_COLOURS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280", "#718096")


class Safe(str):
    """Markup that must not be escaped again."""


def esc(value: Any) -> Safe:
    """Escape ``value`` (None → empty) unless it is already Safe."""
    if isinstance(value, Safe):
        return value
    return Safe(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[Any], sep: str = "") -> Safe:
    return Safe(sep.join(esc(p) for p in parts))


def tag(name: str, content: Any = "", **attrs: Any) -> Safe:
    """``<name attr="…">content</name>``; attribute names use ``_`` for ``-``; ``cls`` → class."""
    rendered = "".join(
        f' {("class" if k == "cls" else k.rstrip("_").replace("_", "-"))}="{esc(v)}"'
        for k, v in attrs.items() if v is not None and v is not False
    )
    return Safe(f"<{name}{rendered}>{esc(content)}</{name}>")


@functools.lru_cache(maxsize=None)
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def render(name: str, **values: Any) -> str:
    """Fill template ``name``; a missing value is an error (KeyError), not a blank."""
    return _template(name).substitute({k: esc(v) for k, v in values.items()})


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


def label(group: str, key: str | None) -> str:
    """A display label (reason, status, scope…) or the key itself when unlabelled."""
    node = wording()["labels"].get(group, {})
    if isinstance(node, str):   # a single label (e.g. labels.no_place)
        return node
    return str(node.get(key or "", key or ""))


# -- charts ---------------------------------------------------------------------

def bar_chart(days: list[str], counts: dict[str, int], *, width: int = 720, height: int = 200,
              title: str = "") -> Safe:
    """Daily counts as an SVG bar chart with a date axis and a hover title per bar."""
    pad_l, pad_b, pad_t = 36, 28, 12
    inner_w, inner_h = width - pad_l - 8, height - pad_b - pad_t
    top = max([1, *counts.values()])
    step = inner_w / max(1, len(days))
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" xmlns="http://www.w3.org/2000/svg">', str(tag("title", title))]
    # Axis and the top value.
    base_y = pad_t + inner_h
    parts.append(f'<line x1="{pad_l}" y1="{base_y}" x2="{width - 8}" y2="{base_y}" stroke="#999"/>')
    parts.append(str(tag("text", top, x=pad_l - 6, y=pad_t + 10, text_anchor="end", font_size=11)))
    parts.append(str(tag("text", 0, x=pad_l - 6, y=base_y, text_anchor="end", font_size=11)))
    label_every = max(1, len(days) // 8)
    for i, day in enumerate(days):
        n = counts.get(day, 0)
        h = inner_h * n / top
        x = pad_l + i * step + step * 0.15
        bar = tag("title", f"{day}: {n}")
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{base_y - h:.1f}" width="{step * 0.7:.1f}" '
                     f'height="{h:.1f}" fill="{CHART_COLOURS[0]}" data-day="{esc(day)}" '
                     f'data-count="{n}">{bar}</rect>')
        if i % label_every == 0:
            parts.append(str(tag("text", day[5:], x=f"{x + step * 0.35:.1f}", y=height - 8,
                                 text_anchor="middle", font_size=10)))
    parts.append("</svg>")
    return Safe("".join(parts))


def sparkline(days: list[str], counts: dict[str, int], *, width: int = 160, height: int = 28,
              colour: str = CHART_COLOURS[1]) -> Safe:
    """A small SVG polyline of daily counts (one per table row)."""
    top = max([1, *counts.values()])
    step = (width - 4) / max(1, len(days) - 1)
    points = " ".join(
        f"{2 + i * step:.1f},{height - 2 - (height - 4) * counts.get(d, 0) / top:.1f}"
        for i, d in enumerate(days))
    summary = "，".join(f"{d[5:]}:{counts.get(d, 0)}" for d in days if counts.get(d, 0))
    return Safe(
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">{tag("title", summary)}'
        f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/></svg>')
