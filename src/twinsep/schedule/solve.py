"""Optimal operating-room schedule with OR-Tools CP-SAT.

Model (minutes, integers):

* one fixed-length interval per task; precedences; the table split (every joint-table
  task ends before the separation moment starts, every twin-table task starts after it
  ends);
* equipment and table fields: one cumulative constraint each (capacity = count);
* staff: a Boolean per (task, need, qualified person), each need filled by exactly its
  count, a person fills at most one need of a task; an optional interval per (task,
  person) and one no-overlap per person;
* continuous work: each person's duty window covers their tasks plus the hand-over
  tail and is at most ``max_continuous_h`` long, or their role group's planning limit
  when lower (``Problem.duty_limits``, :mod:`twinsep.schedule.relief`);
* continuous roles (``Team.continuous``: each twin's anaesthetist from the start of its
  induction to the end of its transfer out): a chain of relay segments tiling that
  window, one qualified person each (used segments first); a person in charge is in no
  task except as that role's need of the twin's tasks (one no-overlap per person and
  role over their segments and their other task intervals), fills that need of every
  such task their segment overlaps, and leaves after the hand-over when relayed; the
  holder's duty stays within the role's planning limit when one is set
  (``CoverSpec.duty_limit_min``, :mod:`twinsep.schedule.relief`); when the role is
  relayed, phase 2 keeps its shifts in charge at least ``Problem.min_shift_min`` long
  as far as the makespan and the fewest relays allow (below);
* symmetry breaking: interchangeable people (same skills, team, limits) are used in
  order and start duty in order;
* phase 1 minimises the makespan (warm start: the greedy schedule); phase 2 keeps that
  makespan: first (2a, with continuous roles only) it uses as few relays of the
  continuous roles as possible (each is a hand-over of an anaesthetised twin: one only
  where a duty limit requires it) and keeps that count, then (with
  ``Problem.min_shift_min``) the fewest minutes by which shifts in charge of relayed
  roles fall short of the minimum (the hand-over moves to another milestone), then
  (with ``Problem.min_booking_min``) the fewest people on duty for less than that
  shortest booking, on their exact duty window (since session 28: the margin below
  spread a big team's work thin, calling people in for a step or two), then it
  maximises the smallest
  margin anyone keeps to their continuous-work limit (so that overruns are absorbed),
  uses as few people as possible (every relay is a hand-over, itself a risk), then
  minimises the total on-duty time, one search per level (each level's optimum kept
  as a constraint of the next). One weighted objective for all levels searched far
  worse in the same budget: on the demo's separation day (vertical-II) it ended with a
  margin of 61 min (2 min with the relays weighted first), where the margin alone is
  proven 119 min in well under a second.

Determinism: one worker, a fixed seed and *deterministic* time limits make the same
input give the same schedule on any machine load, as long as the wall-clock limit (a far
backstop) is not reached first; the schedule records whether the makespan was proven
optimal and how each phase's search ended (``Schedule.search_end``: proof, deterministic
limit or wall-clock limit).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ortools.sat.python import cp_model

from twinsep.errors import InfeasibleScheduleError
from twinsep.schedule.assemble import make_schedule
from twinsep.schedule.greedy import greedy_times
from twinsep.schedule.problem import Problem
from twinsep.schedule.result import Schedule

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SolveParams:
    """Solver settings (recorded in ``plan.json``).

    Attributes
    ----------
    time_limit_s : float
        Wall-clock limit of the whole optimisation, seconds: a backstop, far above what
        the deterministic budgets take (phase 1 gets ``1 - balance_fraction`` of it,
        phase 2 the rest). Idle on 2 cores every search of a plan ends by proof or by the
        deterministic budget in 0.5 s or less (150 synthetic tasks: 3.2 s in all); at
        load 18 the final operation's phase 2 took 8.5 s and 10 s stopped it before its
        budget, giving another schedule (2026-11-27), so 60 s: the schedule then depends
        on the machine's load only beyond about 100 times the idle time.
    num_workers : int
        CP-SAT workers. 1 (default) is deterministic: with a fixed seed the same input
        gives the same schedule whenever the search ends by proof or by the
        deterministic limits below. More workers run CP-SAT's portfolio (faster proofs
        on 2 cores, measured in the benchmark) but the schedule found may differ
        between runs. ``interleave_search`` was measured far slower on these models.
    deterministic_s : float
        CP-SAT deterministic-time budget of phase 1 (its own work units; measured
        about 0.1 unit for an optimal 150-task schedule that took seconds of wall time).
    balance_deterministic_s : float
        Deterministic budget of phase 2 (load balancing at fixed makespan).
    relay_deterministic_s : float
        Deterministic budget of phase 2a (fewest relays of the continuous roles at
        fixed makespan; only with continuous roles), before the balancing.
    booking_deterministic_s : float
        Deterministic budget of the fewest short bookings (people on duty for less
        than ``Problem.min_booking_min``; only when that is set), before the margin.
    balance_fraction : float
        Share of the wall-clock limit reserved for phase 2.
    seed : int
        CP-SAT random seed.
    balance : bool
        Run phase 2 at all.
    """

    time_limit_s: float = 60.0
    num_workers: int = 1
    deterministic_s: float = 1.0
    balance_deterministic_s: float = 0.1
    relay_deterministic_s: float = 0.05
    booking_deterministic_s: float = 0.1
    balance_fraction: float = 0.25
    seed: int = 0
    balance: bool = True


#: How a CP-SAT search ended (``Schedule.search_end``).
SEARCH_ENDS = ("proof", "deterministic limit", "wall-clock limit")


def search_end(
    status: cp_model.CpSolverStatus, deterministic_time: float, max_deterministic_s: float
) -> str:
    """How a CP-SAT search ended: by proof, by its deterministic budget or by the wall clock.

    Parameters
    ----------
    status : CpSolverStatus
        CP-SAT status of the solve.
    deterministic_time : float
        Deterministic time the search used (``CpSolverResponse.deterministic_time``).
    max_deterministic_s : float
        The deterministic budget it was given.

    Returns
    -------
    str
        One of :data:`SEARCH_ENDS`. Only ``"wall-clock limit"`` depends on the machine's
        load: a search that did not prove its result and stopped short of its
        deterministic budget was stopped by the wall clock.
    """
    if status in (cp_model.OPTIMAL, cp_model.INFEASIBLE):
        return "proof"
    if deterministic_time >= max_deterministic_s * (1.0 - 1e-6):
        return "deterministic limit"
    return "wall-clock limit"


def _ended(solver: cp_model.CpSolver, status: cp_model.CpSolverStatus, what: str) -> str:
    """:func:`search_end` of a finished solve, logged when the wall clock stopped it
    (``what`` names the operation and phase)."""
    end = search_end(
        status,
        float(solver.response_proto.deterministic_time),
        float(solver.parameters.max_deterministic_time),
    )
    if end == "wall-clock limit":
        logger.info(
            "%s stopped at its wall-clock limit (%.1f s) before its deterministic budget: "
            "the schedule is valid but may differ from a run on an idle machine",
            what,
            float(solver.parameters.max_time_in_seconds),
        )
    return end


def _solver(params: SolveParams, deterministic_s: float, wall_s: float) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.num_workers = max(1, params.num_workers)
    p.random_seed = params.seed
    p.max_deterministic_time = max(0.001, deterministic_s)
    p.max_time_in_seconds = max(0.1, wall_s)
    return solver


class _Model:
    def __init__(self, problem: Problem, horizon: int) -> None:
        self.problem = problem
        m = self.model = cp_model.CpModel()
        team = problem.team
        n = problem.n_tasks
        dur = [int(d) for d in problem.duration_min]
        self.start = [m.new_int_var(0, horizon - dur[t], f"s{t}") for t in range(n)]
        self.interval = [
            m.new_fixed_size_interval_var(self.start[t], dur[t], f"i{t}") for t in range(n)
        ]
        for t, ps in enumerate(problem.order_preds()):
            for p in ps:
                m.add(self.start[t] >= self.start[p] + dur[p])
        for key, cap in team.equipment.items():
            users = [t for t, task in enumerate(problem.tasks) if key in task.equipment]
            if users:
                m.add_cumulative(
                    [self.interval[t] for t in users],
                    [problem.tasks[t].equipment[key] for t in users],
                    cap,
                )
        for k, tb in enumerate(team.tables):
            users = [t for t in range(n) if problem.table_of[t] == k]
            if users:
                m.add_cumulative(
                    [self.interval[t] for t in users],
                    [problem.tasks[t].fields for t in users],
                    tb.fields,
                )
        # redundant skill capacities (valid because nobody is in two tasks at once):
        # concurrent demand for a skill <= people who could fill it; tightens bounds
        demand: dict[tuple[int, ...], list[tuple[int, int]]] = defaultdict(list)
        for t, needs in enumerate(problem.needs):
            for need in needs:
                demand[need.candidates].append((t, need.count))
        pools = sorted(demand)
        for pool in pools:
            # a need whose candidates lie inside a larger pool counts there too
            inside = [
                (t, c) for other in pools if set(other) <= set(pool) for t, c in demand[other]
            ]
            if sum(c for _, c in inside) > len(pool) and len({t for t, _ in inside}) > 1:
                m.add_cumulative(
                    [self.interval[t] for t, _ in inside], [c for _, c in inside], len(pool)
                )
        # staff
        self.x: dict[tuple[int, str, int], cp_model.IntVar] = {}
        self.y: dict[tuple[int, int], cp_model.IntVar] = {}
        by_person: dict[int, list[int]] = defaultdict(list)
        for t, needs in enumerate(problem.needs):
            per_person: dict[int, list[cp_model.IntVar]] = defaultdict(list)
            for need in needs:
                vs = []
                for p in need.candidates:
                    v = m.new_bool_var(f"x{t}_{need.key}_{p}")
                    self.x[(t, need.key, p)] = v
                    per_person[p].append(v)
                    vs.append(v)
                m.add(sum(vs) == need.count)
            for p, vs in per_person.items():
                y = m.new_bool_var(f"y{t}_{p}")
                m.add(sum(vs) == y)
                self.y[(t, p)] = y
                by_person[p].append(t)
        self.ds: dict[int, cp_model.IntVar] = {}
        self.de: dict[int, cp_model.IntVar] = {}
        self.used: dict[int, cp_model.IntVar] = {}
        self.work: dict[int, list[tuple[tuple[str, int, int], Any, Any, Any]]] = {}
        # the bookings level's variables, once built (hinted with the rest)
        self.booking: list[tuple[int, list[Any], tuple[Any, ...]]] = []
        self.horizon = horizon
        segs = self._cover_segments(horizon, dur)
        # people in the order of their first task (as before continuous roles, so that a
        # problem without them builds the same model), then those only in charge
        people = list(by_person) + sorted(p for p in segs if p not in by_person)
        for p in people:
            ts = by_person.get(p, [])
            person = team.people[p]
            # own limit, or the role group's planning limit when lower (relief.py)
            h, lim = person.handover_min, problem.limit_min(p)
            ivs = {
                t: m.new_optional_fixed_size_interval_var(
                    self.start[t], dur[t], self.y[(t, p)], f"o{t}_{p}"
                )
                for t in ts
            }
            if ivs:
                m.add_no_overlap(list(ivs.values()))
            ds = m.new_int_var(0, horizon, f"ds{p}")
            de = m.new_int_var(0, horizon + h, f"de{p}")
            m.add(de >= ds)
            m.add(de - ds <= lim)
            for t in ts:
                m.add(ds <= self.start[t]).only_enforce_if(self.y[(t, p)])
                m.add(de >= self.start[t] + dur[t] + h).only_enforce_if(self.y[(t, p)])
            mine = segs.get(p, [])
            # what puts the person on duty: (literal, start, end of work) of each task
            # and relay segment (the exact duty window of the bookings level, below)
            self.work[p] = [
                (("t", t, 0), self.y[(t, p)], self.start[t], self.start[t] + dur[t]) for t in ts
            ]
            self.work[p] += [
                (("c", c, k), z, self.seg[c][k][0], self.seg[c][k][1]) for c, k, z in mine
            ]
            for c, k, z in mine:
                a, b, _size, used_k, _zs = self.seg[c][k]
                m.add(ds <= a).only_enforce_if(z)
                m.add(de >= b + h).only_enforce_if(z)
                held = min(problem.covers[c].limit_of(person), lim)
                if held < lim:
                    # the role's planning limit (relief.py): the holder's whole duty
                    m.add(de - ds <= held).only_enforce_if(z)
                if k + 1 < len(self.seg[c]):
                    # relayed out: the hand-over at b is this person's last work
                    m.add(de <= b + h).only_enforce_if([z, self.seg[c][k + 1][3]])
            for c in sorted({c for c, _, _ in mine}):
                self._exclusive(p, c, ts, ivs, mine)
            used = m.new_bool_var(f"u{p}")
            m.add_max_equality(used, [self.y[(t, p)] for t in ts] + [z for _, _, z in mine])
            self.ds[p], self.de[p], self.used[p] = ds, de, used
        self._cover_participation()
        # symmetry breaking between interchangeable people
        groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for p in people:
            person = team.people[p]
            sig = (
                tuple(sorted(person.skills)),
                person.team,
                problem.limit_min(p),
                person.handover_min,
                tuple(sorted(by_person.get(p, []))),
                tuple(c for c, cv in enumerate(problem.covers) if p in cv.candidates),
            )
            groups[sig].append(p)
        self.n_sym = 0
        for members in groups.values():
            for a, b in zip(members, members[1:], strict=False):
                m.add(self.used[a] >= self.used[b])
                m.add(self.ds[a] <= self.ds[b]).only_enforce_if(self.used[b])
                self.n_sym += 1
        self.makespan = m.new_int_var(problem.critical_path_bound_min(), horizon, "makespan")
        m.add_max_equality(self.makespan, [self.start[t] + dur[t] for t in range(n)])

    def _cover_segments(
        self, horizon: int, dur: list[int]
    ) -> dict[int, list[tuple[int, int, cp_model.IntVar]]]:
        """Relay segments of every continuous role: ``self.seg[c][k] = (a, b, size,
        used, {person: z})``, contiguous from the first task's start to the last task's
        end, used ones first, one person each; returns person -> [(c, k, z)]."""
        m = self.model
        self.seg: list[list[tuple[Any, Any, Any, Any, dict[int, Any]]]] = []
        out: dict[int, list[tuple[int, int, cp_model.IntVar]]] = defaultdict(list)
        for c, cv in enumerate(self.problem.covers):
            rows: list[tuple[Any, Any, Any, Any, dict[int, Any]]] = []
            a: Any = self.start[cv.first]
            longest = max(
                min(cv.limit_of(self.problem.people[p]), self.problem.limit_min(p))
                - self.problem.people[p].handover_min
                for p in cv.candidates
            )
            for k in range(len(cv.candidates)):
                b = m.new_int_var(0, horizon, f"cb{c}_{k}")
                size = m.new_int_var(0, horizon, f"cl{c}_{k}")
                used = m.new_bool_var(f"cu{c}_{k}")
                m.add(size == b - a)
                m.add(size >= 1).only_enforce_if(used)
                m.add(size == 0).only_enforce_if(~used)
                # redundant: whoever holds a segment is on duty through it and its
                # hand-over tail, so it is at most the longest (limit - hand-over) of
                # the candidates (a linear bound on the number of relays needed)
                m.add(size <= longest * used)
                if k == 0:
                    m.add(used == 1)
                else:
                    m.add_implication(used, rows[-1][3])
                zs: dict[int, Any] = {}
                for p in cv.candidates:
                    z = m.new_bool_var(f"cz{c}_{k}_{p}")
                    zs[p] = z
                    out[p].append((c, k, z))
                m.add(sum(zs.values()) == used)
                rows.append((a, b, size, used, zs))
                a = b
            m.add(a == self.start[cv.last] + dur[cv.last])
            self.seg.append(rows)
        return out

    def _exclusive(
        self,
        p: int,
        c: int,
        ts: list[int],
        ivs: dict[int, Any],
        mine: list[tuple[int, int, Any]],
    ) -> None:
        """While ``p`` is in charge for role ``c`` they are in no task except as that
        role's need of its twin's tasks (and never in charge of two roles at once)."""
        m = self.model
        cv = self.problem.covers[c]
        items = [
            m.new_optional_interval_var(
                self.seg[cc][k][0], self.seg[cc][k][2], self.seg[cc][k][1], z, f"cs{cc}_{k}_{p}"
            )
            for cc, k, z in mine
        ]
        for t in ts:
            key = cv.serves(t)
            x = self.x.get((t, key, p)) if key is not None else None
            if x is None:
                items.append(ivs[t])
                continue
            w = m.new_bool_var(f"cw{c}_{t}_{p}")
            m.add(w == self.y[(t, p)] - x)
            items.append(
                m.new_optional_fixed_size_interval_var(
                    self.start[t], int(self.problem.duration_min[t]), w, f"cx{c}_{t}_{p}"
                )
            )
        m.add_no_overlap(items)

    def _cover_participation(self) -> None:
        """The person in charge fills the role's need of every task of the twin that
        overlaps their segment (so a relay falls between such tasks, or inside one that
        needs two)."""
        m = self.model
        for c, cv in enumerate(self.problem.covers):
            for k, (a, b, _size, _used, zs) in enumerate(self.seg[c]):
                for t, key in cv.serving:
                    s_t = self.start[t]
                    e_t = s_t + int(self.problem.duration_min[t])
                    before = m.new_bool_var(f"cpb{c}_{k}_{t}")
                    after = m.new_bool_var(f"cpa{c}_{k}_{t}")
                    over = m.new_bool_var(f"cpo{c}_{k}_{t}")
                    m.add(before + after + over == 1)
                    m.add(b <= s_t).only_enforce_if(before)
                    m.add(a >= e_t).only_enforce_if(after)
                    m.add(b >= s_t + 1).only_enforce_if(over)
                    m.add(a <= e_t - 1).only_enforce_if(over)
                    for p, z in zs.items():
                        x = self.x.get((t, key, p))
                        if x is None:
                            m.add_bool_or([~z, ~over])
                        else:
                            m.add_bool_or([~z, ~over, x])

    def hint(
        self,
        starts: list[int],
        assign: list[list[tuple[int, str]]],
        cover: list[tuple[int, int, int, int]] | None = None,
    ) -> None:
        m = self.model
        m.clear_hints()
        # (variable, value) pairs in the order ``CpModel.add_hint`` would append them,
        # written to the model in one go (tens of thousands of calls per plan before
        # session 29: the same hint, a tenth of the time)
        hints: list[tuple[Any, int]] = []
        segs: dict[tuple[int, int], tuple[int, int, int]] = {}
        if cover is not None:
            for c, rows in enumerate(self.seg):
                mine = sorted((a, b, p) for cc, p, a, b in cover if cc == c)
                end = mine[-1][1] if mine else 0
                for k, (a, b, p) in enumerate(mine):
                    segs[(c, k)] = (p, a, b)
                for k, (_a, b, _size, used, zs) in enumerate(rows):
                    hints.append((used, 1 if k < len(mine) else 0))
                    hints.append((b, mine[k][1] if k < len(mine) else end))
                    for p, z in zs.items():
                        hints.append((z, 1 if k < len(mine) and mine[k][2] == p else 0))
        hints.extend(zip(self.start, starts, strict=False))
        chosen = {(t, k, p) for t, rows in enumerate(assign) for p, k in rows}
        hints.extend((xv, 1 if xkey in chosen else 0) for xkey, xv in self.x.items())
        yset = {(t, p) for (t, _k, p) in chosen}
        hints.extend((yv, 1 if ykey in yset else 0) for ykey, yv in self.y.items())
        if self.booking:
            hints.extend(self._hint_bookings(starts, yset, segs))
        _add_hints(m, hints)

    def shortfall(self) -> Any:
        """Minutes by which the shifts in charge of relayed roles fall short of
        ``Problem.min_shift_min``, summed (a linear expression; 0 without the rule)."""
        shortest = self.problem.min_shift_min
        if shortest <= 0:
            return 0
        m = self.model
        terms = []
        for c, rows in enumerate(self.seg):
            if len(rows) < 2:
                continue
            for k, (_a, _b, size, used, _zs) in enumerate(rows):
                short = m.new_int_var(0, shortest, f"sf{c}_{k}")
                # counted only for a used segment of a relayed role (segment 1 used)
                m.add(short >= shortest - size).only_enforce_if([used, rows[1][3]])
                terms.append(short)
        return sum(terms)

    def short_bookings(self, shortest: int) -> Any:
        """Number of people on duty for less than ``shortest`` minutes (a linear
        expression).

        ``ds``/``de`` only bound the duty window until here (the later levels pull
        them tight); this level makes them exact, from the work each person does (one
        first and one last piece of work: their start and end plus the hand-over), so
        that a later end of duty cannot make a booking look long."""
        m = self.model
        terms = []
        for p, items in self.work.items():
            if not items:
                continue
            h = self.problem.people[p].handover_min
            firsts, lasts = [], []
            for key, lit, s, e in items:
                first = m.new_bool_var(f"bf{p}_{key}")
                last = m.new_bool_var(f"bl{p}_{key}")
                m.add_implication(first, lit)
                m.add_implication(last, lit)
                m.add(self.ds[p] >= s).only_enforce_if(first)
                m.add(self.de[p] <= e + h).only_enforce_if(last)
                firsts.append((key, first))
                lasts.append((key, last))
            m.add(sum(f for _, f in firsts) == self.used[p])
            m.add(sum(x for _, x in lasts) == self.used[p])
            long = m.new_bool_var(f"bk{p}")
            m.add(self.de[p] - self.ds[p] >= shortest).only_enforce_if(long)
            short = m.new_bool_var(f"bs{p}")
            m.add(short >= self.used[p] - long)
            terms.append(short)
            self.booking.append((p, items, (firsts, lasts, long, short, shortest, h)))
        return sum(terms)

    def _hint_bookings(
        self,
        starts: list[int],
        yset: set[tuple[int, int]],
        segs: dict[tuple[int, int], tuple[int, int, int]],
    ) -> list[tuple[Any, int]]:
        """Hints of the bookings level's variables from a schedule (``segs``: (role,
        segment) -> (person, start, end) of each used segment), so that every level
        after it starts from that whole schedule: (variable, value) pairs."""
        out: list[tuple[Any, int]] = []
        dur = self.problem.duration_min
        for p, items, (firsts, lasts, long, short, shortest, h) in self.booking:
            work = []
            for (kind, i, k), _lit, _s, _e in items:
                if kind == "t":
                    if (i, p) in yset:
                        work.append(((kind, i, k), starts[i], starts[i] + int(dur[i])))
                else:
                    held = segs.get((i, k))
                    if held is not None and held[0] == p:
                        work.append(((kind, i, k), held[1], held[2]))
            one = min(work, key=lambda w: (w[1], w[0]), default=None)
            end = max(work, key=lambda w: (w[2], w[0]), default=None)
            for key, f in firsts:
                out.append((f, 1 if one is not None and one[0] == key else 0))
            for key, x in lasts:
                out.append((x, 1 if end is not None and end[0] == key else 0))
            is_long = one is not None and end is not None and end[2] + h - one[1] >= shortest
            out.append((long, 1 if is_long else 0))
            out.append((short, 1 if work and not is_long else 0))
        return out

    def relays(self) -> Any:
        """Number of relays of all continuous roles (used segments after each role's
        first; a linear expression, 0 without continuous roles)."""
        return sum(row[3] for rows in self.seg for row in rows[1:])

    def read_cover(self, solver: cp_model.CpSolver) -> list[tuple[int, int, int, int]]:
        """(role, person, start, end) of every used relay segment."""
        out: list[tuple[int, int, int, int]] = []
        for c, rows in enumerate(self.seg):
            for a, b, _size, used, zs in rows:
                if not solver.value(used):
                    continue
                p = next(p for p, z in zs.items() if solver.value(z))
                out.append((c, p, int(solver.value(a)), int(solver.value(b))))
        return out

    def read(self, solver: cp_model.CpSolver) -> tuple[list[int], list[list[tuple[int, str]]]]:
        starts = [int(solver.value(s)) for s in self.start]
        assign: list[list[tuple[int, str]]] = [[] for _ in starts]
        for (t, k, p), v in self.x.items():
            if solver.value(v):
                assign[t].append((p, k))
        return starts, assign


def _add_hints(model: cp_model.CpModel, hints: list[tuple[Any, int]]) -> None:
    """Append ``(variable, value)`` hints to ``model`` as ``CpModel.add_hint`` does, one
    at a time (a negated literal as its variable with the opposite value), in one
    extension of the model's hint."""
    index: list[int] = []
    values: list[int] = []
    for var, value in hints:
        i = var.index
        if i >= 0:
            index.append(i)
            values.append(int(value))
        else:
            index.append(model.negated(i))
            values.append(int(not value))
    proto = model.model_proto.solution_hint
    proto.vars.extend(index)
    proto.values.extend(values)


