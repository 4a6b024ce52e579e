"""Default craniopagus team and operation template, generated from the plan's stages.

Sources and how the numbers were chosen
---------------------------------------
Published reports give whole-operation durations and team sizes, not step timings:
CHOP 2017 separation 11 h; Montefiore 2016 16-20 h (four stages over nine months);
UCLA 2002 22 h; UC Davis 2020 24 h with more than 30 people in two colour-coded teams
(purple and orange) and one table that became two at the separation; Rio 2022 27 h,
the seventh of seven operations, about 100 staff (``/work/shared/NOTES.md``).
The step durations below are therefore **engineering estimates** (minutes, as
min / most likely / max), chosen from the usual order of a neurosurgical and plastic
reconstruction so that the template's most-likely critical path for one to four
venous-division stages falls inside the published 11-27 h range; they are not
measurements and every one can be overridden by writing the task list in ``team.yaml``.
The steps whose work grows with the case are sized from the plan (``TemplateParams``,
base + minutes per cm²): each division step from its stage's intracranial cut and the
vessels it divides, the scalp flaps and craniotomies from the stage's soft-tissue and
bone cut, each twin's cranioplasty and scalp closure from its bone and scalp defect
(``reconstruct``). Their rates are engineering estimates too, set so that the median of
eight read-through plans takes about the previous fixed estimate (docs/schedule.md).

Decisions
---------
* Staged venous division is staged in time: every stage of kind ``"separation"`` but
  the last is its own earlier operation (:func:`division_operation_tasks`: opening,
  through the previous exposure after the first, one division step sized by that
  stage's cut area, closure of the still joined heads), weeks before the next, so that
  venous collaterals develop between the divisions (Stone & Goodrich 2006; Kobets 2025).
* The **final separation operation** (the last separation stage, the completion of the
  separation and the reconstruction of both heads; :func:`separation_tasks`) is
  scheduled in detail.
* Every **preparatory** stage (tissue-expander insertion, cranial distraction,
  endovascular occlusion, ...) is a separate operation weeks earlier; each is scheduled
  on its own with the short template of :func:`preparatory_tasks` and reported as a
  summary (duration, people) next to the detailed separation day, as are the earlier
  division operations.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from twinsep.schedule.team import Cover, Person, Table, Task, Team


class StageLike(Protocol):
    """What the separation module's ``PlannedStage`` provides."""

    number: int
    name: str
    kind: str
    structures: Sequence[str]
    rationale: str
    area_mm2: float


class StageInput(BaseModel):
    """One stage of the separation plan, as the schedule reads it.

    Accepts the separation module's ``PlannedStage`` dataclass (attributes) or a dict.
    """

    model_config = ConfigDict(frozen=True, from_attributes=True)

    number: int = Field(ge=1)
    name: str = ""
    kind: Literal["preparatory", "separation"]
    structures: tuple[str, ...] = ()
    rationale: str = ""
    area_mm2: float = Field(default=0.0, ge=0.0)
    action: str = ""
    """Preparatory action when the separation module states it (``tissue_expander``,
    ``cranial_distraction``, ``endovascular_occlusion``); inferred from the words
    otherwise."""
    area_mm2_by_tissue: dict[str, float] = Field(default_factory=dict)
    """The stage's cut area by tissue (``soft_tissue``, ``bone``, ``brain``,
    ``brain_interface``, ``csf``, ``vessel``), mm²; empty when the separation module
    did not split it (then the whole ``area_mm2`` sizes the division step and the
    access steps take their fixed estimates)."""

    @property
    def division_area_mm2(self) -> float:
        """Cut area divided in the division step, mm²: the intracranial part (dura and
        brain interface, brain, CSF, vessel); the whole cut when not split by tissue."""
        if not self.area_mm2_by_tissue:
            return self.area_mm2
        return float(sum(self.area_mm2_by_tissue.get(k, 0.0) for k in _INTRACRANIAL))

    @property
    def bone_cut_mm2(self) -> float | None:
        """Bone cut by this stage, mm² (None when the cut is not split by tissue)."""
        return float(self.area_mm2_by_tissue.get("bone", 0.0)) if self.area_mm2_by_tissue else None

    @property
    def scalp_cut_mm2(self) -> float | None:
        """Soft tissue (scalp) cut by this stage, mm² (None when not split by tissue)."""
        if not self.area_mm2_by_tissue:
            return None
        return float(self.area_mm2_by_tissue.get("soft_tissue", 0.0))

    @property
    def vessels_divided(self) -> int:
        """Labelled vessels this stage divides: its ``vessel-N`` structures."""
        return sum(1 for s in self.structures if _VESSEL_ID.fullmatch(s))


