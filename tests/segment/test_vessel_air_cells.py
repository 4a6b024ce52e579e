"""Pneumatised bone is no neck vessel (``vessels.gas_walled``).

A block of soft tissue (40 HU) on 3 mm voxels holds, along one axis, an ethmoid-like
block of air cells (a square lattice of 6.5 mm pitch whose walls are a 0.8 mm bone
septum of 1200 HU lined by 0.8 mm of mucosa each side), an airway of 6 mm radius with a
contrast-filled vessel (300 HU, radius 3.5 mm) 3 mm of tissue beside it, and a second
vessel free in soft tissue. Rendered on a 0.3 mm grid and averaged into the voxels: a
voxel holding septum, mucosa and air reads in the band of enhanced blood, in runs along
the cells' edges off any bone core, as the ethmoid and nasal cavity of the plain real CT
(Cranium.inv3) did at 2-4 mm, where 9-10 mL of such pieces called it enhanced
(docs/segmentation.md, 2026-11-28, PLN). The cranial cavity is a slab far from all.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from sinus_block import sinus_on_block
from twinsep.segment.histogram import noise_sigma
from twinsep.segment.params import VesselParams
from twinsep.segment.vessels.aircells import gas_walled

SP_MM = 3.0
N = 32
SOFT_HU = 40.0
SUPER = 10  # in-plane supersampling of the rendering


def _plane() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One in-plane slice (HU) and the truth masks (voxel centre inside)."""
    f = (np.arange(N * SUPER) + 0.5) * SP_MM / SUPER
    x, y = np.meshgrid(f, f, indexing="ij")
    hu = np.full(x.shape, SOFT_HU)
    pitch, bone_mm, mucosa_mm, lo = 6.5, 0.8, 0.8, 10.0
    cells = (x > lo) & (x < lo + 5 * pitch) & (y > lo) & (y < lo + 5 * pitch)
    u, v = (x - lo) % pitch, (y - lo) % pitch
    to_wall = np.minimum(np.minimum(u, pitch - u), np.minimum(v, pitch - v))
    wall = np.where(
        to_wall < bone_mm / 2, 1200.0, np.where(to_wall < bone_mm / 2 + mucosa_mm, SOFT_HU, -1000.0)
    )
    hu = np.where(cells, wall, hu)
    airway = (x - 70.0) ** 2 + (y - 30.0) ** 2 <= 6.0**2
    hu = np.where(airway, -1000.0, hu)
    near = (x - 82.5) ** 2 + (y - 30.0) ** 2 <= 3.5**2  # 3 mm of tissue from the airway
    free = (x - 70.0) ** 2 + (y - 70.0) ** 2 <= 3.5**2
    hu = np.where(near | free, 300.0, hu)

    def voxels(a: np.ndarray) -> np.ndarray:
        return a.reshape(N, SUPER, N, SUPER).mean(axis=(1, 3))

    truth = {
        k: voxels(m.astype(float)) > 0.5
        for k, m in (("cells", cells), ("near", near), ("free", free))
    }
    return voxels(hu), truth


