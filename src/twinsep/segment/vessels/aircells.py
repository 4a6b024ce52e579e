"""Pneumatised bone is no neck vessel (:func:`gas_walled`): the rule for contrast-band
pieces outside the cranial cavity that lie between air cells.

The septa of pneumatised bone (ethmoid cells, nasal turbinates and septum, mastoid
cells) are thinner than a voxel of 2-3 mm: a voxel holding bone and air reads anywhere
between them, and a share of such voxels falls in the band of enhanced blood, in
tube-shaped runs off the bone core. Measured on the plain real CT (Cranium.inv3) fused
and resampled to 3 mm (real-ct-vertical / real-ct-angular): 13.6 / 13.9 mL of such
pieces in the nose and ethmoid, which the neck cue of the contrast call
(``VesselParams.neck_alone_ml``, 12 mL) took for contrast-filled neck vessels. A vessel
in the neck runs in soft tissue and fat, and a voxel next to it holds no gas; the septa
have gas beside most of their voxels.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from twinsep.segment import morph


def gas_walled(
    pieces: np.ndarray,
    sm: np.ndarray,
    *,
    gas_hu: float,
    share: float,
    inside: np.ndarray | None = None,
) -> np.ndarray:
    """Pieces of ``pieces`` that lie between gas: partial volume of pneumatised bone.

    A piece (26-connected) goes when at least ``share`` of its voxels have a neighbour
    (26-neighbourhood, outside the pieces) darker than ``gas_hu``, a voxel that holds a
    good part of gas. Measured (``VesselParams.ext_gas_share``): the septa pieces of the
    plain real CT at 2-4 mm mostly 0.8-1.0 of their voxels, the true neck-vessel pieces
    of the probe phantoms and the blind phantom3 and clinical cases (1.2-3.6 mm) at
    most 0.07. A vessel that passes near an airway for a stretch keeps most of its
    voxels clear of it.

    Parameters
    ----------
    pieces : ndarray of bool
        Candidate vessel voxels outside the cranial cavity.
    sm : ndarray
        Smoothed CT (HU), same grid.
    gas_hu : float
        Level (HU) under which a voxel holds gas (``soft_hu -
        VesselParams.ext_gas_below_soft_hu``): far under fat.
    share : float
        Least share (0-1) of a piece's voxels next to gas that makes it pneumatised
        bone; above 1 turns the test off.
    inside : ndarray of bool, optional
        The body (air cells and airways inside it): only gas more than one voxel inside
        it counts. The air outside the skin is no air cell: the body's outer voxels hold
        skin and outside air in one voxel (the smoothed CT reads -300..-450 HU there),
        and on a 2.4 mm grid the independent phantom's true extracranial vessel pieces
        two voxels under its skin (90 of the 112 voxels the rule took on its angular
        union) went with them (vessel Dice 0.858 -> 0.835).

    Returns
    -------
    ndarray of bool
        The voxels of the pieces that go (a new array; no input is modified).
    """
    pieces = np.asarray(pieces, dtype=bool)
    out = np.zeros(pieces.shape, bool)
    if share > 1.0 or not pieces.any():
        return out
    gas = (sm < gas_hu) & ~pieces
    if inside is not None:
        # one voxel in from the body's surface: its outer voxels hold skin and outside
        # air in one voxel (the smoothed CT reads -300..-450 HU there)
        gas &= ndi.binary_erosion(
            np.asarray(inside, dtype=bool), ndi.generate_binary_structure(3, 3), border_value=1
        )
    if not gas.any():
        return out
    near_gas = ndi.binary_dilation(gas, ndi.generate_binary_structure(3, 3))
    lab, sizes = morph.component_sizes(pieces)
    hits = np.bincount(lab[pieces & near_gas], minlength=sizes.size + 1)
    walled = np.concatenate([[False], hits[1:] >= share * sizes])
    return np.asarray(walled[lab] & pieces)
