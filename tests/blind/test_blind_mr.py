"""twinsep on the blind MR phantom (``tests/blind/mr_phantom.py``), through its CLI.

Two generated cases at 2 mm (a vertical total craniopagus, twin B's face turned 30 deg):
an MR alone (plain T1, Rician noise 3 %, bias 20 %), and a plain CT with an MR venogram
rotated 6/-4/8 deg and shifted 8/-6/5 mm in its own scanner frame; that CT is also planned
with the same MR mirrored left-right. Three plans (about 50 s of CPU): module fixtures,
marked slow. The CT-alone comparison and the finer grids are in
``benchmarks/bench_blind_mr.py``.

Floors sit a little below what was measured at the commit that added them (measured
values in each comment). Where twinsep clearly fails, the test states what it should do
and is ``xfail(strict=True)``: it starts passing, and must be turned into a plain test,
when twinsep is fixed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from blind.mr_phantom import (
    GM,
    T1_SIGNAL,
    WM,
    MrCase,
    MrPhantomConfig,
    flip_lr,
    make_mr_case,
    save_image,
    write_case,
)
from blind.mr_score import Score, run_plan, score_plan

pytestmark = pytest.mark.slow

_SP = (2.0, 2.0, 2.0)
MR_ALONE = MrPhantomConfig(mr_spacing_mm=_SP, ct_spacing_mm=_SP, twist_deg=30.0)
CT_MR = MrPhantomConfig(
    mr_spacing_mm=_SP,
    ct_spacing_mm=_SP,
    twist_deg=30.0,
    venogram=True,
    mr_rotation_deg=(6.0, -4.0, 8.0),
    mr_shift_mm=(8.0, -6.0, 5.0),
)


@pytest.fixture(scope="module")
def mr_alone(tmp_path_factory: pytest.TempPathFactory) -> tuple[MrCase, Score]:
    """The MR-alone case and its plan's score."""
    work = tmp_path_factory.mktemp("blind_mr_alone")
    case = make_mr_case(MR_ALONE, with_ct=False)
    paths = write_case(case, work)
    run = run_plan(paths["mr"], work / "plan")
    return case, score_plan(run, case.mr_labels, case.mr_twins, case.truth)


#: other twins: the angular case of benchmarks/bench_blind_mr.py (axis angle 110 deg, twist
#: 20 deg), a venogram on the same 2 mm grid, given with the vertical case's CT
OTHER_TWINS = replace(
    CT_MR, fusion="angular", axis_angle_deg=110.0, twist_deg=20.0, seed=1, mr_shift_mm=(0.0,) * 3
)


@pytest.fixture(scope="module")
def ct_mr(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Score]:
    """Scores of the CT with the MR venogram, with that MR mirrored, and with the MR of
    other twins."""
    work = tmp_path_factory.mktemp("blind_ct_mr")
    case = make_mr_case(CT_MR)
    paths = write_case(case, work)
    flipped = save_image(flip_lr(case.mr), work / "mr_flipped.nii.gz")
    other = save_image(make_mr_case(OTHER_TWINS, with_ct=False).mr, work / "mr_other.nii.gz")
    out: dict[str, Score] = {}
    for name, mr in (("ct+mr", paths["mr"]), ("ct+flipped", flipped), ("ct+other", other)):
        run = run_plan(paths["ct"], work / f"plan-{name}", mr=mr)
        out[name] = score_plan(
            run, case.ct_labels, case.ct_twins, case.truth, mr_labels_truth=case.mr_labels
        )
    return out


# ------------------------------------------------------------------------- MR alone


def test_mr_alone_plans_and_assigns_twins(mr_alone: tuple[MrCase, Score]) -> None:
    _, s = mr_alone
    assert s.exit_code == 0, s.stderr_tail
    # measured 0.995 beyond 15 mm of the junction; a swapped A would be ~0
    assert s.twin_accuracy >= 0.98
    assert s.twin_a_right is True


def test_mr_alone_fusion_type_and_rotation(mr_alone: tuple[MrCase, Score]) -> None:
    _, s = mr_alone
    assert s.fusion_type == "vertical"  # truth vertical (axis angle 180)
    # measured 179.4 (3ddd168); 165.6 before b9f5a29 (each neck leaned 7.5 deg back:
    # the brain centre to its end slab, behind the brain centre)
    assert s.axis_angle_deg is not None and abs(s.axis_angle_deg - 180.0) <= 5.0
    # truth 30 deg (O'Connell I); measured 28.8. 15 deg still separates type I from III
    assert s.rotation_deg is not None and abs(s.rotation_deg - 30.0) <= 15.0


