"""The clinical layer (expanders, ports, hydrocephalus, shunt, tubes) and twinsep on it.

Generator checks (fast, one 3 mm render per module): the rendered expanders and ventricles
hold their analytic volumes, the objects' truth labels and twins are the documented ones,
metal is clipped at the scanner's top, and no objects means phantom3 unchanged. The
end-to-end checks (slow) plan clinical cases with ``twinsep plan`` and hold what twinsep
gets right today; clear failures are strict xfails whose reason is the number measured by
``benchmarks/bench_blind_clinical.py`` (commit named there).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from blind.clinical import (
    C,
    ClinicalCase,
    ClinicalOverlay,
    ClinicalParams,
    discordant,
    make_clinical,
    standard_expanders,
)
from blind.clinical_cases import clinical_cases
from blind.phantom3 import Case, CtParams, GridParams, Phantom3, UnionParams, make_case

_VT = UnionParams(kind="vertical", completeness="total", overlap_mm=16.0)
_ALL = ClinicalParams(
    expanders=standard_expanders((180.0, 90.0, 120.0, 60.0)),
    hydrocephalus_head=0,
    shunt=True,
    intubation=True,
    electrodes=True,
    bone_defect_head=1,
)


@pytest.fixture(scope="module")
def rendered() -> tuple[Phantom3, ClinicalOverlay]:
    case = Case(
        "t-clinical",
        _VT,
        CtParams(contrast=True, noise_hu=0.0, supersample=2),
        GridParams(shape=None, spacing_mm=(3.0, 3.0, 3.0)),
        seed=1,
    )
    return make_clinical(ClinicalCase("t-clinical", discordant(case), _ALL))


def _vox_ml(ph: Phantom3) -> float:
    return float(abs(np.linalg.det(ph.affine[:3, :3]))) / 1000.0


def _objects(ph: Phantom3) -> list[dict[str, Any]]:
    return ph.truth["clinical"]["objects"]  # type: ignore[index,no-any-return]


def test_expander_analytic_volume_is_the_shape(rendered: tuple[Phantom3, ClinicalOverlay]) -> None:
    # the quadrature volume that sets each dome's height against the dome itself, sampled
    # on a 0.5 mm grid: the two agree to the sampling error (< 1 %); a wrong Jacobian of
    # the footprint map or a height off by 1 mm is 5-20 % off
    _ph, ov = rendered
    expanders = [d for d in ov.domes if d.shell_code is not None]
    assert len(expanders) == 4
    for d in expanders:
        assert d.box is not None
        lo, hi = d.box
        h = 0.5
        axes = [np.arange(lo[i], hi[i], h) + h / 2 for i in range(3)]
        inside = 0
        fill = 0
        for x in axes[0]:
            g = np.stack(np.meshgrid([x], axes[1], axes[2], indexing="ij"), -1).reshape(-1, 3)
            r, rho, r_in, r_out = d.coords(g)
            m = (rho < 1.0) & (r >= r_in) & (r <= r_out)
            inside += int(m.sum())
            shell = (r - r_in < d.shell_mm) | (r_out - r < d.shell_mm)
            fill += int((m & ~shell).sum())
        assert inside * h**3 / 1000.0 == pytest.approx(d.volume_ml, rel=0.01)
        assert fill * h**3 / 1000.0 == pytest.approx(d.fill_ml, rel=0.02)


def test_expanders_rendered_volume_per_twin(rendered: tuple[Phantom3, ClinicalOverlay]) -> None:
    # voxel centres of shell + saline at 3 mm against the requested fills, per twin: the
    # centre sampling of a 60-180 mL dome is within 3 % (measured 0.1 %); an expander
    # lost under the scalp's priority, or given to the other twin, is 20-100 % off
    ph, _ov = rendered
    assert ph.materials is not None
    exp = np.isin(ph.materials, (C["expander_shell"], C["expander_saline"]))
    want = {"A": 0.0, "B": 0.0}
    for o in _objects(ph):
        if o["name"].startswith("expander"):
            want[o["twin"]] += o["volume_ml"]
    assert want["A"] == pytest.approx(180.0 + 90.0) and want["B"] == pytest.approx(180.0)
    for twin, code in (("A", 1), ("B", 2)):
        got = float((exp & (ph.twins == code)).sum()) * _vox_ml(ph)
        assert got == pytest.approx(want[twin], rel=0.03)
    # and every expander voxel is soft tissue in the truth, owned by a twin
    assert set(np.unique(ph.labels[exp]).tolist()) == {1}
    assert (ph.twins[exp] > 0).all()


def test_ventricles_rendered_volume(rendered: tuple[Phantom3, ClinicalOverlay]) -> None:
    # two ellipsoids (4/3 pi abc, radii scaled with the 148 mm head) wholly inside the
    # brain: the CSF they make is their analytic volume within 3 % (an ellipsoid poking
    # out of the brain, or one radius wrong by 1 mm, is 4-10 % off)
    ph, ov = rendered
    assert ph.materials is not None
    vents = [o for o in _objects(ph) if o["name"].startswith("ventricle")]
    want = sum(4.0 / 3.0 * math.pi * float(np.prod(o["radii_mm"])) / 1000.0 for o in vents)
    assert want == pytest.approx(sum(e.volume_ml for e in ov.ellipsoids))
    assert want > 4 * 10.0  # several times phantom3's normal set (about 7 mL)
    m = ph.materials == C["ventricle_csf"]
    assert float(m.sum()) * _vox_ml(ph) == pytest.approx(want, rel=0.03)
    assert (ph.labels[m] == 4).all() and (ph.twins[m] == 1).all()  # head A is twin A


def test_object_truth_labels(rendered: tuple[Phantom3, ClinicalOverlay]) -> None:
    ph, _ov = rendered
    assert ph.materials is not None
    mat, lab = ph.materials, ph.labels
    for name, label in (
        ("scalp_cover", 1),
        ("burr_fill", 1),
        ("defect_fill", 1),
        ("port_metal", 1),
        ("shunt_wall", 1),
        ("et_wall", 0),
        ("et_lumen", 0),
        ("ng_wall", 0),
        ("electrode", 0),
    ):
        m = mat == C[name]
        assert m.any(), name
        assert (lab[m] == label).all(), name
    # the defect is in head B (twin B), the shunt in head A
    assert (ph.twins[mat == C["defect_fill"]] == 2).all()
    assert (ph.twins[np.isin(mat, (C["shunt_wall"], C["shunt_valve"]))] == 1).all()


def test_metal_bright_and_clipped(rendered: tuple[Phantom3, ClinicalOverlay]) -> None:
    # steel (8000 HU before the scanner's range) in 3 mm voxels: clipped at 3071, and the
    # voxels whose centre is in the metal stay far above bone (> 2000 HU measured)
    ph, _ov = rendered
    assert ph.materials is not None
    assert float(ph.ct_hu.max()) == pytest.approx(3071.0)
    metal = np.isin(ph.materials, (C["port_metal"], C["valve_metal"], C["electrode"]))
    assert metal.sum() >= 10
    assert float(np.median(ph.ct_hu[metal])) > 2000.0


def test_shunt_runs_from_the_ventricle_to_the_neck(
    rendered: tuple[Phantom3, ClinicalOverlay],
) -> None:
    _ph, ov = rendered
    cath = next(t for t in ov.tubes if t.name == "shunt_catheter")
    tip, end = cath.pts[0], cath.pts[-1]
    inside = [float(np.sum(((tip - e.centre) / e.radii) ** 2)) < 1.0 for e in ov.ellipsoids]
    assert any(inside)
    s = 148.0 / 135.0
    assert end[2] < -60.0 * s  # below the skull base, down the neck
    assert 150.0 < cath.length_mm < 350.0


def test_no_objects_is_phantom3_unchanged() -> None:
    case = Case(
        "t-plain",
        _VT,
        CtParams(contrast=False, noise_hu=10.0, supersample=2),
        GridParams(shape=(40, 40, 40)),
        seed=2,
    )
    base = make_case(case)
    ph, _ov = make_clinical(ClinicalCase("t-plain", case, ClinicalParams()))
    np.testing.assert_array_equal(ph.ct_hu, base.ct_hu)
    np.testing.assert_array_equal(ph.labels, base.labels)
    np.testing.assert_array_equal(ph.twins, base.twins)


def test_discordant_lengths() -> None:
    c = discordant(replace(clinical_cases()["vt0-c15-exp"].base))
    assert c.head_a.length_mm / c.head_b.length_mm == pytest.approx(1.3)


# ---------------------------------------------------------------------------------------
# end to end (slow): twinsep plan on clinical cases

E2E = ["vt0-c15-exp", "vt0-c15-hydro-shunt", "vt0-c15-eeg-defect"]
# and one of this module's own: the hydrocephalic head with the expanders and their ports
# (the benchmark's 'all' cases hold them with everything else)
EXP_HYDRO = "vt0-c15-exp-hydro"


def _exp_hydro() -> ClinicalCase:
    base = clinical_cases()["vt0-c15-exp"]
    return ClinicalCase(
        EXP_HYDRO, replace(base.base, name=EXP_HYDRO), replace(base.clinical, hydrocephalus_head=0)
    )


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    from blind.clinical_score import plan_and_score_clinical

    work: Path = tmp_path_factory.mktemp("clinical")
    cases = clinical_cases()
    cases[EXP_HYDRO] = _exp_hydro()
    return {name: plan_and_score_clinical(cases[name], work) for name in [*E2E, EXP_HYDRO]}


def _xfail(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=reason)


@pytest.mark.slow
@pytest.mark.parametrize("name", E2E)
def test_plans_twin_a_and_twin_accuracy(rows: dict[str, dict[str, Any]], name: str) -> None:
    r = rows[name]
    assert r["exit"] == 0, r.get("error")
    assert r["twin_a_ok"]
    assert r["twin_acc_15mm"] >= 0.995  # measured 0.9995-0.9996
    assert r["contrast_ok"]


# Measured by bench_blind_clinical (snapshot of 92d0d0b), Dice without the don't-care
# objects, soft/bone/brain: exp 0.953 0.890 0.914, hydro-shunt 0.953 0.887 0.920,
# eeg-defect 0.952 0.887 0.934; floors 0.03 under
FLOORS = {"soft": 0.92, "bone": 0.85, "brain": 0.88}


@pytest.mark.slow
@pytest.mark.parametrize("name", E2E)
def test_dice_floors(rows: dict[str, dict[str, Any]], name: str) -> None:
    d = rows[name]["dice"]
    low = {k: round(d[k], 3) for k, f in FLOORS.items() if d[k] < f}
    assert not low, low


@pytest.mark.slow
def test_expander_saline_and_scalp_stay_soft_tissue(rows: dict[str, dict[str, Any]]) -> None:
    r = rows["vt0-c15-exp"]
    # 400 mL of saline under the scalp: none of it brain or CSF, bone or vessel (measured
    # 0.0 and 0.0005), the shell at most 15 % bone (0.051: partial volume with the
    # skull where it lies on it), the stretched scalp over it soft tissue (0.997)
    assert r["saline_brain_csf"] <= 0.01
    assert r["saline_bone_vessel"] <= 0.01
    assert r["shell_bone_vessel"] <= 0.15
    assert r["scalp_cover_soft"] >= 0.95
    assert r["metal_warned"]  # 'segment: metal in the CT (0.81 mL ...)'


@pytest.mark.slow
def test_fusion_type_with_expanders(rows: dict[str, dict[str, Any]]) -> None:
    # was a strict xfail: a vertical total union (axis 180, faces alike) with four scalp
    # expanders was called angular, axis 104.8 deg (169.0 without them), rotation 175.8
    # for 0. Fixed by segment.implants + fusion's exclude (the pockets and the scalp
    # over them are left out of the frames): vertical, rotation error 0.1 (CLI,
    # snapshot of fae59f2 + that change)
    r = rows["vt0-c15-exp"]
    assert r["type_ok"] and r["rotation_err_deg"] <= 20.0


@pytest.mark.slow
@_xfail(
    "expander port metal (12 mm steel discs) labelled bone: 0.389 of its voxels at "
    "92d0d0b, 0.222 since segment.foreign_metal (cc1ab74, in-process): the rest is the "
    "discs' rim joined to the skull"
)
def test_port_metal_not_bone(rows: dict[str, dict[str, Any]]) -> None:
    assert rows["vt0-c15-exp"]["port_metal_bone_vessel"] <= 0.05


@pytest.mark.slow
def test_soft_tissue_volume_without_expanders(rows: dict[str, dict[str, Any]]) -> None:
    # was a strict xfail: twin A's soft tissue in plan.json counted the expanders,
    # 826.6 mL against 557.4 mL of tissue. plan.json now leaves the fill of the
    # expanders found in the CT out (segment.implants): 568.3 mL (B 502.5 for 513.2)
    soft = rows["vt0-c15-exp"]["soft_tissue_ml"]["A"]
    assert soft["plan_ml"] == pytest.approx(soft["without_objects_ml"], rel=0.1)
    assert any("existing expanders" in w for w in rows["vt0-c15-exp"]["object_warnings"])


@pytest.mark.slow
def test_hydrocephalic_ventricles_are_csf(rows: dict[str, dict[str, Any]]) -> None:
    # was a strict xfail: enlarged ventricles (42 mL of CSF, 8 HU against 27-38 HU
    # brain, 15 HU noise) mostly brain, CSF recall 0.346 at 92d0d0b; fixed by the
    # deep-CSF test of segment.brain_csf (5a2733f): 0.918 in-process
    assert rows["vt0-c15-hydro-shunt"]["ventricle_csf_recall"] >= 0.8


@pytest.mark.slow
def test_hydrocephalic_twin_ventricle_size(rows: dict[str, dict[str, Any]]) -> None:
    # truth from the generator's geometry (blind.ventricle_truth, 0.5 mm): Evans' index
    # 0.484, FOHR 0.470, 43.7 mL; the plan (in-process, 3 mm): 0.469-0.470, 0.468-0.469,
    # 40.4-41.0 mL. Tolerances: a voxel on each width (0.03 on an index), 15 % of the
    # volume; the normal twin (Evans 0.255 by its geometry) is not enlarged, no number
    from blind.ventricle_truth import head_truth

    r = rows["vt0-c15-hydro-shunt"]
    case = clinical_cases()["vt0-c15-hydro-shunt"]
    twin = next(o["twin"] for o in r["objects_truth"] if o["name"] == "ventricle_right")
    other = "B" if twin == "A" else "A"
    truth = head_truth(replace(case.base, name=case.name), 0, hydro=True)
    got = r["ventricles"][twin]
    assert got["enlarged"] is True
    assert got["evans_index"] == pytest.approx(truth.evans_index, abs=0.03)
    assert got["fohr"] == pytest.approx(truth.fohr, abs=0.03)
    assert got["volume_ml"] == pytest.approx(truth.volume_ml, rel=0.15)
    assert r["ventricles"][other]["enlarged"] is False
    assert r["ventricles"][other]["fohr"] is None
    assert any(w.startswith(f"ventricles: twin {twin}'s") for w in r["object_warnings"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vt0-c15-exp", "vt0-c15-eeg-defect"])
def test_no_ventricle_warning_without_hydrocephalus(
    rows: dict[str, dict[str, Any]], name: str
) -> None:
    # the expanders' port streaks darken white matter into 7-18 mL of thin deep "CSF"
    # (3 mm): neither a warning nor a number; where streaks cross the brain, "not
    # measured" (enlarged null) rather than "not enlarged"
    r = rows[name]
    assert not [w for w in r["object_warnings"] if w.startswith("ventricles:")]
    for twin in ("A", "B"):
        v = r["ventricles"][twin]
        assert v["enlarged"] is not True and v["fohr"] is None and v["volume_ml"] is None


@pytest.mark.slow
def test_hydrocephalus_seen_through_port_streaks(rows: dict[str, dict[str, Any]]) -> None:
    # the ports' streaks darken bands of brain in their slices; in the brain/CSF fits they
    # widened the CSF class (deep fit sigma 9.9 HU for 3.8) and the enlarged ventricles
    # were 0.597 CSF, the ventricles 'not measured' for both twins, no warning (snapshot
    # of 4301921). The fits now leave the metal's slices out: 0.862 (CLI, 4301921 + that
    # change), twin A enlarged and warned
    r = rows[EXP_HYDRO]
    assert r["exit"] == 0, r.get("error")
    assert r["ventricle_csf_recall"] >= 0.8
    twin = next(o["twin"] for o in r["objects_truth"] if o["name"] == "ventricle_right")
    assert r["ventricles"][twin]["enlarged"] is True
    assert any(w.startswith(f"ventricles: twin {twin}'s") for w in r["object_warnings"])
    # the normal twin is never called enlarged (streaks cross its brain: not measured)
    other = "B" if twin == "A" else "A"
    assert r["ventricles"][other]["enlarged"] is not True


@pytest.mark.slow
def test_shunt_mostly_not_bone_or_vessel(rows: dict[str, dict[str, Any]]) -> None:
    # barium silicone catheter (400 HU wall) in 3 mm voxels: 0.103 bone/vessel measured
    assert rows["vt0-c15-hydro-shunt"]["shunt_bone_vessel"] <= 0.2


@pytest.mark.slow
@_xfail(
    "a 20 deg frontal craniectomy (bone replaced by soft tissue) is filled with brain and "
    "CSF: 0.596 of the fill labelled soft tissue, the rest brain/CSF"
)
def test_bone_defect_fill_is_soft_tissue(rows: dict[str, dict[str, Any]]) -> None:
    assert rows["vt0-c15-eeg-defect"]["defect_soft"] >= 0.9


@pytest.mark.slow
def test_electrodes_not_bone(rows: dict[str, dict[str, Any]]) -> None:
    # was a strict xfail: EEG cup electrodes (metal discs on the skin) labelled bone,
    # 1.0 of their 14 voxels, and no metal warning, at 92d0d0b; segment.foreign_metal
    # (cc1ab74): 0.143 in-process, warned 'metal outside the skull'
    r = rows["vt0-c15-eeg-defect"]
    assert r["electrode_bone_vessel"] <= 0.2
    assert r["metal_warned"]
