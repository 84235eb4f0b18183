"""Charts of a plan for the report, drawn with matplotlib and embedded as inline SVG.

Axes of money read in the currency at one scale ("bn USD"), never in e-notation or with an
offset; text stays text in the SVG (readable, searchable, printable); the small-multiple
chart of volumes is sized to the number of materials.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import math
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator


class _NoCacheFolderWarning(logging.Filter):
    """matplotlib warns, as it is imported, when it cannot make or write its cache folder under
    HOME (a batch job, a container, another user's HOME, a HOME that does not exist, as
    `nobody`'s), and then uses a temporary one of its own: lines a planner user can do nothing
    with, on every report and sweep chart."""

    UNSAID = ("is not a writable directory", "mkdir -p failed for path", "MPLCONFIGDIR")

    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)
        return not any(words in text for words in self.UNSAID)


logging.getLogger("matplotlib").addFilter(_NoCacheFolderWarning())

import matplotlib  # noqa: E402

matplotlib.use("Agg")
matplotlib.rcParams["text.parse_math"] = False  # "$" in a currency or name is text, not TeX
matplotlib.rcParams["svg.fonttype"] = "none"  # text as text
matplotlib.rcParams["axes.formatter.useoffset"] = False
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.ft2font import FT2Font  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.ticker import Formatter, FuncFormatter  # noqa: E402

from planner.formatting import money_scale  # noqa: E402

BLOC_COLOURS = {"china": "#c0392b", "russia": "#8e44ad", "ukraine": "#f1c40f", "allies": "#2e86c1",
                "domestic": "#1e8449", "global_south": "#e67e22"}
MAX_HEATMAP_ROWS = 40  # scenarios shown in the shortage heat map (the most short first)
LABEL_CHARS = 48  # a name longer than this is shortened in the charts (`short_labels`)


@contextlib.contextmanager
def quiet_glyphs() -> Iterator[None]:
    """Draw without matplotlib's warning for each character its fonts lack ("Glyph 31232 missing
    from font(s) DejaVu Sans", about 60 lines for a report of one material named in Chinese). The
    report's charts keep their text as text (SVG), which the browser draws with its own fonts;
    a sweep's PNG charts take it from another font of the machine (`fit_fonts`), and show it
    as a box when none has it (README, "Reports"). Also a decorator."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
        yield


@functools.cache
def _characters(path: str) -> frozenset[int]:
    """The characters the font file at `path` has a glyph for (none when it cannot be read)."""
    try:
        return frozenset(FT2Font(path).get_charmap())
    except (OSError, RuntimeError, ValueError):
        return frozenset()


PLACEHOLDER_FONTS = ("Last Resort",)  # a glyph for every character: the name of its Unicode block, not the letter


def fonts_for(texts: Iterable[str]) -> list[str]:
    """The fonts of this machine to draw `texts` with beside matplotlib's own (DejaVu Sans):
    for the characters it has no glyph for (a name in Chinese, Japanese, Arabic ...), fonts that
    have them, each chosen for the most still missing; none when it has them all. Without such
    a font a character shows as a box (in the PNG charts; a report's SVG keeps text as text,
    for the browser to draw)."""
    own = font_manager.findfont(font_manager.FontProperties())
    missing = {ord(c) for text in texts for c in text if not c.isspace()} - _characters(own)
    if not missing:
        return []
    candidates = sorted({(entry.name, entry.fname) for entry in font_manager.fontManager.ttflist
                         if entry.style == "normal" and entry.weight in (400, "normal")
                         and not entry.name.startswith(PLACEHOLDER_FONTS)})
    chosen: list[str] = []
    while missing:
        covered, name = max(((len(missing & _characters(path)), name) for name, path in candidates
                             if name not in chosen), key=lambda pair: pair[0], default=(0, ""))
        if not covered:
            break
        chosen.append(name)
        missing -= {c for n, path in candidates if n == name for c in _characters(path)}
    return chosen


def fit_fonts(fig: plt.Figure) -> None:
    """Let the figure's text fall back, character by character, on fonts that have what
    matplotlib's own lacks (`fonts_for`): the families are the usual ones, then those. When
    matplotlib's own has every character, nothing changes."""
    texts = [text for text in fig.findobj(Text) if text.get_text()]
    extra = fonts_for(text.get_text() for text in texts)
    if extra:
        for text in texts:
            text.set_fontfamily([*matplotlib.rcParams["font.family"], *extra])


@quiet_glyphs()
def svg(fig: plt.Figure) -> str:
    fit_fonts(fig)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


class TickFormatter(Formatter):
    """Tick labels divided by `divisor`, with thousands separators and as many decimals as
    the spacing of the ticks needs (never e-notation, never an offset)."""

    def __init__(self, divisor: float = 1.0) -> None:
        self.divisor = divisor
        self.decimals = 0

    def set_locs(self, locs: list[float]) -> None:
        super().set_locs(locs)
        steps = np.diff(np.sort(np.asarray(locs, dtype=float))) / self.divisor
        steps = steps[steps > 0]
        self.decimals = 0
        if len(steps):
            step = float(steps.min())
            while self.decimals < 10 and abs(step * 10**self.decimals - round(step * 10**self.decimals)) \
                    > 1e-6 * max(1.0, step * 10**self.decimals):
                self.decimals += 1

    def __call__(self, x: float, pos: int | None = None) -> str:
        text = f"{x / self.divisor:,.{self.decimals}f}"
        return "0" if text.lstrip("-").strip("0.,") == "" else text


def money_axis(axis: matplotlib.axis.Axis, values: Iterable[float], currency: str, what: str) -> None:
    """Ticks of `axis` in one scale of the currency, labelled "what (bn USD)"."""
    divisor, scale = money_scale(list(values))
    axis.set_major_formatter(TickFormatter(divisor))
    unit = " ".join(p for p in (scale, currency) if p)
    axis.set_label_text(f"{what} ({unit})" if unit else what)


def short_labels(names: Iterable[object]) -> list[str]:
    """`names` as chart labels: one longer than LABEL_CHARS keeps its start and its end around an
    ellipsis ("china-ban+china-ban-2029+china-e…+us-ends-deal+war-resumes"), and labels that come
    out alike are numbered. A scenario of eleven independent events is named by all of them, 157
    characters, and the heat map had no room left for its cells: matplotlib said "Tight layout not
    applied" on stderr. The tables keep the whole names."""
    head = LABEL_CHARS * 2 // 3 - 1
    tail = LABEL_CHARS - head - 1
    labels = [text if len(text) <= LABEL_CHARS else f"{text[:head]}\u2026{text[-tail:]}" for text in map(str, names)]
    alike, seen = Counter(labels), Counter[str]()
    numbered = []
    for label in labels:
        seen[label] += 1
        numbered.append(label if alike[label] == 1 else f"{label} ({seen[label]})")
    return numbered


def plain_axis(axis: matplotlib.axis.Axis) -> None:
    """Ticks with thousands separators, never in e-notation."""
    axis.set_major_formatter(TickFormatter())


@quiet_glyphs()
def volumes_chart(volumes: pd.DataFrame, contracts: pd.DataFrame, supply: pd.DataFrame, unit: str) -> str:
    """Contracted volume per material and period, stacked by bloc of origin, with demand."""
    bloc = dict(zip(contracts["option"], contracts["origin_bloc"]))
    data = volumes.assign(bloc=volumes["option"].map(bloc))
    materials = list(dict.fromkeys(supply["commodity"]))
    periods = list(dict.fromkeys(supply["period"].astype(str)))
    demand = supply.drop_duplicates(["commodity", "period"]).set_index(["commodity", "period"])["demand"]
    blocs = sorted(set(data["bloc"].dropna()))
    cols = 1 if len(materials) == 1 else 2 if len(materials) <= 4 else 3
    rows = math.ceil(len(materials) / cols)
    width = 11 if cols > 1 else 8
    fig, axes = plt.subplots(rows, cols, figsize=(width, 2.9 * rows + 0.6), squeeze=False)
    x = np.arange(len(periods))
    step = max(1, math.ceil(len(periods) / (16 // cols)))
    bloc_label = dict(zip(blocs, short_labels(blocs)))
    for ax, m, title in zip(axes.flat, materials, short_labels(materials)):
        bottom = np.zeros(len(periods))
        table = data[data["commodity"] == m].pivot_table(index="period", columns="bloc", values="volume",
                                                          aggfunc="sum").reindex(periods).fillna(0.0)
        for b in blocs:
            if b in table.columns and table[b].sum() > 0:
                ax.bar(x, table[b].to_numpy(), bottom=bottom, label=bloc_label[b], color=BLOC_COLOURS.get(b, "#7f8c8d"))
                bottom += table[b].to_numpy()
        ax.plot(x, [demand.get((m, p), 0.0) for p in periods], color="black", marker="o", lw=1.5, label="demand")
        ax.set_title(title, fontsize=10)
        ax.set_xticks(x[::step], periods[::step], fontsize=8, rotation=45 if len(periods) > 6 else 0)
        ax.set_ylabel(unit, fontsize=9)
        ax.tick_params(axis="y", labelsize=8)
        plain_axis(ax.yaxis)
    for ax in list(axes.flat)[len(materials):]:
        ax.axis("off")
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="upper center", ncol=min(7, len(labels)), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / (2.9 * rows + 0.6)))
    return svg(fig)


@quiet_glyphs()
def scenario_costs_chart(costs: pd.DataFrame, summary: dict) -> str:
    """Distribution of total scenario costs (probability-weighted) with expected cost and CVaR;
    the legend below the plot, clear of the lines."""
    currency = summary.get("currency", "")
    fig, ax = plt.subplots(figsize=(10, 3.8))
    values, weights = costs["total_cost"].to_numpy(float), costs["probability"].to_numpy(float)
    bins = min(30, max(5, len(values)))
    low, high = float(values.min()), float(values.max())
    spread = None  # numpy's own range, unless the costs (nearly) coincide: then one around them that
    if high - low <= 1e-9 * max(abs(low), abs(high), 1.0):  # finite-sized bins resolve at any magnitude
        half = 1e-6 * max(abs(low), abs(high), 1.0)
        spread = (low - half, high + half)
    ax.hist(values, bins=bins, range=spread, weights=weights, color="#5d6d7e", edgecolor="white")
    ax.axvline(summary["expected_cost"], color="#1e8449", lw=2, label="expected cost")
    ax.axvline(summary["cvar"], color="#c0392b", lw=2, ls="--", label=f"CVaR {summary['cvar_alpha']:g}")
    money_axis(ax.xaxis, [*values, summary["expected_cost"], summary["cvar"]], currency, "total cost per scenario")
    ax.set_ylabel("probability")
    plain_axis(ax.yaxis)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=9, frameon=False)
    fig.tight_layout()
    return svg(fig)


def shortage_table(supply: pd.DataFrame) -> pd.DataFrame:
    """Total shortage per scenario and material as a share of that material's total demand."""
    total = supply.groupby(["scenario", "commodity"])[["shortage", "demand"]].sum()
    shares = (total["shortage"] / total["demand"].where(total["demand"] > 0)).fillna(0.0)
    return shares.unstack("commodity").fillna(0.0)


@quiet_glyphs()
def shortages_chart(shares: pd.DataFrame) -> str:
    """Heat map: scenarios down (at most MAX_HEATMAP_ROWS, the most short first), materials
    across, shortage share of demand in each cell, labelled in percent."""
    shown = shares.loc[shares.sum(axis=1).sort_values(ascending=False, kind="stable").index[:MAX_HEATMAP_ROWS]]
    width = min(11.0, 4.5 + 0.9 * len(shown.columns))
    fig, ax = plt.subplots(figsize=(width, 0.32 * len(shown) + 1.8))
    values = shown.to_numpy()
    image = ax.imshow(values, aspect="auto", cmap="Reds", vmin=0, vmax=max(0.01, float(values.max(initial=0))))
    ax.set_xticks(range(len(shown.columns)), short_labels(shown.columns), fontsize=9, rotation=30, ha="right")
    ax.set_yticks(range(len(shown.index)), short_labels(shown.index), fontsize=9)
    if values.size <= 400:
        for (i, j), v in np.ndenumerate(values):
            if v > 0.0005:
                ax.text(j, i, f"{v:.0%}", ha="center", va="center", fontsize=7,
                        color="white" if v > 0.6 * values.max() else "black")
    bar = fig.colorbar(image, ax=ax, label="shortage / demand", fraction=0.04)
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    fig.tight_layout()
    return svg(fig)
