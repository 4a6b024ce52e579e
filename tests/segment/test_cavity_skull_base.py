"""The cranial cavity stops at a thin skull base on thick slices (issue 4, infant CT).

The head is built here: a spherical cranium (inner radius 40 mm, a 1.6 mm, 1000 HU
vault under a 4 mm scalp) closed below by a skull-base plate 1.4 mm thick (an infant's),
tilted 25 degrees from the axial plane, with a dense ridge (1900 HU, 5 mm across: the
petrous bone) lying on it; under the plate 3 mm of fat (-100 HU), then muscle (50 HU)
down to the cut of the neck. Brain 25 HU under a 2 mm CSF layer (6 HU). Rendered with
2x2x2 supersampling on 0.7 x 0.7 x 2.5 mm voxels (axial slices), a 0.7 mm PSF and 15 HU
of noise; the truth is the tissue at each voxel centre.

On such slices the plate lies across the slab: its voxels hold 0.3-0.6 of it, and next
to its core or the ridge they fall under the local half-maximum edge of the bone mask.
The cavity then went through them into the fat and muscle below (labelled CSF), where
bones below (jaw, vertebrae) close the space under the base: at 4972e38 7.7 k of the
11.6 k fat voxels and 10.8 k of the 95 k muscle voxels were brain or CSF, cavity Dice
0.928. With the wall rules (``segment.cavity_wall``) 2.4 k fat and 6.3 k muscle voxels,
Dice 0.958: the wall no longer passes through the plate's partial volume or fat, but the
coarse cavity still reaches under the plate where the bone mask lost it
(docs/segmentation.md, "The infant cranial cavity at the skull base").

The same head through a sharp (bone) kernel (``realism.stressors.sharp_kernel``, the
unsharp-mask model whose inverse ``segment.kernel`` fits) holds the rules' first version
to account: read on the CT as it is, the kernel's undershoot beside every bone edge made
CSF read as fat (2ca389f / be9a603, reverted: CSF Dice 0.49 -> 0.41 here, and 0.87 ->
0.57-0.77 on tests/segment/test_kernel.py). The wall now reads fat and plate on the CT
through the kernel's measured inverse when the edge response shows one.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from grids import supersampled
from realism.stressors import sharp_kernel
from seg_metrics import dice
from twinsep import labels as L
from twinsep.segment import segment_ct
from twinsep.volume import Volume

INNER_MM = 40.0
VAULT_MM = 1.6
SCALP_MM = 4.0
PLATE_MM = 1.4
FAT_MM = 3.0
TILT_DEG = 25.0
SPACING = (0.7, 0.7, 2.5)
HU = {"air": -1000.0, "soft": 45.0, "fat": -100.0, "muscle": 50.0, "bone": 1000.0}
HU.update({"dense": 1900.0, "csf": 6.0, "brain": 25.0})
FAT, MUSCLE = 7, 8  # material codes beyond the labels (truth label soft tissue)


def _head(seed: int = 0) -> tuple[Volume, np.ndarray, np.ndarray]:
    """(CT, truth labels, materials) at the voxel centres."""
    outer = INNER_MM + VAULT_MM + SCALP_MM
    lo = np.array([-outer - 3.0, -outer - 3.0, -outer - 3.0])
    hi = np.array([outer + 3.0, outer + 3.0, outer + 3.0])
    shape = tuple(int(np.ceil((h - low) / s)) for low, h, s in zip(lo, hi, SPACING, strict=True))
    affine = np.diag([*SPACING, 1.0])
    affine[:3, 3] = lo
    t = np.deg2rad(TILT_DEG)
    normal = np.array([0.0, np.sin(t), np.cos(t)])  # the plate's normal, up and forward
    base = -12.0  # the plate's upper surface: normal . x = base

    def tissue(ijk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = ijk * np.array(SPACING) + lo
        r = np.linalg.norm(x, axis=-1)
        h = x @ normal - base  # height above the plate's upper surface (mm)
        neck = (np.hypot(x[..., 0], x[..., 1]) < 34.0) & (h < 0)
        hu = np.full(r.shape, HU["air"])
        mat = np.zeros(r.shape, np.uint8)

        def put(where: np.ndarray, val: float, code: int) -> None:
            hu[where] = val
            mat[where] = code

        put((r < outer) | neck, HU["soft"], L.SOFT_TISSUE)
        put((r < INNER_MM + VAULT_MM) & (h > -PLATE_MM), HU["bone"], L.BONE)
        put(((r < INNER_MM + VAULT_MM) | neck) & (h <= -PLATE_MM), HU["muscle"], MUSCLE)
        put((r < INNER_MM + VAULT_MM) & (h <= -PLATE_MM) & (h > -PLATE_MM - FAT_MM), HU["fat"], FAT)
        # the bones below (jaw, vertebrae, palate) close the space under the base
        low = (h < -PLATE_MM - 8.0) & (h > -PLATE_MM - 10.0) & (r < INNER_MM + VAULT_MM)
        put(low, HU["bone"], L.BONE)
        put((r < INNER_MM) & (h > 0), HU["csf"], L.CSF)
        put((r < INNER_MM - 2.0) & (h > 2.0), HU["brain"], L.BRAIN)
        # the ridge: a rod along x on the plate, 5 mm across, 8 mm in front of the centre
        rod = np.hypot(x[..., 1] - 8.0, h - 1.0) < 2.5
        put(rod & (r < INNER_MM), HU["dense"], L.BONE)
        return hu, mat

    hu, mat, _ijk = supersampled(tissue, shape)
    hu = ndi.gaussian_filter(hu, [0.7 / 2.3548 / s for s in SPACING], mode="nearest")
    hu = hu + np.random.default_rng(seed).normal(0.0, 15.0, size=shape)
    truth = np.where(mat >= FAT, L.SOFT_TISSUE, mat).astype(np.uint8)
    ct = Volume(np.round(hu).astype(np.int16), affine, {"source": "generated skull base"})
    return ct, truth, mat


def test_cavity_stops_at_a_thin_tilted_skull_base() -> None:
    ct, truth, mat = _head()
    before = ct.array.copy()
    lab = segment_ct(ct, contrast=False).labels.array
    assert np.array_equal(ct.array, before)
    inside = np.isin(lab, [L.BRAIN, L.CSF])
    fat, muscle = mat == FAT, mat == MUSCLE
    assert fat.sum() > 5000 and muscle.sum() > 20000
    # fat and muscle under the plate called brain or CSF (4972e38 and f88da5f: 66 % and
    # 11 %; with the wall rules 20 % and 6.6 %)
    assert (inside & fat).sum() < 0.3 * fat.sum(), f"{(inside & fat).sum()} fat voxels inside"
    assert (inside & muscle).sum() < 0.08 * muscle.sum(), (
        f"{(inside & muscle).sum()} muscle voxels inside"
    )
    # the cranium itself is still found to its wall (4972e38, f88da5f: 0.928; now 0.958)
    cav = np.isin(truth, [L.BRAIN, L.CSF])
    assert dice(inside, cav) >= 0.945, f"cavity Dice {dice(inside, cav):.3f}"


def test_skull_base_through_a_sharp_kernel() -> None:
    # measured at seeds 0 / 1 (f88da5f -> 2ca389f's rules read on the CT as it is ->
    # now): fat inside 9523 / 9494 -> 3859 / 3750 -> 4424 / 4312 of 11637, CSF Dice
    # 0.491 / 0.491 -> 0.413 / 0.402 -> 0.581 / 0.581, cavity Dice 0.905 / 0.905 ->
    # 0.886 / 0.885 -> 0.919 / 0.919, the kernel detected at none / none / both. Muscle
    # stays 14.1 k at all three: under the kernel's overshoot the bone mask loses more
    # of the plate than its partial volume closes (open)
    ct, truth, mat = _head()
    sharp = sharp_kernel(ct.array, truth, SPACING, np.random.default_rng(1))
    seg = segment_ct(Volume(sharp, ct.affine, dict(ct.meta)), contrast=False)
    assert sum("sharp (bone) reconstruction kernel detected" in w for w in seg.warnings) == 1
    lab = seg.labels.array
    inside = np.isin(lab, [L.BRAIN, L.CSF])
    fat, muscle = mat == FAT, mat == MUSCLE
    assert (inside & fat).sum() < 0.5 * fat.sum(), f"{(inside & fat).sum()} fat voxels inside"
    assert (inside & muscle).sum() < 0.16 * muscle.sum()
    csf = dice(lab == L.CSF, truth == L.CSF)
    assert csf >= 0.55, f"CSF Dice {csf:.3f}"
    cav = dice(inside, np.isin(truth, [L.BRAIN, L.CSF]))
    assert cav >= 0.912, f"cavity Dice {cav:.3f}"
