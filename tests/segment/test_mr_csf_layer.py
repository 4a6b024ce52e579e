"""MR alone: the cranial cavity's wall at the inner edge of the skull's dark band
(``segment.mr_layer.csf_layer_cavity``).

The cavity was the grown brain, closed, dilated by a fixed 1.5 mm. Under an infant's
subarachnoid CSF (1.5-3.5 mm on the blind MR phantom) that wall stopped short and the
rest of the CSF was labelled skull (blind phantom at 2 mm: 16.6 k of its 23.4 k CSF
voxels bone). Here a generated infant head (1.5 mm voxels, 2^3 points each; T1 levels
of the blind phantom: cortical bone 30, marrow 330, CSF 140, grey 470, white 640, fat
950, skin 420; Rician noise 3 % of white matter): skin, fat, a skull (outer table,
marrow, a 1.5 mm inner table; 4 mm in all), a 3 mm CSF layer, the cortex, white matter and two
ventricles. And two direct checks of the layer on known values.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from twinsep import labels as L
from twinsep.segment import mr as M
from twinsep.segment.mr_layer import csf_layer_cavity
from twinsep.segment.params import MRParams
from twinsep.volume import Volume

SP = 1.5
N = 96
SUB = 2  # points per voxel side (partial volume)
C = np.array([72.0, 72.0, 72.0], np.float32)
T1 = {"skin": 420.0, "fat": 950.0, "bone": 30.0, "marrow": 330.0, "csf": 140.0}
T1 |= {"grey": 470.0, "white": 640.0}
#: outer radius (mm), tissue, label; outermost first
LAYERS = (
    (64.0, "skin", L.SOFT_TISSUE),
    (62.0, "fat", L.SOFT_TISSUE),
    (59.0, "bone", L.BONE),  # outer table
    (57.5, "marrow", L.BONE),
    (55.5, "bone", L.BONE),  # inner table, 1.5 mm
    (54.0, "csf", L.CSF),  # the subarachnoid layer, 3 mm
    (51.0, "grey", L.BRAIN),
    (40.0, "white", L.BRAIN),
)


def _tissue(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """T1 value and truth label at points ``p`` (..., 3) in mm."""
    r = np.linalg.norm(p - C, axis=-1)
    val = np.zeros(r.shape, np.float32)
    lab = np.zeros(r.shape, np.uint8)
    for rad, t, code in LAYERS:
        inside = r < rad
        val[inside], lab[inside] = T1[t], code
    for dx in (-14.0, 14.0):  # two lateral ventricles, 4.2 mL each
        vent = np.linalg.norm(p - C - np.array([dx, 0.0, 8.0], np.float32), axis=-1) < 10.0
        val[vent], lab[vent] = T1["csf"], L.CSF
    return val, lab


@pytest.fixture(scope="module")
def planned() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(truth labels, MR-alone labels, radius of each voxel centre in mm) on 96^3."""
    fine = (np.indices((N * SUB,) * 3, dtype=np.float32) + 0.5) * (SP / SUB)
    val, _ = _tissue(np.moveaxis(fine, 0, -1))
    img = val.reshape(N, SUB, N, SUB, N, SUB).mean(axis=(1, 3, 5))
    centre = np.moveaxis((np.indices((N,) * 3, dtype=np.float32) + 0.5) * SP, 0, -1)
    lab = _tissue(centre)[1]
    rng = np.random.default_rng(0)
    sigma = 0.03 * T1["white"]
    noisy = np.hypot(img + rng.normal(0.0, sigma, img.shape), rng.normal(0.0, sigma, img.shape))
    vol = Volume(noisy.astype(np.float32), np.diag([SP, SP, SP, 1.0]), {"source": "t1.nii"})
    out = M.segment_mr_t1(vol).labels.array
    return lab, out, np.linalg.norm(centre - C, axis=-1)


