"""The instances that ship with planner, found whether installed or run from a checkout."""

from __future__ import annotations

from pathlib import Path

from planner.errors import InstanceError, Problem
from planner.paths import unusable

DEFAULT_INSTANCE = "us-critical-minerals"


def bundled_dir() -> Path:
    """Folder of bundled instances: inside the wheel, or `instances/` of the checkout."""
    package = Path(__file__).resolve().parent.parent  # planner/
    packaged = package / "_instances"
    return packaged if packaged.is_dir() else package.parent / "instances"


def bundled_names() -> list[str]:
    folder = bundled_dir()
    return sorted(p.name for p in folder.iterdir() if (p / "instance.toml").is_file()) if folder.is_dir() else []


def resolve_instance(argument: str | None) -> Path:
    """The folder an INSTANCE argument names: a path, or else the name of a bundled instance."""
    if argument is None:
        return bundled_dir() / DEFAULT_INSTANCE
    path = Path(argument)
    reason = unusable(path)  # (a name too long, a loop of links: the loader's checks would raise it)
    if reason:
        raise InstanceError([Problem(argument, f"cannot be used as a path: {reason}")])
    if not path.exists() and argument in bundled_names():
        return bundled_dir() / argument
    return path


def instance_description(name: str) -> str:
    """The `description` of a bundled instance's instance.toml ("" when it has none)."""
    import tomllib

    try:
        settings = tomllib.loads((bundled_dir() / name / "instance.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    description = settings.get("description", "")
    return description if isinstance(description, str) else ""
