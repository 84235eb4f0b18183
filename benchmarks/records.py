"""What the benchmark scripts share: one measurement in a process of its own, and the figures
files under results/ they append to."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def measure(command: list[str], label: str) -> dict | None:
    """Run `command` (a script's `--one` mode) in its own process; the JSON object it prints on its
    last line, or None (with its error output) when it failed."""
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        print(f"{label}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def scenarios_written(instance: Path, into: Path) -> Path:
    """A copy of `instance` at `into` with the scenarios planner derives from its events.csv
    written beside it (`planner scenarios --into-instance`): what a reader of scenarios.csv
    alone, as the independent build is, needs. `subprocess.CalledProcessError` when planner
    refuses."""
    shutil.copytree(instance, into)
    subprocess.run([sys.executable, "-m", "planner.cli", "scenarios", str(into), "--into-instance", "-q"],
                   check=True, capture_output=True, cwd=REPO)
    return into


def append_rows(out: Path, rows: list[dict], columns: list[str]) -> None:
    """Append to a figures file, in its own line endings; one written with other columns is
    rewritten with `columns` (new columns empty in its old rows)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    old: list[dict] = []
    ending = "\n"
    if out.exists():
        with open(out, "rb") as fh:
            ending = "\r\n" if fh.readline().endswith(b"\r\n") else "\n"
        with open(out, newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames != columns:
                old = list(reader)
    mode = "w" if old or not out.exists() else "a"
    with open(out, mode, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore", lineterminator=ending)
        if mode == "w":
            writer.writeheader()
            writer.writerows(old)
        writer.writerows(rows)
