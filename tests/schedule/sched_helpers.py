"""Helpers of the schedule tests: small teams, stage lists, fast solver settings."""

from __future__ import annotations

from twinsep.schedule import (
    SolveParams,
    StageInput,
)
from twinsep.schedule.team import Cover, Person, Table, Task, Team

#: Small budgets: every test solve stays well under 5 s on a loaded 2-core machine.
# the wall limit is a backstop: the deterministic budgets end every search, so the
# result does not depend on the load of the machine running the tests
FAST = SolveParams(time_limit_s=60.0, deterministic_s=0.5, balance_deterministic_s=0.05)


def sep_stages(n: int, area_mm2: float = 400.0) -> list[StageInput]:
    return [
        StageInput(
            number=i + 1,
            name=f"venous division {i + 1}",
            kind="separation",
            structures=(f"shared superior sagittal sinus segment {i + 1}",),
            area_mm2=area_mm2,
        )
        for i in range(n)
    ]


def person(name: str, skill: str, team: str = "shared", hours: float = 12.0, ho: int = 0) -> Person:
    return Person(
        name=name,
        skills=(skill,),
        team=team,
        max_continuous_h=hours,
        handover_min=ho,  # type: ignore[arg-type]
    )


def small_team(
    people: list[Person], tasks: list[Task], equipment: dict[str, int] | None = None
) -> Team:
    return Team(
        people=tuple(people),
        rooms=("OR-1",),
        tables=(
            Table(name="joint", room="OR-1", twin="joint", fields=2),
            Table(name="table A", room="OR-1", twin="A", fields=1),
            Table(name="table B", room="OR-1", twin="B", fields=1),
        ),
        equipment=equipment or {},
        tasks=tuple(tasks),
    )


def twin_a_day(
    step: tuple[float, float, float], anaesthetists: int = 3, hours: float = 12.0
) -> Team:
    """Twin A anaesthetised from induction (30 min) through four steps of duration
    ``step`` (min, most likely, max) to transfer out (30 min), its anaesthetist in
    charge throughout (a continuous role); ``anaesthetists`` of team A with ``hours``
    limits and 15-min hand-overs, two neurosurgeons (24 h)."""
    tasks = [Task(name="induction A", duration_min=30, needs={"anaesthetist": 1}, twin="A")]
    prev = "induction A"
    for i in range(4):
        tasks.append(
            Task(
                name=f"step {i}",
                duration_min=step,
                needs={"anaesthetist": 1, "neurosurgeon": 1},
                twin="A",
                after=(prev,),
            )
        )
        prev = f"step {i}"
    tasks.append(
        Task(name="transfer A", duration_min=30, needs={"anaesthetist": 1}, twin="A", after=(prev,))
    )
    people = [
        person(f"AN-A{i}", "anaesthetist", team="A", hours=hours, ho=15)
        for i in range(1, anaesthetists + 1)
    ]
    people += [person(f"NS-{i}", "neurosurgeon", hours=24, ho=15) for i in (1, 2)]
    cover = Cover(skill="anaesthetist", twin="A", **{"from": "induction A", "until": "transfer A"})
    return small_team(people, tasks).model_copy(update={"continuous": (cover,)})
