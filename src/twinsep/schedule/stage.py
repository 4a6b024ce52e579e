"""The ``schedule`` stage of ``twinsep plan``: OR choreography for the plan's stages.

Reads the stage list of the ``separate`` stage when it ran (``ctx.result("separate")
.stages``; see :class:`~twinsep.schedule.template.StageInput`) and the team file
``ctx.options.team_path`` (default team when None), and the expander fills of the
``reconstruct`` stage when it ran (the expander insertion is dated from them). The final
separation operation (the last separation stage) is optimised in detail; each
preparatory stage and each earlier separation stage (venous division) is scheduled as
its own operation, weeks earlier, and summarised. Writes ``schedule.csv``, ``schedule.ics``, ``gantt.svg``,
``gantt.html`` and ``runsheets.html``; owns the ``schedule`` section of ``plan.json``
and dates the ``skin`` section's expander insertion and fills from the expander
operation's day (:mod:`twinsep.schedule.insertion`: one insertion date in every output).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
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
from twinsep.schedule.insertion import expander_operation_days, skin_on_schedule
from twinsep.schedule.montecarlo import MonteCarloParams, MonteCarloResult
from twinsep.schedule.problem import Problem, compile_problem
from twinsep.schedule.relief import ReliefParams, Relieved, solve_with_relief
from twinsep.schedule.result import Schedule, on_duty, relay_after
from twinsep.schedule.solve import SolveParams
from twinsep.schedule.team import Task, Team, load_team, split_need
from twinsep.schedule.template import (
    StageInput,
    TemplateParams,
    TwinDefectInput,
    anaesthesia_covers,
    default_team,
    division_operation_tasks,
    preparatory_action,
    preparatory_tasks,
    role_prefix,
    separation_tasks,
    stage_inputs,
)
from twinsep.schedule.verify import verify_schedule
from twinsep.words import counted

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
        CP-SAT wall-clock limit of each earlier operation (preparatory or division), s.
        The search ends by proof or by the solver's deterministic budget well inside it
        on an idle machine (a default division operation: 0.5 s); the limit is a far
        backstop, and reaching it makes the schedule depend on the machine's load (2 s
        gave 37 or 38 people on the same plan at load 20; 2026-11-27). 60 s, as
        ``SolveParams.time_limit_s``.
    montecarlo : MonteCarloParams
        Risk simulation (the seed comes from ``--seed``).
    relief : ReliefParams
        How every duty is planned for the simulated day (each shift in charge of a twin
        and every other role within the work limit on 90 % of simulated days, no shift in
        charge under 2 h where a milestone allows, never a longer day;
        :mod:`twinsep.schedule.relief`), for every operation; the default team grows by
        the roles that ask for it (up to ``max_relays`` rounds).
    max_relays : int
        When the *default* team cannot cover the operation within its duty limits, it is
        enlarged by up to this many relays (one more person per twin-team role and per
        continuous shared role each) before giving up, with a warning.
    longest_reported_h : float
        Longest single separation operation reported (Rio 2022, 27 h; NOTES.md): a
        longer planned day gets a warning suggesting more division stages.
    division_interval_days : int
        Days between consecutive venous-division operations (8 weeks); the last division
        is the final separation operation. Staging is meant to let each twin develop its
        own venous drainage before the next division (Kobets 2025; Stone & Goodrich 2006:
        staged separation of total forms had lower mortality). Reported spacings: London
        2019 (Great Ormond Street) three operations from October 2018 to 11 February 2019,
        about 8 weeks apart; Montefiore 2003-04 four stages over 9.5-10 months (Staffenberg
        & Goodrich, Clin Plast Surg 2005), about 13 weeks apart; Rome 2022 (total angular)
        three steps over one year. 8 weeks is the shortest of these: set the real dates.
    expander_lead_days : int
        Days from tissue-expander insertion to the separation operation when the plan has
        no expander fills (no ``reconstruct`` result): 16 weeks. Children's expanders get
        their first fill 7-10 days after insertion, then weekly for about 10-12 weeks
        (mean 14.2 weeks in a staged calvarial reconstruction review); UC Davis placed
        theirs about four months before (NOTES.md). With fills, the insertion is the last
        fill plus the rest days before the separation (the ``reconstruct`` stage's own
        count, ``Reconstruction.expansion_days``).
    distraction_lead_days : int
        Days from any other preparatory operation (cranial distraction, fascia expansion)
        to the first venous-division operation (the separation when there is one
        division): 6 weeks, for distraction of about 1 mm a day for a month (CHOP,
        NOTES.md) after the device is placed. An estimate: set the real dates.
    endovascular_lead_days : int
        Days from endovascular occlusion to the first venous-division operation: 4 weeks,
        a nominal interval for the twins' venous drainage to adapt before any open
        division (no published interval in NOTES.md).
    stage_gap_days : int
        Least days between an operation and the next stage's: the calendar follows the
        stage order (the separation plan's: tissue expansion first, months ahead, then
        distraction, occlusion and the divisions), so an operation whose own lead would
        fall after a later stage's is moved before it (1 week; nominal).
    """

    template: TemplateParams = field(default_factory=TemplateParams)
    solve: SolveParams = field(default_factory=SolveParams)
    earlier_time_limit_s: float = 60.0
    montecarlo: MonteCarloParams = field(default_factory=MonteCarloParams)
    relief: ReliefParams = field(default_factory=ReliefParams)
    max_relays: int = 3
    longest_reported_h: float = 27.0
    division_interval_days: int = 56
    expander_lead_days: int = 112
    distraction_lead_days: int = 42
    endovascular_lead_days: int = 28
    stage_gap_days: int = 7


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
        "consider more venous-division stages (--stages), each its own earlier operation"
    )


