"""Typed errors. Library code raises these; only the CLI turns them into messages."""

from __future__ import annotations

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


class PlannerError(Exception):
    """Base of every error the planner reports to its users."""


class InstanceError(PlannerError):
    """The instance cannot be read: every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def __reduce__(self) -> tuple:  # (from a worker process: rebuilt from its own arguments)
        return type(self), (self.problems,)


class ResultsError(PlannerError):
    """A results folder cannot be read as a planner result (planner verify)."""


class OverrideError(PlannerError):
    """A sweep key that addresses nothing in the instance, or a value that does not fit it."""


class ClusterError(PlannerError):
    """A Dask scheduler that cannot be reached or used."""


class OutputError(PlannerError):
    """The results cannot be written where they were asked to go."""


class SolveError(PlannerError):
    """The solver gave no usable plan (infeasible, no solution in time, solver failure)."""

    def __init__(self, status: str, message: str):
        self.status = status
        super().__init__(message)

    def __reduce__(self) -> tuple:
        return type(self), (self.status, str(self))


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
