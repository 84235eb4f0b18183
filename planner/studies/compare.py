"""Two or more plans of one instance side by side: what a procurement team asks first.

`compare_results` reads results folders (or a sweep folder: its runs with a plan) and lines
them up against the first, the baseline:

- figures: objective, expected cost, CVaR, fixed cost, the worst case, and the expected
  shortage of each material (probability-weighted shortage over demand);
- contracts: each option selected in any of them, and whether it is added or dropped
  against the baseline;
- volumes: total contracted volume by material and bloc of origin;
- exposure: the mean share of demand contracted from each bloc and country.

Every table is tidy, one row per (thing, result), with the change against the baseline, so
its columns are the same whatever is compared. `format_comparison` prints it,
`render_comparison` makes the report, `write_comparison` writes the folder.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from planner.errors import ResultsError
from planner.formatting import csv_differences, key_values, money, share, volume
from planner.instance.digest import SCENARIO_FILES, changed_files
from planner.results import pages
from planner.results.branches import expected_volumes
from planner.results.folder import SUMMARY_FILE, TABLE_COLUMNS, read_inferred, read_summary, read_table, unneutralise
from planner.results.manifest import Kind
from planner.results.ownership import staged_folder
from planner.results.readback import scenarios_of_evaluation
from planner.status import has_plan

FIGURES = ["objective", "expected_cost", "cvar", "fixed_cost"]
SHOWN_CHANGES = 8  # volume and exposure changes printed per result (all are in the tables)
COMPARE_FILES = ("figures", "shortages", "contracts", "volumes", "exposure")


@dataclass
class Comparison:
    instance: str
    currency: str
    unit: str
    labels: list[str]  # the first is the baseline
    folders: list[Path]
    figures: pd.DataFrame  # result, folder, status, figures, their changes
    shortages: pd.DataFrame  # commodity, result, expected_shortage_share, change
    contracts: pd.DataFrame  # option, commodity, origin_bloc, result, selected, total_volume, change
    volumes: pd.DataFrame  # commodity, origin_bloc, result, volume, change
    exposure: pd.DataFrame  # commodity, scope, name, result, mean_share, change
    # by result (not the baseline): the instance files it was made from that differ from the
    # baseline's (summary.json's `instance_files`); only results where both keep a record and some differ
    other_files: dict[str, list[str]] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in COMPARE_FILES}


def expand(folders: list[Path]) -> list[Path]:
    """Results folders as given; a sweep folder stands for its runs with a plan, in its order."""
    from planner.studies.sweep import RUNS, SWEEP_FILE, not_a_result

    out: list[Path] = []
    for folder in map(Path, folders):
        if (folder / SWEEP_FILE).is_file():
            table = read_inferred(folder / SWEEP_FILE, ["id", "status"])
            out += [folder / RUNS / str(run) for run, status in zip(table["id"], table["status"])
                    if has_plan(str(status))]
        elif (folder / SUMMARY_FILE).is_file():
            out.append(folder)
        else:
            raise not_a_result(folder)
    return out


def _label(folder: Path, summary: dict) -> str:
    values = summary.get("sweep_values")
    if isinstance(values, dict) and values:
        return key_values(values)
    return folder.name


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


def _with_change(frame: pd.DataFrame, keys: list[str], value: str, baseline: str) -> pd.DataFrame:
    """`value_change`: the value minus the baseline's for the same keys (a missing one counts 0)."""
    base = frame[frame["result"] == baseline].set_index(keys)[value] if keys else None
    if keys:
        before = frame.set_index(keys).index.map(lambda k: base.get(k, 0.0)).to_numpy(dtype=float)
    else:
        before = float(frame.loc[frame["result"] == baseline, value].iloc[0])
    if not keys:
        before = [before] * len(frame)
    return frame.assign(**{f"{value}_change": csv_differences(frame[value].to_numpy(dtype=float), before)})


