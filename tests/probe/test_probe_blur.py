"""A blurrier scanner: the contrast sinuses and the bone's blurred rim (``segment_ct``).

The default probe union (two heads vertex to vertex, skull 1.5-5 mm, sinuses of 260 HU,
noise 15 HU) on a 2.5 mm grid, its CT blurred by a Gaussian PSF of 0.5, 0.65 or 0.8
voxels (sigma 1.25-2 mm) after the voxels' own partial volume. Measured at 9b28d5f
(vessel Dice, vessel voxels planned / true, true CSF called vessel):

* PSF 0.5:  contrast found, vessel 0.81, 2215 / 1961, 302;
* PSF 0.65: contrast found, vessel 0.471, 4793 / 1961, 2753: the CSF under the inner
  table, lifted to 130-430 HU by the blurred bone, is called vessel (the same on the
  bench's 2 mm, 40 HU row: 0.445);
* PSF 0.8:  **no contrast found** ("no contrast in the CT: dural venous sinuses and
  vessels are not segmented") although the true sinus voxels read 132 / 226 / 469 HU
  (10th / 50th / 90th percentile): contrast evidence 0 mL.

The contrast call and the vessel rules are not changed here; the two misses are strict
xfails, the PSF 0.5 row the control that shows the checks can pass.
"""

from __future__ import annotations

import numpy as np
import pytest

from probe.probe_phantom import Head, ProbeCase, render
from probe.probe_score import dice
from twinsep.segment.ct import segment_ct
from twinsep.volume import Volume

pytestmark = pytest.mark.slow  # a render and a segmentation per case, 3-6 s

_EYE = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


def _segment(psf_vox: float) -> tuple[np.ndarray, np.ndarray, bool]:
    head = Head(centre_mm=(0.0, 0.0, 0.0), frame=_EYE, neck_mm=30.0)
    case = ProbeCase(
        "blur", spacing_mm=(2.5, 2.5, 2.5), psf_vox=psf_vox, noise_hu=15.0, table=False, head=head
    )
    r = render(case)
    res = segment_ct(Volume(r.ct.astype(np.float32), r.affine))
    return r.labels, res.labels.array, bool(res.contrast)


def _check_vessels(truth: np.ndarray, lab: np.ndarray) -> None:
    tv, pv = truth == 5, lab == 5
    # the 0.85 less a margin for 2.5 mm voxels (the control reads 0.81); at most
    # half as many vessel voxels again as are true (a rim of CSF doubles them)
    d = dice(tv, pv)
    assert d is not None and d >= 0.75, d
    assert pv.sum() <= 1.5 * tv.sum(), (int(pv.sum()), int(tv.sum()))


def test_sharp_enough_control() -> None:
    truth, lab, contrast = _segment(0.5)
    assert contrast
    _check_vessels(truth, lab)


def test_blurred_bone_rim_mostly_dropped() -> None:
    """PSF 0.65 voxel: the CSF that the blurred inner table lifts lies on the bone's
    blurred tail and is dropped (``VesselParams.blur_rim_noise_k``): 0.471 with 4793
    vessel voxels before, 0.629 with 3097 after, no true sinus voxel lost; with bone
    inside the voxel that no blood layer can stand for (``blur_rim_inside``, session
    31) 0.638 with 3025, still none lost (the issue's 0.75 not reached: the CSF voxels
    left fit a voxel-thick blood layer on a thin plate as well as bone partial volume)."""
    truth, lab, contrast = _segment(0.65)
    assert contrast
    tv, pv = truth == 5, lab == 5
    d = dice(tv, pv)
    assert d is not None and d >= 0.633, d
    assert pv.sum() <= 1.56 * tv.sum(), (int(pv.sum()), int(tv.sum()))
    assert (pv & tv).sum() >= 1591, int((pv & tv).sum())


@pytest.mark.xfail(
    strict=True,
    reason="PSF 0.65 voxel: the CSF under the blurred inner table called vessel "
    "(0.471, 4793 vessel voxels for 1961 at 9b28d5f; 0.629, 3097 with the blurred-rim "
    "rule; 0.638, 3025 with bone inside the voxel: CSF voxels on thin plates, where a "
    "voxel-thick blood layer fits too, and beside the sinus stay)",
)
def test_blurred_bone_rim_is_not_vessel() -> None:
    truth, lab, contrast = _segment(0.65)
    assert contrast
    _check_vessels(truth, lab)


@pytest.mark.xfail(
    strict=True,
    reason="PSF 0.8 voxel: contrast not found though the sinuses read 226 HU (median) at 9b28d5f; "
    "traced at 1039bda: 23 % of the skull has no core, 53.8 mL of evidence (12 % sinus) is no "
    "plateau (74 HU) and the plateau check drops it all (docs/segmentation.md, 2026-11-28)",
)
def test_blurred_contrast_is_still_found() -> None:
    truth, lab, contrast = _segment(0.8)
    assert contrast
    assert (lab[truth == 5] == 5).mean() >= 0.5