#: Tissues of the cut divided in the division step (the rest, scalp and bone, is cut
#: while the heads are opened).
_INTRACRANIAL = ("brain_interface", "brain", "csf", "vessel")
_VESSEL_ID = re.compile(r"vessel-\d+")


class TwinDefectInput(BaseModel):
    """One twin's defects after the separation, as the final operation's closure reads
    them. Accepts the ``reconstruct`` stage's ``TwinDefects`` (attributes) or a dict."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    bone_defect_area_mm2: float = Field(ge=0.0)
    scalp_defect_area_mm2: float = Field(ge=0.0)


def stage_inputs(stages: Sequence[Any]) -> list[StageInput]:
    """Validate a stage list (dataclasses or dicts), sorted by stage number."""
    out = [StageInput.model_validate(s, from_attributes=True) for s in stages]
    return sorted(out, key=lambda s: s.number)


@dataclass(frozen=True)
class TemplateParams:
    """Tunable numbers of the default template (minutes unless the name says otherwise).

    Attributes
    ----------
    division_base_min : float
        Most likely duration of one venous-division step before the size terms:
        exposure under the microscope, set-up of the neuromonitoring, haemostasis of
        the plane. Engineering estimate (see module docstring).
    division_min_per_cm2 : float
        Extra minutes per cm² of the stage's intracranial cut (dura and brain
        interface, brain, CSF, vessel: :attr:`StageInput.division_area_mm2`); the scalp
        and bone of the cut are sized in the access steps. Linear is the simplest
        honest model. Engineering estimate: 6 min/cm² puts the read-through plans'
        division steps (2-41 cm²) at 100-340 min.
    division_min_per_vessel : float
        Extra minutes per labelled vessel the stage divides (temporary clipping, the
        neuromonitoring wait, division and ligation or repair). Engineering estimate.
    division_cap_min : float
        Upper bound of the most likely division time: 10 h, which with the rest of
        the final operation's template (about 16 h) reaches the longest reported
        single operation (27 h, Rio 2022); a larger cut calls for more stages. Before
        2026-11-27 the cap was 180 min, reached by every cut over 15 cm², so that every
        plan got the same operation time.
    division_spread : tuple of float
        (min, max) of a division step as fractions of its most likely time; venous
        division is the least predictable step (bleeding), hence the wide upper tail.
    scalp_flap_base_min, scalp_flap_min_per_cm2 : float
        Raising one twin's scalp flaps: base + minutes per cm² of the stage's soft-tissue
        cut. Engineering estimates, set so that the median of the eight read-through
        plans' stages (about 16 cm²) takes about the previous fixed 90 min (84 min);
        (min, max) keep that estimate's proportions (60, 90, 150 min). Fixed 90 min when the cut is not
        split by tissue.
    craniotomy_base_min, craniotomy_min_per_cm2 : float
        One twin's craniotomy: base + minutes per cm² of the stage's bone cut (median
        about 3 cm² -> about 75 min; 60-155 min over the read-through plans).
        Engineering estimates; fixed 90 min when the cut is not split by tissue.
    cranioplasty_base_min, cranioplasty_min_per_cm2 : float
        One twin's cranioplasty: base + minutes per cm² of its bone defect
        (``reconstruct``: median about 41 cm² -> about 86 min; 68-136 min over the
        read-through plans). Engineering estimates; fixed 90 min without a
        reconstruction.
    scalp_closure_base_min, scalp_closure_min_per_cm2 : float
        One twin's scalp closure after the separation: base + minutes per cm² of its
        scalp defect (median about 70 cm² -> about 116 min; 100-160 min). Engineering
        estimates; fixed 120 min without a reconstruction.
    max_continuous_h : float
        Default limit on continuous duty for every person, hours, hand-over included.
        Assumption: the usual 12-hour operating-theatre shift; edit per person.
    handover_min : int
        Default time to brief a successor, minutes. Assumption: structured intra-
        operative hand-overs are usually quoted at 5-15 min; 15 used for safety.
    """

    division_base_min: float = 90.0
    division_min_per_cm2: float = 6.0
    division_min_per_vessel: float = 30.0
    division_cap_min: float = 600.0
    division_spread: tuple[float, float] = (0.7, 2.0)
    scalp_flap_base_min: float = 60.0
    scalp_flap_min_per_cm2: float = 1.5
    craniotomy_base_min: float = 60.0
    craniotomy_min_per_cm2: float = 5.0
    cranioplasty_base_min: float = 45.0
    cranioplasty_min_per_cm2: float = 1.0
    scalp_closure_base_min: float = 60.0
    scalp_closure_min_per_cm2: float = 0.8
    max_continuous_h: float = 12.0
    handover_min: int = 15


# ----------------------------------------------------------------------------
# default team
# ----------------------------------------------------------------------------
#: (role code prefix, skills, number per twin team) of each twin's own team.
_TWIN_TEAM: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("NS", ("neurosurgeon",), 3),
    ("PS", ("plastic_surgeon",), 4),
    ("AN", ("anaesthetist",), 4),
    ("SN", ("scrub_nurse",), 3),
    ("CN", ("circulating_nurse",), 2),
)
#: (role code prefix, skills, number, grows with relays) of the shared members.
_SHARED: tuple[tuple[str, tuple[str, ...], int, bool], ...] = (
    ("NS-LEAD", ("neurosurgeon",), 1, False),
    ("NP", ("neurophysiologist",), 3, True),
    ("AT", ("anaesthesia_technician",), 2, True),
    ("RG", ("radiographer",), 1, False),
    ("IE", ("navigation_engineer",), 1, False),
    ("IR", ("interventional_radiologist",), 1, False),
    ("NC", ("circulating_nurse",), 1, True),
)


def default_team(
    params: TemplateParams = TemplateParams(),
    *,
    relays: int = 0,
    extra: Mapping[str, int] | None = None,
) -> Team:
    """The default craniopagus team: two colour-coded twin teams of 16 and 10 shared.

    42 role codes (no names): per twin 3 neurosurgeons, 4 plastic surgeons,
    4 anaesthetists, 3 scrub and 2 circulating nurses; shared a lead neurosurgeon,
    3 neurophysiologists, 2 anaesthesia technicians, a radiographer, a navigation
    engineer, an interventional radiologist and a nurse coordinator. Size after UC Davis
    2020 ("more than 30 people", two teams) and Rio 2022 (about 100 staff over the day);
    the counts are what the 12-hour duty limit needs to relay a 17-28 h operation in
    which some roles are needed at its start and again at its end (plastic surgeons for
    the scalp flaps and for the closure; two anaesthetists per twin at induction and one
    per twin throughout).

    Parameters
    ----------
    params : TemplateParams
        Work limit and hand-over time of every person.
    relays : int
        Extra people per twin-team role and per continuous shared role (monitoring,
        anaesthesia technicians, coordination), for operations too long for the base team.
    extra : mapping, optional
        Further people by role code prefix: per twin team for the twin-team roles
        (``{"AN": 1}``: one more anaesthetist per twin, for the relays of the twins'
        anaesthetists in charge; ``{"SN": 1}``: one more scrub nurse per twin), in all
        for the shared ones (``{"NP": 1}``), for relief on the simulated day
        (:mod:`twinsep.schedule.relief`, :func:`role_prefix`).
    """
    if relays < 0:
        raise ValueError(f"relays must be >= 0, got {relays}")
    more = dict(extra or {})
    known = {r[0] for r in _TWIN_TEAM} | {r[0] for r in _SHARED}
    if any(v < 0 for v in more.values()) or set(more) - known:
        raise ValueError(f"extra must map role code prefixes to counts >= 0, got {more}")
    people: list[Person] = []
    for twin in ("A", "B"):
        for prefix, skills, n in _TWIN_TEAM:
            for i in range(1, n + relays + more.get(prefix, 0) + 1):
                people.append(
                    Person(
                        name=f"{prefix}-{twin}{i}",
                        skills=skills,
                        team=twin,  # type: ignore[arg-type]
                        max_continuous_h=params.max_continuous_h,
                        handover_min=params.handover_min,
                    )
                )
    for prefix, skills, n, grows in _SHARED:
        count = (n + relays if grows else n) + more.get(prefix, 0)
        for i in range(1, count + 1):
            people.append(
                Person(
                    name=prefix if (prefix, i) == ("NS-LEAD", 1) else f"{prefix}-{i}",
                    skills=skills,
                    team="shared",
                    max_continuous_h=params.max_continuous_h,
                    handover_min=params.handover_min,
                )
            )
    return Team(
        people=tuple(people),
        rooms=("OR-1", "OR-2"),
        tables=(
            Table(name="joint", room="OR-1", twin="joint", fields=2),
            Table(name="table A", room="OR-1", twin="A", fields=1),
            Table(name="table B", room="OR-2", twin="B", fields=1),
        ),
        equipment={
            "microscope": 2,
            "navigation": 1,
            "c_arm": 1,
            "craniotome": 2,
            "neuromonitoring": 2,
            "ultrasound": 1,
            "cell_saver": 2,
        },
    )


def role_prefix(skill: str, team: str) -> str | None:
    """Role code prefix of the default team's people with ``skill`` of ``team`` (A, B or
    shared): ``("scrub_nurse", "A") -> "SN"``, ``("circulating_nurse", "shared") ->
    "NC"``; None when the default team has no such group."""
    if team in ("A", "B"):
        return next((pre for pre, skills, _ in _TWIN_TEAM if skill in skills), None)
    return next((pre for pre, skills, _, _ in _SHARED if skill in skills), None)


# ----------------------------------------------------------------------------
# tasks of the final separation operation
# ----------------------------------------------------------------------------
def _t(
    name: str,
    dur: tuple[float, float, float],
    needs: dict[str, int],
    *,
    twin: str = "both",
    table: str | None = None,
    fields: int = 1,
    after: Sequence[str] = (),
    equipment: dict[str, int] | None = None,
    separation: bool = False,
    phase: str = "",
) -> Task:
    return Task(
        name=name,
        duration_min=dur,
        needs=needs,
        equipment=equipment or {},
        twin=twin,  # type: ignore[arg-type]
        table=table,
        fields=fields,
        after=tuple(after),
        separation=separation,
        phase=phase,
    )


def _short(text: str, limit: int = 60) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def division_duration_min(
    area_mm2: float, params: TemplateParams = TemplateParams(), *, vessels: int = 0
) -> tuple[float, float, float]:
    """(min, most likely, max) minutes of one venous-division step.

    Parameters
    ----------
    area_mm2 : float
        Cut area divided in the step, mm² (:attr:`StageInput.division_area_mm2`).
    params : TemplateParams
    vessels : int
        Labelled vessels divided in the step.
    """
    mode = min(
        params.division_cap_min,
        params.division_base_min
        + params.division_min_per_cm2 * area_mm2 / 100.0
        + params.division_min_per_vessel * vessels,
    )
    lo, hi = params.division_spread
    return (round(lo * mode, 1), round(mode, 1), round(hi * mode, 1))


def sized_duration_min(
    area_mm2: float | None,
    base_min: float,
    min_per_cm2: float,
    fixed: tuple[float, float, float],
) -> tuple[float, float, float]:
    """(min, most likely, max) minutes of a step that grows with an area.

    Most likely ``base_min + min_per_cm2 x area``; min and max keep the proportions of
    ``fixed``, the step's estimate when its area is unknown (``area_mm2`` None), which
    is returned as it is.
    """
    if area_mm2 is None:
        return fixed
    mode = base_min + min_per_cm2 * max(float(area_mm2), 0.0) / 100.0
    lo, ml, hi = fixed
    return (round(mode * lo / ml, 1), round(mode, 1), round(mode * hi / ml, 1))


def _division_name(stage: StageInput) -> str:
    """``"stage 4 division: vessel-1, remaining bridge"``: named by the stage number,
    the numbering of plan.json, the report's stage table and the calendar."""
    what = ", ".join(stage.structures) or stage.name or "shared venous segment"
    return f"stage {stage.number} division: {_short(what)}"