def _explain_infeasible(problem: Problem, params: SolveParams) -> str:
    """Name the constraint family that makes the model infeasible."""
    relaxed = problem.team.model_copy(
        update={
            "people": tuple(
                p.model_copy(update={"max_continuous_h": 48.0, "handover_min": 0})
                for p in problem.team.people
            )
        }
    )
    from twinsep.schedule.problem import compile_problem

    rp = compile_problem(relaxed)
    mdl = _Model(rp, int(rp.duration_min.sum()) + 1)
    mdl.model.minimize(mdl.makespan)
    st = _solver(params, 1.0, params.time_limit_s).solve(mdl.model)
    if st in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return (
            "the continuous-work limits cannot be met: the operation needs people on duty "
            "longer than their max_continuous_h allows (hand-over minutes included); add "
            "people with the busiest skills or raise max_continuous_h"
        )
    return "the staff, equipment and table capacities cannot all be met at once"


def warm_start(
    problem: Problem, schedule: Schedule
) -> tuple[list[int], list[list[tuple[int, str]]], list[tuple[int, int, int, int]]] | None:
    """Start times, assignments and relays of ``schedule`` in ``problem``'s indices (by
    task and person name), as a hint for the solver; None when a task is missing.

    ``schedule`` is a schedule of the same tasks under other limits or with fewer
    people (the previous round of :func:`~twinsep.schedule.relief.solve_with_relief`):
    it need not be feasible here, the solver repairs it.
    """
    index = {p.name: j for j, p in enumerate(problem.people)}
    placed = {st.name: st for st in schedule.tasks}
    starts: list[int] = []
    assign: list[list[tuple[int, str]]] = []
    for t, task in enumerate(problem.tasks):
        st = placed.get(task.name)
        if st is None:
            return None
        keys = {need.key for need in problem.needs[t]}
        starts.append(int(st.start_min))
        assign.append(
            [(index[a.person], a.role) for a in st.people if a.person in index and a.role in keys]
        )
    cover = [
        (c, index[sh.person], sh.start_min, sh.end_min)
        for c, cv in enumerate(problem.covers)
        for sh in schedule.cover
        if (sh.twin, sh.skill) == (cv.cover.twin, cv.cover.skill) and sh.person in index
    ]
    return starts, assign, cover


