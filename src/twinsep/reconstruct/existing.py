"""The scalp that tissue expanders already in place have grown, per twin.

The ``twins`` stage finds the expanders a planning CT holds
(:mod:`twinsep.segment.implants`). Their scalp is the skin the team grew for the
closure, so for the skin plan it is (1) available scalp, (2) no place for a new
expander (a pocket cannot be dissected over a balloon), and (3) gain already made:

* **expanded scalp**: skin faces of the twin over a pocket: a pocket voxel within
  ``near_mm`` inward along the face's normal;
* **base**: outer-skull faces under a pocket (one within ``near_mm`` outward: the
  footprint);
* **realised gain**: ``(expanded scalp - base) x`` the round expanders' efficiency
  (the smallest of van Rappard's fractions, 25 %: the shape of an expander in the CT is
  not known, and the conservative fraction never promises skin that is not there).

Nothing here reads array axes; distances are world mm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from twinsep.reconstruct.defects import TwinDefects
from twinsep.segment.implants import ExistingExpander
from twinsep.volume import apply_affine, spacing_from_affine


@dataclass(frozen=True)
class ExistingSkin:
    """What one twin's existing expanders bring to the skin plan.

    Attributes
    ----------
    twin : str
    count : int
        Expanders of this twin in the CT.
    fill_ml : float
        Their total fill, mL.
    expanded_scalp_mm2 : float
        Skin over them, mm^2.
    base_mm2 : float
        Skull under them, mm^2.
    realised_gain_mm2 : float
        ``efficiency x max(expanded - base, 0)``, mm^2.
    occupied : ndarray of bool
        Per skin face of :attr:`TwinDefects.skin`: over an existing expander.
    """

    twin: str
    count: int
    fill_ml: float
    expanded_scalp_mm2: float
    base_mm2: float
    realised_gain_mm2: float
    occupied: np.ndarray = field(repr=False, compare=False)


def existing_skin(
    defects: TwinDefects,
    expanders: tuple[ExistingExpander, ...],
    affine: np.ndarray,
    *,
    efficiency: float = 0.25,
    near_mm: float = 12.0,
) -> ExistingSkin:
    """The scalp over ``expanders`` (those of ``defects.twin``) and its realised gain.

    Parameters
    ----------
    defects : TwinDefects
        The twin's skin and outer skull surfaces (world mm).
    expanders : tuple of ExistingExpander
        Expanders found in the CT; those of other twins are ignored.
    affine : (4, 4) ndarray
        Voxel-to-world affine of the grid the expanders' masks are on.
    efficiency : float
        Realised fraction of the geometric gain (0.25, round expanders).
    near_mm : float
        Depth along a skin (inward) or skull face's (outward) normal within which a
        pocket voxel puts the face over or under the expander, mm (12: the stretched
        scalp and shell, 3-5 mm, and the rim voxels whose median is not water, one or
        two voxels of a 3 mm grid).

    Returns
    -------
    ExistingSkin
    """
    own = [e for e in expanders if e.twin == defects.twin]
    skin = defects.skin
    occupied = np.zeros(len(skin.points_mm), dtype=bool)
    if not own or not len(skin.points_mm):
        return ExistingSkin(defects.twin, len(own), 0.0, 0.0, 0.0, 0.0, occupied)
    pts = np.vstack(
        [apply_affine(affine, np.argwhere(e.mask) + np.array([a for a, _ in e.box])) for e in own]
    )
    tree = cKDTree(pts)
    reach = 0.87 * max(spacing_from_affine(affine))  # half a voxel's diagonal
    occupied = _looks_at(tree, skin.points_mm, -skin.normals, near_mm, reach)
    bone = defects.bone_outer
    under = _looks_at(tree, bone.points_mm, bone.normals, near_mm, reach)
    expanded = float(skin.areas_mm2[occupied].sum())
    base = float(bone.areas_mm2[under].sum()) if len(under) else 0.0
    return ExistingSkin(
        twin=defects.twin,
        count=len(own),
        fill_ml=round(sum(e.volume_ml for e in own), 1),
        expanded_scalp_mm2=expanded,
        base_mm2=base,
        realised_gain_mm2=efficiency * max(expanded - base, 0.0),
        occupied=occupied,
    )


def _looks_at(
    tree: cKDTree, points: np.ndarray, directions: np.ndarray, depth_mm: float, reach_mm: float
) -> np.ndarray:
    """Which surface points meet a pocket voxel within ``depth_mm`` along ``directions``."""
    hit = np.zeros(len(points), dtype=bool)
    if not len(points):
        return hit
    for t in np.arange(0.0, depth_mm + 1e-9, 0.5 * reach_mm):
        d = tree.query(points + t * directions, distance_upper_bound=reach_mm)[0]
        hit |= d <= reach_mm
    return hit