def lead_days(
    stages: Sequence[StageInput],
    params: ScheduleParams,
    *,
    expander_days: int | None = None,
) -> dict[int, int]:
    """Each earlier operation's own lead: days before the final separation operation
    that its purpose asks for, before the stage order is imposed (:func:`operation_days`).

    Keys are stage numbers: each preparatory stage and each separation stage but the
    last. Division operation ``k`` of ``n`` is ``(n - k) x division_interval_days``
    before the final one; endovascular occlusion and distraction (anything else) are
    their lead days before the *first* division operation (they prepare the division);
    the expander insertion is ``expander_days`` before the final operation (the fills
    end before it, the expanded scalp closes the heads), ``expander_lead_days`` when
    the plan has no fills.
    """
    seps = [s for s in stages if s.kind == "separation"]
    n = len(seps)
    out: dict[int, int] = {}
    for k, s in enumerate(seps[:-1], start=1):
        out[s.number] = (n - k) * int(params.division_interval_days)
    first_division = (n - 1) * int(params.division_interval_days) if n else 0
    for s in stages:
        if s.kind != "preparatory":
            continue
        action = preparatory_action(s)
        if action == "tissue_expander":
            days = params.expander_lead_days if expander_days is None else expander_days
        elif action == "endovascular_occlusion":
            days = first_division + params.endovascular_lead_days
        else:
            days = first_division + params.distraction_lead_days
        out[s.number] = int(days)
    return out


def operation_days(
    stages: Sequence[StageInput],
    params: ScheduleParams,
    *,
    expander_days: int | None = None,
) -> dict[int, int]:
    """Nominal days before the final separation operation of every earlier operation,
    in stage order.

    Each operation takes its own lead (:func:`lead_days`) or, when that would put it
    after a later-numbered stage's operation, ``stage_gap_days`` before that one: the
    calendar follows the stage numbers of the separation plan, which the report,
    plan.json, the CSV/ICS and the Gantt all use. Before 2026-11-27 the leads alone set
    the calendar (vertical-II 128: stage 2, the cranial distraction, 98 days before the
    separation, and stage 1, the expander insertion, 70 days). Keys are stage numbers.
    """
    own = lead_days(stages, params, expander_days=expander_days)
    out: dict[int, int] = {}
    later = 0  # the final operation
    for s in sorted(stages, key=lambda s: -s.number):
        if s.number not in own:
            continue
        later = max(own[s.number], later + int(params.stage_gap_days))
        out[s.number] = later
    return out