def solve_schedule(
    problem: Problem,
    *,
    params: SolveParams = SolveParams(),
    operation: str = "separation",
    warm: Schedule | None = None,
    explain: bool = True,
) -> Schedule:
    """Optimise the schedule of one operation.

    Parameters
    ----------
    problem : Problem
        From :func:`twinsep.schedule.problem.compile_problem`.
    params : SolveParams
        Time limit, workers, seed.
    operation : str
        Label of the operation.
    warm : Schedule, optional
        A schedule of the same tasks (another round's, :func:`warm_start`) to start
        the makespan search from when the greedy scheduler finds none within the
        limits (tightened planning limits often leave it none: the search then took
        0.6-2.9 s instead of 0.1-0.3 s on the demos' separation days).
    explain : bool
        Name the constraint family in the error when there is no schedule (one more
        CP-SAT solve, of the problem with relaxed work limits). False where the caller
        only needs to know that there is none (a relief round's tighter limits, a
        larger team tried with the limits a smaller one could not meet): the schedule
        found is the same, the stage saves that solve (session 29: 0.36 s of 5.9 s CPU
        on vertical-II).

    Returns
    -------
    Schedule
        Status ``"optimal"`` when the makespan is proven optimal.

    Raises
    ------
    InfeasibleScheduleError
        Naming the constraint family that cannot be met.
    """
    t0 = time.perf_counter()
    bound = problem.critical_path_bound_min()
    warnings: list[str] = []
    g_cover: list[tuple[int, int, int, int]] | None = None
    try:
        g_starts, g_assign, g_cover = greedy_times(problem)
        greedy_ms = max(g_starts[t] + int(problem.duration_min[t]) for t in range(problem.n_tasks))
        horizon = greedy_ms
    except InfeasibleScheduleError as exc:
        logger.debug("no greedy warm start: %s", exc)
        g_starts, g_assign, g_cover = [], [], None
        greedy_ms = None
        horizon = int(problem.duration_min.sum()) + max(
            p.max_continuous_min for p in problem.people
        )
    mdl = _Model(problem, horizon)
    if g_starts:
        mdl.hint(g_starts, g_assign, g_cover)
    elif warm is not None:
        hint = warm_start(problem, warm)
        if hint is not None:
            mdl.hint(*hint)
    mdl.model.minimize(mdl.makespan)
    wall1 = params.time_limit_s * (1.0 - params.balance_fraction if params.balance else 1.0)
    solver = _solver(params, params.deterministic_s, wall1)
    st = solver.solve(mdl.model)
    if st == cp_model.INFEASIBLE:
        why = _explain_infeasible(problem, params) if explain else "not explained"
        raise InfeasibleScheduleError(f"no schedule for {operation!r}: {why}")
    end1 = _ended(solver, st, f"{operation}: phase 1")
    if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if g_starts:
            warnings.append("CP-SAT found no schedule in its time limit; greedy schedule used")
            return make_schedule(
                problem,
                g_starts,
                g_assign,
                cover=g_cover,
                operation=operation,
                lower_bound_min=bound,
                method="greedy",
                status="heuristic",
                solve_s=time.perf_counter() - t0,
                warnings=warnings,
                search_end=(end1,),
            )
        raise InfeasibleScheduleError(
            f"no schedule for {operation!r} found within {params.time_limit_s} s "
            "(the solver could neither find one nor prove there is none); raise the time "
            "limit or relax the team"
        )
    makespan = int(solver.value(mdl.makespan))
    bound = max(bound, int(solver.best_objective_bound))
    status = "optimal" if st == cp_model.OPTIMAL or bound >= makespan else "feasible"
    starts, assign = mdl.read(solver)
    cover = mdl.read_cover(solver)
    logger.debug(
        "phase 1: makespan %d min, bound %d, greedy %s, %d symmetry links, %.2f s",
        makespan,
        bound,
        greedy_ms,
        mdl.n_sym,
        solver.wall_time,
    )
    makespan_s = time.perf_counter() - t0
    ends = [end1]
    if params.balance:
        mdl.hint(starts, assign, cover)
        mdl.model.add(mdl.makespan <= makespan)
        limits = {p: problem.people[p].max_continuous_min for p in mdl.de}
        # smallest margin anyone keeps to their work limit (unused people: de = ds)
        margin = mdl.model.new_int_var(0, max(limits.values(), default=0), "margin")
        for p, lim in limits.items():
            mdl.model.add(margin <= lim - (mdl.de[p] - mdl.ds[p]))
        on_duty = sum(mdl.de[p] - mdl.ds[p] for p in mdl.de)
        n_used = sum(mdl.used.values())
        w_people = sum(limits.values()) + 1
        levels: list[tuple[str, Any, int, float]] = []

        def bookings() -> Any:
            # nobody called in for less than the shortest booking where anyone already
            # on duty can take the work: ranked above the margin, whose largest value
            # spread a big team's work thin (vertical-II: a circulating nurse booked
            # for 0.9 h so that a colleague's duty stayed 8.6 h, far from 12)
            return mdl.short_bookings(problem.min_booking_min)

        if mdl.seg:
            # with continuous roles, one search per level, each level's optimum kept for
            # the next: fewest relays of the continuous roles (each is a hand-over of
            # an anaesthetised infant: one only where a duty limit requires it), the
            # largest margin, then fewer people (each leaver is a hand-over) and less
            # total on-duty time; the balancing budget is shared by its two levels
            half = params.balance_deterministic_s / 2.0
            levels.append(("relays", mdl.relays(), -1, params.relay_deterministic_s))
            if problem.min_shift_min > 0:
                # then no shift in charge shorter than the minimum, as far as the
                # milestones allow: never at the cost of the makespan or of a relay
                levels.append(("short", mdl.shortfall(), -1, params.relay_deterministic_s))
            if problem.min_booking_min > 0:
                levels.append(("bookings", bookings, -1, params.booking_deterministic_s))
            levels.append(("margin", margin, 1, half))
            levels.append(("people", n_used * w_people + on_duty, -1, half))
        else:
            # without them, as before 2026-11-28: one weighted search, margin first,
            # then fewer people, then less total on-duty time (the benchmark's 150
            # tasks keep their model and time; see docs/schedule.md)
            if problem.min_booking_min > 0:
                levels.append(("bookings", bookings, -1, params.booking_deterministic_s))
            w_margin = w_people * (len(limits) + 1)
            balance = margin * w_margin - n_used * w_people - on_duty
            levels.append(("balance", balance, 1, params.balance_deterministic_s))
        level_ends: list[str] = []
        last: cp_model.CpSolver = solver  # the solve of the schedule at hand
        for i, (name, objective, sense, budget) in enumerate(levels):
            # the bookings level's variables join the model when it runs (the levels
            # before it search the same model as before it existed)
            expr = objective
            if callable(objective):
                expr = objective()
                mdl.hint(starts, assign, cover)  # the new variables hinted too
            elif sense < 0 and (isinstance(expr, int) or int(last.value(expr)) == 0):
                # a count or shortfall already 0 (no relay, no short shift in charge):
                # nothing to search, the schedule at hand is kept (the search would
                # return it after presolve, 0.02-0.05 s a level)
                level_ends.append("proof")
                mdl.model.add(expr <= 0)
                logger.debug("phase 2 (%s): 0 (already)", name)
                continue
            if sense > 0:
                mdl.model.maximize(expr)
            else:
                mdl.model.minimize(expr)
            wall2 = max(0.1, params.time_limit_s - (time.perf_counter() - t0))
            solver2 = _solver(params, budget, wall2)
            st2 = solver2.solve(mdl.model)
            level_ends.append(_ended(solver2, st2, f"{operation}: phase 2 ({name})"))
            if st2 not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                break
            starts, assign = mdl.read(solver2)
            cover = mdl.read_cover(solver2)
            value = int(solver2.objective_value)
            logger.debug("phase 2 (%s): %d (%s)", name, value, level_ends[-1])
            if i + 1 < len(levels):
                # the next level keeps this optimum and starts from this schedule
                # (nothing follows the last level: its model is not searched again)
                mdl.model.add(expr >= value if sense > 0 else expr <= value)
                mdl.hint(starts, assign, cover)
            last = solver2
        # one entry for the balancing phase: the least conclusive of its searches
        ends.append(max(level_ends, key=SEARCH_ENDS.index))
    if "wall-clock limit" in ends:
        warnings.append(
            f"the schedule's search stopped at its wall-clock limit ({params.time_limit_s:g} s) "
            "before its deterministic budget (a busy machine): a run on a less busy machine "
            "may give another, equally valid schedule"
        )
    return make_schedule(
        problem,
        starts,
        assign,
        cover=cover,
        operation=operation,
        lower_bound_min=bound,
        method="cp-sat",
        status=status,
        solve_s=time.perf_counter() - t0,
        makespan_s=makespan_s,
        warnings=warnings,
        search_end=tuple(ends),
    )