def _complete(frame: pd.DataFrame, keys: list[str], labels: list[str], value: str) -> pd.DataFrame:
    """Every (keys, result) pair, a missing one with value 0: a bloc a plan does not use is 0%."""
    index = pd.MultiIndex.from_tuples(
        [(*k, r) for k in frame[keys].drop_duplicates().itertuples(index=False) for r in labels],
        names=[*keys, "result"])
    full = frame.set_index([*keys, "result"])[[value]].reindex(index, fill_value=0.0).reset_index()
    order = {r: i for i, r in enumerate(labels)}
    return full.sort_values([*keys, "result"], key=lambda c: c.map(order) if c.name == "result" else c,
                            kind="stable").reset_index(drop=True)


def compare_results(folders: list[Path]) -> Comparison:
    """Line up the results in `folders` (the first is the baseline); a sweep folder counts as its
    runs. Raises ResultsError unless there are two or more results, all of one instance."""
    paths = expand(folders)
    if len(paths) < 2:
        raise ResultsError(f"compare needs two or more results with a plan; {len(paths)} found in "
                           f"{', '.join(map(str, folders))} (a sweep counts as its runs that have one)")
    summaries = [read_summary(p, numbers=tuple(FIGURES)) for p in paths]
    instances = {s["instance"] for s in summaries}
    if len(instances) > 1:
        found = ", ".join(f"{p} is of {s['instance']!r}" for p, s in zip(paths, summaries))
        raise ResultsError(f"compare takes results of one instance: {found}")
    labels = _unique([_label(p, s) for p, s in zip(paths, summaries)])
    baseline = labels[0]

    figures = pd.DataFrame([{"result": label, "folder": str(path), "status": s["status"],
                             **{f: s[f] for f in FIGURES},
                             "worst_case_expected_cost": (s.get("worst_case") or {}).get("expected_cost"),
                             "worst_case_cvar": (s.get("worst_case") or {}).get("cvar")}
                            for label, path, s in zip(labels, paths, summaries)])
    for f in FIGURES:
        figures[f"{f}_change"] = csv_differences(figures[f], [figures.loc[0, f]] * len(figures))

    shortage_rows, contract_rows, volume_rows, exposure_rows = [], [], [], []
    for label, path in zip(labels, paths):
        supply, costs = read_table(path, "supply"), read_table(path, "scenario_costs")
        p = supply["scenario"].map(dict(zip(costs["scenario"], costs["probability"])))
        weighted = (supply[["shortage", "demand"]].mul(p, axis=0)).groupby(supply["commodity"], sort=False).sum()
        for m, row in weighted.iterrows():
            shortage_rows.append({"commodity": m, "result": label, "expected_shortage_share":
                                  row["shortage"] / row["demand"] if row["demand"] > 0 else 0.0})
        contracts = read_table(path, "contracts")
        twice = contracts["option"].duplicated()
        if twice.any():  # (the baseline's: an internal error in the comparison of its contracts)
            row = int(twice.to_numpy().argmax())
            raise ResultsError(f"{path / 'contracts.csv'}:{row + 2}:option: {contracts['option'].iloc[row]!r} "
                               "appears twice, which planner never writes: damaged or edited by hand?")
        for rec in contracts.itertuples(index=False):
            contract_rows.append({"option": unneutralise(rec.option), "commodity": rec.commodity,
                                  "origin_bloc": rec.origin_bloc, "result": label, "selected": int(rec.selected),
                                  "total_volume": float(rec.total_volume)})
        bloc = dict(zip(contracts["option"], contracts["origin_bloc"]))
        adaptive = path / "adaptive_volumes.csv"
        volumes = expected_volumes(read_table(path, "volumes"), read_table(path, "adaptive_volumes")
                                   if adaptive.is_file() else pd.DataFrame(columns=TABLE_COLUMNS["adaptive_volumes"]),
                                   costs)
        totals = volumes.assign(origin_bloc=volumes["option"].map(bloc)).groupby(
            ["commodity", "origin_bloc"], sort=False)["volume"].sum()
        volume_rows += [{"commodity": m, "origin_bloc": b, "result": label, "volume": v}
                        for (m, b), v in totals.items()]
        exposure = read_table(path, "exposure")
        shares = exposure.assign(share=exposure["share"].fillna(0.0)).groupby(
            ["commodity", "scope", "name"], sort=False)["share"].mean()
        exposure_rows += [{"commodity": m, "scope": sc, "name": n, "result": label, "mean_share": v}
                          for (m, sc, n), v in shares.items()]

    shortages = _with_change(_complete(pd.DataFrame(shortage_rows), ["commodity"], labels,
                                       "expected_shortage_share"), ["commodity"], "expected_shortage_share", baseline)
    contracts = pd.DataFrame(contract_rows)
    chosen = contracts.groupby("option")["selected"].transform("max") > 0
    contracts = contracts[chosen].reset_index(drop=True)
    base_selected = contracts[contracts["result"] == baseline].set_index("option")["selected"]
    contracts["change"] = [
        "" if r == baseline or sel == base_selected.get(o, 0) else ("added" if sel else "dropped")
        for o, r, sel in zip(contracts["option"], contracts["result"], contracts["selected"])]
    volumes = _with_change(_complete(pd.DataFrame(volume_rows), ["commodity", "origin_bloc"], labels, "volume"),
                           ["commodity", "origin_bloc"], "volume", baseline)
    exposure = _with_change(_complete(pd.DataFrame(exposure_rows), ["commodity", "scope", "name"], labels,
                                      "mean_share"), ["commodity", "scope", "name"], "mean_share", baseline)
    first = summaries[0]
    return Comparison(first["instance"], str(first.get("currency", "")), str(first.get("unit", "")), labels,
                      paths, figures, shortages, contracts, volumes, exposure, _other_files(labels, summaries))


