"""Benchmark of the OR schedule (issue 8).

A seeded synthetic instance of 150 tasks, 40 people (8 skills, teams A / B / shared)
and 10 equipment types is solved by CP-SAT (default ``SolveParams``: one worker, the
search ended by proof or by the deterministic budget, the 60 s wall-clock limit a
backstop; and a 2-worker portfolio; target: optimal or gap <= 2 % in <= 10 s) and by
the greedy list scheduler in the same run; so are the default template's final operation
with one and four division stages, each twin's anaesthetist in charge continuously from
induction to transfer out (anaesthetists in charge per twin counted, CP-SAT and greedy),
and the 320-min tissue expander insertion; the benchmark reports the makespans, the
proven lower bound and gap, how each CP-SAT search ended, the solve time, how much
shorter CP-SAT is than greedy, whether both schedules pass the independent verifier,
and the time of a 10,000-sample Monte Carlo. For the templates it also reports the
relief as the plan makes it (``relief.solve_with_relief``: every duty, shifts in charge
of a twin and every other role, within the work limit on 90 % of simulated days, and no
shift in charge of a relayed twin under ``ReliefParams.min_shift_min``; with one more
person of each role that asks for it, up to three rounds, when the default team has too
few, as the schedule stage does): anaesthetists in charge per twin, the largest share of
simulated days on which an anaesthetist in charge, and anyone, exceeds the work limit,
the shifts in charge under 2 h, the people on duty on the day and those of them on duty
for less than 2 h, before (plain CP-SAT) and after, and the time (wall and CPU).
Machines are shared and noisy, so each number comes with its alternative from the same
run and the 1-minute load average is recorded with each row.

Run: ``python benchmarks/bench_schedule.py [OUT_DIR]`` or via ``run_all.py``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from twinsep.errors import InfeasibleScheduleError
from twinsep.schedule import (
    Schedule,
    SolveParams,
    compile_problem,
    default_team,
    greedy_schedule,
    preparatory_tasks,
    separation_tasks,
    solve_schedule,
    verify_schedule,
)
from twinsep.schedule.montecarlo import MonteCarloParams, MonteCarloResult, run_monte_carlo
from twinsep.schedule.relief import Relieved, solve_with_relief
from twinsep.schedule.result import on_duty
from twinsep.schedule.stage import fit_template, relief_grow, relief_prefixes, relief_words
from twinsep.schedule.team import Person, Table, Task, Team
from twinsep.schedule.template import StageInput, anaesthesia_covers

SKILLS = (
    "neurosurgeon",
    "plastic_surgeon",
    "anaesthetist",
    "scrub_nurse",
    "circulating_nurse",
    "neurophysiologist",
    "radiographer",
    "anaesthesia_technician",
)
EQUIPMENT = (
    "microscope",
    "navigation",
    "c_arm",
    "craniotome",
    "neuromonitoring",
    "ultrasound",
    "cell_saver",
    "endoscope",
    "laser",
    "drill",
)


def synthetic_instance(
    n_tasks: int = 150, n_people: int = 40, seed: int = 0, max_continuous_h: float = 12.0
) -> Team:
    """A layered random operating day: 15 tasks per wave, 1-2 predecessors each from
    the two waves before, one skill need (two for 30 % of tasks; 15 % of needs ask for
    two people), twin tasks staffed by their own team or shared, one equipment type for
    60 % of tasks (1-3 units of each type), most likely durations 15-60 min, 12-hour duty limits with
    10-minute hand-overs."""
    rng = np.random.default_rng(seed)
    people = []
    for i in range(n_people):
        skill = SKILLS[i % len(SKILLS)]
        second = SKILLS[(i * 3 + 1) % len(SKILLS)] if i % 5 == 0 else None
        team = ("A", "B", "shared")[i % 3]
        skills = (skill,) if second in (None, skill) else (skill, second)
        people.append(
            Person(
                name=f"P{i:02d}",
                skills=skills,
                team=team,  # type: ignore[arg-type]
                max_continuous_h=max_continuous_h,
                handover_min=10,
            )
        )
    caps = {e: int(c) for e, c in zip(EQUIPMENT, rng.integers(1, 4, len(EQUIPMENT)), strict=True)}
    tasks: list[Task] = []
    width = 15
    for i in range(n_tasks):
        layer = i // width
        preds: tuple[str, ...] = ()
        if layer > 0:
            lo = max(0, (layer - 2) * width)
            k = int(rng.integers(1, 3))
            preds = tuple(sorted({f"T{int(j):03d}" for j in rng.integers(lo, layer * width, k)}))
        twin = ("A", "B", "both")[int(rng.integers(0, 3))]
        needs = {}
        n_skills = 2 if rng.random() < 0.3 else 1
        for s in rng.choice(len(SKILLS), n_skills, replace=False):
            needs[SKILLS[int(s)]] = 2 if rng.random() < 0.15 else 1
        equipment = {
            EQUIPMENT[int(e)]: 1
            for e in rng.choice(len(EQUIPMENT), int(rng.random() < 0.6), replace=False)
        }
        mode = float(rng.integers(15, 61))
        tasks.append(
            Task(
                name=f"T{i:03d}",
                duration_min=(round(0.8 * mode), mode, round(1.8 * mode)),
                needs=needs,
                equipment=equipment,
                twin=twin,  # type: ignore[arg-type]
                after=preds,
            )
        )
    return Team(
        people=tuple(people),
        rooms=("OR-1",),
        tables=(Table(name="joint", room="OR-1", twin="joint", fields=2),),
        equipment=caps,
        tasks=tuple(tasks),
    )


def _shifts(sch: Schedule) -> dict[str, int]:
    """Anaesthetists in charge of each twin in turn (relays + 1; none without a
    continuous role)."""
    return {x: sum(1 for c in sch.cover if c.twin == x) for x in "AB" if sch.cover}


def _pair(shifts: Any) -> str:
    return "-" if not shifts else f"{shifts['A']}/{shifts['B']}"


def _pct(x: Any) -> str:
    return "-" if x is None else f"{100 * float(x):.0f} %"


def _worst(sch: Schedule, mc: MonteCarloResult) -> tuple[float | None, float]:
    """Largest share of simulated days over the work limit: of an anaesthetist in
    charge (None without continuous roles) and of anyone."""
    held = {c.person for c in sch.cover}
    inch = max((mc.p_over_limit[p] for p in held), default=None)
    return inch, max(mc.p_over_limit.values(), default=0.0)


def _relieved(build: Any) -> tuple[Relieved, Team, dict[str, int]]:
    """The template's relief as the schedule stage plans it: one more person of each
    role that cannot meet its planning limit (per twin for a twin-team role; up to three
    rounds) while the default team cannot meet them (``stage.plan_schedule``)."""
    extra: dict[str, int] = {}
    asked: tuple[str, ...] = ()
    wanted: dict[int, int] | None = None
    wanted_duty: dict[str, int] | None = None
    rounds = 0
    cap: int | None = None  # the first team's plain makespan (relief never lengthens it)
    while True:
        team = build(default_team(extra=extra))
        try:
            rel = solve_with_relief(
                compile_problem(team),
                start=wanted,
                start_duty=wanted_duty,
                makespan_cap=cap,
                # the reason is read only when it is raised below (as in the stage)
                explain=rounds == 3 or not asked,
            )
        except InfeasibleScheduleError:
            if rounds == 3 or not asked:
                raise
            rounds += 1
            extra = relief_grow(extra, asked)
            continue
        cap = rel.plain_makespan_min if cap is None else cap
        asked = relief_prefixes(rel)
        if not rel.short or rounds == 3 or not asked:
            return rel, team, extra
        wanted, wanted_duty = rel.wanted, rel.wanted_duty
        extra = relief_grow(extra, asked)
        rounds += 1


def _on_day(sch: Schedule) -> int:
    """People on duty on the day (in a task or in charge of a twin)."""
    return len({a.person for t in sch.tasks for a in t.people} | {c.person for c in sch.cover})


def _short_bookings(sch: Schedule, team: Team) -> int:
    """People on duty for less than 2 h (their duty as the run sheets' roster counts it,
    hand-over included): each is someone called in for a step or two."""
    duty = on_duty(sch, {p.name: p.handover_min for p in team.people})
    return sum(1 for a, b in duty.values() if b - a < 120)


def _short_shifts(sch: Schedule) -> int:
    """Shifts in charge of a relayed twin shorter than 2 h."""
    return sum(
        1
        for c in sch.cover
        if c.end_min - c.start_min < 120 and sum(1 for d in sch.cover if d.twin == c.twin) > 1
    )


def run(out_dir: Path) -> dict[str, object]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    synthetic = synthetic_instance()
    label150 = "synthetic 150 tasks / 40 people / 10 equipment"
    cases: list[tuple[str, Team, SolveParams, Any]] = [
        (f"{label150}, 1 worker (deterministic)", synthetic, SolveParams(), None),
        (f"{label150}, 2-worker portfolio", synthetic, SolveParams(num_workers=2), None),
    ]
    for n in (1, 4):
        st = [
            StageInput(
                number=i + 1, kind="separation", structures=(f"segment {i + 1}",), area_mm2=400.0
            )
            for i in range(n)
        ]
        tasks = separation_tasks(st)

        def build(base: Team, tasks: list[Task] = tasks) -> Team:
            # each twin's anaesthetist continuous from induction to transfer out
            return base.with_tasks(tasks, anaesthesia_covers(tasks))

        cases.append(
            (
                f"default template, {n} division stage(s)",
                build(default_team()),
                SolveParams(),
                build,
            )
        )
    expander = StageInput(number=1, kind="preparatory", name="tissue expander insertion")

    def build_expander(base: Team) -> Team:
        return fit_template(preparatory_tasks(expander), base, source="default team")

    cases.append(
        (
            "default template, tissue expander insertion (preparatory)",
            build_expander(default_team()),
            SolveParams(),
            build_expander,
        )
    )
    for label, team, params, build in cases:
        problem = compile_problem(team)
        t0 = time.perf_counter()
        try:
            greedy = greedy_schedule(problem)
            greedy_ms: int | None = greedy.makespan_min
            greedy_ok = verify_schedule(greedy, team).ok
        except Exception as exc:  # the baseline may fail where CP-SAT does not
            greedy, greedy_ms, greedy_ok = None, None, False
            print(f"greedy failed on {label}: {exc}", file=sys.stderr)
        greedy_s = time.perf_counter() - t0
        greedy_shifts = None if greedy_ms is None else _shifts(greedy)
        t0 = time.perf_counter()
        sch = solve_schedule(problem, params=params)
        solve_s = time.perf_counter() - t0
        check = verify_schedule(sch, team)
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        mc = run_monte_carlo(problem, sch, params=MonteCarloParams(n_samples=10_000))
        mc_s = time.perf_counter() - t0
        mc_cpu_s = time.process_time() - cpu0
        relief: dict[str, object] = {}
        if build is not None:
            t0 = time.perf_counter()
            cpu0 = time.process_time()
            rel, rteam, extra = _relieved(build)
            relief_s = time.perf_counter() - t0
            relief_cpu_s = time.process_time() - cpu0
            inch1, any1 = _worst(rel.schedule, rel.risk)
            relief = {
                "relief_s": round(relief_s, 2),
                "relief_cpu_s": round(relief_cpu_s, 2),
                "relief_short_bookings": _short_bookings(rel.schedule, rteam),
                "relief_extra_people": extra,
                "relief_people_listed": len(rteam.people),
                "relief_people_on_day": _on_day(rel.schedule),
                "relief_short_shifts_in_charge": _short_shifts(rel.schedule),
                "relief_group_limits_min": dict(sorted(rel.problem.duty_limits.items())),
                "relief_makespan_min": rel.schedule.makespan_min,
                "relief_verified": verify_schedule(
                    rel.schedule, rteam, rules=rel.problem.rules()
                ).ok,
                "relief_planning_limit_min": [cv.duty_limit_min for cv in rel.problem.covers],
                "relief_anaesthetists_in_charge_per_twin": _shifts(rel.schedule),
                "relief_in_charge_p_over_max": inch1,
                "relief_anyone_p_over_max": any1,
                "relief_p50_min": rel.risk.makespan_p50_min,
                "relief_p90_min": rel.risk.makespan_p90_min,
                "relief_notes": list(rel.notes),
            }
        inch0, any0 = _worst(sch, mc)
        rows.append(
            {
                "case": label,
                "load_avg_1min": round(os.getloadavg()[0], 2),
                "tasks": len(team.tasks),
                "people": len(team.people),
                "equipment_types": len(team.equipment),
                "critical_path_min": problem.critical_path_bound_min(),
                "greedy_makespan_min": greedy_ms,
                "greedy_verified": greedy_ok,
                "greedy_s": round(greedy_s, 3),
                "cpsat_makespan_min": sch.makespan_min,
                "cpsat_bound_min": sch.lower_bound_min,
                "cpsat_gap_pct": round(100 * sch.gap, 2),
                "cpsat_status": sch.status,
                "cpsat_search_end": list(sch.search_end),
                "cpsat_s": round(solve_s, 2),
                "cpsat_makespan_phase_s": sch.makespan_s,
                "cpsat_verified": check.ok,
                "cpsat_shorter_than_greedy_pct": None
                if greedy_ms is None
                else round(100 * (greedy_ms - sch.makespan_min) / greedy_ms, 2),
                "mc_samples": mc.n_samples,
                "mc_s": round(mc_s, 3),
                "mc_cpu_s": round(mc_cpu_s, 3),
                "p50_min": mc.makespan_p50_min,
                "p90_min": mc.makespan_p90_min,
                "anaesthetist_relays": len(sch.cover),
                "people_on_day": _on_day(sch),
                "short_shifts_in_charge": _short_shifts(sch),
                "short_bookings": _short_bookings(sch, team),
                "anaesthetists_in_charge_per_twin": _shifts(sch),
                "greedy_anaesthetists_in_charge_per_twin": greedy_shifts,
                "in_charge_p_over_max": inch0,
                "anyone_p_over_max": any0,
                **relief,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    head = (
        "| case | tasks | greedy min | CP-SAT min | bound min | gap % | CP-SAT s (makespan phase) | "
        "shorter than greedy % | verified | MC 10k s | P50 / P90 min | "
        "anaesthetists in charge A/B (greedy) |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r['case']} | {r['tasks']} | {r['greedy_makespan_min']} | {r['cpsat_makespan_min']} | "
        f"{r['cpsat_bound_min']} | {r['cpsat_gap_pct']} | {r['cpsat_s']} ({r['cpsat_makespan_phase_s']}) | "
        f"{r['cpsat_shorter_than_greedy_pct']} | {r['cpsat_verified'] and r['greedy_verified']} | "
        f"{r['mc_s']} | {r['p50_min']:.0f} / {r['p90_min']:.0f} | "
        f"{_pair(r['anaesthetists_in_charge_per_twin'])} "
        f"({_pair(r['greedy_anaesthetists_in_charge_per_twin'])}) |\n"
        for r in rows
    )
    head2 = (
        "\n\nEvery role relieved for the simulated day (relief.py): anaesthetists in "
        "charge per twin, largest share of simulated days over the work limit of an "
        "anaesthetist in charge / of anyone, shifts in charge of a relayed twin under 2 h, "
        "people on duty on the day and those of them on duty for less than 2 h, plain "
        "CP-SAT -> with relief (the default team grown by the roles that ask for it); the "
        "relief's wall and CPU time\n\n"
        "| case | people added | planning limits min (in charge A, B; role groups) | "
        "in charge A/B | in charge over limit | anyone over limit | shifts in charge < 2 h | "
        "people on the day | people under 2 h | planned / P50 / P90 min | verified | "
        "relief s (CPU s) |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    body2 = "".join(
        f"| {r['case']} | {relief_words(r['relief_extra_people']) or '-'} | "  # type: ignore[arg-type]
        f"{', '.join(str(x) for x in r['relief_planning_limit_min'])}"  # type: ignore[attr-defined]
        + "".join(f"; {k} {v}" for k, v in r["relief_group_limits_min"].items())  # type: ignore[attr-defined]
        + f" | {_pair(r['anaesthetists_in_charge_per_twin'])} -> "
        f"{_pair(r['relief_anaesthetists_in_charge_per_twin'])} | "
        f"{_pct(r['in_charge_p_over_max'])} -> {_pct(r['relief_in_charge_p_over_max'])} | "
        f"{_pct(r['anyone_p_over_max'])} -> {_pct(r['relief_anyone_p_over_max'])} | "
        f"{r['short_shifts_in_charge']} -> {r['relief_short_shifts_in_charge']} | "
        f"{r['people_on_day']} -> {r['relief_people_on_day']} of {r['relief_people_listed']} | "
        f"{r['short_bookings']} -> {r['relief_short_bookings']} | "
        f"{r['relief_makespan_min']} / {r['relief_p50_min']:.0f} / {r['relief_p90_min']:.0f} | "
        f"{r['relief_verified']} | {r['relief_s']} ({r['relief_cpu_s']}) |\n"
        for r in rows
        if "relief_s" in r
    )
    result: dict[str, object] = {
        "title": "OR schedule: CP-SAT vs greedy, Monte Carlo (issue 8)",
        "rows": rows,
        "markdown": head + body + head2 + body2,
        "targets": "150 tasks: optimal or gap <= 2 % in <= 10 s on 2 cores; MC 10,000 samples <= 2 s",
    }
    (out_dir / "schedule.json").write_text(json.dumps(result, indent=2) + "\n")
    (out_dir / "schedule.md").write_text(
        "# " + str(result["title"]) + "\n\n" + head + body + head2 + body2
    )
    return result


if __name__ == "__main__":
    here = Path(__file__).parent
    run(Path(sys.argv[1]) if len(sys.argv) > 1 else here / "results")
