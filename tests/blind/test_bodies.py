"""The bodies layer (necks, shoulders, chests, arms, ECG leads in a longer scan): its truth.

Generator checks only (fast, one 4 mm render of a vertical total union with every part
switched on, about 10 s; module fixture): the truth labels of the body's materials are
the documented ones, the heart's blood is its analytic volume, the lungs and the heart
blood have their HU, each body belongs to its own twin (also the arm over the other
twin's head, beyond the bisecting plane), the scan reaches the requested length below the
shoulders, and nothing switched on is phantom3 unchanged. The plans themselves are
measured by ``benchmarks/bench_blind_bodies.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from blind.bodies import (
    BASE,
    BODY_MATERIALS,
    DONT_CARE_CODES,
    INFANT_SIZES,
    B,
    BodiesCase,
    BodiesOverlay,
    BodyParams,
    make_bodies,
)
from blind.phantom3 import Case, CtParams, GridParams, Phantom3, UnionParams, make_case

_CASE = Case(
    "t-bodies",
    UnionParams(kind="vertical", completeness="total", overlap_mm=16.0),
    CtParams(contrast=True, noise_hu=0.0, supersample=2),
    GridParams(shape=None, spacing_mm=(4.0, 4.0, 4.0)),
    seed=1,
)
_PARAMS = BodyParams(torso=True, arms="over_head", over_head_twin=0, ecg=True)

# the module fixture renders a 4 mm case with both bodies (10 s on an idle core)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rendered() -> tuple[Phantom3, BodiesOverlay, np.ndarray]:
    return make_bodies(BodiesCase("t-bodies", _CASE, _PARAMS))


def _world(ph: Phantom3) -> np.ndarray:
    shape = ph.labels.shape
    vox = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), -1).reshape(-1, 3)
    return vox @ ph.affine[:3, :3].T + ph.affine[:3, 3]


def _vox_ml(ph: Phantom3) -> float:
    return float(abs(np.linalg.det(ph.affine[:3, :3]))) / 1000.0


def test_body_materials_have_their_documented_labels(
    rendered: tuple[Phantom3, BodiesOverlay, np.ndarray],
) -> None:
    # every body material present is rendered, and its truth label is the table's: a
    # lung or an airway called tissue, a heart chamber not vessel or a rib not bone
    # would change what the scorer counts
    ph, _ov, _reg = rendered
    assert ph.materials is not None
    want = {
        "lung": 0,
        "airway": 0,
        "blood_left": 5,
        "blood_right": 5,
        "myocardium": 1,
        "rib": 2,
        "clavicle": 2,
        "long_bone": 2,
        "b_fat": 1,
        "ecg_lead": 0,
        "ecg_snap": 0,
    }
    for name, label in want.items():
        m = ph.materials == B[name]
        assert m.any(), name
        assert set(np.unique(ph.labels[m]).tolist()) == {label}, name
    # the ECG (pads, snaps, leads) is the only don't-care, and it belongs to no twin
    assert {BODY_MATERIALS[c - BASE][0] for c in DONT_CARE_CODES} == {
        "ecg_pad",
        "ecg_snap",
        "ecg_lead",
    }
    ecg = np.isin(ph.materials, DONT_CARE_CODES)
    assert (ph.twins[ecg] == 0).all()


def test_heart_blood_is_its_analytic_volume(
    rendered: tuple[Phantom3, BodiesOverlay, np.ndarray],
) -> None:
    # blood inside each heart's inner ellipsoid (0.78 of each radius) minus the septum
    # slab (4 mm at 6 months through the centre: thickness x the central section's area
    # pi r1 r2 r3 / |diag(r) n|), sampled at 4 mm voxel centres: within 8 % (measured
    # about 2-4 %); a heart without chambers, a septum across the wrong axis or blood
    # labelled only on one side is 30-100 % off
    ph, ov, _reg = rendered
    assert ph.materials is not None and ov.pair is not None
    world = _world(ph)
    blood = np.isin(ph.materials.ravel(), (B["blood_left"], B["blood_right"]))
    f = INFANT_SIZES["6mo"].chest_width_mm / 152.0
    nrm = np.array([-0.55, -0.6, 0.2])
    nrm /= np.linalg.norm(nrm)
    for body in ov.bodies:
        r = 0.78 * body.heart_r
        q = ov.pair.local(body.head, world)
        inner = np.sum(((q - body.heart_c) / r) ** 2, axis=1) < 1.0
        full = 4.0 / 3.0 * math.pi * float(np.prod(r))
        slab = 4.0 * f * math.pi * float(np.prod(r)) / float(np.linalg.norm(r * nrm))
        want_ml = (full - slab) / 1000.0
        got_ml = float((inner & blood).sum()) * _vox_ml(ph)
        assert 20.0 < want_ml < 60.0  # tens of mL: an infant's chambers
        assert got_ml == pytest.approx(want_ml, rel=0.08)


def test_hu_of_lungs_and_contrast_blood(
    rendered: tuple[Phantom3, BodiesOverlay, np.ndarray],
) -> None:
    # no noise: deep voxels hold their material's HU after the 1 mm PSF; lungs at the
    # 6-month value (-550 HU, not the adult -860), heart blood 330/380 HU with contrast
    ph, _ov, _reg = rendered
    assert ph.materials is not None
    from scipy import ndimage

    for code, lo, hi in ((B["lung"], -560.0, -540.0), (B["blood_left"], 370.0, 390.0)):
        deep = ndimage.binary_erosion(ph.materials == code, iterations=1)
        assert deep.sum() > 20
        med = float(np.median(ph.ct_hu[deep]))
        assert lo < med < hi, (code, med)


def test_each_body_belongs_to_its_twin(
    rendered: tuple[Phantom3, BodiesOverlay, np.ndarray],
) -> None:
    # the body region's tissue is owned by the twin whose head it carries: in this
    # vertical union the bodies lie beyond the heads along the union axis, so the owner is
    # the side of the plane - except the raised arm, which is twin A's (head_a's) beyond
    # the plane, on twin B's head (at least 20 mL of it: forearm and hand)
    ph, ov, reg = rendered
    assert ov.pair is not None
    world = _world(ph)
    a_head = 0 if ph.truth["twin_a_head"] == "head_a" else 1
    n_ab = np.asarray(ph.truth["plane_normal_a_to_b"])
    p0 = np.asarray(ph.truth["plane_point_mm"])
    dist = ((world - p0) @ n_ab).reshape(ph.labels.shape)
    body = (reg == 2) & (ph.labels > 0)
    assert body.sum() * _vox_ml(ph) > 2 * 1000.0  # two chests and arms: litres, not mL
    beyond_a = body & (ph.twins == 1) & (dist > 0)
    assert beyond_a.sum() * _vox_ml(ph) > 20.0
    assert a_head == 0  # the raised arm is head_a's: twin A's by the DESIGN rule here
    # apart from the raised arm, every body voxel is on its twin's side
    wrong_b = body & (ph.twins == 2) & (dist < 0)
    assert wrong_b.sum() == 0
    # every body tissue voxel has a twin
    assert (ph.twins[body] > 0).all()


def test_scan_covers_the_chests(rendered: tuple[Phantom3, BodiesOverlay, np.ndarray]) -> None:
    # the grid runs at least scan_below_shoulder_mm below each twin's shoulder top (in
    # the body's own frame): the lowest body voxel centre of each twin lies there
    ph, ov, _reg = rendered
    assert ov.pair is not None
    world = _world(ph)
    for body in ov.bodies:
        q = ov.pair.local(body.head, world)
        own = (ph.twins.ravel() == (1 if body.head == 0 else 2)) & (ph.labels.ravel() > 0)
        lowest = float(q[own, 2].min())
        assert lowest < body.z_sh - _PARAMS.scan_below_shoulder_mm + 4.0
        assert lowest > body.z_sh - _PARAMS.scan_below_shoulder_mm - 40.0  # not the whole body


def test_nothing_switched_on_is_phantom3_unchanged() -> None:
    # no torso, no arms, no ECG: the overlay adds nothing and the grid is the same
    small = Case(
        "t-none",
        _CASE.union,
        CtParams(contrast=True, noise_hu=5.0, supersample=1),
        GridParams(shape=None, spacing_mm=(8.0, 8.0, 8.0)),
        seed=1,
    )
    ph, _ov, reg = make_bodies(BodiesCase("t-none", small, BodyParams(torso=False, arms="none")))
    ref = make_case(small)
    assert ph.ct_hu.shape == ref.ct_hu.shape
    assert np.array_equal(ph.ct_hu, ref.ct_hu)
    assert np.array_equal(ph.labels, ref.labels)
    assert (reg != 2).all()


def test_sizes_are_ordered_by_age() -> None:
    # a newborn is smaller than a 6-month infant, who is smaller than a 1-year-old, in
    # every dimension; lungs grow darker with age (more air)
    n, s, y = INFANT_SIZES["newborn"], INFANT_SIZES["6mo"], INFANT_SIZES["12mo"]
    for f in (
        "chest_width_mm",
        "chest_depth_mm",
        "thorax_mm",
        "upper_arm_mm",
        "arm_radius_mm",
        "aorta_mm",
    ):
        assert getattr(n, f) < getattr(s, f) < getattr(y, f), f
    assert n.lung_hu > s.lung_hu > y.lung_hu
    # chest perimeters (Ramanujan) within the sourced circumferences: 31-33, 42-45, 45-48 cm
    for size, lo, hi in ((n, 310, 335), (s, 420, 450), (y, 450, 480)):
        a, b = size.chest_width_mm / 2, size.chest_depth_mm / 2
        per = math.pi * (3 * (a + b) - math.sqrt((3 * a + b) * (a + 3 * b)))
        assert lo <= per <= hi, size.name
