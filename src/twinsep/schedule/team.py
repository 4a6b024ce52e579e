"""``team.yaml``: people, rooms, tables, equipment and (optionally) tasks.

The file is validated with pydantic; every error names the file, the line and the
field (``team.yaml: line 12, people[3].max_continuous_h: ...``) using the YAML node
marks, and is raised as :class:`twinsep.errors.ConfigError` (exit code 2).

Schema (all durations in minutes, work limits in hours)::

    people:                         # name or role code; real names are never required
      - name: NS-A1
        skills: [neurosurgeon]
        team: A                     # A | B | shared
        max_continuous_h: 12        # longest continuous duty, hand-over included
        handover_min: 15            # time to brief a successor
    rooms: [OR-1, OR-2]
    tables:
      - {name: joint, room: OR-1, twin: joint, fields: 2}   # one table until separation
      - {name: table A, room: OR-1, twin: A, fields: 1}
      - {name: table B, room: OR-2, twin: B, fields: 1}
    equipment: {microscope: 2, navigation: 1, c_arm: 1}
    tasks:                          # optional: default template from the plan's stages
      - name: induction A
        duration_min: [60, 90, 150]   # min, most likely, max (or one number)
        needs: {anaesthetist: 2}      # skill -> count; "skill@A" / "skill@B" pins a team
        equipment: {}
        twin: A                       # A | B | both
        table: joint                  # a table name, or omitted
        fields: 1                     # surgical fields of the table the task occupies
        after: [briefing]             # predecessors (task names)
        separation: false             # true for the separation moment (table split)
    continuous:                     # optional: roles that never leave a twin meanwhile
      - {skill: anaesthetist, twin: A, from: induction A, until: transfer to ICU A}

A task of twin A may be done by people of team A or shared, a task of twin B by team B
or shared, a task of both twins by anyone (a ``skill@A`` need pins that need to team A).

``continuous``: from the start of task ``from`` to the end of task ``until`` one person
with ``skill`` of the twin's team (or shared) is in charge of that twin at every minute
(an anaesthetised infant is never without its anaesthetist), in relays with explicit
hand-overs; while in charge they fill that twin's ``skill`` need of every task they
overlap and do nothing else. The default template declares one per twin for the
anaesthetist, from induction to transfer out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from twinsep.errors import ConfigError
from twinsep.words import counted

logger = logging.getLogger(__name__)

TeamCode = Literal["A", "B", "shared"]
TwinCode = Literal["A", "B", "both"]
TableTwin = Literal["joint", "A", "B"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Person(_Frozen):
    """One member of the operating team (a role code is enough; no real name needed)."""

    name: str = Field(min_length=1, max_length=80)
    skills: tuple[str, ...] = Field(min_length=1)
    team: TeamCode
    max_continuous_h: float = Field(gt=0, le=48)
    handover_min: int = Field(ge=0, le=240)

    @property
    def max_continuous_min(self) -> int:
        """Longest continuous duty in whole minutes (hand-over included)."""
        return int(round(self.max_continuous_h * 60))


class Table(_Frozen):
    """An operating table: ``joint`` until the separation moment, then ``A`` and ``B``."""

    name: str = Field(min_length=1)
    room: str = Field(min_length=1)
    twin: TableTwin
    fields: int = Field(default=1, ge=1, le=8)


class Task(_Frozen):
    """One step of an operation."""

    name: str = Field(min_length=1, max_length=120)
    duration_min: tuple[float, float, float]
    needs: dict[str, int] = Field(default_factory=dict)
    equipment: dict[str, int] = Field(default_factory=dict)
    twin: TwinCode = "both"
    table: str | None = None
    fields: int = Field(default=1, ge=1, le=8)
    after: tuple[str, ...] = ()
    separation: bool = False
    phase: str = ""

    @field_validator("duration_min", mode="before")
    @classmethod
    def _three_durations(cls, v: Any) -> Any:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return (v, v, v)
        return v

    @field_validator("duration_min")
    @classmethod
    def _ordered(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        lo, mode, hi = v
        if not (0 <= lo <= mode <= hi):
            raise ValueError(f"needs 0 <= min <= most likely <= max minutes, got {list(v)}")
        if mode < 1:
            raise ValueError(f"most likely duration must be at least 1 minute, got {mode}")
        if hi > 7 * 24 * 60:
            raise ValueError(f"max duration {hi} min is longer than a week")
        return v

    @field_validator("needs", "equipment")
    @classmethod
    def _positive_counts(cls, v: dict[str, int]) -> dict[str, int]:
        for key, n in v.items():
            if n < 1:
                raise ValueError(f"count for {key!r} must be >= 1, got {n}")
        return v

    @property
    def planned_min(self) -> int:
        """Planning duration: the most likely value, whole minutes."""
        return max(1, int(round(self.duration_min[1])))


class Cover(_Frozen):
    """A continuous role: someone with ``skill`` is in charge of ``twin`` without a gap
    from the start of task ``from_task`` to the end of task ``until_task``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    skill: str = Field(min_length=1)
    twin: Literal["A", "B"]
    from_task: str = Field(alias="from", min_length=1)
    until_task: str = Field(alias="until", min_length=1)

    @property
    def key(self) -> str:
        """The need key this cover fills, e.g. ``anaesthetist@A``."""
        return f"{self.skill}@{self.twin}"

    def serves(self, task: Task, need_key: str) -> bool:
        """Does need ``need_key`` of ``task`` ask for this cover's skill for its twin?"""
        skill, pin = split_need(need_key)
        scope = pin if pin is not None else (task.twin if task.twin in ("A", "B") else None)
        return skill == self.skill and scope == self.twin