def order_notes(
    stages: Sequence[StageInput],
    params: ScheduleParams,
    *,
    expander_days: int | None = None,
) -> list[str]:
    """Plain words for each operation that the stage order moved before its own lead."""
    own = lead_days(stages, params, expander_days=expander_days)
    days = operation_days(stages, params, expander_days=expander_days)
    by_number = {s.number: s for s in stages}
    notes = []
    for number in sorted(days):
        if days[number] == own[number]:
            continue
        s = by_number[number]
        nxt = min((n for n in days if n > number), default=None)
        after = (
            f", {params.stage_gap_days} days before stage {nxt}"
            if nxt is not None and days[number] == days[nxt] + params.stage_gap_days
            else ""
        )
        text = (
            f"stage {number} ({s.name or ', '.join(s.structures)}) is dated {days[number]} days "
            f"before the separation{after}, to keep the stages' order; its own lead is "
            f"{own[number]} days"
        )
        if preparatory_action(s) == "tissue_expander" and expander_days is not None:
            # the plan's one insertion day (schedule/insertion.py): until session 29
            # plan.json's skin section and the report counted from the fills' lead
            text += (
                " (the plan's fills and rest: the latest insertion they allow), so the "
                f"expanders are held full {days[number] - own[number]} days longer before "
                "the separation; the skin plan's insertion and fill dates follow this day"
            )
        notes.append(text)
    return notes


def earlier_lead_days(
    stages: Sequence[StageInput], params: ScheduleParams, *, expander_days: int | None = None
) -> tuple[int, ...]:
    """Nominal days before the separation operation of each earlier operation
    (:func:`operation_days`), in stage order."""
    days = operation_days(stages, params, expander_days=expander_days)
    return tuple(days[s.number] for s in stages if s.number in days)


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
    earlier_stages: tuple[StageInput, ...] = ()
    """The stage of each earlier operation (aligned with ``earlier``, earliest first)."""
    earlier_days: tuple[int, ...] = ()
    """Days before the separation of each earlier operation (aligned with ``earlier``)."""
    earlier_risk: tuple[MonteCarloResult | None, ...] = ()
    """Overrun risk of each earlier division operation (None for preparatory ones;
    aligned with ``earlier``): judged for the long-day warning."""
    earlier_day_risk: tuple[MonteCarloResult | None, ...] = ()
    """The simulated day of every earlier operation, preparatory ones included (aligned
    with ``earlier``): the one source of each operation's P50 / P90 in plan.json
    (``earlier_operations[].p50_min/p90_min``), the run sheets and gantt.html (until
    session 29 plan.json and gantt.html gave them for division operations only)."""


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
        return team.with_tasks(fitted, anaesthesia_covers(fitted))
    except ConfigError as exc:
        raise ConfigError(source, f"default template: {exc.reason}") from None


