"""instance.toml: every setting of the format (`planner.instance.schema.SETTINGS`) read by its
key, its default where it is absent or cannot be read, each problem named by key and value."""

from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path

from planner.errors import Problem, did_you_mean
from planner.formatting import unshowable
from planner.instance.csvfile import as_one_text
from planner.instance.schema import SETTINGS, Setting
from planner.paths import stand_in, what_is_at


def read_settings(path: Path, file: str, problems: list[Problem], warnings: list[Problem]) -> dict:
    """Every setting of instance.toml by key: its value, or its default where it is absent or
    cannot be read (the problems say why)."""
    settings: dict = {s.key: copy.copy(s.default) for s in SETTINGS}
    found = what_is_at(path)
    if found == "nothing":
        meant = stand_in(path.parent, path.name)
        problems.append(Problem(file, "is missing", hint=meant[1] if meant else "every instance folder needs "
                                "instance.toml"))
        return settings
    if found == "other":
        problems.append(Problem(file, "is not a regular file", hint="expected the text file instance.toml"))
        return settings
    try:
        doc = tomllib.loads(as_one_text(path.read_text(encoding="utf-8-sig")))
    except OSError as exc:
        problems.append(Problem(file, f"cannot be read: {exc.strerror or exc}"))
        return settings
    except UnicodeDecodeError:
        problems.append(Problem(file, "is not UTF-8 text"))
        return settings
    except tomllib.TOMLDecodeError as exc:
        problems.append(Problem(file, f"is not valid TOML: {exc}"))
        return settings
    except ValueError:  # tomllib's int() of a number too long for Python to read
        problems.append(Problem(file, "holds a whole number too long to read (more than 4,300 digits)"))
        return settings

    known_top = {s.key.split(".")[0] for s in SETTINGS}
    for key in doc:
        if key not in known_top:
            warnings.append(Problem(file, "key is not part of the format and is ignored", column=key,
                                    hint=did_you_mean(key, known_top)))
    for s in SETTINGS:
        head, _, tail = s.key.partition(".")
        holder = doc.get(head) if tail else doc
        if tail and holder is not None and not isinstance(holder, dict):
            problems.append(Problem(file, f"expected a table [{head}]", column=head))
            continue
        value = (holder or {}).get(tail or head)
        if value is None:
            if s.required:
                problems.append(Problem(file, "is required", column=s.key))
            continue
        settings[s.key] = _check_setting(value, s, file, problems)
    if isinstance(settings.get("name"), str):
        _check_name(settings["name"], file, problems)
    for table_name in sorted({s.key.partition(".")[0] for s in SETTINGS if "." in s.key}):
        sub = doc.get(table_name)
        if isinstance(sub, dict):
            allowed = {s.key.split(".")[1] for s in SETTINGS if s.key.startswith(table_name + ".")}
            for key in sub:
                if key not in allowed:
                    warnings.append(Problem(file, "key is not part of the format and is ignored",
                                            column=f"{table_name}.{key}", hint=did_you_mean(key, allowed)))
    return settings


def _check_name(name: str, file: str, problems: list[Problem]) -> None:
    """The name is also the default results folder, results/<name>: it must not be a path."""
    unsafe = (name in (".", "..") or name.startswith(".") or any(c in name for c in '/\\\x00')
              or any(ord(c) < 32 for c in name) or Path(name).is_absolute())
    if unsafe:
        problems.append(Problem(file, "expected a name that is a plain folder name: no '/', '\\', control "
                                "characters or leading '.' (the default results folder is results/<name>)",
                                column="name", value=name))


def _finite_number(value: object) -> float | None:
    """A TOML number as a finite float; None for anything else (text, true, a date, nan, inf, or a
    whole number too large for a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _toml_text(value: object) -> str:
    """A value of instance.toml as it is written there (true, not Python's True), cut short when long."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list):
        text = "[" + ", ".join(_toml_item(v) for v in value) + "]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k} = {_toml_item(v)}" for k, v in value.items()) + "}"
    else:
        text = str(value)
    return text if len(text) <= 40 else f"{text[:30]}... ({len(text)} characters)"


def _toml_item(value: object) -> str:
    """An item of a TOML array or inline table as written there (text quoted)."""
    return repr(value) if isinstance(value, str) else _toml_text(value)


def _check_setting(value: object, s: Setting, file: str, problems: list[Problem]) -> object:
    if s.kind == "text":
        if not isinstance(value, str) or (s.required and not value.strip()):
            problems.append(Problem(file, "expected non-empty text", column=s.key, value=_toml_text(value)))
            return s.default
        if held := unshowable(value):
            problems.append(Problem(file, f"{held}, which no spreadsheet or report can show",
                                    column=s.key, value=_toml_text(value)))
            return s.default
        return value.strip()
    if s.kind == "choice":
        if not isinstance(value, str) or value.strip() not in s.choices:
            problems.append(Problem(file, f"expected {' or '.join(repr(c) for c in s.choices)}", column=s.key,
                                    value=_toml_text(value)))
            return s.default
        return value.strip()
    if s.kind == "table":
        if not isinstance(value, dict):
            problems.append(Problem(file, "expected a table", column=s.key, value=_toml_text(value)))
            return {}
        return value
    if s.kind == "periods":
        if not isinstance(value, list) or not value:
            problems.append(Problem(file, "expected a non-empty list of period labels", column=s.key,
                                    value=_toml_text(value)))
            return ()
        labels = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, (str, int)) or not str(item).strip():
                problems.append(Problem(file, "expected period labels as text or whole numbers",
                                        column=s.key, value=_toml_text(item)))
                continue
            label = str(item).strip()
            if held := unshowable(label):
                problems.append(Problem(file, f"{held}, which no spreadsheet or report can show",
                                        column=s.key, value=_toml_text(item)))
                continue
            if label in labels:
                problems.append(Problem(file, "period label appears twice", column=s.key, value=label))
            labels.append(label)
        return tuple(labels)
    number = _finite_number(value)
    if number is None:
        problems.append(Problem(file, "expected a finite number", column=s.key, value=_toml_text(value)))
        return s.default
    low_ok = s.lower is None or number >= s.lower
    high_ok = s.upper is None or (number < s.upper if s.upper_open else number <= s.upper)
    if not (low_ok and high_ok):
        if s.upper is None:
            expected = f">= {s.lower:g}"
        else:
            expected = f"in [{s.lower:g}, {s.upper:g}{')' if s.upper_open else ']'}"
        problems.append(Problem(file, f"expected a number {expected}", column=s.key, value=_toml_text(value)))
        return s.default
    if s.kind == "integer":
        if number != int(number):
            problems.append(Problem(file, "expected a whole number", column=s.key, value=_toml_text(value)))
            return s.default
        return int(number)
    return number
