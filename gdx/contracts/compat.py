"""Schema evolution rules for contracts, with Confluent Schema Registry semantics.

- BACKWARD: consumers using the NEW contract can read data written under the OLD one. Allowed:
  delete properties, add optional properties, widen enums/ranges/lengths, integer→number.
  Violations: added required property, optional→required, narrowed enum/range/length, added or
  changed pattern, other type changes.
- FORWARD: consumers using the OLD contract can read data written under the NEW one. Allowed: add
  properties, delete optional properties, narrow. Violations: removed required property,
  required→optional, widened enum/range/length, removed or changed pattern, type changes
  (including integer→number: an old integer reader cannot take 2.5).
- FULL: both. `*_TRANSITIVE`: against every earlier version of the same major (the history in
  `contracts/_history/<agency>/<dataset>/<version>.yaml` plus the current file), not only the
  latest. NONE: nothing is checked.

A change that breaks the contract's own mode needs a new major version, and so a new topic
(`gdx.<agency>.<dataset>.v<major>`); once the major is bumped, compatibility with the previous
major is not required and is reported as `info`. Every violation names the property and why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gdx.contracts.model import COMPATIBILITY_MODES, Contract, Property, load_contract

ERROR = "error"
INFO = "info"
_TYPE_WIDENING = {("integer", "number")}  # old → new that a new reader accepts


@dataclass(frozen=True)
class Violation:
    """One reason a new contract version is incompatible (or, severity info, a note about it)."""

    path: str
    """The property (`properties.<name>`) or contract element the violation is about."""
    reason: str
    rule: str
    direction: str = ""
    """BACKWARD (new readers, old data) or FORWARD (old readers, new data); "" for version rules."""
    against: str = ""
    """Version of the earlier contract compared with."""
    severity: str = ERROR

    def __str__(self) -> str:
        parts = [f"{self.path}: {self.reason}"]
        if self.direction:
            parts.append(f"[{self.direction}]")
        if self.against:
            parts.append(f"(vs {self.against})")
        if self.severity != ERROR:
            parts.insert(0, f"{self.severity}:")
        return " ".join(parts)


def is_compatible(violations: Iterable[Violation]) -> bool:
    return not any(v.severity == ERROR for v in violations)


def _directions(mode: str) -> tuple[str, ...]:
    mode = mode.upper()
    if mode not in COMPATIBILITY_MODES:
        raise ValueError(f"unknown compatibility mode {mode!r}; one of {', '.join(COMPATIBILITY_MODES)}")
    base = mode.removesuffix("_TRANSITIVE")
    return {"BACKWARD": ("BACKWARD",), "FORWARD": ("FORWARD",), "FULL": ("BACKWARD", "FORWARD"), "NONE": ()}[
        base
    ]


def _fmt(values: Iterable[Any]) -> str:
    return ", ".join(str(v) for v in values)


def _bound_cmp(a: Any, b: Any) -> int | None:
    """-1/0/1 comparing two bounds of the same kind; None if incomparable."""
    try:
        if isinstance(a, int | float) and isinstance(b, int | float):
            return (a > b) - (a < b)
        sa, sb = str(a), str(b)
        return (sa > sb) - (sa < sb)
    except TypeError:
        return None


def _property_changes(old: Property, new: Property) -> list[tuple[str, str, str]]:
    """(direction that breaks, rule, reason) for one property present in both versions."""
    out: list[tuple[str, str, str]] = []
    name = old.name
    if old.logical_type != new.logical_type:
        change = f"type changed {old.logical_type}→{new.logical_type}"
        if (old.logical_type, new.logical_type) in _TYPE_WIDENING:
            out.append(("FORWARD", "type", f"{change} (old readers expect {old.logical_type})"))
        elif (new.logical_type, old.logical_type) in _TYPE_WIDENING:
            out.append(("BACKWARD", "type", f"{change} (old data may hold non-integer numbers)"))
        else:
            out.append(("BACKWARD", "type", change))
            out.append(("FORWARD", "type", change))
    incompatible_type = old.logical_type != new.logical_type and not (
        {(old.logical_type, new.logical_type), (new.logical_type, old.logical_type)} & _TYPE_WIDENING
    )
    if new.required and not old.required:
        out.append(
            ("BACKWARD", "required", f"made property {name} required (was optional; old data may lack it)")
        )
    if old.required and not new.required:
        out.append(
            ("FORWARD", "required", f"made property {name} optional (was required; old readers need it)")
        )
    if incompatible_type:
        return out  # enums, ranges and patterns of different types are not comparable: the type says it all

    if old.enum is not None and new.enum is not None:
        removed = [v for v in old.enum if v not in new.enum]
        added = [v for v in new.enum if v not in old.enum]
        if removed:
            out.append(("BACKWARD", "enum", f"narrowed enum {name} (removed: {_fmt(removed)})"))
        if added:
            out.append(("FORWARD", "enum", f"widened enum {name} (added: {_fmt(added)})"))
    elif old.enum is None and new.enum is not None:
        out.append(
            (
                "BACKWARD",
                "enum",
                f"narrowed enum {name} (added an enum: {_fmt(new.enum)}; old data may hold other values)",
            )
        )
    elif old.enum is not None and new.enum is None:
        out.append(("FORWARD", "enum", f"widened enum {name} (removed the enum {_fmt(old.enum)})"))

    for label, o, n, narrower_if in (
        ("minimum", old.minimum, new.minimum, 1),
        ("maximum", old.maximum, new.maximum, -1),
        ("minLength", old.min_length, new.min_length, 1),
        ("maxLength", old.max_length, new.max_length, -1),
    ):
        rule = "length" if "Length" in label else "range"
        what = "length" if rule == "length" else "range"
        if o == n:
            continue
        if o is None:
            out.append(("BACKWARD", rule, f"narrowed {what} of {name}: added {label} {n}"))
        elif n is None:
            out.append(("FORWARD", rule, f"widened {what} of {name}: removed {label} {o}"))
        else:
            cmp = _bound_cmp(n, o)
            if cmp is None or cmp == 0:
                continue
            if cmp == narrower_if:
                out.append(("BACKWARD", rule, f"narrowed {what} of {name}: {label} {o}→{n}"))
            else:
                out.append(("FORWARD", rule, f"widened {what} of {name}: {label} {o}→{n}"))

    if old.pattern != new.pattern:
        if old.pattern is None:
            out.append(
                ("BACKWARD", "pattern", f"added pattern to {name} ({new.pattern}; old data may not match)")
            )
        elif new.pattern is None:
            out.append(
                (
                    "FORWARD",
                    "pattern",
                    f"removed pattern of {name} (was {old.pattern}; old readers rely on it)",
                )
            )
        else:
            reason = f"changed pattern of {name}: {old.pattern} → {new.pattern}"
            out.append(("BACKWARD", "pattern", reason))
            out.append(("FORWARD", "pattern", reason))
    return out


def schema_violations(old: Contract, new: Contract, mode: str) -> list[Violation]:
    """Structural violations of `new` against `old` under `mode` (no versioning rules)."""
    directions = _directions(mode)
    if not directions:
        return []
    found: list[Violation] = []
    old_props = {p.name: p for p in old.properties}
    new_props = {p.name: p for p in new.properties}

    def add(direction: str, path: str, rule: str, reason: str) -> None:
        if direction in directions:
            found.append(Violation(path, reason, rule, direction, old.version))

    for name, prop in new_props.items():
        if name not in old_props and prop.required:
            add(
                "BACKWARD",
                f"properties.{name}",
                "added-required",
                f"added required property {name} (old data lacks it)",
            )
    for name, prop in old_props.items():
        if name not in new_props and prop.required:
            add(
                "FORWARD",
                f"properties.{name}",
                "removed-required",
                f"removed required property {name} (old readers need it)",
            )
    for name, prop in old_props.items():
        if name in new_props:
            for direction, rule, reason in _property_changes(prop, new_props[name]):
                add(direction, f"properties.{name}", rule, reason)
    return found


def _semver(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))


def check_compat(old: Contract, new: Contract, mode: str | None = None) -> list[Violation]:
    """Every violation of `new` against `old` under `mode` (default: the new contract's mode).

    Versioning rules are included: a change that breaks the mode within the same major is an
    error asking for the next major and topic; across a major bump the structural findings are
    downgraded to `info` (the new major is a new topic, so compatibility is not required).
    """
    mode = (mode or new.compatibility).upper()
    found = schema_violations(old, new, mode)
    out: list[Violation] = []
    if new.major > old.major:
        out.append(
            Violation(
                "version",
                f"major version bumped {old.version}→{new.version} (topic {new.topic or '-'}): "
                f"compatibility with v{old.major} is not required",
                "major-bump",
                against=old.version,
                severity=INFO,
            )
        )
        out += [Violation(v.path, v.reason, v.rule, v.direction, v.against, INFO) for v in found]
        return out
    out += found
    if new.major < old.major:
        out.append(
            Violation(
                "version",
                f"version {new.version} is older than {old.version}",
                "version",
                against=old.version,
            )
        )
    elif found:
        next_major = old.major + 1
        out.append(
            Violation(
                "version",
                f"breaking change under {mode}: bump the version to {next_major}.0.0 and the topic to "
                f"gdx.{new.agency}.{new.dataset}.v{next_major}",
                "major-required",
                against=old.version,
            )
        )
    if new.major == old.major and new.topic != old.topic:
        out.append(
            Violation(
                "kafkaTopic",
                f"topic changed {old.topic}→{new.topic} without a major version bump",
                "topic",
                against=old.version,
            )
        )
    return out


def check_against_history(new: Contract, history: list[Contract], mode: str | None = None) -> list[Violation]:
    """Check `new` against earlier versions: the latest one, or all of them for `*_TRANSITIVE`.

    `history` holds earlier versions (any order; versions ≥ new's are ignored). Transitive modes
    check every earlier version of the latest earlier major (Confluent checks every version of
    the subject, and a new major is a new topic, hence a new subject).
    """
    mode = (mode or new.compatibility).upper()
    _directions(mode)
    earlier = sorted(
        (c for c in history if _semver(c.version) < _semver(new.version)), key=lambda c: _semver(c.version)
    )
    if not earlier:
        return []
    latest = earlier[-1]
    if not mode.endswith("_TRANSITIVE") or new.major > latest.major:
        return check_compat(latest, new, mode)
    out: list[Violation] = []
    for old in earlier:
        if old.major == latest.major:
            out += [v for v in check_compat(old, new, mode) if v.rule not in {"major-required"}]
    if any(v.severity == ERROR for v in out):
        next_major = latest.major + 1
        out.append(
            Violation(
                "version",
                f"breaking change under {mode}: bump the version to {next_major}.0.0 and the topic to "
                f"gdx.{new.agency}.{new.dataset}.v{next_major}",
                "major-required",
                against=latest.version,
            )
        )
    return out


def history_dir(contract: Contract, contracts_dir: Path | str | None = None) -> Path:
    if contracts_dir is None:
        from gdx.settings import Settings

        contracts_dir = Settings.from_env().contracts_dir
    return Path(contracts_dir) / "_history" / contract.agency / contract.dataset


def load_history(contract: Contract, contracts_dir: Path | str | None = None) -> list[Contract]:
    """Earlier versions kept in `contracts/_history/<agency>/<dataset>/<version>.yaml`, oldest first."""
    folder = history_dir(contract, contracts_dir)
    found = [load_contract(p) for p in sorted(folder.glob("*.yaml"))] if folder.is_dir() else []
    return sorted(found, key=lambda c: _semver(c.version))