class Team(_Frozen):
    """The validated content of ``team.yaml`` (tasks may be empty: template used)."""

    people: tuple[Person, ...] = Field(min_length=1)
    rooms: tuple[str, ...] = Field(min_length=1)
    tables: tuple[Table, ...] = Field(min_length=1)
    equipment: dict[str, int] = Field(default_factory=dict)
    tasks: tuple[Task, ...] = ()
    continuous: tuple[Cover, ...] = ()

    @field_validator("equipment")
    @classmethod
    def _capacities(cls, v: dict[str, int]) -> dict[str, int]:
        for key, n in v.items():
            if n < 0:
                raise ValueError(f"capacity of {key!r} must be >= 0, got {n}")
        return v

    def person(self, name: str) -> Person:
        """The person called ``name`` (KeyError if absent)."""
        for p in self.people:
            if p.name == name:
                return p
        raise KeyError(name)

    def table(self, name: str) -> Table:
        """The table called ``name`` (KeyError if absent)."""
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    def with_tasks(self, tasks: Sequence[Task], continuous: Sequence[Cover] = ()) -> Team:
        """A copy with ``tasks`` and the continuous roles replaced (cross references are
        checked again)."""
        team = self.model_copy(update={"tasks": tuple(tasks), "continuous": tuple(continuous)})
        problems = reference_problems(team)
        if problems:
            loc, msg = problems[0]
            raise ConfigError("tasks", f"{_loc_text(loc)}: {msg}")
        return team


def split_need(key: str) -> tuple[str, str | None]:
    """``"anaesthetist@A"`` -> ``("anaesthetist", "A")``; ``"scrub_nurse"`` -> (.., None)."""
    if "@" in key:
        skill, team = key.rsplit("@", 1)
        return skill, team
    return key, None


# ----------------------------------------------------------------------------
# cross references (names that must exist, uniqueness)
# ----------------------------------------------------------------------------
Loc = tuple[str | int, ...]