@pytest.mark.parametrize("noise_hu", [5.0, 30.0])
def test_air_cells_are_no_neck_vessel(noise_hu: float) -> None:
    plane, truth2 = _plane()
    ct = np.repeat(plane[:, :, None], N, axis=2)
    ct += np.random.default_rng(3).normal(0.0, noise_hu, ct.shape)
    sm = ndi.gaussian_filter(ct, 0.6 / SP_MM, mode="nearest").astype(np.float32)
    truth = {k: np.repeat(m[:, :, None], N, axis=2) for k, m in truth2.items()}
    body = np.zeros(sm.shape, bool)
    body[1:-1, 1:-1, :] = True
    cavity = np.zeros(sm.shape, bool)
    cavity[:, :, -3:] = True  # a slab far from all (the neck lies below the skull)
    noise_sm = noise_sigma(sm, body & (np.abs(sm - SOFT_HU) < 100.0))
    sp = (SP_MM,) * 3
    on = sinus_on_block(sm, cavity, body, sp, soft_hu=SOFT_HU, noise_hu=noise_sm)
    off = sinus_on_block(
        sm, cavity, body, sp, soft_hu=SOFT_HU, noise_hu=noise_sm,
        params=VesselParams(ext_gas_share=1.01),
    )  # fmt: skip
    cells = truth["cells"]
    vessels_ml = float((truth["near"] | truth["free"]).sum()) * SP_MM**3 / 1000.0
    # without the test the septa are taken for vessels: several times the true volume
    assert int((off.vessel & cells).sum()) >= 500
    assert off.extracranial_ml >= 3.0 * vessels_ml
    # with it, at most a tenth of that stays (the block's outer wall against soft
    # tissue) and the neck cue counts about the vessels alone (with their edge voxels)
    assert int((on.vessel & cells).sum()) <= 0.15 * int((off.vessel & cells).sum())
    assert on.extracranial_ml <= 1.5 * vessels_ml
    # both vessels stay, the one beside the airway as much as without the test (its
    # half-height edge moves by a fraction of a HU with the lumen and background
    # measured without the septa: a few voxels that read within 2 HU of it)
    assert float(on.vessel[truth["free"]].mean()) >= 0.95
    near_on, near_off = (
        float(on.vessel[truth["near"]].mean()),
        float(off.vessel[truth["near"]].mean()),
    )
    assert near_on >= 0.8 and near_on >= near_off - 0.05


def test_gas_walled_by_share() -> None:
    """A piece goes when at least ``share`` of its voxels have gas among their 26
    neighbours; the others and the inputs stay as they were."""
    sm = np.zeros((12, 12, 12), np.float32)
    pieces = np.zeros(sm.shape, bool)
    pieces[2, 2:10, 3] = True  # 8 voxels
    sm[1, 2:6, 3] = -900.0  # gas beside the first 5 of them (26-neighbourhood)
    pieces[8, 2:10, 8] = True  # 8 voxels, gas beside the first 2 (sm[9, 1:3, 8])
    sm[9, 1:3, 8] = -900.0
    before = (sm.copy(), pieces.copy())
    got = gas_walled(pieces, sm, gas_hu=-300.0, share=0.5)
    assert got[2, 2:10, 3].all() and not got[8].any()
    assert int(got.sum()) == 8
    assert not gas_walled(pieces, sm, gas_hu=-300.0, share=1.01).any()
    assert gas_walled(pieces, sm, gas_hu=-300.0, share=0.25)[8, 2:10, 8].all()
    np.testing.assert_array_equal(sm, before[0])
    np.testing.assert_array_equal(pieces, before[1])


def test_the_body_surface_is_no_air_cell() -> None:
    """Only gas more than one voxel inside the body counts: the body's outer voxels
    (skin and outside air in one voxel, -300..-450 HU smoothed) beside a vessel two
    voxels under the skin do not make it an air cell's septum; a cell deep inside
    still does."""
    sm = np.zeros((14, 14, 14), np.float32)
    body = np.zeros(sm.shape, bool)
    body[2:, :, :] = True  # skin surface at i = 2 (outside air at i < 2)
    sm[:2] = -1000.0
    sm[2] = -400.0  # the body's outer voxel layer: skin and air in one voxel
    pieces = np.zeros(sm.shape, bool)
    pieces[3, 2:10, 4] = True  # a vessel just under that layer
    pieces[9, 2:10, 9] = True  # a septum beside an air cell deep inside
    sm[10, 2:10, 9] = -900.0
    got = gas_walled(pieces, sm, gas_hu=-300.0, share=0.5, inside=body)
    assert not got[3].any() and got[9, 2:10, 9].all()
    # without the body every gas voxel counts (the rule before): both go
    assert gas_walled(pieces, sm, gas_hu=-300.0, share=0.5)[3, 2:10, 4].all()