def _division_step(stage: StageInput, params: TemplateParams, after: str) -> Task:
    return _t(
        _division_name(stage),
        division_duration_min(stage.division_area_mm2, params, vessels=stage.vessels_divided),
        dict(_DIVISION_NEEDS),
        table="joint",
        fields=2,
        after=[after],
        equipment={"microscope": 2, "neuromonitoring": 2},
        phase="division",
    )


def _sum_or_none(values: Sequence[float | None]) -> float | None:
    if not values or any(v is None for v in values):
        return None
    return float(sum(v for v in values if v is not None))


def _opening_tasks(
    reopen: bool,
    params: TemplateParams = TemplateParams(),
    *,
    scalp_cut_mm2: float | None = None,
    bone_cut_mm2: float | None = None,
) -> list[Task]:
    """Briefing to dural opening on the joint table (both operations with an opening).

    ``reopen``: the heads were opened in an earlier division operation; the flaps are
    raised again through the previous exposure (same estimates: scar tissue and
    adhesions make a re-opening no quicker than the first). Each twin's scalp flaps
    grow with the soft tissue the operation's stage(s) cut, its craniotomy with the
    bone (fixed estimates when not known).
    """
    flap_dur = sized_duration_min(
        scalp_cut_mm2, params.scalp_flap_base_min, params.scalp_flap_min_per_cm2, (60, 90, 150)
    )
    bone_dur = sized_duration_min(
        bone_cut_mm2, params.craniotomy_base_min, params.craniotomy_min_per_cm2, (60, 90, 150)
    )
    both = {"anaesthetist@A": 1, "anaesthetist@B": 1}
    tasks = [
        _t(
            "team briefing and time-out",
            (20, 30, 45),
            {"neurosurgeon": 1, **both, "scrub_nurse": 1, "circulating_nurse": 1},
            phase="preparation",
        ),
        _t(
            "induction and lines A",
            (60, 90, 150),
            {"anaesthetist": 2, "anaesthesia_technician": 1},
            twin="A",
            table="joint",
            after=["team briefing and time-out"],
            phase="anaesthesia",
        ),
        _t(
            "induction and lines B",
            (60, 90, 150),
            {"anaesthetist": 2, "anaesthesia_technician": 1},
            twin="B",
            table="joint",
            after=["team briefing and time-out"],
            phase="anaesthesia",
        ),
        _t(
            "neuromonitoring set-up A",
            (20, 30, 45),
            {"neurophysiologist": 1},
            twin="A",
            after=["induction and lines A"],
            equipment={"neuromonitoring": 1},
            phase="anaesthesia",
        ),
        _t(
            "neuromonitoring set-up B",
            (20, 30, 45),
            {"neurophysiologist": 1},
            twin="B",
            after=["induction and lines B"],
            equipment={"neuromonitoring": 1},
            phase="anaesthesia",
        ),
        _t(
            "positioning and head fixation",
            (45, 60, 90),
            {"neurosurgeon": 2, **both, "circulating_nurse": 2},
            table="joint",
            fields=2,
            after=["induction and lines A", "induction and lines B"],
            phase="preparation",
        ),
        _t(
            "navigation registration",
            (20, 30, 60),
            {"neurosurgeon": 1, "navigation_engineer": 1},
            table="joint",
            fields=2,
            after=["positioning and head fixation"],
            equipment={"navigation": 1},
            phase="preparation",
        ),
        _t(
            "prep and drape",
            (20, 30, 45),
            {"scrub_nurse": 2, "circulating_nurse": 1},
            table="joint",
            fields=2,
            after=[
                "navigation registration",
                "neuromonitoring set-up A",
                "neuromonitoring set-up B",
            ],
            phase="preparation",
        ),
    ]
    flaps = "re-open scalp flaps" if reopen else "scalp flaps"
    bone = "re-open bone flap" if reopen else "craniotomy"
    for x in ("A", "B"):
        tasks += [
            _t(
                f"{flaps} {x} side",
                flap_dur,
                {"plastic_surgeon": 2, "scrub_nurse": 1, "anaesthetist": 1},
                twin=x,
                table="joint",
                after=["prep and drape"],
                phase="access",
            ),
            _t(
                f"{bone} {x} side",
                bone_dur,
                {"neurosurgeon": 2, "scrub_nurse": 1, "anaesthetist": 1},
                twin=x,
                table="joint",
                after=[f"{flaps} {x} side"],
                equipment={"craniotome": 1},
                phase="access",
            ),
        ]
    tasks.append(
        _t(
            "dural opening",
            (45, 60, 90),
            {"neurosurgeon": 2, "scrub_nurse": 1, **both, "neurophysiologist": 1},
            table="joint",
            fields=2,
            after=[f"{bone} A side", f"{bone} B side"],
            equipment={"microscope": 1},
            phase="access",
        )
    )
    return tasks