def test_mr_alone_dice_floors(mr_alone: tuple[MrCase, Score]) -> None:
    _, s = mr_alone
    # measured soft 0.930, brain 0.994, bone 0.680, CSF 0.815 (bone from MR alone is
    # approximate; benchmarks/results/blind_mr.md, mr-vertical-2mm, the same case) since
    # the cavity is split half-way to the grey matter its own mixture shows
    # (segment.mr._cavity_csf_grey; brain 0.982, CSF 0.782 before); 0.928 / 0.982 /
    # 0.576 / 0.405 with a fixed 1.5 mm dilation of the brain, which stopped short of the
    # 1.5-3.5 mm CSF layer (before segment.mr_layer); 0.893 / 0.930 / 0.576 / 0.294
    # before the brain core grew through bright tissue to the skull band
    assert s.dice["soft"] >= 0.90
    assert s.dice["brain"] >= 0.98
    assert s.dice["bone"] >= 0.62
    assert s.dice["csf"] >= 0.79


def test_mr_alone_total_union_is_not_called_partial(mr_alone: tuple[MrCase, Score]) -> None:
    """Truth: total (one cavity, a circular sinus). The T1 shows no sinus and reads the
    dark rim around the junction (sinus, CSF) as skull: brain contact 0.13 of the bridge
    here (3ddd168: undetermined, total assumed); 0.03-0.13 on seven of the benchmark's
    eight MR-alone rows, three of them partial at 3ddd168, all eight at 4af0d69. A dark
    band on a T1 is not a bone wall: partial is never inferred on MR alone."""
    _, s = mr_alone
    assert s.completeness == "total"
    said = [w for w in s.warnings if "neither seen nor excluded" in w]
    assert len(said) == 1 and "an MR alone" in said[0] and "a CT without contrast" not in said[0]


def test_mr_alone_csf_meets_target(mr_alone: tuple[MrCase, Score]) -> None:
    """Was a strict xfail (CSF 0.78) until the cavity was split half-way to the grey
    matter its own three-class mixture shows (segment.mr._cavity_csf_grey): the brain
    core's grey had carried the deep nuclei, level 334 for a true midpoint of 305."""
    _, s = mr_alone
    assert s.dice["csf"] >= 0.80  # measured 0.815 (target 0.80)


# ------------------------------------------------------------------------- CT + MR


def test_ct_mr_plans_and_assigns_twins(ct_mr: dict[str, Score]) -> None:
    s = ct_mr["ct+mr"]
    assert s.exit_code == 0, s.stderr_tail
    assert s.twin_accuracy >= 0.99  # measured 1.000
    assert s.twin_a_right is True
    assert s.fusion_type == "vertical"
    assert s.registration is not None and s.registration["mattes_mi"] is not None


def test_ct_mr_dice_floors(ct_mr: dict[str, Score]) -> None:
    d = ct_mr["ct+mr"].dice
    # measured soft 0.959, bone 0.882, brain 0.897, CSF 0.695
    assert d["soft"] >= 0.93
    assert d["bone"] >= 0.85
    assert d["brain"] >= 0.87
    assert d["csf"] >= 0.65


def test_registration_ceiling_is_high(ct_mr: dict[str, Score]) -> None:
    """The scorer's own check: the true MR labels, resampled by the true transform, match
    the CT truth (a wrong ``mr_to_ct`` in the generator would give < 0.5)."""
    reg = ct_mr["ct+mr"].registration
    assert reg is not None
    assert reg["ceiling_brain"] >= 0.95  # measured 0.965 (nearest neighbour, 2 mm)
    assert reg["ceiling_csf"] >= 0.78  # measured 0.813


def test_registered_mr_brain_near_its_ceiling(ct_mr: dict[str, Score]) -> None:
    # 0.897 against a 0.965 ceiling at a8847ca (registration stopped early, MR thresholded
    # raw); within 0.03 since 8617592
    s = ct_mr["ct+mr"]
    assert s.registration is not None
    assert s.dice["brain"] >= s.registration["ceiling_brain"] - 0.03


def test_venogram_gives_the_intracranial_sinuses(ct_mr: dict[str, Score]) -> None:
    # vessel Dice 0.590 through the CLI at 0600c29 (the sinuses' partial-volume edges,
    # 570954c), 0.389 before (in process at 3ddd168: 39 % of the intracranial sinus voxels
    # found); 0.03 at a8847ca. 927 of the 2496 truth vessel voxels are the necks' jugular
    # veins, which are not sought: intracranial sinus Dice 0.77 (0.55 before)
    assert ct_mr["ct+mr"].dice["vessel"] >= 0.52


@pytest.mark.xfail(
    strict=True,
    reason="the MR venogram's veins outside the cranium are not sought: the necks' jugular "
    "veins (927 of 2496 vessel voxels at 2 mm; on a T1 venogram fat is 0.73 of venous "
    "blood) cap the vessel Dice near 0.77; 0.590 at 0600c29 (target 0.85)",
)
def test_venogram_gives_the_sinuses_and_neck_veins(ct_mr: dict[str, Score]) -> None:
    assert ct_mr["ct+mr"].dice["vessel"] >= 0.85