def reference_problems(team: Team) -> list[tuple[Loc, str]]:
    """Cross-reference problems as ``(location, message)`` (empty when consistent)."""
    out: list[tuple[Loc, str]] = []

    def dupes(items: Sequence[str], section: str) -> None:
        seen: set[str] = set()
        for i, name in enumerate(items):
            if name in seen:
                out.append(((section, i, "name"), f"duplicate name {name!r}"))
            seen.add(name)

    dupes([p.name for p in team.people], "people")
    dupes([t.name for t in team.tables], "tables")
    dupes([t.name for t in team.tasks], "tasks")
    rooms = set(team.rooms)
    for i, tb in enumerate(team.tables):
        if tb.room not in rooms:
            out.append((("tables", i, "room"), f"room {tb.room!r} is not in rooms {sorted(rooms)}"))
    if sum(1 for tb in team.tables if tb.twin == "joint") > 1:
        out.append((("tables",), "more than one table has twin: joint"))
    tables = {tb.name for tb in team.tables}
    names = {t.name for t in team.tasks}
    for i, t in enumerate(team.tasks):
        if t.table is not None and t.table not in tables:
            out.append((("tasks", i, "table"), f"table {t.table!r} is not one of {sorted(tables)}"))
        for j, pred in enumerate(t.after):
            if pred not in names:
                out.append((("tasks", i, "after", j), f"unknown predecessor task {pred!r}"))
            if pred == t.name:
                out.append((("tasks", i, "after", j), "a task cannot come after itself"))
        for key in t.needs:
            _, pin = split_need(key)
            if pin is not None and pin not in ("A", "B"):
                out.append(
                    (("tasks", i, "needs", key), f"team after '@' must be A or B, got {pin!r}")
                )
        for key in t.equipment:
            if key not in team.equipment:
                out.append(
                    (
                        ("tasks", i, "equipment", key),
                        f"equipment {key!r} is not listed under equipment {sorted(team.equipment)}",
                    )
                )
    seen_cover: set[str] = set()
    for i, c in enumerate(team.continuous):
        for field_name, ref in (("from", c.from_task), ("until", c.until_task)):
            if ref not in names:
                out.append((("continuous", i, field_name), f"unknown task {ref!r}"))
        if c.key in seen_cover:
            out.append((("continuous", i, "skill"), f"{c.key} is declared twice"))
        seen_cover.add(c.key)
    seps = [i for i, t in enumerate(team.tasks) if t.separation]
    if len(seps) > 1:
        out.append((("tasks", seps[1], "separation"), "only one task can be the separation moment"))
    return out


# ----------------------------------------------------------------------------
# loading with line numbers
# ----------------------------------------------------------------------------
def _loc_text(loc: Loc) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "(top level)"


def _node_at(node: yaml.Node | None, loc: Loc) -> yaml.Node | None:
    """Deepest YAML node along ``loc`` (pydantic error location)."""
    best = node
    cur = node
    for part in loc:
        nxt: yaml.Node | None = None
        if isinstance(cur, yaml.MappingNode):
            for k, v in cur.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    nxt = v
                    break
        elif isinstance(cur, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(cur.value):
                nxt = cur.value[part]
        if nxt is None:
            break
        cur = nxt
        best = cur
    return best


def _clean_loc(loc: Sequence[Any]) -> Loc:
    # pydantic adds validator tags such as 'function-after[...]' or '[key]'; drop them.
    return tuple(p for p in loc if isinstance(p, int) or not str(p).startswith(("function-",)))


def parse_team(text: str, *, source: str | Path = "team.yaml") -> Team:
    """Validate the text of a team file.

    Parameters
    ----------
    text : str
        YAML text.
    source : str or Path
        Name used in error messages.

    Returns
    -------
    Team

    Raises
    ------
    ConfigError
        One line naming ``source``, the line number and the field.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, f"{where}not valid YAML ({problem})") from None
    if not isinstance(data, dict):
        raise ConfigError(
            source, "line 1: the team file must be a mapping with people, rooms, tables"
        )
    try:
        team = Team.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _clean_loc(err["loc"])
        node = _node_at(root, loc)
        line = node.start_mark.line + 1 if node is not None else 1
        value = err.get("input")
        shown = "" if isinstance(value, (dict, list)) else f" (got {value!r})"
        more = (
            f"; {counted(len(exc.errors()) - 1, 'more problem')}" if len(exc.errors()) > 1 else ""
        )
        raise ConfigError(
            source, f"line {line}, field {_loc_text(loc)}: {err['msg']}{shown}{more}"
        ) from None
    problems = reference_problems(team)
    if problems:
        loc, msg = problems[0]
        node = _node_at(root, loc)
        line = node.start_mark.line + 1 if node is not None else 1
        raise ConfigError(source, f"line {line}, field {_loc_text(loc)}: {msg}")
    logger.debug(
        "team file %s: %d people, %d tables, %d tasks",
        source,
        len(team.people),
        len(team.tables),
        len(team.tasks),
    )
    return team


def load_team(path: str | Path) -> Team:
    """Read and validate ``team.yaml`` (the file is only read).

    Raises
    ------
    ConfigError
        Missing/unreadable file or invalid content (line and field named).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(p, "team file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(p, f"cannot be read as UTF-8 text ({exc})") from None
    return parse_team(text, source=p)


def team_to_yaml(team: Team) -> str:
    """YAML text of ``team`` (round-trips through :func:`parse_team`)."""
    data = team.model_dump(mode="json", by_alias=True)
    if not data["continuous"]:
        del data["continuous"]
    for t in data["tasks"]:
        if t["table"] is None:
            del t["table"]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
