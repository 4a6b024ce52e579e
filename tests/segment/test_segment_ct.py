"""Tissue segmentation of CT against generated ground truth (analytic infant twins)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from seg_metrics import dice
from twinsep import labels as L
from twinsep.errors import ScanError
from twinsep.realanatomy.fuse import FusionConfig, fuse_heads
from twinsep.realanatomy.head import analytic_head
from twinsep.realanatomy.synth_ct import labels_to_ct
from twinsep.segment import segment_ct
from twinsep.volume import Volume

SPACING = 1.5


@pytest.fixture(scope="module")
def case():
    return fuse_heads(analytic_head(1.0), FusionConfig(spacing_mm=SPACING, twist_deg=30.0))


def _ct(case, *, contrast=True, offset_hu=0.0, noise=20.0, seed=0) -> Volume:
    rng = np.random.default_rng(seed)
    ct = labels_to_ct(
        case.labels.array,
        case.labels.spacing_mm,
        rng=rng,
        noise_hu=noise,
        contrast=contrast,
        texture=case.texture,
        table=case.table,
    )
    ct = (ct.astype(np.float32) + offset_hu).astype(np.int16)
    return Volume(ct, case.labels.affine.copy(), {"source": "synthetic.nii.gz"})


@pytest.fixture(scope="module")
def seg(case):
    return segment_ct(_ct(case))


# Floors from issue 4 (bone/soft 0.95, brain 0.92, CSF 0.80, vessels 0.85); the method
# measured 0.97/0.99/0.97/0.83/0.89 here, so a regression of a few points fails.
FLOORS = {L.SOFT_TISSUE: 0.95, L.BONE: 0.95, L.BRAIN: 0.92, L.CSF: 0.80, L.VESSEL: 0.85}


@pytest.mark.parametrize("label", sorted(FLOORS))
def test_dice_floor_with_contrast(case, seg, label):
    d = dice(case.labels.array == label, seg.labels.array == label)
    assert d >= FLOORS[label], f"label {label}: Dice {d:.3f}"


def test_contrast_detected_and_table_removed(case, seg):
    assert seg.contrast
    # the table (background in the truth) must not be labelled as tissue, except a thin
    # rind where it presses on the scalp (measured 1.6 %); without removal it is 100 %
    table = case.table
    assert (seg.labels.array[table] > 0).mean() < 0.03


def test_fontanelle_stays_open(case, seg):
    """Voxels of the bone-free fontanelle must not be labelled bone (no closing)."""
    truth = case.labels.array
    # the fontanelle: soft tissue between bone voxels on the skull shell, i.e. soft
    # tissue whose neighbourhood has bone on both sides along some axis
    from scipy import ndimage as ndi

    bone = truth == L.BONE
    near_bone = ndi.binary_dilation(bone, iterations=2)
    ic = np.isin(truth, [L.BRAIN, L.CSF, L.VESSEL])
    near_ic = ndi.binary_dilation(ic, iterations=2)
    gap = (truth == L.SOFT_TISSUE) & near_bone & near_ic
    assert gap.sum() > 20  # the phantom has a fontanelle
    assert (seg.labels.array[gap] == L.BONE).mean() < 0.2


def test_no_contrast_warns(case):
    res = segment_ct(_ct(case, contrast=False, seed=1))
    assert not res.contrast
    assert (res.labels.array == L.VESSEL).sum() == 0
    assert any("no contrast" in w for w in res.warnings)


def test_calibration_offset(case):
    """A scanner 45 HU off: thresholds follow the histogram, Dice stays above floors."""
    res = segment_ct(_ct(case, offset_hu=45.0, seed=2))
    assert abs(res.hu_thresholds["soft_peak_hu"] - (33 + 45)) < 12
    for label in (L.SOFT_TISSUE, L.BONE, L.BRAIN):
        assert dice(case.labels.array == label, res.labels.array == label) >= FLOORS[label]


def test_input_not_modified(case):
    ct = _ct(case, seed=3)
    before = hashlib.sha256(ct.array.tobytes()).hexdigest()
    segment_ct(ct)
    assert hashlib.sha256(ct.array.tobytes()).hexdigest() == before


def test_not_a_head_is_refused():
    """A water cylinder (no skull) is a body but not a head."""
    n = 64
    x, y, z = np.mgrid[:n, :n, :n]
    arr = np.full((n, n, n), -1000, np.int16)
    arr[((x - 32) ** 2 + (y - 32) ** 2) < 25**2] = 20
    arr[30:34, 30:34, 10:50] = 900  # a rod of bone: HU range is CT-like
    vol = Volume(arr, np.diag([2.0, 2.0, 2.0, 1.0]), {"source": "cylinder.nii"})
    with pytest.raises(ScanError, match="cylinder.nii.*not look like a head"):
        segment_ct(vol)


def test_mr_values_are_refused_as_ct():
    arr = np.random.default_rng(0).integers(0, 255, (40, 40, 40)).astype(np.int16)
    with pytest.raises(ScanError, match="not a CT in Hounsfield") as err:
        segment_ct(Volume(arr, np.eye(4), {"source": "t1.nii"}))
    # an MR alone is planned when recognised as MR: --mr is not the only way for an MR
    assert "planned on its own" in str(err.value)


def test_voxel_order_does_not_matter(case, seg):
    """The same CT stored with axes flipped and permuted (affine compensating) gives the
    same labels voxel for voxel (up to threshold jitter from histogram sampling)."""
    ct = _ct(case)
    arr = np.ascontiguousarray(ct.array[::-1, :, ::-1].transpose(2, 0, 1))
    n = np.array(ct.shape) - 1
    # new index (a, b, c) = old (n0 - b, c, n2 - a)
    m = np.zeros((4, 4))
    m[0, 1] = -1
    m[0, 3] = n[0]
    m[1, 2] = 1
    m[2, 0] = -1
    m[2, 3] = n[2]
    m[3, 3] = 1
    aff = ct.affine @ m
    res = segment_ct(Volume(arr, aff, {"source": "flipped.nii.gz"}))
    back = res.labels.array.transpose(1, 2, 0)[::-1, :, ::-1]
    assert (back == seg.labels.array).mean() > 0.998