def test_mirrored_mr_is_refused(ct_mr: dict[str, Score]) -> None:
    """Was a strict xfail until segment.mr_mirror: the mirrored MR was registered (MI 0.34
    against 0.46) and used silently (exit 0, CSF Dice 0.38 against 0.70). Now its mirror
    image along the left-right axis fits clearly better and the plan stops."""
    s = ct_mr["ct+flipped"]
    assert s.exit_code == 2, s.stderr_tail
    assert "appears mirrored" in s.stderr_tail and "left-right" in s.stderr_tail
    assert "mr_flipped" in s.stderr_tail  # the line names the MR file


def test_mr_of_other_twins_is_refused(
    ct_mr: dict[str, Score], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Was registered (MI 0.27-0.28, coverage 0.99, its mirror check undecided) and used
    with a warning: brain Dice 0.96 -> 0.88, CSF 0.80 -> 0.54, vessels from the other
    twins (benchmarks/bench_blind_mr.py, ctmr-other-twins-mr). Its heads' outline overlaps
    the CT's with Dice 0.82 (the twins' own MR 0.98): exit 2, nothing written."""
    s = ct_mr["ct+other"]
    assert s.exit_code == 2, s.stderr_tail
    assert "does not fit the CT's heads" in s.stderr_tail and "Dice 0." in s.stderr_tail
    assert "mr_other" in s.stderr_tail  # the line names the MR file
    base = tmp_path_factory.getbasetemp()
    assert list(base.glob("blind_ct_mr*/plan-ct+mr/plan.json"))  # the good pair's plan
    assert not list(base.glob("blind_ct_mr*/plan-ct+other"))  # nothing written


@pytest.fixture(scope="module")
def small_case() -> MrCase:
    """A coarse case with a rotated, shifted MR (a few seconds)."""
    cfg = MrPhantomConfig(
        mr_spacing_mm=(3.5, 3.5, 3.5),
        ct_spacing_mm=(3.0, 3.0, 4.0),
        mr_rotation_deg=(10.0, 0.0, -12.0),
        mr_shift_mm=(15.0, 5.0, -10.0),
        noise_fraction=0.05,
        bias_fraction=0.25,
        seed=3,
    )
    return make_mr_case(cfg)


def test_generator_is_deterministic(small_case: MrCase) -> None:
    cfg = dict(small_case.truth["config"])
    cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}
    again = make_mr_case(MrPhantomConfig(**cfg), with_ct=False)
    assert (again.mr.array == small_case.mr.array).all()
    assert (again.mr_labels.array == small_case.mr_labels.array).all()


def test_same_anatomy_on_both_grids(small_case: MrCase) -> None:
    """The MR (rotated, shifted, 3.5 mm) and the CT (3 x 3 x 4 mm) render one anatomy:
    brain and soft-tissue volumes agree within 3 % per twin (a pose applied the wrong way
    round would move tissue out of the field of view or change the twin split)."""
    mr_ml, ct_ml = small_case.truth["tissue_ml_mr"], small_case.truth["tissue_ml_ct"]
    for twin in ("A", "B"):
        for tissue in ("brain", "soft_tissue"):
            assert mr_ml[twin][tissue] == pytest.approx(ct_ml[twin][tissue], rel=0.03)


def test_registration_ceiling_on_the_small_case(small_case: MrCase) -> None:
    """mr_file_to_ct maps the MR's truth onto the CT's truth (brain Dice >= 0.9 on these
    coarse grids; the identity instead of the true transform gives about 0.6)."""
    from blind.mr_score import dice, resample_labels

    true = np.asarray(small_case.truth["mr_file_to_ct"])
    res = resample_labels(small_case.mr_labels, small_case.ct_labels, true)
    assert dice(res == 3, small_case.ct_labels.array == 3) >= 0.9
    wrong = resample_labels(small_case.mr_labels, small_case.ct_labels, np.eye(4))
    assert dice(wrong == 3, small_case.ct_labels.array == 3) < 0.75


def test_rician_background_and_bias(small_case: MrCase) -> None:
    """Air far from the heads is Rician noise of mean sigma * sqrt(pi / 2) (sigma = 5 % of
    white matter); white matter's median varies with the 25 % bias field but stays within
    its range."""
    mr = small_case.mr.array.astype(float)
    far = ndimage.distance_transform_edt(small_case.mr_labels.array == 0) > 4
    sigma = 0.05 * T1_SIGNAL[WM]
    assert mr[far].mean() == pytest.approx(sigma * np.sqrt(np.pi / 2), rel=0.05)
    wm_core = ndimage.binary_erosion(small_case.mr_labels.array == 3, iterations=2)
    med = float(np.median(mr[wm_core]))
    assert T1_SIGNAL[GM] / 1.25 <= med <= T1_SIGNAL[WM] * 1.25


def test_written_paths_exist(small_case: MrCase, tmp_path: Path) -> None:
    paths = write_case(small_case, tmp_path)
    assert sorted(p.name for p in paths.values()) == sorted(
        f"{n}.nii.gz" for n in ("mr", "mr_labels", "mr_twins", "ct", "ct_labels", "ct_twins")
    ) + ["truth.json"]
