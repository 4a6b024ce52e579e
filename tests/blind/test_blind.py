"""twinsep through its CLI on the blind phantom (phantom3), scored from outside.

Four 96^3 cases (2.9-3.6 mm voxels), each planned once per module with ``twinsep plan``.
The Dice floors are about 0.03 under what ``benchmarks/bench_blind.py`` measured on these
exact cases (deterministic generator; plan seed 0) at the commit named below, so that a
regression shows. Clear failures of twinsep are ``xfail(strict=True)`` with the reason;
when one is mended the test XPASSes, fails, and the marker must go.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from blind.cases import blind_cases
from blind.score import plan_and_score

pytestmark = pytest.mark.slow

LOWNOISE = "vt0-c5-ras"  # vertical total, contrast CT with noise 5 HU, RAS
PLAIN = "vt90-p15-lps"  # vertical total rotated 90 deg, plain CT, LPS storage
CORR = "at130-occ-c30corr-fov"  # angular total at 130 deg, correlated 30 HU noise, 1.5 mm
# PSF, FOV padding -3024, intercept -1024 (bench: the same at white 15 HU is angular, 130.9)
NECK = "at120-occ-c15-neck80"  # angular total at 120 deg, 80 mm necks inside the scan
CASES = [LOWNOISE, PLAIN, CORR, NECK]

# Measured by bench_blind at afd8e5d (git archive snapshot), Dice soft/bone/brain/CSF/vessel:
#   vt0-c5-ras             0.949 0.845 0.939 0.573 0.000  (vt0-c15-ras: vessel 0.570)
#   vt90-p15-lps           0.778 0.884 0.835 0.461 -      (plain CT)
#   at130-occ-c30corr-fov  0.941 0.852 0.675 0.326 0.515
#   at120-occ-c15-neck80   0.851 0.818 0.878 0.448 0.446  (3.6 mm voxels)
FLOORS: dict[str, dict[str, float]] = {
    LOWNOISE: {"soft": 0.92, "bone": 0.81, "brain": 0.91, "csf": 0.54},
    PLAIN: {"soft": 0.75, "bone": 0.85, "brain": 0.80, "csf": 0.43},
    CORR: {"soft": 0.91, "bone": 0.82, "brain": 0.64, "csf": 0.29, "vessel": 0.48},
    NECK: {"soft": 0.82, "bone": 0.79, "brain": 0.85, "csf": 0.42, "vessel": 0.41},
}


def _xfail(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=reason)


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    work: Path = tmp_path_factory.mktemp("blind")
    cases = blind_cases()
    return {name: plan_and_score(cases[name], work) for name in CASES}


@pytest.mark.parametrize(
    "name",
    # NECK (necks shown whole, 80 mm) was 0.68 at afd8e5d (the A/B boundary at twin A's
    # skull base): fixed by 525d41f and 33b691b
    CASES,
)
def test_plans_twin_a_and_twin_accuracy(rows: dict[str, dict[str, Any]], name: str) -> None:
    r = rows[name]
    assert r["exit"] == 0, r.get("error")
    assert r["twin_a_ok"]  # the DESIGN rule twin
    assert r["twin_acc_15mm"] >= 0.995  # issue 4's target


@pytest.mark.parametrize("name", CASES)
def test_dice_floors(rows: dict[str, dict[str, Any]], name: str) -> None:
    d = rows[name]["dice"]
    low = {k: round(d[k], 3) for k, floor in FLOORS[name].items() if d[k] < floor}
    assert not low, f"below the floors {FLOORS[name]}: {low}"


@pytest.mark.parametrize(
    "name",
    [
        LOWNOISE,
        PLAIN,
        NECK,
        # CORR read vertical (176.9 at d3a969f): the scan's edge crosses both necks
        # 25 deg obliquely and the neck-or-jaw cut's normal gave the axes; since the
        # axis of the neck's tube is used instead, angular 115.0 (fusion.axes)
        CORR,
    ],
)
def test_fusion_type(rows: dict[str, dict[str, Any]], name: str) -> None:
    r = rows[name]
    assert r["type_ok"], (r["type_plan"], r["axis_angle_plan_deg"])


@pytest.mark.parametrize(
    "name",
    [
        LOWNOISE,
        PLAIN,  # plain CT, faces 90 deg apart: 12.8 deg at afd8e5d (type I for III)
    ],
)
def test_oconnell_rotation(rows: dict[str, dict[str, Any]], name: str) -> None:
    # O'Connell classes are 40 deg wide or more: 20 deg is a real error
    assert rows[name]["rotation_err_deg"] <= 20.0


@pytest.mark.parametrize(
    "name",
    [
        CORR,
        NECK,
        LOWNOISE,  # 5 HU noise: no vessel found at afd8e5d, the union called partial
    ],
)
def test_completeness_and_shared_sinus(rows: dict[str, dict[str, Any]], name: str) -> None:
    r = rows[name]
    assert r["completeness_ok"] and r["shared_sinus_ok"]
    assert r["dice"]["vessel"] >= 0.4  # the sinuses are found (0.45-0.52 measured)


def test_plain_ct_total_is_inferred(rows: dict[str, dict[str, Any]]) -> None:
    # No sinus on a CT without contrast: total inferred from the brain contact (0.375 of
    # the bridge in-process at fae59f2's labels); read partial before 2026-11-27
    r = rows[PLAIN]
    assert r["completeness_plan"] == "total" and r["completeness_ok"]


@pytest.mark.parametrize(
    "name",
    [
        LOWNOISE,
        PLAIN,  # called contrast at afd8e5d: infant vertebrae labelled vessel (33b691b)
        CORR,
        NECK,
    ],
)
def test_contrast_call(rows: dict[str, dict[str, Any]], name: str) -> None:
    assert rows[name]["contrast_ok"]


def test_plain_ct_soft_and_brain(rows: dict[str, dict[str, Any]]) -> None:
    # the neck and face were brain at afd8e5d (soft 0.78, brain 0.83; 33b691b)
    d = rows[PLAIN]["dice"]
    assert d["soft"] >= 0.92 and d["brain"] >= 0.92


def test_correlated_noise_brain(rows: dict[str, dict[str, Any]]) -> None:
    # brain 0.675 at afd8e5d, when the noise was measured as if white (1c9c614)
    assert rows[CORR]["dice"]["brain"] >= 0.88
