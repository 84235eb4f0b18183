"""Damaged files: an instance or a results folder with one to three random corruptions (a cell
of junk, a line dropped, doubled or cut short, an extra cell, a file truncated, emptied,
removed, made binary, re-encoded, its delimiter or header changed, a value of instance.toml of
another type or size) is read into a typed
problem (`InstanceError`, `ResultsError`), never a crash: the commands turn those into
messages naming file, row and column (exit 3). Property tests over random corruptions of a
generated instance and of a real result; hunts of 1,440 and 490 corruptions found a crash each
(a header ending in a lone CR; a result's reports and comparisons on 8 of 30), fixed 2026-12-04.
"""

from __future__ import annotations

import random
import shutil
import warnings
from pathlib import Path

import pytest
from helpers import examples
from hypothesis import given
from hypothesis import strategies as st

from planner.errors import InstanceError, ResultsError

JUNK = ["", " ", "nan", "NaN", "inf", "-inf", "-1", "1e400", "1e-400", "abc", "1,5", "0x10", "1_0", "\u0663",
        "\uff11", "True", "\x00", "\ufeff", '"', "''", "1.2.3", "+", "-", ".", "e5", "9" * 400, "-0", "1e308", "2026",
        "2030", "*", "country", "bloc", "s0", "CHN", "ZZZ", "a\nb", "\t", "\r", "=1+1", "null", "~", "\U0001f4a5"]


TOML_JUNK = ["1" + "0" * 400, "1" + "0" * 5000, "-1", "0", "1e400", "nan", "inf", "-inf", "true", "false",
             "1979-05-27", "07:32:00", "1979-05-27T07:32:00Z", "[]", "[0.5]", "[true, 'x']", "{}", "{a = 1}", '""',
             '"  "', '"0.5"', "'multi\\nline'", "0x10", "0o7", "1_000", "+0.0", "-0.0", "2026"]


def corrupt(folder: Path, rng: random.Random) -> str:
    """One random corruption of one file of `folder`; what was done."""
    kind = rng.randrange(13)
    toml = folder / "instance.toml"
    if kind == 12 and toml.is_file():  # a value of instance.toml of another type or size
        lines = toml.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
        keyed = [i for i, line in enumerate(lines) if "=" in line]
        if keyed:
            i = rng.choice(keyed)
            lines[i] = lines[i].split("=", 1)[0] + "= " + rng.choice(TOML_JUNK) + "\n"
            toml.write_text("".join(lines), encoding="utf-8")
        return f"{toml.name}: {kind}"
    path = rng.choice(sorted(p for p in folder.iterdir() if p.is_file()))
    raw = path.read_bytes()
    lines = raw.decode("utf-8", errors="replace").splitlines(keepends=True)
    if kind < 5 and lines:
        i = rng.randrange(len(lines))
        cells = lines[i].rstrip("\r\n").split(",")
        if kind == 0:
            cells[rng.randrange(len(cells))] = rng.choice(JUNK)
        elif kind == 1 and len(cells) > 1:
            del cells[rng.randrange(len(cells))]
        elif kind == 2:
            cells.append(rng.choice(JUNK))
        line = ",".join(cells) + "\n"
        if kind == 3:
            lines.insert(i, lines[i])
        elif kind == 4:
            del lines[i]
        else:
            lines[i] = line
        path.write_text("".join(lines), encoding="utf-8")
    elif kind == 5:
        path.write_bytes(raw[: rng.randrange(len(raw) + 1)])
    elif kind == 6:
        path.write_bytes(b"")
    elif kind == 7:
        path.unlink()
    elif kind == 8:
        path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))))
    elif kind == 9:
        text = raw.decode("utf-8", errors="replace")
        path.write_text(rng.choice([text.replace("\n", "\r"), "\ufeff" + text, text.replace(",", ";")]),
                        encoding="utf-8")
    elif kind == 10 and lines:
        cells = lines[0].rstrip("\r\n").split(",")
        cells[rng.randrange(len(cells))] = rng.choice(JUNK + ["capacity", "option", "scenario"])
        path.write_text("".join([",".join(cells) + "\n", *lines[1:]]), encoding="utf-8")
    else:
        path.write_bytes(raw.replace(b"a", b"\xe9", 1))
    return f"{path.name}: {kind}"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from planner.instance.generate import Shape, generate_instance

    return generate_instance(tmp_path_factory.mktemp("fuzz") / "inst", 2, 3, 3, 4, seed=0,
                             shape=Shape(agreements=1, budget=0.2))


@examples(40)
@given(seed=st.integers(0, 10**9))
def test_a_damaged_instance_is_read_into_problems_never_a_crash(generated, tmp_path_factory, seed):
    from planner.instance.loader import load_instance

    rng = random.Random(seed)
    folder = tmp_path_factory.mktemp("damaged") / "inst"
    shutil.copytree(generated, folder)
    done = [corrupt(folder, rng) for _ in range(rng.randint(1, 3))]
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        try:
            load_instance(folder)
        except InstanceError as exc:
            assert exc.problems and all(p.file for p in exc.problems), done
    assert not warned, (done, [f"{w.category.__name__}: {w.message}" for w in warned])


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    from helpers import four_suppliers

    from planner.results.write import write_results
    from planner.solve.pipeline import solve_instance

    base = tmp_path_factory.mktemp("result")
    outcome = solve_instance(four_suppliers(base / "inst"))
    write_results(outcome, base / "res")
    return outcome, base / "res"


@examples(30)
@given(seed=st.integers(0, 10**9))
def test_a_damaged_result_is_read_into_a_results_error_never_a_crash(result, tmp_path_factory, seed):
    from planner.options import SolveOptions
    from planner.results.readback import read_first_stage
    from planner.results.report import render_report
    from planner.results.verify import verify_result
    from planner.results.workbook import workbook_from_results
    from planner.studies.compare import compare_results
    from planner.studies.evaluate import evaluate_plan

    outcome, good = result
    rng = random.Random(seed)
    base = tmp_path_factory.mktemp("damaged")
    folder = base / "res"
    shutil.copytree(good, folder)
    done = [corrupt(folder, rng) for _ in range(rng.randint(1, 3))]
    readers = {"report": lambda: render_report(folder),
               "workbook": lambda: workbook_from_results(folder, base / "w.xlsx"),
               "compare": lambda: compare_results([good, folder]),
               "verify": lambda: verify_result(outcome.data, folder),
               "evaluate": lambda: evaluate_plan(outcome.data, read_first_stage(outcome.data, folder), SolveOptions())}
    for name, read in readers.items():
        with warnings.catch_warnings(record=True) as warned:  # (numpy's, from a chart of an infinite volume)
            warnings.simplefilter("always")
            try:
                read()
            except ResultsError as exc:
                assert str(folder) in str(exc), (name, done)
        assert not warned, (name, done, [f"{w.category.__name__}: {w.message}" for w in warned])