def plan_schedule(
    stages: Sequence[Any],
    team: Team | None = None,
    *,
    params: ScheduleParams = ScheduleParams(),
    seed: int = 0,
    team_source: str = "default team",
    expander_days: int | None = None,
    defects: Mapping[str, Any] | None = None,
) -> ScheduleResult:
    """Schedule the separation day (detail) and each earlier operation (summary).

    Earlier operations: each preparatory stage and each separation stage but the last
    (one venous division each, :func:`~twinsep.schedule.template.
    division_operation_tasks`), in calendar order (:func:`operation_days`).

    Parameters
    ----------
    stages : sequence
        Stage objects with ``number, name, kind, structures, rationale, area_mm2``.
    team : Team, optional
        Validated team (default team when None). Its own tasks, if any, replace the
        template of the separation day; the earlier operations use the templates with
        its people.
    params : ScheduleParams
    seed : int
        Seed of the solver and of the Monte Carlo.
    team_source : str
        Name of the team file for messages.
    expander_days : int, optional
        Days from expander insertion to the separation (last fill plus rest), from the
        plan's fills; ``params.expander_lead_days`` when None.
    defects : mapping "A"/"B" -> defects, optional
        Each twin's bone and scalp defect areas (the ``reconstruct`` stage's
        ``TwinDefects`` or :class:`~twinsep.schedule.template.TwinDefectInput`): the
        final operation's cranioplasty and scalp closure grow with them.

    Returns
    -------
    ScheduleResult

    Raises
    ------
    ConfigError, InfeasibleScheduleError
    """
    st = tuple(stage_inputs(stages))
    twin_defects = (
        {k: TwinDefectInput.model_validate(v, from_attributes=True) for k, v in defects.items()}
        if defects
        else None
    )
    seps = [s for s in st if s.kind == "separation"]
    n_div = len(seps)
    seed = int(seed) % 2**31  # CP-SAT seeds are 32-bit; numpy needs a non-negative seed
    solve_p = replace(params.solve, seed=seed)
    mc_p = replace(params.montecarlo, seed=seed)
    notes: list[str] = []
    relays = relief_rounds = 0
    grown: dict[str, int] = {}  # role code prefix -> people added for relief
    asked: tuple[str, ...] = ()  # the prefixes the last short team asked for
    wanted: dict[int, int] | None = None
    wanted_duty: dict[str, int] | None = None
    smaller: tuple[Team, Team, Problem, Relieved] | None = None
    cap: int | None = None  # the first team's plain makespan: relief never lengthens it
    warm: Schedule | None = None  # the last smaller team's schedule (a solver hint)
    while True:
        base = (
            team if team is not None else default_team(params.template, relays=relays, extra=grown)
        )
        if base.tasks:
            final_team = base
        else:
            final_team = fit_template(
                separation_tasks(
                    seps[-1:], params.template, reopen=n_div > 1, defects=twin_defects
                ),
                base,
                source=team_source,
            )
        problem = compile_problem(final_team)
        try:
            relieved = solve_with_relief(
                problem,
                solve=solve_p,
                montecarlo=mc_p,
                params=params.relief,
                start=wanted,
                start_duty=wanted_duty,
                makespan_cap=cap,
                warm=warm,
                # why there is none is read below only without a smaller team's
                # schedule to fall back on (the retry with relays, or the error)
                explain=wanted is None or smaller is None,
            )
        except InfeasibleScheduleError as exc:
            if wanted is not None and smaller is not None:
                # still too few people for the limits the simulated day asked for
                if relief_rounds < params.max_relays:
                    relief_rounds += 1
                    grown = relief_grow(grown, asked)
                    continue
                # more people did not meet them: the smaller team's schedule and its
                # warning (relief.py)
                base, final_team, problem, relieved = smaller
                grown = {}
                break
            retry = (
                team is None
                and relays < params.max_relays
                and ("continuous-work" in str(exc) or "neither find" in str(exc))
            )
            if not retry:
                raise
            relays += 1
            logger.debug("default team too small (%s); adding relay %d", exc, relays)
            continue
        if cap is None:
            cap = relieved.plain_makespan_min
        warm = relieved.schedule
        if relieved.short and team is None and relief_rounds < params.max_relays:
            # the default team has too few people to relieve every role for the
            # simulated day (relief.py): one more of each short role (per twin for a
            # twin-team role), starting from the planning limits the smaller team
            # could not meet
            asked = relief_prefixes(relieved)
            if asked:
                if smaller is None:
                    smaller = (base, final_team, problem, relieved)
                relief_rounds += 1
                grown = relief_grow(grown, asked)
                wanted, wanted_duty = relieved.wanted, relieved.wanted_duty
                logger.debug("default team short of relief; added %s", grown)
                continue
        break
    # the notes on the default team's size name the people listed, which is known once
    # every operation is scheduled (the team is trimmed to those on duty): placed here
    size_notes_at = len(notes)
    if final_team is base and not final_team.continuous:
        notes.append(
            f"{team_source} lists its own tasks without a continuous section: the schedule "
            "does not keep an anaesthetist with each twin between tasks (declare "
            "continuous: anaesthetist per twin, from induction to transfer out; "
            "docs/schedule.md)"
        )
    final, risk = relieved.schedule, relieved.risk
    notes.extend(relieved.notes)
    check = verify_schedule(final, final_team, rules=relieved.problem.rules())
    if not check.ok:
        raise RuntimeError(
            "internal error: the optimised schedule fails verification: "
            + "; ".join(check.violations[:3])
        )
    long_day = long_day_note(
        final.makespan_min,
        risk.makespan_p50_min,
        risk.makespan_p90_min,
        longest_reported_h=params.longest_reported_h,
    )
    if long_day:
        notes.append(long_day)
    notes.extend(order_notes(st, params, expander_days=expander_days))
    nominal = operation_days(st, params, expander_days=expander_days)
    order = sorted((s for s in st if s.number in nominal), key=lambda s: -nominal[s.number])
    days = days_before_separation(
        len(order) + 1, ExportParams(lead_days=tuple(nominal[s.number] for s in order))
    )[:-1]
    division_no = {s.number: k for k, s in enumerate(seps, start=1)}
    earlier: list[Schedule] = []
    earlier_risk: list[MonteCarloResult | None] = []
    day_risk: list[MonteCarloResult | None] = []
    for s in order:
        label = f"stage {s.number}: {s.name or ', '.join(s.structures)}"
        if s.kind == "separation":
            k = division_no[s.number]
            tasks = division_operation_tasks(s, params.template, reopen=k > 1)
            what = "division operation"
        else:
            tasks = preparatory_tasks(s)
            what = "preparatory operation"
        op_team = fit_template(tasks, base.model_copy(update={"tasks": ()}), source=team_source)
        op_problem = compile_problem(op_team)
        try:
            op = solve_with_relief(
                op_problem,
                solve=replace(solve_p, time_limit_s=params.earlier_time_limit_s),
                montecarlo=mc_p,
                params=params.relief,
                operation=label,
            )
        except InfeasibleScheduleError as exc:
            raise InfeasibleScheduleError(f"{what} {label!r}: {exc}") from None
        sch = op.schedule
        notes.extend(op.notes)
        op_check = verify_schedule(sch, op_team, rules=op.problem.rules())
        if not op_check.ok:
            raise RuntimeError(
                f"internal error: the schedule of {label!r} fails verification: "
                + "; ".join(op_check.violations[:3])
            )
        earlier.append(sch)
        op_risk = None
        if s.kind == "separation":
            # a division operation is as long as a separation day: P50/P90 as for it
            op_risk = op.risk
            note = long_day_note(
                sch.makespan_min,
                op_risk.makespan_p50_min,
                op_risk.makespan_p90_min,
                longest_reported_h=params.longest_reported_h,
            )
            if note:
                notes.append(f"{label}: " + note.replace("the separation day", "the operation"))
        earlier_risk.append(op_risk)
        day_risk.append(op.risk)
    # the default team's role codes that no operation needs are not listed: the OR
    # nursing lead books the people on the run sheets (until session 28 the note said
    # "56 people listed, 45 on duty" for vertical-II)
    listed = booked_team(final_team, [*earlier, final]) if team is None else final_team
    notes[size_notes_at:size_notes_at] = size_notes(
        relays, grown, listed, final, params.relief.overrun_max
    )
    return ScheduleResult(
        team=listed,
        final=final,
        earlier=tuple(earlier),
        risk=risk,
        stages=st,
        team_source=team_source,
        verified=True,  # every operation passed verify_schedule (a failure raises above)
        notes=tuple(notes),
        earlier_stages=tuple(order),
        earlier_days=tuple(int(d) for d in days),
        earlier_risk=tuple(earlier_risk),
        earlier_day_risk=tuple(day_risk),
    )


