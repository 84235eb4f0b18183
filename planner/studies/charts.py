"""Charts of a sweep: the efficient frontier when risk aversion varies, one chart per key otherwise.

Money axes in the currency at one scale (`planner.results.plots.money_axis`); the frontier's
point labels are placed so that they do not overlap.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from planner.formatting import key_values
from planner.results.manifest import Kind, record_files, staged_file
from planner.results.plots import fit_fonts, money_axis, plain_axis, plt, quiet_glyphs
from planner.status import has_plan

AVERSION = "risk.aversion"


def _file_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", key) + ".png"


def _label_points(ax: plt.Axes, points: list[tuple[float, float, str]]) -> None:
    """Label points; a point within 3% of the axes of one labelled before joins its label
    ("0.5, 1" where two runs share a plan) rather than writing over it."""
    ax.figure.canvas.draw()  # the limits are final
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    labels: list[tuple[float, float, float, float, list[str]]] = []  # (x, y, u, v, texts)
    for x, y, text in points:
        u, v = (x - x0) / ((x1 - x0) or 1.0), (y - y0) / ((y1 - y0) or 1.0)
        near = next((label for label in labels if abs(u - label[2]) <= 0.03 and abs(v - label[3]) <= 0.03), None)
        if near is None:
            labels.append((x, y, u, v, [text]))
        elif text not in near[4]:
            near[4].append(text)
    for x, y, _, _, texts in labels:
        ax.annotate(", ".join(texts), (x, y), fontsize=8, textcoords="offset points", xytext=(5, 4))


@quiet_glyphs()
def sweep_figures(table: pd.DataFrame, keys: list[str], currency: str = "") -> dict[str, plt.Figure]:
    """Figures by file name: frontier.png when aversion varies, else <key>.png per varied key.

    Only runs with a plan are drawn; with none, there is no figure (`why_no_chart` says why).
    """
    done = table[table["status"].map(has_plan)]
    figures: dict[str, plt.Figure] = {}
    if done.empty:
        return figures
    if AVERSION in keys:
        fig, ax = plt.subplots(figsize=(7.5, 4.8))
        others = [k for k in keys if k != AVERSION]
        groups = done.groupby(others) if others else [((), done)]
        labels = []
        for label, part in groups:
            part = part.sort_values(AVERSION)
            name = key_values(dict(zip(others, label if isinstance(label, tuple) else (label,))))
            ax.plot(part["cvar"], part["expected_cost"], marker="o", label=name or None)
            labels += [(row["cvar"], row["expected_cost"], f"{row[AVERSION]:g}") for _, row in part.iterrows()]
        money_axis(ax.xaxis, done["cvar"], currency, "CVaR")
        money_axis(ax.yaxis, done["expected_cost"], currency, "expected cost")
        ax.set_title("Efficient frontier (labels: risk aversion)")
        if others:
            ax.legend(fontsize=8)
        fit_fonts(fig)
        fig.tight_layout()
        _label_points(ax, labels)
        figures["frontier.png"] = fig
        return figures
    for key in keys:
        fig, ax = plt.subplots(figsize=(7.5, 4.8))
        part = done.groupby(key)[["objective", "expected_cost", "cvar"]].mean().sort_index()
        for column, style in (("objective", "o-"), ("expected_cost", "s--"), ("cvar", "^:")):
            ax.plot(part.index, part[column], style, label=column)
        ax.set_xlabel(key)
        plain_axis(ax.xaxis)
        money_axis(ax.yaxis, part.to_numpy().ravel(), currency,
                   "cost" + (" (mean over the other keys)" if len(keys) > 1 else ""))
        ax.legend(fontsize=8)
        fit_fonts(fig)
        fig.tight_layout()
        figures[_file_name(key)] = fig
    return figures


def why_no_chart(table: pd.DataFrame) -> str:
    """Why a sweep has no chart ("" when it has one)."""
    return "" if table["status"].map(has_plan).any() else "no run has a plan"


@quiet_glyphs()
def write_sweep_charts(table: pd.DataFrame, keys: list[str], out: Path, currency: str = "") -> tuple[list[Path], str]:
    """The PNG charts beside sweep.csv, recorded as planner's, and why there are none when so."""
    written = []
    for name, fig in sweep_figures(table, keys, currency).items():
        target = Path(out) / name
        try:
            with staged_file(target) as staging:
                fig.savefig(staging, dpi=110, format="png", metadata={"Software": None})
        finally:
            plt.close(fig)
        written.append(target)
    if written:
        record_files(Path(out), [p.name for p in written], Kind.SWEEP)
    return written, why_no_chart(table)
