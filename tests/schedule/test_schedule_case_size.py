"""The operation's duration follows the case: cut, vessels divided and defects.

Before 2026-11-27 every read-through plan (partial or total, one or two division steps)
got the same final operation, planned 1165 min and P50 1377 min: the division step was
capped at 180 min, reached by any cut over 15 cm², and the other steps were fixed.
"""

from __future__ import annotations

import pytest
from sched_helpers import FAST

from twinsep.schedule.montecarlo import MonteCarloParams
from twinsep.schedule.stage import ScheduleParams, plan_schedule
from twinsep.schedule.template import (
    StageInput,
    TemplateParams,
    TwinDefectInput,
    division_duration_min,
    separation_tasks,
    sized_duration_min,
)

PARAMS = ScheduleParams(
    solve=FAST, earlier_time_limit_s=60.0, montecarlo=MonteCarloParams(n_samples=2000)
)


def _stage(soft: float, bone: float, interface: float, csf: float, vessels: int) -> StageInput:
    return StageInput(
        number=2,
        name="Separation",
        kind="separation",
        structures=(*(f"vessel-{k + 1}" for k in range(vessels)), "remaining bridge"),
        area_mm2=soft + bone + interface + csf,
        area_mm2_by_tissue={
            "soft_tissue": soft,
            "bone": bone,
            "brain_interface": interface,
            "brain": 0.0,
            "csf": csf,
            "vessel": 0.0,
        },
    )


# sizes of two read-through plans' final stages and defects (at120-occ-p15-all and
# vertical-II 128, rounded): the second cuts twice the brain interface, divides a
# vessel and leaves twice the defects
SMALL = _stage(soft=1300.0, bone=350.0, interface=1300.0, csf=550.0, vessels=0)
LARGE = _stage(soft=1800.0, bone=600.0, interface=3000.0, csf=700.0, vessels=1)
SMALL_DEFECTS = {
    x: TwinDefectInput(bone_defect_area_mm2=4100.0, scalp_defect_area_mm2=6900.0) for x in "AB"
}
LARGE_DEFECTS = {
    x: TwinDefectInput(bone_defect_area_mm2=9100.0, scalp_defect_area_mm2=12500.0) for x in "AB"
}


def _durations(stage: StageInput, defects: dict[str, TwinDefectInput] | None) -> dict[str, int]:
    # most-likely minutes of each task
    return {t.name: t.duration_min[1] for t in separation_tasks([stage], defects=defects)}


def test_each_sized_step_follows_its_area() -> None:
    p = TemplateParams()
    small, large = _durations(SMALL, SMALL_DEFECTS), _durations(LARGE, LARGE_DEFECTS)
    # division: intracranial cut only (interface + CSF; scalp and bone are cut while
    # opening), 90 min + 6 min/cm² + 30 min a vessel, no longer capped at 180 min
    assert small["stage 2 division: remaining bridge"] == pytest.approx(
        90 + 6 * 18.5, abs=0.05
    )  # 201 min
    assert large["stage 2 division: vessel-1, remaining bridge"] == pytest.approx(
        90 + 6 * 37 + 30, abs=0.05
    )
    # access per twin from the stage's soft-tissue and bone cut
    assert small["scalp flaps A side"] == pytest.approx(60 + 1.5 * 13.0, abs=0.05)
    assert large["craniotomy B side"] == pytest.approx(60 + 5.0 * 6.0, abs=0.05)
    # closure per twin from its own defects
    assert small["cranioplasty A"] == pytest.approx(45 + 1.0 * 41.0, abs=0.05)
    assert large["scalp closure B"] == pytest.approx(60 + 0.8 * 125.0, abs=0.05)
    # the spread keeps the fixed estimate's proportions (60 / 90 / 150 min)
    lo, ml, hi = sized_duration_min(4100.0, 45.0, 1.0, (60, 90, 150))
    assert (lo, ml, hi) == pytest.approx((86 * 60 / 90, 86, 86 * 150 / 90), abs=0.06)
    # unknown sizes (a stage list without the split, no reconstruction): the fixed
    # estimates of the template before sizes were read
    fixed = _durations(StageInput(number=1, kind="separation", area_mm2=0.0), None)
    assert (fixed["craniotomy A side"], fixed["cranioplasty B"], fixed["scalp closure A"]) == (
        90,
        90,
        120,
    )
    # the cap is far above the read-through plans (2-41 cm², at most one vessel)
    assert division_duration_min(4150.0, p, vessels=1)[1] < p.division_cap_min
    assert division_duration_min(1e6, p)[1] == p.division_cap_min


@pytest.fixture(scope="module")
def small_and_large():
    # one division stage each: no earlier division operation, a few seconds each
    return (
        plan_schedule([SMALL], params=PARAMS, defects=SMALL_DEFECTS),
        plan_schedule([LARGE], params=PARAMS, defects=LARGE_DEFECTS),
    )


def test_a_larger_case_takes_longer(small_and_large) -> None:
    small, large = small_and_large
    # the division step is on the critical path (the joint table, before the
    # separation moment): the larger case is at least its difference longer,
    # 6 x 18.5 cm² + 30 min = 141 min, planned and at the P50 (same seed, same samples)
    step = 6 * 18.5 + 30
    assert large.final.makespan_min - small.final.makespan_min >= step - 1
    assert large.risk.makespan_p50_min - small.risk.makespan_p50_min >= step - 1
    assert large.risk.makespan_p90_min > small.risk.makespan_p90_min
    # defects alone (same cut): the closure after the separation grows
    same_cut = plan_schedule([SMALL], params=PARAMS, defects=LARGE_DEFECTS)
    assert same_cut.final.makespan_min > small.final.makespan_min
