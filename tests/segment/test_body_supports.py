"""Body mask of ``segment_ct``: a jaw is kept, a table and a tube pressed on the scalp are not.

The scene is built here, independently of ``twinsep.phantom``: a spherical infant head
(scalp, skull, CSF, brain), a soft-tissue jaw reaching about 22 mm out of the head, a
12.5 mm plastic plate (a table or head holder) pressed 0.5 mm into the back of the
scalp and reaching the edge of the field of view, and a 7 mm plastic tube leaving the
side of the head. The CT is rendered on a rotated grid (no array axis is "up") with a
Gaussian PSF and seeded white noise; the truth is the material at each voxel centre.
Plastic voxels more than one voxel diagonal from the patient cannot be body by partial
volume: any of them in the body is a support taken for the head.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from grids import rotated_grid
from twinsep.segment import morph, segment_ct
from twinsep.volume import Volume

SPACING_MM = 2.0
HALF_FOV_MM = 100.0
HEAD_R_MM = 60.0
JAW_C_MM = np.array([0.0, 40.0, -50.0])
JAW_AXES_MM = np.array([28.0, 22.0, 22.0])
PLATE_MM = (-72.0, -59.5)  # local y range of the plate (the head reaches y = -60)
TUBE_R_MM = 3.5
TUBE_YZ_MM = (10.0, 25.0)


def _scene(seed: int, noise_hu: float) -> tuple[Volume, dict[str, np.ndarray]]:
    """CT and truth masks (patient, jaw outside the head, plate, tube) on one grid."""
    n = int(2 * HALF_FOV_MM / SPACING_MM)
    world, affine = rotated_grid(n, SPACING_MM, seed)
    x = world  # the scene is laid out in world mm; the grid is rotated against it
    rad = np.linalg.norm(x, axis=-1)
    jaw = (np.linalg.norm((x - JAW_C_MM) / JAW_AXES_MM, axis=-1) <= 1.0) & (rad > HEAD_R_MM)
    patient = (rad <= HEAD_R_MM) | jaw
    plate = (x[..., 1] >= PLATE_MM[0]) & (x[..., 1] <= PLATE_MM[1]) & ~patient
    tube = (
        (np.hypot(x[..., 1] - TUBE_YZ_MM[0], x[..., 2] - TUBE_YZ_MM[1]) <= TUBE_R_MM)
        & (x[..., 0] > 0)
        & ~patient
        & ~plate
    )
    hu = np.full(rad.shape, -1000.0)
    hu[patient] = 40.0  # scalp and jaw soft tissue
    hu[(rad > 52.0) & (rad <= 56.0)] = 900.0  # skull (4 mm)
    hu[(rad > 50.0) & (rad <= 52.0)] = 8.0  # CSF
    hu[rad <= 50.0] = 35.0  # brain
    hu[plate] = 100.0  # plastic
    hu[tube] = 100.0
    sigma_vx = 1.0 / SPACING_MM  # PSF sigma 1 mm (FWHM 2.4 mm)
    ct = ndi.gaussian_filter(hu, sigma_vx, mode="nearest")
    ct += np.random.default_rng(seed + 1).normal(0.0, noise_hu, ct.shape)
    vol = Volume(np.round(ct).astype(np.int16), affine, {"source": "test scene"})
    return vol, {"patient": patient, "jaw": jaw, "plate": plate, "tube": tube}


# Most plastic left in the body (mL). Before the pressed-support cut the sweep took
# 2.8 mL (seed 3) and 0.73 mL (seed 8) of the plate; the cut leaves 0.02 and 0.38 mL.
# At 30 HU noise a voxel of the 100 HU plate falls outside the support's value window
# (within 30 HU of its level, half the gap to the 40 HU scalp) one time in three,
# and such voxels stay body.
@pytest.mark.parametrize(("seed", "noise_hu", "max_ml"), [(3, 10.0, 0.1), (8, 30.0, 0.5)])
def test_jaw_kept_plate_and_tube_removed(seed: int, noise_hu: float, max_ml: float) -> None:
    ct, truth = _scene(seed, noise_hu)
    before = ct.array.copy()
    body = segment_ct(ct).labels.array > 0
    assert np.array_equal(ct.array, before)  # the input is not modified
    sp = ct.spacing_mm
    # plastic farther than one voxel diagonal (3.5 mm) from the patient is never body
    # by partial volume
    near = morph.dilate_mm(truth["patient"], np.sqrt(3.0) * max(sp), sp)
    vx_ml = float(np.prod(sp)) / 1000.0
    plate_ml = float((body & truth["plate"] & ~near).sum()) * vx_ml
    tube_ml = float((body & truth["tube"] & ~near).sum()) * vx_ml
    assert plate_ml <= max_ml, f"{plate_ml:.2f} mL of the plate is body"
    assert tube_ml <= max_ml, f"{tube_ml:.2f} mL of the tube is body"
    # the jaw (about 40 mL outside the head) is body: a lost jaw would drop this to ~0
    kept = float((body & truth["jaw"]).sum()) / float(truth["jaw"].sum())
    assert kept >= 0.95, f"only {kept:.3f} of the jaw is body"
    # and the patient as a whole: the surface voxels (partial volume) bound the misses
    inter = float((body & truth["patient"]).sum())
    dice = 2.0 * inter / float(body.sum() + truth["patient"].sum())
    assert dice >= 0.97, f"body Dice {dice:.3f}"