_DIVISION_NEEDS = {
    "neurosurgeon": 2,
    "scrub_nurse": 2,
    "anaesthetist@A": 1,
    "anaesthetist@B": 1,
    "neurophysiologist": 1,
}


def separation_tasks(
    stages: Sequence[StageInput],
    params: TemplateParams = TemplateParams(),
    *,
    reopen: bool = False,
    defects: Mapping[str, TwinDefectInput] | None = None,
) -> list[Task]:
    """Tasks of the final separation operation for the ``separation`` stages given.

    The plan's schedule passes only the last separation stage (the earlier ones are
    operations of their own, :func:`division_operation_tasks`); given several, their
    division steps follow one another in this one operation.

    Parameters
    ----------
    stages : sequence of StageInput
        Stages; those of kind ``separation`` get one division step each, in order,
        named by their stage number (``stage 4 division: ...``) and sized by their
        intracranial cut and the vessels they divide (:func:`division_duration_min`);
        the scalp flaps and craniotomies grow with their soft-tissue and bone cut.
    params : TemplateParams
    reopen : bool
        The heads were opened before (an earlier division operation): the flaps are
        re-opened through the previous exposure.
    defects : mapping "A"/"B" -> TwinDefectInput, optional
        Each twin's bone and scalp defect (the ``reconstruct`` stage): its cranioplasty
        and scalp closure grow with them; fixed estimates when None.

    Tables: ``joint`` until the separation moment, then ``table A`` / ``table B``
    (names of :func:`default_team`).
    """
    seps = [s for s in stages if s.kind == "separation"]
    both = {"anaesthetist@A": 1, "anaesthetist@B": 1}
    tasks = _opening_tasks(
        reopen,
        params,
        scalp_cut_mm2=_sum_or_none([s.scalp_cut_mm2 for s in seps]),
        bone_cut_mm2=_sum_or_none([s.bone_cut_mm2 for s in seps]),
    )
    div_needs = dict(_DIVISION_NEEDS)
    prev = "dural opening"
    for st in seps:
        step = _division_step(st, params, prev)
        tasks.append(step)
        prev = step.name
    tasks += [
        _t(
            "division of remaining dura and arachnoid plane",
            (60, 90, 180),
            div_needs,
            table="joint",
            fields=2,
            after=[prev],
            equipment={"microscope": 2},
            phase="division",
        ),
        _t(
            "separation moment",
            (5, 10, 20),
            {"neurosurgeon": 2, **both, "circulating_nurse": 2},
            table="joint",
            fields=2,
            after=["division of remaining dura and arachnoid plane"],
            separation=True,
            phase="separation",
        ),
        _t(
            "reposition A on table A",
            (10, 20, 30),
            {"anaesthetist": 1, "circulating_nurse": 1},
            twin="A",
            table="table A",
            after=["separation moment"],
            phase="separation",
        ),
        _t(
            "transfer B to table B",
            (15, 30, 45),
            {"anaesthetist": 2, "circulating_nurse": 1},
            twin="B",
            table="table B",
            after=["separation moment"],
            phase="separation",
        ),
    ]
    for x in ("A", "B"):
        first = "reposition A on table A" if x == "A" else "transfer B to table B"
        tbl = f"table {x}"
        twin_defects = (defects or {}).get(x)
        cranioplasty = sized_duration_min(
            twin_defects.bone_defect_area_mm2 if twin_defects else None,
            params.cranioplasty_base_min,
            params.cranioplasty_min_per_cm2,
            (60, 90, 150),
        )
        closure = sized_duration_min(
            twin_defects.scalp_defect_area_mm2 if twin_defects else None,
            params.scalp_closure_base_min,
            params.scalp_closure_min_per_cm2,
            (90, 120, 180),
        )
        tasks += [
            _t(
                f"haemostasis and dural repair {x}",
                (90, 120, 240),
                {"neurosurgeon": 2, "scrub_nurse": 1, "anaesthetist": 1},
                twin=x,
                table=tbl,
                after=[first],
                equipment={"microscope": 1},
                phase="reconstruction",
            ),
            _t(
                f"cranioplasty {x}",
                cranioplasty,
                {"neurosurgeon": 1, "plastic_surgeon": 1, "scrub_nurse": 1, "anaesthetist": 1},
                twin=x,
                table=tbl,
                after=[f"haemostasis and dural repair {x}"],
                phase="reconstruction",
            ),
            _t(
                f"scalp closure {x}",
                closure,
                {"plastic_surgeon": 2, "scrub_nurse": 1, "anaesthetist": 1},
                twin=x,
                table=tbl,
                after=[f"cranioplasty {x}"],
                phase="reconstruction",
            ),
            _t(
                f"dressing and transfer to ICU {x}",
                (30, 45, 60),
                {"anaesthetist": 1, "circulating_nurse": 1},
                twin=x,
                table=tbl,
                after=[f"scalp closure {x}"],
                phase="transfer",
            ),
        ]
    return tasks


