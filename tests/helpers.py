"""Writing small instances from Python data, for tests."""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from typing import TypeVar

from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parent.parent
FOUR_SUPPLIERS = REPO / "instances" / "four-suppliers"


T = TypeVar("T")


def in_own_thread(call: Callable[[], T]) -> T:
    """call() in a new thread. HiGHS keeps a thread pool per thread that runs it, of the size the
    first run there asked for, and refuses a run that asks for another: the tests' main thread
    may hold one from an earlier test (planner itself runs HiGHS only in threads of its own)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result()


def racing(**options: object) -> object:
    """SolveOptions of a solve whose phase races branch and bound on the whole model
    (`SolveOptions.races`) under a time limit that never binds, whatever the machine's speed:
    its clock stands still."""
    from planner.options import SolveOptions

    return SolveOptions(time_limit=1e9, clock=lambda: 0.0, **options)  # type: ignore[arg-type]


PROVEN_GAP = 1e-7  # the gap a proof must reach at the random instances' magnitudes


def proven(solve: Callable[[object], T], options: object) -> T:
    """solve(options), or, when the bound cannot prove a gap as small as `options` asks
    (`PrecisionError`: HiGHS's bound is exact only to its tolerances, so a gap of 1e-9 asked
    may be proven only to 1e-8), solve(options at the gap the refusal suggests), which must be
    at most PROVEN_GAP: the tests compare figures to 1e-6."""
    from dataclasses import replace

    from planner.errors import PrecisionError

    try:
        return solve(options)
    except PrecisionError as exc:
        assert exc.suggested_gap <= PROVEN_GAP, str(exc)
        return solve(replace(options, mip_gap=exc.suggested_gap))  # type: ignore[type-var]


def solve_exactly(folder: Path, options: object = None) -> object:
    """The instance at `folder` solved to `options`' gap (default 1e-9), or as near as its bound
    proves (`proven`)."""
    from planner.options import SolveOptions
    from planner.solve.pipeline import solve_instance

    return proven(lambda o: solve_instance(folder, o), options or SolveOptions(mip_gap=1e-9))


def examples(count: int) -> settings:
    """Hypothesis settings of the property tests: `count` examples, derandomized (the same
    examples on every run), no deadline (solves take what the machine gives them), fixtures
    shared by the examples of one test. With PLANNER_EXAMPLES=N in the environment (N > 1), a
    bug hunt: N times the examples, drawn at random on each run (README, "Development")."""
    factor = int(os.environ.get("PLANNER_EXAMPLES", "1"))
    hunt = {"derandomize": False, "database": None} if factor > 1 else {"derandomize": True}
    return settings(max_examples=count * max(factor, 1), deadline=None, **hunt,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def toml_text(settings: dict) -> str:
    """A TOML document for flat keys and one level of tables."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in settings.items() if not isinstance(v, dict)]
    for key, table in settings.items():
        if isinstance(table, dict):
            lines.append(f"\n[{key}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def write_csv(path: Path, rows: list[dict]) -> None:
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})


def write_instance(folder: Path, settings: dict, **tables: list[dict] | str) -> Path:
    """Write instance.toml and one CSV per keyword (rows as dicts, or raw text)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "instance.toml").write_text(toml_text(settings), encoding="utf-8")
    for name, rows in tables.items():
        path = folder / f"{name}.csv"
        if isinstance(rows, str):
            path.write_text(rows, encoding="utf-8")
        else:
            write_csv(path, rows)
    return folder


def four_suppliers(folder: Path, aversion: float = 0.5, storage: str = "0") -> Path:
    """A copy of the bundled four-suppliers instance (docs/model.md section 6) with aversion and storage set."""
    shutil.copytree(FOUR_SUPPLIERS, folder)
    toml = (folder / "instance.toml").read_text()
    (folder / "instance.toml").write_text(toml.replace("aversion = 0.5", f"aversion = {aversion}"))
    (folder / "commodities.csv").write_text(
        "commodity,shortage_penalty,holding_cost,initial_stock,storage_capacity\n"
        f"rare_earth_oxide,400,0,0,{storage}\n"
    )
    return folder


def scale(folder: Path, columns: dict[str, list[str]], factor: float) -> None:
    """Multiply the given columns of the given files of the instance at `folder` by `factor`."""
    for name, names in columns.items():
        path = folder / name
        if not path.exists():
            continue
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        if not rows:
            continue
        for row in rows:
            for column in names:
                if row.get(column) not in (None, ""):
                    row[column] = repr(float(row[column]) * factor)
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def crash_logs() -> set[str]:
    """The crash logs planner has written (an internal error leaves one in the temporary folder)."""
    return {p.name for p in Path(tempfile.gettempdir()).glob("planner-crash-*.log")}


class _TableReader(HTMLParser):
    """The cells of one table of an HTML page, by its id, as text (rows of header and data cells)."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.depth, self.rows, self.cell = table_id, 0, [], None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table" and (self.depth or dict(attrs).get("id") == self.table_id):
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.depth and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell.strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell += data


def html_table(page: str, table_id: str) -> list[list[str]]:
    """The rows of the table with id `table_id` in the HTML `page`, each a list of cell texts."""
    reader = _TableReader(table_id)
    reader.feed(page)
    return reader.rows
