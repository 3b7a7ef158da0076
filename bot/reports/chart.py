"""The report's chart: followers over time, engagement per post, sentiment mix (one PNG)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from bot.reports.report import Report

SENTIMENT_COLOURS = {"positive": "#4caf50", "neutral": "#9e9e9e", "negative": "#e53935", "unknown": "#cfd8dc"}


def render_chart(report: Report, tz: Any) -> bytes:
    """A 3-panel PNG (headless matplotlib). Panels without data say so instead of staying blank."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), gridspec_kw={"width_ratios": [1.2, 1.6, 1.0]})
    start = report.start.astimezone(tz)
    last_day = (report.end - timedelta(seconds=1)).astimezone(tz)
    fig.suptitle(f"{report.period.capitalize()} report, {start:%d %b} – {last_day:%d %b %Y}", fontsize=14)

    ax = axes[0]
    ax.set_title("Followers")
    if report.followers_series:
        xs = [t.astimezone(tz) for t, _ in report.followers_series]
        ys = [n for _, n in report.followers_series]
        ax.plot(xs, ys, marker="o", color="#1e88e5")
        span = report.end - report.start
        ax.set_xlim(start - span * 1.06, report.end.astimezone(tz) + span * 0.06)
        if min(ys) == max(ys):
            ax.set_ylim(min(ys) - 5, max(ys) + 5)
        ax.axvline(start, color="#bbbbbb", linestyle="--", linewidth=1, label="period start")
        ax.legend(loc="upper left", fontsize=8, frameon=False)
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=6))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b", tz=tz))
        ax.set_ylabel("followers")
        ax.yaxis.get_major_locator().set_params(integer=True)
    else:
        _empty(ax, "no follower counts yet")

    ax = axes[1]
    ax.set_title("Engagement per post (comments + reactions)")
    if report.engagement_per_post:
        days = [f"{t.astimezone(tz):%d %b}" for t, _, _ in report.engagement_per_post]
        same_day = len(set(days)) < len(days)
        labels = [f"{i}. {t.astimezone(tz):%d %b %H:%M}" if same_day else d
                  for i, ((t, _, _), d) in enumerate(zip(report.engagement_per_post, days, strict=True), 1)]
        values = [v for _, _, v in report.engagement_per_post]
        ax.bar(range(len(values)), values, color="#8e24aa")
        step = max(1, len(labels) // 10)
        ax.set_xticks(range(0, len(labels), step))
        ax.set_xticklabels(labels[::step], rotation=30, ha="right")
        ax.set_ylabel("interactions")
    else:
        _empty(ax, "no posts in this period")

    ax = axes[2]
    ax.set_title("Comment sentiment")
    if report.sentiment:
        order = [k for k in ("positive", "neutral", "negative", "unknown") if report.sentiment.get(k)]
        sizes = [report.sentiment[k] for k in order]
        ax.pie(sizes, labels=[f"{k}\n{v}" for k, v in zip(order, sizes, strict=True)],
               colors=[SENTIMENT_COLOURS[k] for k in order], startangle=90, autopct="%1.0f%%", pctdistance=0.7)
        ax.axis("equal")
    else:
        _empty(ax, "no classified comments")

    fig.tight_layout(rect=(0, 0, 1, 0.93))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=11, color="#757575", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