def division_operation_tasks(
    stage: StageInput,
    params: TemplateParams = TemplateParams(),
    *,
    reopen: bool = False,
) -> list[Task]:
    """Tasks of one earlier venous-division operation (the heads stay joined).

    The same opening as the final operation (:func:`separation_tasks`; through the
    previous exposure when ``reopen``; scalp flaps and craniotomies sized by this
    stage's soft-tissue and bone cut), one division step named by the stage number and
    sized by the stage's intracranial cut and vessels (:func:`division_duration_min`),
    then haemostasis and dural closure, the bone flaps and the scalp closed by each
    twin's team, and emergence of both twins on the joint table. Closure estimates as in
    the final operation without a reconstruction (dural repair 90/120/240, scalp
    closure 90/120/180 min); the bone flaps are put back, not reconstructed.

    Parameters
    ----------
    stage : StageInput
        The separation stage divided in this operation.
    params : TemplateParams
    reopen : bool
        An earlier division operation opened the heads.
    """
    both = {"anaesthetist@A": 1, "anaesthetist@B": 1}
    tasks = _opening_tasks(
        reopen, params, scalp_cut_mm2=stage.scalp_cut_mm2, bone_cut_mm2=stage.bone_cut_mm2
    )
    step = _division_step(stage, params, "dural opening")
    name = step.name
    tasks += [
        step,
        _t(
            "haemostasis and dural closure",
            (90, 120, 240),
            {"neurosurgeon": 2, "scrub_nurse": 1, **both},
            table="joint",
            fields=2,
            after=[name],
            equipment={"microscope": 1},
            phase="closure",
        ),
    ]
    for x in ("A", "B"):
        tasks += [
            _t(
                f"bone flap back {x} side",
                (30, 45, 90),
                {"neurosurgeon": 1, "scrub_nurse": 1, "anaesthetist": 1},
                twin=x,
                table="joint",
                after=["haemostasis and dural closure"],
                phase="closure",
            ),
            _t(
                f"scalp closure {x} side",
                (90, 120, 180),
                {"plastic_surgeon": 2, "scrub_nurse": 1, "anaesthetist": 1},
                twin=x,
                table="joint",
                after=[f"bone flap back {x} side"],
                phase="closure",
            ),
        ]
    tasks.append(
        _t(
            "dressing, emergence and transfer to ICU",
            (45, 60, 90),
            {**both, "circulating_nurse": 1},
            table="joint",
            fields=2,
            after=["scalp closure A side", "scalp closure B side"],
            phase="transfer",
        )
    )
    return tasks