def booked_team(team: Team, schedules: Sequence[Schedule]) -> Team:
    """``team`` with only the people on duty in at least one of ``schedules`` (their
    tasks, shifts in charge or hand-overs), in the team's order.

    Parameters
    ----------
    team : Team
        The default team the operations were scheduled with.
    schedules : sequence of Schedule
        Every operation of the plan.

    Returns
    -------
    Team
        The same team without the role codes that no operation needs.
    """
    booked = {name for s in schedules for name in on_duty(s, {})}
    return team.model_copy(update={"people": tuple(p for p in team.people if p.name in booked)})


def size_notes(
    relays: int,
    grown: Mapping[str, int],
    team: Team,
    final: Schedule,
    overrun_max: float,
) -> list[str]:
    """The notes on the default team's size: the relays and the people added for relief,
    with the people listed (``team``, trimmed by :func:`booked_team`) and those on duty
    on the separation day (``final``); empty when the team was not enlarged."""
    listed = len(team.people)
    on_day = len(on_duty(final, {}))
    out = []
    if relays:
        out.append(
            f"the default team was enlarged by {counted(relays, 'relay')} to {listed} people "
            "on duty in at least one operation, to cover the operation within the duty limits"
        )
    if grown:
        out.append(
            f"the default team was given {relief_words(grown)} ({listed} people listed, each "
            f"on duty in at least one operation; {on_day} on duty on the separation day) so "
            "that everyone, each anaesthetist in charge of a twin included, stays within the "
            f"work limit on {1 - overrun_max:.0%} of simulated days"
        )
    return out


def relief_prefixes(relieved: Relieved) -> tuple[str, ...]:
    """Role code prefixes of the default team's roles whose planning limits the
    relieved operation could not meet (its continuous roles and role groups), sorted."""
    out: set[str] = set()
    for c in relieved.wanted:
        cover = relieved.problem.covers[c].cover
        out.add(role_prefix(cover.skill, cover.twin) or "")
    for key in relieved.wanted_duty:
        skill, team = split_need(key)
        out.add(role_prefix(skill, team or "shared") or "")
    return tuple(sorted(out - {""}))


