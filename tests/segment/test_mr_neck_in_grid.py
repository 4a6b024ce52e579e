"""MR alone: twins whose necks end inside the grid, with air beyond the cut.

On a T1 the skull band and the CSF are darker than the head's foreground level. Where
the scan ends inside the grid (a field of view padded or resampled onto a larger grid;
the Colin27 real-anatomy twins), the dark spine runs from the skull base to the neck's
cut and opens the band to the air below it: in 3D the band is not a hole of the head, and
it was labelled background. On the Colin27 twins that was 130 k of the 400 k truth bone
voxels, and the twin accuracy (every truth tissue voxel beyond 15 mm of the twin
boundary must carry its twin) read 0.923 / 0.927 though not one voxel had the wrong
owner. Two heads vertex to vertex on a 2 mm grid: scalp (fat) 4 mm, skull 4 mm, CSF
4 mm, brain (grey matter 12 mm deep, about its share of a brain's volume) with two ventricles; each with a neck of muscle and a dark spine joining its skull, ending 30 mm
below the skull with 20 mm of air beyond.
"""

from __future__ import annotations

import numpy as np
import pytest

from blind.mr_phantom import CORTICAL, CSF, FAT, GM, MUSCLE, T1_SIGNAL, WM
from twinsep import labels as L
from twinsep.segment import mr as M
from twinsep.twins import assign_twins
from twinsep.volume import Volume

SP = 2.0
SHAPE = (72, 72, 162)
#: head layers: outer radius (mm), T1 tissue of the blind phantom, truth label
LAYERS = (
    (62.0, FAT, L.SOFT_TISSUE),
    (58.0, CORTICAL, L.BONE),
    (54.0, CSF, L.CSF),
    (50.0, GM, L.BRAIN),
    (38.0, WM, L.BRAIN),
)


@pytest.fixture(scope="module")
def twins() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T1 image, truth labels, truth twins 1/2); twin 1 below the junction plane."""
    x, y, z = (np.indices(SHAPE).astype(float) + 0.5) * SP
    mid = SHAPE[2] * SP / 2.0
    img = np.zeros(SHAPE)
    lab = np.zeros(SHAPE, np.uint8)
    for sign in (-1.0, 1.0):
        side = sign * (z - mid) > 0  # this twin's side of the junction plane
        cz = mid + sign * 50.0  # head centre: the heads overlap by 24 mm
        r = np.sqrt((x - 72.0) ** 2 + (y - 72.0) ** 2 + (z - cz) ** 2)
        # the neck, away from the junction: muscle to 30 mm below the skull, then the
        # air of the grid
        away = sign * (z - cz)
        neck = side & (np.hypot(x - 72.0, y - 72.0) < 32.0) & (away > 0) & (away < 92.0)
        img[neck], lab[neck] = T1_SIGNAL[MUSCLE], L.SOFT_TISSUE
        for rad, tissue, code in LAYERS:
            inside = side & (r < rad)
            img[inside], lab[inside] = T1_SIGNAL[tissue], code
        # two lateral ventricles (CSF), 10 mm in radius, 16 mm either side of the midline
        for dx in (-16.0, 16.0):
            vent = np.sqrt((x - 72.0 - dx) ** 2 + (y - 72.0) ** 2 + (z - cz) ** 2) < 10.0
            img[vent], lab[vent] = T1_SIGNAL[CSF], L.CSF
        # the spine: from the neck's cut through the scalp into the skull base
        spine = neck & (np.hypot(x - 72.0, y - 62.0) < 7.0) & (r >= 56.0)
        img[spine], lab[spine] = T1_SIGNAL[CORTICAL], L.BONE
    tw = np.where(lab > 0, np.where(z < mid, 1, 2), 0).astype(np.uint8)
    rng = np.random.default_rng(0)
    sigma = 0.03 * T1_SIGNAL[WM]
    noisy = np.hypot(img + rng.normal(0.0, sigma, SHAPE), rng.normal(0.0, sigma, SHAPE))
    return noisy.astype(np.float32), lab, tw


def test_skull_band_stays_in_the_head_and_twins_are_whole(
    twins: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    img, lab, tw = twins
    vol = Volume(img, np.diag([SP, SP, SP, 1.0]), {"source": "t1.nii"})
    res = M.segment_mr_t1(vol)
    out = res.labels.array
    # the dark layers (skull, CSF, spine) are tissue: measured 1.000; before 0.120
    dark = (lab == L.BONE) | (lab == L.CSF)
    assert float((out[dark] > 0).mean()) >= 0.98
    # no air taken: the grid's air beyond the necks and around the heads stays air
    # (measured 0 voxels)
    assert int(((out > 0) & (lab == 0)).sum()) <= 0.002 * int((lab > 0).sum())
    owner = assign_twins(res.labels).twins.array
    # twin accuracy as the benchmark counts it: every truth tissue voxel beyond 15 mm of
    # the junction plane must carry its twin (A and B named by DESIGN's rule here, so
    # the better of the two namings). Measured 1.000; before 0.649 (55 k voxels of skull
    # and CSF background, and 31 k of scalp cut off from its skull given to the other
    # twin)
    z = (np.indices(SHAPE)[2] + 0.5) * SP
    scored = (tw > 0) & (np.abs(z - SHAPE[2] * SP / 2.0) > 15.0)
    swapped = np.take(np.array([0, 2, 1], np.uint8), owner)
    acc = max(
        float((owner[scored] == tw[scored]).mean()), float((swapped[scored] == tw[scored]).mean())
    )
    assert acc >= 0.995


def test_enclosed_fills_sections_not_open_notches() -> None:
    """A dark hollow that a canal opens to the air beyond a face inside the grid is
    filled (every section across it closes it); a groove open to the air along its
    length is not."""
    m = np.zeros((24, 24, 24), bool)
    m[4:20, 4:20, 4:20] = True
    m[7:17, 7:17, 7:17] = False  # a hollow (the skull band) ...
    m[10:14, 10:14, 4:7] = False  # ... opened to the air by a canal (the spine)
    m[4:6, 10:14, :] = False  # a groove along the side, open at both ends
    assert not M._fill_head(m)[10:14, 10:14, 10].any()  # in 3D the hollow is outside
    out = M.enclosed(m)
    assert out[7:17, 7:17, 7:17].all() and out[10:14, 10:14, 4:7].all()
    assert not out[4:6, 10:14, :].any()
    assert int(out.sum()) == int(m.sum()) + 10 * 10 * 10 + 4 * 4 * 3