_ENDOVASCULAR = re.compile(r"endovascular|emboli|occlusion|coil", re.IGNORECASE)
_EXPANDER = re.compile(r"expander|expansion", re.IGNORECASE)
# the separation module's action codes: endovascular_occlusion / tissue_expander match
# the patterns above; cranial_distraction falls through to the neurosurgical template


def preparatory_action(stage: StageInput) -> str:
    """``endovascular_occlusion``, ``tissue_expander`` or ``other`` for a preparatory
    stage: its ``action`` when the separation module states one of these, else read
    from its words (name, structures, rationale) as :func:`preparatory_tasks` does."""
    text = " ".join([stage.action, stage.name, *stage.structures, stage.rationale])
    if _ENDOVASCULAR.search(text):
        return "endovascular_occlusion"
    if _EXPANDER.search(text):
        return "tissue_expander"
    return "other"


def preparatory_tasks(stage: StageInput) -> list[Task]:
    """Short template of one preparatory operation (its own day, weeks before).

    Expander insertion is led by plastic surgeons, endovascular occlusion by an
    interventional radiologist with the C-arm, anything else (cranial distraction,
    fascia expansion, ...) by neurosurgeons and plastic surgeons together.
    """
    action = preparatory_action(stage)
    both = {"anaesthetist@A": 1, "anaesthetist@B": 1}
    main_name = _short(stage.name or ", ".join(stage.structures) or f"stage {stage.number}")
    equipment: dict[str, int] = {}
    if action == "endovascular_occlusion":
        needs = {"interventional_radiologist": 1, "radiographer": 1, "scrub_nurse": 1, **both}
        equipment = {"c_arm": 1}
        dur: tuple[float, float, float] = (90, 150, 300)
    elif action == "tissue_expander":
        needs = {"plastic_surgeon": 2, "scrub_nurse": 2, **both}
        dur = (90, 120, 210)
    else:
        needs = {"neurosurgeon": 2, "plastic_surgeon": 1, "scrub_nurse": 2, **both}
        dur = (120, 180, 300)
    return [
        _t(
            "team briefing and time-out",
            (10, 20, 30),
            {"neurosurgeon": 1, **both, "circulating_nurse": 1},
            phase="preparation",
        ),
        _t(
            "induction and lines A",
            (45, 60, 120),
            {"anaesthetist": 1, "anaesthesia_technician": 1},
            twin="A",
            table="joint",
            after=["team briefing and time-out"],
            phase="anaesthesia",
        ),
        _t(
            "induction and lines B",
            (45, 60, 120),
            {"anaesthetist": 1, "anaesthesia_technician": 1},
            twin="B",
            table="joint",
            after=["team briefing and time-out"],
            phase="anaesthesia",
        ),
        _t(
            "positioning",
            (20, 30, 60),
            {"circulating_nurse": 2, **both},
            table="joint",
            fields=2,
            after=["induction and lines A", "induction and lines B"],
            phase="preparation",
        ),
        _t(
            main_name,
            dur,
            needs,
            table="joint",
            fields=2,
            after=["positioning"],
            equipment=equipment,
            phase="procedure",
        ),
        _t(
            "closure and dressing",
            (30, 45, 90),
            {"plastic_surgeon": 1, "scrub_nurse": 1, **both},
            table="joint",
            fields=2,
            after=[main_name],
            phase="closure",
        ),
        _t(
            "emergence and transfer",
            (30, 45, 60),
            {**both, "circulating_nurse": 1},
            table="joint",
            fields=2,
            after=["closure and dressing"],
            phase="transfer",
        ),
    ]


