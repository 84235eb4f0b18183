"""Charts of a sweep: the efficient frontier when risk aversion varies, one chart per key otherwise."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["text.parse_math"] = False  # "$" in a currency or name is text, not TeX
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from planner.results.ownership import TEMP_PREFIX, Kind, record_files  # noqa: E402
from planner.status import has_plan  # noqa: E402

AVERSION = "risk.aversion"


def _file_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", key) + ".png"


def sweep_figures(table: pd.DataFrame, keys: list[str]) -> dict[str, plt.Figure]:
    """Figures by file name: frontier.png when aversion varies, else <key>.png per varied key.

    Only runs with a plan are drawn; with none, there is no figure (`why_no_chart` says why).
    """
    done = table[table["status"].map(has_plan)]
    figures: dict[str, plt.Figure] = {}
    if done.empty:
        return figures
    if AVERSION in keys:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        others = [k for k in keys if k != AVERSION]
        groups = done.groupby(others) if others else [((), done)]
        for label, part in groups:
            part = part.sort_values(AVERSION)
            name = ", ".join(f"{k}={v:g}" for k, v in zip(others, label if isinstance(label, tuple) else (label,)))
            ax.plot(part["cvar"], part["expected_cost"], marker="o", label=name or None)
            for _, row in part.iterrows():
                ax.annotate(f"{row[AVERSION]:g}", (row["cvar"], row["expected_cost"]), fontsize=7,
                            textcoords="offset points", xytext=(4, 4))
        ax.set_xlabel("CVaR")
        ax.set_ylabel("expected cost")
        ax.set_title("Efficient frontier (labels: risk aversion)")
        if others:
            ax.legend(fontsize=7)
        fig.tight_layout()
        figures["frontier.png"] = fig
        return figures
    for key in keys:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        part = done.groupby(key)[["objective", "expected_cost", "cvar"]].mean().sort_index()
        for column, style in (("objective", "o-"), ("expected_cost", "s--"), ("cvar", "^:")):
            ax.plot(part.index, part[column], style, label=column)
        ax.set_xlabel(key)
        ax.set_ylabel("cost" + (" (mean over the other keys)" if len(keys) > 1 else ""))
        ax.legend(fontsize=8)
        fig.tight_layout()
        figures[_file_name(key)] = fig
    return figures


def why_no_chart(table: pd.DataFrame) -> str:
    """Why a sweep has no chart ("" when it has one)."""
    return "" if table["status"].map(has_plan).any() else "no run has a plan"


def write_sweep_charts(table: pd.DataFrame, keys: list[str], out: Path) -> tuple[list[Path], str]:
    """The PNG charts beside sweep.csv, recorded as planner's, and why there are none when so."""
    written = []
    for name, fig in sweep_figures(table, keys).items():
        target = Path(out) / name
        staging = target.with_name(TEMP_PREFIX + name)
        fig.savefig(staging, dpi=110, format="png", metadata={"Software": None})
        plt.close(fig)
        staging.replace(target)
        written.append(target)
    if written:
        record_files(Path(out), [p.name for p in written], Kind.SWEEP)
    return written, why_no_chart(table)
