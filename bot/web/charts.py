"""Dashboard charts as inline SVG, rendered on the server by matplotlib (nothing loaded from a CDN)."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.reports.chart import SENTIMENT_COLOURS

_LOCK = threading.Lock()  # pyplot's state is global: one figure at a time
BLUE, PURPLE, ORANGE, GREY = "#1e88e5", "#8e24aa", "#fb8c00", "#9e9e9e"


def _svg(draw: Callable[[Any, Any], None], size: tuple[float, float] = (6.4, 3.0), title: str = "") -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with _LOCK, matplotlib.rc_context({"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False,
                                       "axes.spines.right": False}):
        fig, ax = plt.subplots(figsize=size)
        try:
            draw(fig, ax)
            fig.tight_layout()
            buf = io.StringIO()
            fig.savefig(buf, format="svg")
        finally:
            plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    # scale with the page: drop the fixed size, keep the viewBox
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", svg, count=1)
    label = title.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return svg.replace("<svg", f'<svg class="chart" role="img" aria-label="{label}"', 1)


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", color="#757575", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _dates(ax: Any, tz: Any) -> None:
    import matplotlib.dates as mdates

    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=7))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b", tz=tz))


def line_chart(series: dict[str, list[tuple[datetime, float]]], tz: Any, title: str, ylabel: str,
               marker_at: datetime | None = None) -> str:
    """Lines over time (one per series); `marker_at` draws a dashed line (e.g. the period start)."""

    def draw(fig: Any, ax: Any) -> None:
        ax.set_title(title)
        if not any(series.values()):
            _empty(ax, "no data yet")
            return
        for (name, points), colour in zip(series.items(), (BLUE, PURPLE, ORANGE, GREY, "#43a047"), strict=False):
            ax.plot([t.astimezone(tz) for t, _ in points], [v for _, v in points], label=name, color=colour,
                    marker="o" if len(points) < 20 else None, markersize=3)
        if marker_at is not None:
            ax.axvline(marker_at.astimezone(tz), color="#bbbbbb", linestyle="--", linewidth=1)
        if len(series) > 1:
            ax.legend(frameon=False, fontsize=8)
        ax.set_ylabel(ylabel)
        _dates(ax, tz)

    return _svg(draw, title=title)


def stacked_bars(labels: Sequence[str], stacks: Mapping[str, Sequence[float]], title: str, ylabel: str,
                 colours: dict[str, str] | None = None) -> str:
    def draw(fig: Any, ax: Any) -> None:
        ax.set_title(title)
        if not labels or not any(v for values in stacks.values() for v in values):
            _empty(ax, "nothing in this period yet")
            return
        bottom = [0.0] * len(labels)
        for i, (name, values) in enumerate(stacks.items()):
            colour = (colours or {}).get(name, (PURPLE, ORANGE, BLUE, GREY)[i % 4])
            ax.bar(range(len(labels)), values, bottom=bottom, label=name, color=colour)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        step = max(1, len(labels) // 10)
        ax.set_xticks(range(0, len(labels), step))
        ax.set_xticklabels(list(labels)[::step], rotation=30, ha="right")
        ax.set_ylabel(ylabel)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.legend(frameon=False, fontsize=8)

    return _svg(draw, title=title)


def sentiment_bars(days: Sequence[str], counts: Mapping[str, Sequence[float]]) -> str:
    return stacked_bars(days, counts, "Comment mood per day", "comments", SENTIMENT_COLOURS)


def heatmap(values: Any, row_labels: Sequence[str], title: str, highlight: Sequence[tuple[int, int]] = ()) -> str:
    """A weekday x hour grid (values in %), the suggested slots outlined."""

    def draw(fig: Any, ax: Any) -> None:
        from matplotlib.patches import Rectangle

        ax.set_title(title)
        image = ax.imshow(values, aspect="auto", cmap="YlOrRd")
        ax.set_yticks(range(len(row_labels)))
        ax.set_yticklabels(row_labels)
        ax.set_xticks(range(0, 24, 3))
        ax.set_xticklabels([f"{h:02d}" for h in range(0, 24, 3)])
        ax.set_xlabel("hour")
        for day, hour in highlight:
            ax.add_patch(Rectangle((hour - 0.5, day - 0.5), 1, 1, fill=False, edgecolor=BLUE, linewidth=2))
        fig.colorbar(image, ax=ax, label="% of weekly activity")

    return _svg(draw, size=(6.4, 3.2), title=title)
