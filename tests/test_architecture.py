"""The package's shape: no import cycles, light modules stay light, one module per constraint.

- No module imports (at module level) a module that imports it back, directly or not.
- `planner.instance`, `planner.results` (verify included) and the command line load
  without HiGHS, Pyomo or matplotlib: `planner --help` and `planner validate` never load them.
- Every constraint number of docs/model.md is found in exactly one family module.
- Pyomo is imported only through `planner.model.pyomo_import`, so a solve never loads scipy.stats
  (more than a second of every command's start).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import pytest
from helpers import REPO

PACKAGE = REPO / "planner"
HEAVY = ("highspy", "pyomo", "matplotlib", "scipy", "openpyxl", "xlsxwriter", "distributed")


def _module_name(path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_level_imports(path) -> set[str]:
    """planner modules imported at module level (not under TYPE_CHECKING, not inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(nodes) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name.startswith("planner"))
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("planner"):
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
    visit(tree.body)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        graph[name] = {m for m in _module_level_imports(path) if m in modules and m != name}
    return graph


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                walk(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node, [node])
    assert not cycles, f"import cycles: {cycles}"


def _printed(code: str) -> list[str]:
    """What `code` prints when run by a fresh Python in the repository, split into words."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=REPO).stdout.split()


def _loaded_after(statement: str) -> set[str]:
    return set(_printed(f"import sys; {statement}; print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"))


@pytest.mark.parametrize("statement", [
    "import planner.instance.loader, planner.instance.data, planner.instance.overrides, planner.instance.events",
    "import planner.results.plan, planner.results.write, planner.results.verify, planner.results.ownership, "
    "planner.results.folder, planner.results.terminal",
    "import planner.model.families",
    "import planner.cli",
])
def test_light_modules_load_without_the_solver_stack(statement):
    heavy = _loaded_after(statement) & set(HEAVY)
    assert not heavy, f"{statement} loads {sorted(heavy)}"


def test_help_and_validate_load_no_solver_stack():
    code = ("import sys; from click.testing import CliRunner; from planner import cli; "
            "r = CliRunner().invoke(cli.main, ['--help']); assert r.exit_code == 0; "
            "r = CliRunner().invoke(cli.main, ['validate', 'us-critical-minerals']); "
            "assert r.exit_code == 0, r.output; "
            "print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))")
    assert not set(_printed(code)) & {"highspy", "pyomo", "matplotlib"}


def test_pyomo_is_imported_only_through_pyomo_import():
    importers = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(name == "pyomo" or name.startswith("pyomo.") for name in names):
                importers.append(_module_name(path))
    assert sorted(set(importers)) == ["planner.model.pyomo_import"]


def test_a_solve_does_not_load_scipy_stats():
    """Pyomo's hook would import scipy.stats with scipy (`planner.model.pyomo_import`); the solve
    goes through the compiler, the decomposition (scipy.sparse) and the plan check."""
    import pyomo.common.dependencies

    if not hasattr(pyomo.common.dependencies, "_finalize_scipy"):
        pytest.skip("this Pyomo has no scipy hook to replace")
    code = ("import sys; from planner.solve.pipeline import solve_instance; "
            "from planner.instance.bundled import resolve_instance; "
            "from planner.options import SolveOptions; "
            "out = solve_instance(resolve_instance('four-suppliers'), SolveOptions(threads=1)); "
            "assert out.report.has_plan; print('scipy.sparse' in sys.modules, 'scipy.stats' in sys.modules)")
    assert _printed(code) == ["True", "False"]


def test_every_constraint_number_is_in_exactly_one_family_module():
    numbers: dict[str, list[str]] = {}
    for path in (PACKAGE / "model").glob("*.py"):
        for match in re.finditer(r'^NUMBER, TITLE, FIRST_STAGE = "(\d+)"', path.read_text(encoding="utf-8"), re.M):
            numbers.setdefault(match.group(1), []).append(path.name)
    documented = re.findall(r"^(\d+)\. \*\*", (REPO / "docs" / "model.md").read_text(encoding="utf-8"), re.M)
    assert documented and sorted(numbers, key=int) == documented
    assert all(len(files) == 1 for files in numbers.values()), numbers

    from planner.model.families import FAMILIES

    assert [f.NUMBER for f in FAMILIES] == documented
