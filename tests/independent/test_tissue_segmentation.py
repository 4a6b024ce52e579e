"""Tissue segmentation and twin assignment on the independently designed phantom.

``phantom2`` knows the tissue at each voxel centre by construction (``Phantom2.labels``);
``segment_ct`` + ``assign_twins`` are scored against it with Dice per label and the share
of tissue voxels given to the right twin more than 15 mm from the true twin boundary.
Floors are the values measured when these tests were written (commit in the message of
the change) minus a small margin, so a regression of a few hundredths fails.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).parent))
from phantom2 import Config, Hu, Phantom2, make_phantom2  # noqa: E402

from twinsep import labels as L  # noqa: E402
from twinsep.segment import morph, segment_ct  # noqa: E402
from twinsep.twins import assign_twins  # noqa: E402

BAND_MM = 15.0

CONFIGS: dict[str, Config] = {
    # the configuration of test_independent's "vertical-total-30" (2.26 mm, noise 15 HU)
    "vertical-total-contrast": Config("vertical", total=True, rotation_deg=30.0, seed=11),
    "angular-partial-contrast-n30": Config(
        "angular", total=False, axis_angle_deg=110.0, seed=6, noise_hu=30.0, spacing_mm=2.4
    ),
    # off-default HU values, scanner blur, mirrored scene, no contrast
    "vertical-total-plain-hu-blur": Config(
        "vertical",
        rotation_deg=90.0,
        seed=4,
        contrast=False,
        noise_hu=20.0,
        spacing_mm=2.4,
        mirror=True,
        psf_fwhm_mm=1.5,
        hu=Hu(scalp=55.0, bone_low=1000.0, bone_high=1600.0, brain=28.0, csf=4.0),
    ),
}

#: Measured failure (strict xfail, so that a fix shows up as an unexpected pass).
#: Bone of 600 HU throughout (an infant calvaria; VesselParams says 300-600 HU with
#: partial volume) never reached the dense-bone level (soft peak + 600 HU), so the
#: vessel rule had no bone core to exclude (bone Dice 0.84, vessel 0.35 at 2.4 mm). The
#: core is now seeded 3 noise sigmas above the blood range (VesselParams.
#: core_seed_noise_k): 0.875 / 0.414; where the 2.4 mm grid blurs the plate's peak below
#: the top of the blood range there is still no core (0.62 / 0.18 at 3.2 mm, unchanged).
BONE_600 = Config(
    "vertical",
    rotation_deg=45.0,
    seed=21,
    noise_hu=10.0,
    spacing_mm=2.4,
    hu=Hu(bone_low=600.0, bone_high=600.0),
)
#: No contrast at 3.2 mm: bone partial volume one voxel (edge or corner neighbour)
#: beyond the bone core passed as 4.0 mL of sinus evidence (> contrast_min_ml 2.5 mL);
#: fixed by counting only evidence clear of the core's 26-neighbourhood (0.82 mL now,
#: VesselParams.evidence_clear_vx).
PLAIN_32MM = Config(
    "vertical",
    rotation_deg=160.0,
    seed=8,
    noise_hu=10.0,
    contrast=False,
    spacing_mm=3.2,
)
KNOWN_FAILURES: dict[str, Config] = {"bone-600": BONE_600, "plain-3.2mm": PLAIN_32MM}

#: sha256 of the CT of "vertical-total-contrast" before the tissue truth was added: the
#: truth must not change the CT the pipeline sees.
CT_SHA256 = "5a57e7f1f9e05c3eb0cbaa2c8c4f816e0988c01658672a8a460226e21096b594"

#: Dice floors (measured minus a margin of 0.01 for soft tissue, bone and brain, 0.03 for
#: CSF and vessel; None: the tissue is not scored).
FLOORS: dict[str, dict[str, float | None]] = {
    # measured at 6a3fae6: 0.983 / 0.979 / 0.957 / 0.662 / 0.840
    "vertical-total-contrast": {
        "soft_tissue": 0.972,
        "bone": 0.969,
        "brain": 0.947,
        "csf": 0.632,
        "vessel": 0.810,
    },
    # measured at 6a3fae6: 0.978 / 0.969 / 0.955 / 0.625 / 0.826
    "angular-partial-contrast-n30": {
        "soft_tissue": 0.968,
        "bone": 0.958,
        "brain": 0.945,
        "csf": 0.595,
        "vessel": 0.796,
    },
    # measured at 6a3fae6: 0.982 / 0.970 / 0.959 / 0.643 (no contrast: sinuses not scored)
    "vertical-total-plain-hu-blur": {
        "soft_tissue": 0.971,
        "bone": 0.960,
        "brain": 0.948,
        "csf": 0.612,
        "vessel": None,
    },
}

_CACHE: dict[str, tuple[Phantom2, dict[str, Any]]] = {}


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / max(int(a.sum() + b.sum()), 1)


def _truth_twins(ph: Phantom2) -> np.ndarray:
    own = np.where(ph.labels > 0, ph.owner, 0).astype(np.uint8)
    c = [np.asarray(ph.ct.centroid_mm(own == k)) for k in (1, 2)]
    axis = int(np.argmax(np.abs(c[0] - c[1])))
    return own if c[0][axis] <= c[1][axis] else np.where(own == 0, 0, 3 - own).astype(np.uint8)


def _run(name: str) -> tuple[Phantom2, dict[str, Any]]:
    """Phantom and scores for one configuration, made once per module."""
    if name in _CACHE:
        return _CACHE[name]
    ph = make_phantom2(CONFIGS[name] if name in CONFIGS else KNOWN_FAILURES[name])
    seg = segment_ct(ph.ct)
    twins = assign_twins(seg.labels).twins.array
    got, truth = seg.labels.array, ph.labels
    keep = np.ones(truth.shape, bool) if ph.contrast else truth != L.VESSEL
    dice = {
        n: _dice((truth == v) & keep, (got == v) & keep)
        for v, n in L.TISSUE_NAMES.items()
        if ph.contrast or v != L.VESSEL
    }
    tw = _truth_twins(ph)
    own, sp = ph.owner, ph.ct.spacing_mm
    d = np.where(own == 1, morph.distance_to_mm(own == 2, sp), morph.distance_to_mm(own == 1, sp))
    far = (tw > 0) & (twins > 0) & (d > BAND_MM)
    scores = {
        "dice": dice,
        "twin_acc": float((twins[far] == tw[far]).mean()),
        "far_vx": int(far.sum()),
        "contrast": bool(seg.contrast),
    }
    _CACHE[name] = (ph, scores)
    return _CACHE[name]


def test_truth_does_not_change_the_ct() -> None:
    ph, _ = _run("vertical-total-contrast")
    assert hashlib.sha256(ph.ct.array.tobytes()).hexdigest() == CT_SHA256


@pytest.mark.parametrize("name", list(CONFIGS))
def test_truth_is_the_construction(name: str) -> None:
    """Tissue truth: exactly the body, every tissue present, each at its own HU value."""
    ph, _ = _run(name)
    cfg = CONFIGS[name]
    t = ph.labels
    np.testing.assert_array_equal(t > 0, ph.body)
    present = set(np.unique(t).tolist())
    assert present == {0, 1, 2, 3, 4, 5}, present
    ct = ph.ct.array.astype(np.float64)
    # deep inside a tissue (1-2 voxels from any other label, beyond the partial-volume
    # ramp of half a voxel) the CT is its value + noise
    for v, hu, tol, depth_vx in (
        (L.BRAIN, cfg.hu.brain, 1.0, 2),
        (L.CSF, cfg.hu.csf, 3.0, 1),  # the ventricles (10 mm wide): ~100-300 deep voxels
        (L.SOFT_TISSUE, None, 0.0, 1),
    ):
        core = ndimage.binary_erosion(t == v, iterations=depth_vx)
        if hu is None:  # scalp and fat layers: between fat and scalp HU
            med = float(np.median(ct[core]))
            assert cfg.hu.fat - 5 < med < cfg.hu.scalp + 5, (v, med)
            continue
        assert core.sum() > 30
        med = float(np.median(ct[core]))
        assert abs(med - hu) <= tol + 3 * cfg.noise_hu / np.sqrt(core.sum()), (v, med, hu)
    # bone voxel centres hold mostly bone: far above soft tissue, at most the bone value
    bone = ct[t == L.BONE]
    assert np.median(bone) > 0.45 * cfg.hu.bone_low
    assert np.percentile(bone, 99) < cfg.hu.bone_high + 4 * cfg.noise_hu + 1.0


@pytest.mark.parametrize("name", list(CONFIGS))
def test_dice_floors(name: str) -> None:
    _, s = _run(name)
    floors = FLOORS[name]
    low = {
        n: (round(s["dice"][n], 4), f)
        for n, f in floors.items()
        if f is not None and s["dice"][n] < f
    }
    assert not low, f"{name}: Dice below floor (got, floor): {low}; all: {s['dice']}"


@pytest.mark.parametrize("name", list(CONFIGS))
def test_twins_and_contrast(name: str) -> None:
    ph, s = _run(name)
    assert s["contrast"] is ph.contrast
    assert s["far_vx"] > 20000
    assert s["twin_acc"] >= 0.995, f"{name}: {100 * s['twin_acc']:.2f} % outside the band"


@pytest.mark.xfail(strict=True, reason="600 HU bone blurred into the blood range: vessel")
def test_low_density_bone_stays_bone() -> None:
    _, s = _run("bone-600")
    assert s["dice"]["bone"] >= 0.95 and s["dice"]["vessel"] >= 0.80, s["dice"]


def test_no_false_contrast_on_a_coarse_grid() -> None:
    _, s = _run("plain-3.2mm")
    assert s["contrast"] is False


def test_vessels_under_the_skin_are_no_air_cell_septa() -> None:
    """bench_independent's angular-total-c-n10-s5 at 2.4 mm: its true extracranial
    vessel pieces two voxels under the skin were taken for air-cell septa (the body's
    outer voxels, skin and air in one, counted as gas: vessel 0.858 -> 0.835 at
    5de4092); gas now counts more than one voxel inside the body (0.858)."""
    cfg = Config(
        "angular", axis_angle_deg=120.0, rotation_deg=0.0, seed=5, noise_hu=10.0, spacing_mm=2.4
    )
    ph = make_phantom2(replace(cfg, max_voxels=400))
    got = segment_ct(ph.ct).labels.array == L.VESSEL
    assert _dice(ph.labels == L.VESSEL, got) >= 0.85
