"""Typed errors. Library code raises these; only the CLI turns them into messages. Likewise a
`Notice`, which library code issues as a Python warning while work goes on, and the command
line shows as a note."""

from __future__ import annotations

import difflib
import math
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as possible.

    `row` counts as a spreadsheet does: the header is row 1, the first record row 2.
    """

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None
    hint: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f":{self.row}"
        if self.column is not None:
            where += f":{self.column}"
        text = f"{where}: "
        if self.value is not None:
            text += f"{self.value!r}: "
        text += self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


# Letters of other scripts drawn as Latin ones (Cyrillic, Greek): text pasted from a Russian or
# Greek document may carry them into a code such as 'CHN', where they look the same
_LOOK_LATIN = str.maketrans("АВСЕНІЈКМОРЅТХУаеіјорсухΑΒΕΖΗΙΚΜΝΟΡΤΥΧον",
                            "ABCEHIJKMOPSTXYaeijopcyxABEZHIKMNOPTYXov")


def _as_seen(text: str) -> str:
    """How `text` looks: letters of other scripts drawn as Latin ones taken as those, invisible
    characters (zero-width spaces, marks) left out."""
    return "".join(c for c in text.translate(_LOOK_LATIN) if unicodedata.category(c) not in ("Cf", "Cc"))


def _unlike(value: str, candidate: str) -> str:
    """The first character of `value` that only looks like `candidate`'s, named ("" when none)."""
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, value, candidate, autojunk=False).get_opcodes():
        for c in value[i1:i2] if tag != "equal" else ():
            if ord(c) > 127 and _as_seen(c) != c or unicodedata.category(c) in ("Cf", "Cc"):
                theirs = candidate[j1:j2][:1]
                where = (f" where it has {theirs!r} (U+{ord(theirs):04X} {unicodedata.name(theirs, '?')})"
                         if theirs and tag == "replace" else "")
                return f" yours holds {c!r} (U+{ord(c):04X} {unicodedata.name(c, 'a control character')}){where}"
    return ""


def did_you_mean(value: str, candidates: list[str] | set[str]) -> str:
    """A hint naming the closest candidate, or "" when none is close. A candidate that looks the
    same as `value` (a letter of another script, an invisible character) is named with the
    character that differs: the two look alike in any message."""
    pool = sorted(candidates)
    folded = {c.casefold(): c for c in pool}
    if value.casefold() in folded:
        return f"did you mean {folded[value.casefold()]!r}?"
    alike = [c for c in pool if _as_seen(c) == _as_seen(value)]
    close = alike[:1] or difflib.get_close_matches(value, pool, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?{_unlike(value, close[0])}" if close else ""


class PlannerError(Exception):
    """Base of every error the planner reports to its users."""


class InstanceError(PlannerError):
    """The instance cannot be read: every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def __reduce__(self) -> tuple:  # (from a worker process: rebuilt from its own arguments)
        return type(self), (self.problems,)


class InputChanged(PlannerError):
    """An input whose files changed while a command used it (a sweep's instance edited while
    the sweep ran): its runs would no longer be of one instance. What was finished is kept."""


class ResultsError(PlannerError):
    """A results folder cannot be read as a planner result (planner verify)."""


class OverrideError(PlannerError):
    """A sweep key that addresses nothing in the instance, or a value that does not fit it."""


class ClusterError(PlannerError):
    """A Dask scheduler that cannot be reached or used."""


class Notice(UserWarning):
    """What the user should know while work goes on (a Dask worker holding it has fallen silent):
    issued with `warnings.warn`, shown by the command line as a note."""


class WorkerLost(PlannerError):
    """A worker process (or a Dask cluster's workers) ended without an answer: killed by the
    out-of-memory killer, or by hand. What was finished is kept."""


class MemoryShortage(PlannerError):
    """The model would need more memory than the machine has available (`planner.memory`):
    refused before it is built."""


class InstallationError(PlannerError):
    """A package planner needs is installed in a version planner cannot trust (`planner.solve.highs`)."""


class OutputError(PlannerError):
    """The results cannot be written where they were asked to go."""


class SolveError(PlannerError):
    """The solver gave no usable plan (infeasible, no solution in time, solver failure)."""

    def __init__(self, status: str, message: str):
        self.status = status
        super().__init__(message)

    def __reduce__(self) -> tuple:
        return type(self), (self.status, str(self))


class PrecisionError(SolveError):
    """HiGHS ended optimal, but its bound proves the best plan only to a larger gap than the one
    asked for, and a branch and bound with strict tolerances proved no more: at the instance's
    magnitudes the bound is not computed more exactly than that. `proven_gap` is the gap that was
    proven, `suggested_gap` a gap to ask for instead (the next power of ten above it)."""

    def __init__(self, proven_gap: float, asked_gap: float):
        self.proven_gap, self.asked_gap = proven_gap, asked_gap
        self.suggested_gap = 10.0 ** math.ceil(math.log10(max(proven_gap, asked_gap) * 1.001))
        super().__init__("solver_error", f"HiGHS ended optimal, but its bound proves the best plan only to a gap "
                         f"of {proven_gap:.3g}, above the {asked_gap:g} asked for, also with strict "
                         f"tolerances: at this instance's magnitudes the bound is not computed more exactly. "
                         f"Ask for --mip-gap {self.suggested_gap:g} or more")

    def __reduce__(self) -> tuple:
        return type(self), (self.proven_gap, self.asked_gap)


SHOWN_REASONS = 12  # reasons in the message; `reasons` holds them all


class InfeasibleError(SolveError):
    """No plan satisfies every constraint; `reasons` says which limits, where known (all of
    them; the message shows the first SHOWN_REASONS and how many more there are)."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        text = "no plan satisfies every constraint"
        if reasons:
            text += ":\n" + "\n".join(f"  {r}" for r in reasons[:SHOWN_REASONS])
            if len(reasons) > SHOWN_REASONS:
                text += (f"\n  ... and {len(reasons) - SHOWN_REASONS} more of the same kinds (every one with "
                         "--json, or in a sweep run's failed.json)")
        super().__init__("infeasible", text)

    def __reduce__(self) -> tuple:
        return type(self), (self.reasons,)
