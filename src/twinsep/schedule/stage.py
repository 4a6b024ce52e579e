"""The ``schedule`` stage of ``twinsep plan``: OR choreography for the plan's stages.

Reads the stage list of the ``separate`` stage when it ran (``ctx.result("separate")
.stages``; see :class:`~twinsep.schedule.template.StageInput`) and the team file
``ctx.options.team_path`` (default team when None). The final separation operation is
optimised in detail; each preparatory stage is scheduled as its own shorter operation
and summarised. Writes ``schedule.csv``, ``schedule.ics``, ``gantt.svg``,
``gantt.html`` and ``runsheets.html``; owns the ``schedule`` section of ``plan.json``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from twinsep.errors import ConfigError, InfeasibleScheduleError
from twinsep.schedule.export import (
    ExportParams,
    days_before_separation,
    schedule_json,
    twin_label,
    write_outputs,
)
from twinsep.schedule.montecarlo import MonteCarloParams, MonteCarloResult, run_monte_carlo
from twinsep.schedule.problem import compile_problem
from twinsep.schedule.result import Schedule
from twinsep.schedule.solve import SolveParams, solve_schedule
from twinsep.schedule.team import Task, Team, load_team
from twinsep.schedule.template import (
    StageInput,
    TemplateParams,
    default_team,
    preparatory_action,
    preparatory_tasks,
    separation_tasks,
    stage_inputs,
)
from twinsep.schedule.verify import verify_schedule

logger = logging.getLogger(__name__)

#: Table names used by the template, mapped onto the team's tables by their twin kind.
_TEMPLATE_TABLES = {"joint": "joint", "table A": "A", "table B": "B"}


@dataclass(frozen=True)
class ScheduleParams:
    """Parameters of the schedule stage (recorded in ``plan.json``).

    Attributes
    ----------
    template : TemplateParams
        Default-template durations and work limits.
    solve : SolveParams
        CP-SAT budget for the separation day (the seed comes from ``--seed``).
    earlier_time_limit_s : float
        CP-SAT budget of each (small) preparatory operation.
    montecarlo : MonteCarloParams
        Risk simulation (the seed comes from ``--seed``).
    max_relays : int
        When the *default* team cannot cover the operation within its duty limits, it is
        enlarged by up to this many relays (one more person per twin-team role and per
        continuous shared role each) before giving up, with a warning.
    longest_reported_h : float
        Longest single separation operation reported (Rio 2022, 27 h; NOTES.md): a
        longer planned day gets a warning suggesting staged operations.
    expander_lead_days : int
        Days from tissue-expander insertion to the separation operation in the calendar:
        16 weeks. Children's expanders get their first fill 7-10 days after insertion,
        then weekly for about 10-12 weeks (mean 14.2 weeks in a staged calvarial
        reconstruction review); UC Davis placed theirs about four months before (NOTES.md).
    distraction_lead_days : int
        Days from any other preparatory operation (cranial distraction, fascia expansion)
        to the separation: 6 weeks, for distraction of about 1 mm a day for a month (CHOP,
        NOTES.md) after the device is placed. An estimate: set the real dates.
    endovascular_lead_days : int
        Days from endovascular occlusion to the separation: 4 weeks, a nominal interval
        for the twins' venous drainage to adapt (no published interval in NOTES.md).
    """

    template: TemplateParams = field(default_factory=TemplateParams)
    solve: SolveParams = field(default_factory=SolveParams)
    earlier_time_limit_s: float = 2.0
    montecarlo: MonteCarloParams = field(default_factory=MonteCarloParams)
    max_relays: int = 3
    longest_reported_h: float = 27.0
    expander_lead_days: int = 112
    distraction_lead_days: int = 42
    endovascular_lead_days: int = 28


def long_day_note(
    makespan_min: float, p50_min: float, p90_min: float, *, longest_reported_h: float
) -> str | None:
    """The warning for a separation day longer than any reported operation, or None.

    Judged on the P50 as well as the most-likely plan: step times are right-skewed, so
    the P50 is the day to expect (vertical-II 128: planned 23.9 h, P50 28.0 h, P90 30.0 h,
    and no warning while only the plan was compared with the 27 h).
    """
    limit_min = longest_reported_h * 60.0
    if max(makespan_min, p50_min) <= limit_min:
        return None
    return (
        f"the separation day is planned at {makespan_min / 60:.1f} h with most-likely step "
        f"times and takes {p50_min / 60:.1f} h (P50) to {p90_min / 60:.1f} h (P90) when steps "
        f"vary, longer than any reported single operation ({longest_reported_h:g} h); "
        "consider dividing the venous stages over separate operations"
    )


def earlier_lead_days(stages: Sequence[StageInput], params: ScheduleParams) -> tuple[int, ...]:
    """Nominal days before the separation operation of each preparatory stage, in stage
    order (by its action: expander, endovascular occlusion, anything else). The export
    keeps each at least a week before the next (:func:`~twinsep.schedule.export.
    days_before_separation`)."""
    by_action = {
        "tissue_expander": params.expander_lead_days,
        "endovascular_occlusion": params.endovascular_lead_days,
    }
    return tuple(
        int(by_action.get(preparatory_action(s), params.distraction_lead_days))
        for s in stages
        if s.kind == "preparatory"
    )


@dataclass(frozen=True)
class ScheduleResult:
    """Result of the schedule stage (picklable)."""

    team: Team
    final: Schedule
    earlier: tuple[Schedule, ...]
    risk: MonteCarloResult
    stages: tuple[StageInput, ...]
    team_source: str
    verified: bool
    notes: tuple[str, ...] = ()


def fit_template(tasks: Sequence[Task], team: Team, *, source: str) -> Team:
    """Put template tasks on ``team``, renaming template tables to the team's tables of
    the same kind (joint / A / B).

    Raises
    ------
    ConfigError
        When the team lacks a table kind or equipment the template needs.
    """
    by_kind = {tb.twin: tb.name for tb in team.tables}
    fitted = []
    for t in tasks:
        if t.table is not None:
            kind = _TEMPLATE_TABLES.get(t.table, t.table)
            if kind not in by_kind:
                raise ConfigError(
                    source,
                    f"the default template needs a table with twin: {kind} (for task "
                    f"{t.name!r}); add one under tables or write the tasks yourself",
                )
            t = t.model_copy(update={"table": by_kind[kind]})
        fitted.append(t)
    try:
        return team.with_tasks(fitted)
    except ConfigError as exc:
        raise ConfigError(source, f"default template: {exc.reason}") from None


def plan_schedule(
    stages: Sequence[Any],
    team: Team | None = None,
    *,
    params: ScheduleParams = ScheduleParams(),
    seed: int = 0,
    team_source: str = "default team",
) -> ScheduleResult:
    """Schedule the separation day (detail) and each preparatory operation (summary).

    Parameters
    ----------
    stages : sequence
        Stage objects with ``number, name, kind, structures, rationale, area_mm2``.
    team : Team, optional
        Validated team (default team when None). Its own tasks, if any, replace the
        template of the separation day.
    params : ScheduleParams
    seed : int
        Seed of the solver and of the Monte Carlo.
    team_source : str
        Name of the team file for messages.

    Returns
    -------
    ScheduleResult

    Raises
    ------
    ConfigError, InfeasibleScheduleError
    """
    st = tuple(stage_inputs(stages))
    seed = int(seed) % 2**31  # CP-SAT seeds are 32-bit; numpy needs a non-negative seed
    solve_p = replace(params.solve, seed=seed)
    notes: list[str] = []
    relays = 0
    while True:
        base = team if team is not None else default_team(params.template, relays=relays)
        if base.tasks:
            final_team = base
        else:
            final_team = fit_template(
                separation_tasks(st, params.template), base, source=team_source
            )
        problem = compile_problem(final_team)
        try:
            final = solve_schedule(problem, params=solve_p, operation="separation")
            break
        except InfeasibleScheduleError as exc:
            retry = (
                team is None
                and relays < params.max_relays
                and ("continuous-work" in str(exc) or "neither find" in str(exc))
            )
            if not retry:
                raise
            relays += 1
            logger.debug("default team too small (%s); adding relay %d", exc, relays)
    if relays:
        notes.append(
            f"the default team was enlarged by {relays} relay(s) to {len(base.people)} people "
            "to cover the operation within the duty limits"
        )
    check = verify_schedule(final, final_team)
    if not check.ok:
        raise RuntimeError(
            "internal error: the optimised schedule fails verification: "
            + "; ".join(check.violations[:3])
        )
    risk = run_monte_carlo(problem, final, params=replace(params.montecarlo, seed=seed))
    long_day = long_day_note(
        final.makespan_min,
        risk.makespan_p50_min,
        risk.makespan_p90_min,
        longest_reported_h=params.longest_reported_h,
    )
    if long_day:
        notes.append(long_day)
    earlier: list[Schedule] = []
    for s in st:
        if s.kind != "preparatory":
            continue
        label = f"stage {s.number}: {s.name or ', '.join(s.structures)}"
        op_team = fit_template(
            preparatory_tasks(s), base.model_copy(update={"tasks": ()}), source=team_source
        )
        try:
            sch = solve_schedule(
                compile_problem(op_team),
                params=replace(solve_p, time_limit_s=params.earlier_time_limit_s),
                operation=label,
            )
        except InfeasibleScheduleError as exc:
            raise InfeasibleScheduleError(f"preparatory operation {label!r}: {exc}") from None
        earlier.append(sch)
    return ScheduleResult(
        team=final_team,
        final=final,
        earlier=tuple(earlier),
        risk=risk,
        stages=st,
        team_source=team_source,
        verified=check.ok,
        notes=tuple(notes),
    )


def _default_stages() -> list[StageInput]:
    return [
        StageInput(
            number=1,
            name="division of the shared venous sinus",
            kind="separation",
            structures=("shared venous sinus",),
            rationale="no stage list from the separation plan",
            area_mm2=0.0,
        )
    ]


def _run(ctx: Any) -> ScheduleResult:
    params: ScheduleParams = ctx.params or ScheduleParams()
    stages: Sequence[Any]
    if ctx.has("separate") and getattr(ctx.result("separate"), "stages", None) is not None:
        stages = list(ctx.result("separate").stages)
        if not any(getattr(s, "kind", "") == "separation" for s in stages):
            ctx.warn(
                "the separation plan has no stage of kind 'separation'; the schedule "
                "assumes one final division of the remaining dura and arachnoid plane"
            )
    else:
        ctx.warn("no separation stages available; the schedule assumes one venous division")
        stages = _default_stages()
    team_path = ctx.options.team_path
    if team_path is not None:
        team = load_team(team_path)
        source = Path(team_path).name
    else:
        team, source = None, "default team"
        ctx.warn("no --team file: the default template team of role codes was scheduled")
    try:
        result = plan_schedule(
            stages, team, params=params, seed=int(ctx.options.seed), team_source=source
        )
    except InfeasibleScheduleError as exc:
        # the team (file or default) cannot do the operation: bad input, exit code 2
        raise ConfigError(team_path or source, f"no feasible OR schedule: {exc}") from exc
    for w in (*result.notes, *result.final.warnings):
        ctx.warn(w)
    if result.final.status != "optimal":
        ctx.warn(
            f"schedule not proven optimal in the time limit: {result.final.makespan_min} min, "
            f"lower bound {result.final.lower_bound_min} min"
        )
    worst = max(result.risk.p_over_limit.items(), key=lambda kv: kv[1], default=None)
    if worst is not None and worst[1] > 0.5:
        ctx.warn(
            f"if steps overrun, {worst[0]} exceeds their work limit in {worst[1]:.0%} of "
            "simulated operations: plan extra relief"
        )
    return result


def schedule_section(result: ScheduleResult, params: ExportParams) -> dict[str, Any]:
    """The ``schedule`` section of ``plan.json``."""
    f = result.final
    risk = result.risk
    return {
        "makespan_min": f.makespan_min,
        "p50_min": risk.makespan_p50_min,
        "p90_min": risk.makespan_p90_min,
        "mean_min": risk.makespan_mean_min,
        "lower_bound_min": f.lower_bound_min,
        "status": f.status,
        "method": f.method,
        "verified": result.verified,
        "team_source": result.team_source,
        "people": len({a.person for t in f.tasks for a in t.people}),
        "tables": [
            {"name": tb.name, "room": tb.room, "twin": twin_label(tb.twin), "fields": tb.fields}
            for tb in result.team.tables
        ],
        "colours": {"A": params.colour_a, "B": params.colour_b},
        "tasks": schedule_json(f, params),
        "handovers": [
            {
                "from": h.from_person,
                "to": h.to_person,
                "skill": h.skill,
                "start_min": h.start_min,
                "end_min": h.end_min,
                "next_task": h.next_task,
            }
            for h in f.handovers
        ],
        "risk": {
            "distribution": risk.distribution,
            "n_samples": risk.n_samples,
            "seed": risk.seed,
            "p_overrun": risk.p_overrun,
            "critical_path": list(risk.critical_path),
            "drivers": [
                {"task": d.task, "correlation": d.correlation, "criticality": d.criticality}
                for d in risk.drivers
            ],
            "duty_p50_h": risk.duty_p50_h,
            "duty_p90_h": risk.duty_p90_h,
            "p_over_limit": risk.p_over_limit,
        },
        "earlier_operations": [
            {
                "operation": o.operation,
                "days_before_separation": days,
                "makespan_min": o.makespan_min,
                "tasks": len(o.tasks),
                "people": len({a.person for t in o.tasks for a in t.people}),
                "status": o.status,
            }
            for o, days in zip(
                result.earlier,
                days_before_separation(len(result.earlier) + 1, params),
                strict=False,
            )
        ],
        "files": ["schedule.csv", "schedule.ics", "gantt.svg", "gantt.html", "runsheets.html"],
    }


def _write(result: ScheduleResult, ctx: Any, out_dir: Path) -> dict[str, Any]:
    params = ExportParams(
        colour_a=ctx.options.colour_a,
        colour_b=ctx.options.colour_b,
        case_id=str(getattr(ctx.options, "case", None) or "case"),
        lead_days=earlier_lead_days(result.stages, ctx.params or ScheduleParams()),
    )
    teams: dict[str, str] = {p.name: str(p.team) for p in result.team.people}
    write_outputs(
        out_dir,
        result.final,
        params=params,
        risk=result.risk,
        earlier=result.earlier,
        teams=teams,
        handover_min={p.name: p.handover_min for p in result.team.people},
    )
    return {"schedule": schedule_section(result, params)}


def make_stage(names: Sequence[str] = ()) -> Any:
    """The ``schedule`` stage; reads ``separate`` when that stage runs before it.

    Parameters
    ----------
    names : sequence of str
        Names of the stages that run before this one.
    """
    from twinsep.plan import Stage

    return Stage(
        name="schedule",
        run=_run,
        write=_write,
        depends=("separate",) if "separate" in names else (),
        uses=("team_path", "seed"),
        params=ScheduleParams(),
    )


STAGE = make_stage(("separate",))
"""The stage as it runs in the full pipeline (after ``separate``)."""