def relief_grow(grown: Mapping[str, int], prefixes: Sequence[str]) -> dict[str, int]:
    """``grown`` with one more person of each role code prefix in ``prefixes``."""
    out = dict(grown)
    for pre in prefixes:
        out[pre] = out.get(pre, 0) + 1
    return out


#: What one more person of a role code prefix is, in the relief note.
_ROLE_WORDS = {
    "NS": "neurosurgeon per twin",
    "PS": "plastic surgeon per twin",
    "AN": "anaesthetist per twin",
    "SN": "scrub nurse per twin",
    "CN": "circulating nurse per twin",
    "NS-LEAD": "shared neurosurgeon",
    "NP": "neurophysiologist",
    "AT": "anaesthesia technician",
    "RG": "radiographer",
    "IE": "navigation engineer",
    "IR": "interventional radiologist",
    "NC": "shared circulating nurse",
}


def relief_words(grown: Mapping[str, int]) -> str:
    """The people added for relief in words: ``{"AN": 2, "SN": 1}`` -> "2 more
    anaesthetists per twin and 1 more scrub nurse per twin" ("" for none)."""
    parts = []
    for pre, n in sorted(grown.items()):
        role = _ROLE_WORDS.get(pre, pre)
        head, _, tail = role.partition(" per ")
        parts.append(f"{counted(n, 'more ' + head)}" + (f" per {tail}" if tail else ""))
    if len(parts) < 2:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


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
    expander_days = None
    defects = None
    if ctx.has("reconstruct"):
        expander_days = getattr(ctx.result("reconstruct"), "expansion_days", None) or None
        defects = getattr(ctx.result("reconstruct"), "defects", None) or None
    try:
        result = plan_schedule(
            stages,
            team,
            params=params,
            seed=int(ctx.options.seed),
            team_source=source,
            expander_days=expander_days,
            defects=defects,
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


def _aligned(items: Sequence[Any], n: int) -> list[Any]:
    """``items`` padded with None to ``n`` (a result cached before the field existed)."""
    return [*items, *([None] * (n - len(items)))][:n]


def _search_end_json(schedule: Schedule) -> dict[str, str | None]:
    """How the makespan and balancing searches ended (None: not run or not recorded)."""
    ends = _aligned(getattr(schedule, "search_end", ()), 2)
    return {"makespan": ends[0], "balance": ends[1]}


def earlier_day_risks(result: ScheduleResult) -> list[MonteCarloResult | None]:
    """The simulated day of each earlier operation, aligned with ``result.earlier``:
    ``earlier_day_risk`` (every operation), or ``earlier_risk`` (division operations
    only) for a result cached before the former existed."""
    risks = getattr(result, "earlier_day_risk", ()) or result.earlier_risk
    return _aligned(risks, len(result.earlier))


def schedule_section(result: ScheduleResult, params: ExportParams) -> dict[str, Any]:
    """The ``schedule`` section of ``plan.json``.

    ``earlier_operations[].p50_min`` / ``p90_min``: minutes from the operation's first
    task to the end of its last in the operation's own Monte Carlo simulation (the same
    samples and numbers as its run sheets' first line and gantt.html), for preparatory
    and division operations alike.
    """
    f = result.final
    risk = result.risk
    return {
        "makespan_min": f.makespan_min,
        "p50_min": risk.makespan_p50_min,
        "p90_min": risk.makespan_p90_min,
        "mean_min": risk.makespan_mean_min,
        "lower_bound_min": f.lower_bound_min,
        "status": f.status,
        "search_end": _search_end_json(f),
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
        "in_charge": [
            {
                "twin": c.twin,
                "skill": c.skill,
                "person": c.person,
                "start_min": c.start_min,
                "end_min": c.end_min,
                # the relay as a milestone: on the day it follows this step
                "takes_over_after": relay_after(f, c),
            }
            for c in f.cover
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
                "stage": st.number if st is not None else None,
                "kind": ("division" if st.kind == "separation" else "preparatory")
                if st is not None
                else None,
                "days_before_separation": days,
                "makespan_min": o.makespan_min,
                "p50_min": r.makespan_p50_min if r is not None else None,
                "p90_min": r.makespan_p90_min if r is not None else None,
                "tasks": len(o.tasks),
                "people": len({a.person for t in o.tasks for a in t.people}),
                "status": o.status,
                "search_end": _search_end_json(o),
            }
            for o, days, st, r in zip(
                result.earlier,
                days_before_separation(len(result.earlier) + 1, params),
                _aligned(result.earlier_stages, len(result.earlier)),
                earlier_day_risks(result),
                strict=False,
            )
        ],
        "files": ["schedule.csv", "schedule.ics", "gantt.svg", "gantt.html", "runsheets.html"],
    }