def anaesthesia_covers(tasks: Sequence[Task]) -> tuple[Cover, ...]:
    """Each twin's continuous anaesthetist in a template operation.

    From the start of ``induction and lines X`` to the end of the last ``transfer``
    task that needs twin X's anaesthetist: an anaesthetised infant is never without
    its anaesthetist (the anaesthesia record is continuous; relays hand over
    explicitly). Twins without an induction task get none.

    When the induction follows a task that asks for twin X's anaesthetist (the team
    briefing and time-out), the cover opens there: whoever anaesthetises the twin
    attends the briefing (since session 27; before, the briefing's anaesthetist need
    could go to a colleague who then handed over at the induction: on the expander day
    AN-A1 / AN-B1 were on duty 35 min for the briefing and that hand-over, and AN-A2 /
    AN-B2, in charge all day, missed the briefing).
    """
    out: list[Cover] = []
    for x in ("A", "B"):
        first = f"induction and lines {x}"
        if not any(t.name == first for t in tasks):
            continue
        probe = Cover(skill="anaesthetist", twin=x, **{"from": first, "until": first})
        # the anaesthetist in charge attends the briefing before the induction (the
        # time-out): the cover opens there when the briefing asks for that twin's one
        induction = next(t for t in tasks if t.name == first)
        briefing = [
            t.name
            for t in tasks
            if t.name in induction.after and any(probe.serves(t, k) for k in t.needs)
        ]
        if len(briefing) == 1:
            probe = probe.model_copy(update={"from_task": briefing[0]})
        last = [
            t.name
            for t in tasks
            if t.phase == "transfer" and any(probe.serves(t, k) for k in t.needs)
        ]
        if last:
            out.append(probe.model_copy(update={"until_task": last[-1]}))
    return tuple(out)
