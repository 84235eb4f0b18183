"""The documentation stays true and a clone stands alone.

The format tables of docs/model.md are the schema's; the README's quickstart commands are
its first shell block; README, docs, NOTES.md and every --help refer only to files of the
repository (never to ../shared or a MODEL.md outside it), and every repository path they
name exists.
"""

from __future__ import annotations

import fnmatch
import json
import re

import pytest
from click.testing import CliRunner
from helpers import REPO

from planner import cli
from planner.instance.schema import TABLES_END, TABLES_START, markdown_tables

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), *sorted((REPO / "instances").glob("*/NOTES.md"))]
OUTSIDE = re.compile(r"\.\./shared|shared/reference|shared/MODEL|\bMODEL\.md\b")
PATH = re.compile(r"`([A-Za-z0-9_.\-/]+\.(?:py|md|csv|toml|json|png|html|xlsx))`|\]\(([^)#\s]+)\)")
REPO_FOLDERS = ("planner/", "tests/", "benchmarks/", "docs/", "instances/", ".ci/")


def test_format_tables_are_generated_from_the_schema():
    doc = (REPO / "docs" / "model.md").read_text(encoding="utf-8")
    section = doc.split(TABLES_START, 1)[1].split(TABLES_END, 1)[0]
    assert section.strip() == markdown_tables().strip(), "run: python -m planner.instance.schema docs/model.md"


def test_quickstart_is_the_first_shell_block():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("```bash", 1)[1].split("```", 1)[0]
    assert "pip install -e . && planner solve" in block
    assert 'pip install -e ".[test]" && pytest' in block


def test_the_readme_shows_what_planner_solve_prints(tmp_path, monkeypatch):
    """The README's sample of `planner solve` (the bundled instance) is what it prints, line for
    line but the seconds: its contracts were those of another of the instance's optimal plans
    (the same objective, heavy REE split otherwise) for several stops after the code changed."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    sample = readme.split("$ planner solve\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.main, ["solve"])
    assert result.exit_code == 0, result.output

    def without_seconds(text: str) -> list[str]:
        return [re.sub(r" \([0-9.]+ s\)$", "", line) for line in text.strip().splitlines()]

    shown = without_seconds(sample)
    notes = [line for line in shown if line.startswith(("note:", "solving "))]  # (stderr; progress between)
    assert notes == shown[:len(notes)] and notes == [line for line in result.stderr.splitlines() if line in notes]
    assert without_seconds(result.stdout) == shown[len(notes):]


def test_the_readme_shows_what_planner_compare_prints(tmp_path, monkeypatch):
    """The README's sample of `planner compare` (two runs of its sweep of the China cap) begins
    as it prints: it named a contract added that the run no longer takes (another optimum)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    sample = readme.split("$ planner compare study-china/runs/", 1)[1].split("```", 1)[0]
    shown = [line for line in sample.splitlines()[1:] if line.strip() != "..."]
    monkeypatch.chdir(tmp_path)
    swept = CliRunner().invoke(cli.main, ["sweep", "us-critical-minerals", "--vary",
                                          "limits.bloc:china:*.max_share=0.5,1", "--out", "study-china", "-q"])
    assert swept.exit_code == 0, swept.output
    runs = {json.loads((run / "summary.json").read_text())["sweep_values"]["limits.bloc:china:*.max_share"]: run
            for run in (tmp_path / "study-china" / "runs").glob("*/")}
    result = CliRunner().invoke(cli.main, ["compare", str(runs[0.5]), str(runs[1])])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:len(shown)] == shown


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_docs_name_only_files_of_the_repository(doc):
    text = doc.read_text(encoding="utf-8")
    assert not OUTSIDE.findall(text), f"{doc.name} refers outside the repository: {OUTSIDE.findall(text)}"
    missing = []
    for match in PATH.finditer(text):
        name = match.group(1) or match.group(2)
        if name.startswith(("http:", "https:", "mailto:")) or any(c in name for c in "<>*"):
            continue
        repo_path = name.startswith(REPO_FOLDERS) or match.group(2) is not None or name.endswith(".md")
        local = doc.parent / name
        if local.exists() or (REPO / name).exists():
            continue
        if repo_path:
            missing.append(name)
    assert not missing, f"{doc.name} names files that do not exist: {missing}"


def _help_texts() -> list[str]:
    runner = CliRunner()
    texts = [runner.invoke(cli.main, ["--help"]).output]
    for name in cli.main.commands:
        texts.append(runner.invoke(cli.main, [name, "--help"]).output)
    return texts


def test_help_refers_only_to_files_of_the_repository():
    for text in _help_texts():
        assert not OUTSIDE.findall(text), text
        for name in re.findall(r"\b(docs/[\w.\-/]+\.md)\b", text):
            assert (REPO / name).exists(), name


def test_the_exit_code_table_lists_every_exit_code_and_only_those():
    """README's "When something goes wrong" table against the command line's EXIT_ constants."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("| exit code | meaning |", 1)[1].split("\n\n", 1)[0]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", section, flags=re.MULTILINE)}
    codes = {getattr(cli, name) for name in dir(cli) if name.startswith("EXIT_")}
    assert documented == codes


def test_the_size_limits_in_help_and_readme_are_the_codes():
    """`planner generate`'s size limit and --samples' maximum, written in prose in --help and the
    README, against the constants the command line enforces."""
    from planner.instance.schema import MAX_GENERATED_SIZE, MAX_SCENARIOS_FROM_EVENTS

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    generate_help = CliRunner().invoke(cli.main, ["generate", "--help"]).output
    assert f"{MAX_GENERATED_SIZE:,}" in " ".join(generate_help.split())
    assert f"= {MAX_GENERATED_SIZE:,}, about" in " ".join(readme.split())
    assert f"`--samples` above {MAX_SCENARIOS_FROM_EVENTS:,}" in " ".join(readme.split())


KNOWN_TOP_LEVEL = {"README.md", "pyproject.toml", "docs", "results", ".ci", ".gitignore"}


def test_the_top_level_holds_only_what_the_readme_lays_out():
    """A folder left at the top by a manual run (a results folder, a generated instance) fails.

    The folder itself is read, less what .gitignore keeps out (the virtual environment, caches),
    so a stray folder fails before it is committed.
    """
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Development", 1)[1].split("```", 2)[1]
    laid_out = {line.split()[0].rstrip("/") for line in layout.splitlines() if line and not line[0].isspace()}
    patterns = [line.rstrip("/") for line in (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()]
    ignored = [".git", *(p for p in patterns if p and "/" not in p and not p.startswith(("!", "#")))]
    entries = {path.name for path in REPO.iterdir() if not any(fnmatch.fnmatch(path.name, p) for p in ignored)}
    stray = sorted(entries - laid_out - KNOWN_TOP_LEVEL)
    assert not stray, f"the top of the repository holds {stray}, which README's layout does not name"