def _other_files(labels: list[str], summaries: list[dict]) -> dict[str, list[str]]:
    """`Comparison.other_files`: an instance edited between two solves (demand, options removed)
    is one instance by name, and its results' differences are not the plans' alone. Scenario
    files are left out where an evaluation was made under other scenarios."""
    base = summaries[0].get("instance_files")
    found = {}
    for label, summary in zip(labels[1:], summaries[1:]):
        now = summary.get("instance_files")
        if not isinstance(now, dict):
            continue
        elsewhere = scenarios_of_evaluation(summaries[0]) or scenarios_of_evaluation(summary)
        ignored = SCENARIO_FILES if elsewhere else ()
        changed = changed_files(base, now, ignored)
        if changed:
            found[label] = changed
    return found


def _signed(text: str) -> str:
    return text if text.startswith("-") else f"+{text}"


def contract_changes(c: Comparison, label: str) -> tuple[list[str], list[str]]:
    """The options `label` adds and drops against the baseline."""
    part = c.contracts[c.contracts["result"] == label]
    return (sorted(part.loc[part["change"] == "added", "option"]),
            sorted(part.loc[part["change"] == "dropped", "option"]))


def other_files_said(c: Comparison, label: str) -> str:
    """That `label` was made from other files of the instance than the baseline, and which."""
    files = c.other_files[label]
    return (f"{label} was made from other files of {c.instance} than {c.labels[0]} ({', '.join(files)} "
            f"differ{'s' if len(files) == 1 else ''}): its differences are not its plan's alone")