def export_params(
    result: ScheduleResult, options: Any, params: ScheduleParams | None = None
) -> ExportParams:
    """The outputs' presentation settings for a plan's options.

    Parameters
    ----------
    result : ScheduleResult
        The schedule (its earlier operations' lead days).
    options : PlanOptions-like
        ``colour_a``, ``colour_b``, optional ``case`` and ``separation_date``
        (``YYYY-MM-DD``): when given, the calendar and run sheets are dated from it (the
        separation operation starts that day at the nominal clock time); otherwise the
        fixed nominal day of :class:`ExportParams` keeps the outputs reproducible.
    params : ScheduleParams, optional
        For the earlier operations' default lead days.

    Returns
    -------
    ExportParams
    """
    from twinsep.reconstruct.stage import parse_date

    nominal = ExportParams()
    text = getattr(options, "separation_date", None)
    start = datetime.combine(parse_date(text), nominal.start.time()) if text else nominal.start
    return ExportParams(
        colour_a=options.colour_a,
        colour_b=options.colour_b,
        start=start,
        case_id=str(getattr(options, "case", None) or "case"),
        lead_days=result.earlier_days
        or earlier_lead_days(result.stages, params or ScheduleParams()),
        dated=bool(text),
    )


def _write(result: ScheduleResult, ctx: Any, out_dir: Path) -> dict[str, Any]:
    params = export_params(result, ctx.options, ctx.params)
    teams: dict[str, str] = {p.name: str(p.team) for p in result.team.people}
    write_outputs(
        out_dir,
        result.final,
        params=params,
        risk=result.risk,
        earlier=result.earlier,
        # one source for plan.json, gantt.html and the run sheets: every operation's day
        earlier_risk=earlier_day_risks(result),
        teams=teams,
        handover_min={p.name: p.handover_min for p in result.team.people},
        **operation_blood_lines(result, (getattr(ctx, "sections", {}) or {}).get("blood")),
    )
    out = {"schedule": schedule_section(result, params)}
    # one insertion day: the skin section is dated from the expander operation's
    skin = skin_on_schedule(
        (getattr(ctx, "sections", {}) or {}).get("skin"),
        insertion_days(result),
    )
    if skin is not None:
        out["skin"] = skin
    return out


def insertion_days(result: ScheduleResult) -> int | None:
    """Days before the separation of the schedule's expander-insertion operation (None
    without one): the plan's insertion day (:mod:`twinsep.schedule.insertion`)."""
    found = expander_operation_days(result.earlier_stages, result.earlier_days)
    return None if found is None else found[1]


def operation_blood_lines(
    result: ScheduleResult, blood: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The blood stage's lines for each twin's anaesthetists, by operation:
    ``{"blood": {A, B} of the separation's day, "earlier_blood": [{A, B} or None, ...]}``
    aligned with ``result.earlier`` (:func:`write_outputs`).

    Each operation gets the line of its own stage (plan.json
    ``blood.runsheet_operations``); the separation operation is the last division
    stage's. A blood section without those lines (written before 2026-11-28) gives the
    separation the plan-wide ``blood.runsheet`` and the earlier days none.
    """
    section = blood or {}
    by_stage = {
        int(o["stage"]): {t: str(o[t]) for t in ("A", "B") if t in o}
        for o in section.get("runsheet_operations") or []
    }
    seps = [s.number for s in result.stages if s.kind == "separation"]
    final = by_stage.get(seps[-1]) if seps and by_stage else section.get("runsheet")
    return {
        "blood": final,
        "earlier_blood": [by_stage.get(s.number) for s in result.earlier_stages],
    }


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
        depends=tuple(n for n in ("separate", "reconstruct") if n in names),
        uses=("team_path", "seed", "separation_date"),
        params=ScheduleParams(),
    )


STAGE = make_stage(("separate", "reconstruct"))
"""The stage as it runs in the full pipeline (after ``separate`` and ``reconstruct``)."""
