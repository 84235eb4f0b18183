"""The README stays true: its format table is the schema's, its quickstart commands exist."""

from __future__ import annotations

from helpers import REPO

from planner.schema import README_END, README_START, markdown_tables


def test_readme_format_table_is_generated_from_the_schema():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split(README_START, 1)[1].split(README_END, 1)[0]
    assert section.strip() == markdown_tables().strip(), "run: python -m planner.schema README.md"


def test_quickstart_is_the_first_shell_block():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("```bash", 1)[1].split("```", 1)[0]
    assert "pip install -e . && planner solve" in block
    assert 'pip install -e ".[test]" && pytest' in block