def test_subarachnoid_csf_reaches_the_inner_table(
    planned: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    lab, out, r = planned
    layer = (lab == L.CSF) & (r >= 51.0)  # the subarachnoid layer's voxels
    # measured 0.80 of them CSF; 0.39 with the fixed 1.5 mm dilation over the brain
    # (the outer part labelled bone: 18.1 k of the 32.9 k truth CSF voxels, now 5.7 k)
    assert float(np.mean(out[layer] == L.CSF)) >= 0.72
    # the inner table is not CSF: measured 5 of its 17.1 k voxels (0 before)
    inner_table = (lab == L.BONE) & (r < 55.5)
    assert float(np.mean(out[inner_table] == L.CSF)) <= 0.01
    # CSF Dice measured 0.884 (0.595 before); brain 0.996 both
    csf, truth = out == L.CSF, lab == L.CSF
    assert 2.0 * float((csf & truth).sum()) / float(csf.sum() + truth.sum()) >= 0.82


def _ball(value_layer: float, bone: float = 30.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T1, closed brain, body): a 20 mm ball of brain (600), a 2.5 mm layer of
    ``value_layer``, ``bone`` to 30 mm; Gaussian noise 5."""
    shape = (48, 48, 48)
    r = np.linalg.norm((np.indices(shape) - 23.5) * SP, axis=0)
    img = np.where(r < 20.0, 600.0, np.where(r < 22.5, value_layer, bone))
    img = img + np.random.default_rng(1).normal(0.0, 5.0, shape)
    return img.astype(np.float32), r < 20.0, r < 30.0


CSF_VALUES = np.random.default_rng(2).normal(140.0, 10.0, 5000)


def test_layer_is_grown_to_the_dark_band() -> None:
    img, closed, body = _ball(140.0)
    cav = csf_layer_cavity(img, closed, body, CSF_VALUES, 300.0, (SP,) * 3, MRParams())
    assert cav is not None
    r = np.linalg.norm((np.indices(img.shape) - 23.5) * SP, axis=0)
    layer = (r >= 20.0) & (r < 22.5)
    # every layer voxel within csf_layer_mm (3 mm) of the brain (measured all of them;
    # 0.95 of the whole layer: its corners lie farther)
    near = ndimage.distance_transform_edt(~closed, sampling=SP) <= MRParams().csf_layer_mm
    assert bool(np.all(cav[layer & near]))
    assert float(np.mean(cav[layer])) >= 0.90
    assert not cav[r >= 23.0].any()  # none of the bone beyond its partial-volume rim
    # the fixed 1.5 mm dilation (no layer) stops a voxel out: about half the layer
    with_dilation = np.linalg.norm((np.indices(img.shape) - 23.5) * SP, axis=0) < 21.5
    assert float(np.mean(with_dilation[layer])) < 0.6


def test_partial_volume_layer_keeps_the_dilation() -> None:
    """A layer that reads 0.375 of the way from the ventricles' CSF to the CSF/grey level
    (thinner than a voxel: CSF, grey, dura and bone mixed) is not used."""
    img, closed, body = _ball(200.0)
    assert csf_layer_cavity(img, closed, body, CSF_VALUES, 300.0, (SP,) * 3, MRParams()) is None
    # 0.25 of the way is still CSF by this rule
    img, closed, body = _ball(180.0)
    assert csf_layer_cavity(img, closed, body, CSF_VALUES, 300.0, (SP,) * 3, MRParams()) is not None


def test_bone_as_dark_as_csf_keeps_the_dilation() -> None:
    """Bone that reads within the noise of CSF (an adult's compact bone on a T1:
    tests/segment/test_mr_orbit's head, bone 20 against CSF 22) cannot be parted from
    it: a layer grown through it would be the inner table. The skull beyond the layer's
    reach reads as CSF, so no layer (on test_mr_orbit's head a first version without
    this check labelled 17.6 k of its bone voxels CSF; 4.0 k with the dilation)."""
    img, closed, body = _ball(140.0, bone=135.0)
    assert csf_layer_cavity(img, closed, body, CSF_VALUES, 300.0, (SP,) * 3, MRParams()) is None