def format_comparison(c: Comparison) -> str:
    """The comparison for the terminal: figures, contracts, shortages, then the largest changes."""
    base = c.labels[0]
    lines = [f"comparing {len(c.labels)} results of {c.instance} against the first ({base}):"]
    width = max(len(label) for label in c.labels)
    lines.append(f"  {'':<{width}}  {'objective':>22}  {'expected cost':>22}  {'CVaR':>22}  {'fixed cost':>22}")
    for row in c.figures.itertuples(index=False):
        cells = []
        for f in FIGURES:
            value, change = getattr(row, f), getattr(row, f"{f}_change")
            text = money(value, c.currency) if row.result == base else \
                f"{money(value)} ({_signed(money(change))})"
            cells.append(f"{text:>22}")
        lines.append(f"  {row.result:<{width}}  {'  '.join(cells)}" + ("" if row.status == "optimal"
                                                                         else f"  [{row.status}]"))
    lines += [f"  {other_files_said(c, label)}" for label in c.other_files]
    for label in c.labels[1:]:
        added, dropped = contract_changes(c, label)
        lines.append(f"  contracts, {label}: added {', '.join(added) or 'none'}; "
                     f"dropped {', '.join(dropped) or 'none'}")
    for label in c.labels[1:]:
        part = c.shortages[(c.shortages["result"] == label) & (c.shortages["expected_shortage_share_change"].abs()
                                                               > 5e-4)]
        text = ", ".join(f"{r.commodity} {share(r.expected_shortage_share - r.expected_shortage_share_change)} -> "
                         f"{share(r.expected_shortage_share)}" for r in part.itertuples(index=False))
        lines.append(f"  expected shortage, {label}: {text or 'no change'}")
        moved = c.volumes[(c.volumes["result"] == label) & (c.volumes["volume_change"].abs() > 1e-6)]
        moved = moved.reindex(moved["volume_change"].abs().sort_values(ascending=False).index)
        parts = [f"{r.commodity} from {r.origin_bloc} {_signed(volume(r.volume_change, c.unit))}"
                 for r in moved.head(SHOWN_CHANGES).itertuples(index=False)]
        more = f" (+{len(moved) - SHOWN_CHANGES} more in volumes.csv)" if len(moved) > SHOWN_CHANGES else ""
        lines.append(f"  contracted volume over the horizon, {label}: {', '.join(parts) or 'no change'}{more}")
        blocs = c.exposure[(c.exposure["result"] == label) & (c.exposure["scope"] == "bloc")
                           & (c.exposure["mean_share_change"].abs() > 5e-4)]
        blocs = blocs.reindex(blocs["mean_share_change"].abs().sort_values(ascending=False).index)
        parts = [f"{r.commodity} {r.name} {share(r.mean_share - r.mean_share_change)} -> {share(r.mean_share)}"
                 for r in blocs.head(SHOWN_CHANGES).itertuples(index=False)]
        lines.append(f"  exposure to blocs (mean share of demand), {label}: {', '.join(parts) or 'no change'}")
    return "\n".join(lines)


def render_comparison(c: Comparison) -> str:
    """The comparison as an HTML report: a section per table."""
    figures = c.figures.drop(columns=["folder"])
    changes = []
    for label in c.labels[1:]:
        added, dropped = contract_changes(c, label)
        changes.append(f"<li><b>{html.escape(label)}</b>: added {html.escape(', '.join(added) or 'none')}; "
                       f"dropped {html.escape(', '.join(dropped) or 'none')}</li>")
    def wide(frame: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
        view = frame.pivot_table(index=keys, columns="result", values=value, sort=False)[c.labels]
        return view.rename(columns=lambda label: f"{value}: {label}").reset_index()

    sections = [
        f"<h1>Comparison: {html.escape(c.instance)}</h1>",
        pages.note(f"Against the first result, {c.labels[0]}. The tables are in this folder as CSV, "
                   "one row per thing and result, with the change against the first."),
        *(pages.note(other_files_said(c, label)) for label in c.other_files),
        pages.section("compare-figures", "Figures", pages.table(figures, "table-compare-figures", c.currency)),
        pages.section("compare-contracts", "Contracts added and dropped", f"<ul>{''.join(changes)}</ul>"),
        pages.section("compare-shortages", "Expected shortage by material",
                      pages.table(wide(c.shortages, ["commodity"], "expected_shortage_share"),
                                  "table-compare-shortages")),
        pages.section("compare-volumes", "Contracted volume by material and bloc of origin (whole horizon)",
                      pages.table(wide(c.volumes, ["commodity", "origin_bloc"], "volume"), "table-compare-volumes",
                                  unit=c.unit)),
        pages.section("compare-exposure", "Exposure to blocs (mean share of demand)",
                      pages.table(wide(c.exposure[c.exposure["scope"] == "bloc"], ["commodity", "name"],
                                       "mean_share"), "table-compare-exposure")),
    ]
    return pages.page(f"planner comparison: {c.instance}", sections)


def write_comparison(c: Comparison, folder: Path, force: bool = False) -> Path:
    """The comparison's tables (CSV) and report.html as one planner-written folder."""
    from planner.results.write import write_tables

    with staged_folder(Path(folder), Kind.COMPARISON, force) as staging:
        write_tables(staging, c.tables())
        (staging / "report.html").write_text(render_comparison(c), encoding="utf-8")
    return Path(folder)
