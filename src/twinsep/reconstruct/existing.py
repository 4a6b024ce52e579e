"""The scalp that tissue expanders already in place have grown, per twin.

The ``twins`` stage finds the expanders a planning CT holds
(:mod:`twinsep.segment.implants`). Their scalp is the skin the team grew for the
closure, so for the skin plan it is (1) available scalp, (2) no place for a new
expander (a pocket cannot be dissected over a balloon), and (3) gain already made:

* **expanded scalp**: skin faces of the twin over a pocket: a pocket voxel within
  ``near_mm`` inward along the face's normal;
* **dome and base**: the pocket's own surface (the 0.5 iso-surface of the pocket,
  opened by one voxel and smoothed by ``sigma_mm``), split into the faces that look
  at the head's centre (the base on the skull: outward normal within 60 deg of the
  direction to the brain centre) and the rest (the dome and its sides);
* **realised gain**: ``(dome - base) x`` the round expanders' efficiency (the
  smallest of van Rappard's fractions, 25 %: the shape of an expander in the CT is not
  known, and the conservative fraction never promises skin that is not there). Van
  Rappard's fractions are of the expander's own geometric gain, its surface less its
  base, which is what ``dome - base`` measures.

The base used to be the outer-skull faces of :class:`TwinDefects` under a pocket: on a
skull one voxel thick the working grid's smoothed bone surface has holes, and under
the blind clinical domes it read 860-1340 mm^2 for footprints of 2440-2640 mm^2
(docs/reconstruct.md, 2026-11-27 addendum), so the gain was 20-35 % high.

Nothing here reads array axes; distances are world mm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import cKDTree

from twinsep.reconstruct.defects import TwinDefects, iso_faces
from twinsep.segment.implants import ExistingExpander
from twinsep.volume import apply_affine, spacing_from_affine

#: Faces whose outward normal is within this angle's cosine of the direction to the
#: head's centre are the pocket's base (60 deg: the skull under an infant expander
#: curves by less than 40 deg over the footprint; the dome's steep rim is side, not base).
_BASE_COS = 0.5


@dataclass(frozen=True)
class GrownScalp:
    """The scalp one existing expander has grown.

    Attributes
    ----------
    volume_ml : float
        The pocket's volume (:attr:`ExistingExpander.volume_ml`), mL.
    centroid_mm : (x, y, z)
        The pocket's world centroid, mm.
    port : bool
        A metal port was found beside it.
    dome_mm2 : float
        The pocket's surface away from the skull (dome and sides), mm^2.
    base_mm2 : float
        The pocket's surface on the skull (its footprint), mm^2.
    realised_gain_mm2 : float
        ``efficiency x max(dome - base, 0)``, mm^2.
    position : str
        Where it lies on the twin's head, in words (:func:`head_position_words`).
    """

    volume_ml: float
    centroid_mm: tuple[float, float, float]
    port: bool
    dome_mm2: float
    base_mm2: float
    realised_gain_mm2: float
    position: str = ""

    @property
    def geometric_gain_mm2(self) -> float:
        """``max(dome - base, 0)``, mm^2."""
        return max(self.dome_mm2 - self.base_mm2, 0.0)


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
        Their footprints on the skull, mm^2 (sum of :attr:`GrownScalp.base_mm2`).
    realised_gain_mm2 : float
        ``efficiency x`` the sum of their ``max(dome - base, 0)``, mm^2.
    occupied : ndarray of bool
        Per skin point of :attr:`TwinDefects.skin`: over an existing expander.
    dome_mm2 : float
        Their domes (surface away from the skull), mm^2.
    items : tuple of GrownScalp
        Per expander, largest first.
    """

    twin: str
    count: int
    fill_ml: float
    expanded_scalp_mm2: float
    base_mm2: float
    realised_gain_mm2: float
    occupied: np.ndarray = field(repr=False, compare=False)
    dome_mm2: float = 0.0
    items: tuple[GrownScalp, ...] = ()


def existing_skin(
    defects: TwinDefects,
    expanders: tuple[ExistingExpander, ...],
    affine: np.ndarray,
    *,
    efficiency: float = 0.25,
    near_mm: float = 12.0,
    sigma_mm: float = 2.0,
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
    sigma_mm : float
        Gaussian sigma of the pocket's iso-surface, mm (2.0, at least 0.75 voxel):
        smooths the staircase and the noisy rim of a detected pocket (measured on the
        blind clinical domes: 1.5-3 mm agree within 5 % at 3 mm voxels).

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
    items = []
    for e in own:
        dome, base = pocket_surface_mm2(e, affine, defects.brain_centre_mm, sigma_mm=sigma_mm)
        items.append(
            GrownScalp(
                volume_ml=e.volume_ml,
                centroid_mm=e.centroid_mm,
                port=e.port_mm is not None,
                dome_mm2=dome,
                base_mm2=base,
                realised_gain_mm2=efficiency * max(dome - base, 0.0),
                position=head_position_words(
                    np.asarray(e.centroid_mm, dtype=np.float64),
                    centre_mm=defects.brain_centre_mm,
                    axis=defects.head_axis,
                    face_dir=defects.face_dir,
                ),
            )
        )
    items.sort(key=lambda g: -g.volume_ml)
    return ExistingSkin(
        twin=defects.twin,
        count=len(own),
        fill_ml=round(sum(e.volume_ml for e in own), 1),
        expanded_scalp_mm2=float(skin.areas_mm2[occupied].sum()),
        base_mm2=float(sum(g.base_mm2 for g in items)),
        realised_gain_mm2=float(sum(g.realised_gain_mm2 for g in items)),
        occupied=occupied,
        dome_mm2=float(sum(g.dome_mm2 for g in items)),
        items=tuple(items),
    )


def head_position_words(
    point_mm: np.ndarray,
    *,
    centre_mm: np.ndarray,
    axis: np.ndarray,
    face_dir: np.ndarray | None,
) -> str:
    """Where ``point_mm`` lies on a head, in the head's own frame, in words.

    The direction from the brain centre is split along the head's long axis (neck ->
    vertex), its facial direction and the twin's right (``face_dir x axis``: in RAS a
    head facing +A with its vertex at +S has its right at +R). Within 37 deg of the
    vertex it is "vertex"; otherwise, by the horizontal direction, "frontal" (within
    60 deg of the face), "occipital" (within 60 deg of the back) or, on the sides,
    "parietal" above 17 deg of elevation and "temporal" below; a side more than 15 deg
    off the midline is named ("right parietal", "left occipital"). Without a facial
    direction only the elevation is said ("upper side of the head").

    Parameters
    ----------
    point_mm, centre_mm : (3,) ndarray
        World points, mm.
    axis : (3,) ndarray
        Unit long axis, neck -> vertex, world.
    face_dir : (3,) ndarray or None
        Unit facial direction, world (perpendicular to ``axis`` or not).
    """
    d = np.asarray(point_mm, dtype=np.float64) - np.asarray(centre_mm, dtype=np.float64)
    n = float(np.linalg.norm(d))
    if n == 0.0:
        return "at the brain centre"
    d /= n
    up_dir = np.asarray(axis, dtype=np.float64)
    up_dir = up_dir / np.linalg.norm(up_dir)
    up = float(d @ up_dir)
    if up > 0.8:
        return "vertex"
    if face_dir is None:
        return "upper side of the head" if up > 0.3 else "lower side of the head"
    front_dir = np.asarray(face_dir, dtype=np.float64)
    front_dir = front_dir - (front_dir @ up_dir) * up_dir
    front_dir /= np.linalg.norm(front_dir)
    right_dir = np.cross(front_dir, up_dir)
    front = float(d @ front_dir)
    right = float(d @ right_dir)
    flat = max(float(np.hypot(front, right)), 1e-12)
    if front >= 0.5 * flat:
        region = "frontal"
    elif front <= -0.5 * flat:
        region = "occipital"
    else:
        region = "parietal" if up > 0.3 else "temporal"
    side = "right " if right > 0.26 else "left " if right < -0.26 else ""
    return side + region


def pocket_surface_mm2(
    expander: ExistingExpander,
    affine: np.ndarray,
    centre_mm: np.ndarray,
    *,
    sigma_mm: float = 2.0,
    min_sigma_vx: float = 0.75,
) -> tuple[float, float]:
    """Dome and base areas of one pocket, mm^2.

    Parameters
    ----------
    expander : ExistingExpander
        The pocket (its mask in its index box).
    affine : (4, 4) ndarray
        Voxel-to-world affine of the grid the mask is on.
    centre_mm : (3,) ndarray
        World point inside the head the expander lies on (the brain centre).
    sigma_mm, min_sigma_vx : float
        Gaussian sigma of the iso-surface, mm, and its least value in voxels.

    Returns
    -------
    (dome_mm2, base_mm2) : tuple of float
        Faces whose outward normal is within 60 deg of the direction to ``centre_mm``
        (the base, on the skull) and the others (the dome and its sides).
    """
    pad = 3
    mask = np.pad(np.asarray(expander.mask, dtype=bool), pad)
    # one voxel of opening takes off the noisy rim (a ragged surface reads larger)
    opened = ndi.binary_fill_holes(ndi.binary_opening(mask))
    if opened.any():
        mask = opened
    shift = np.eye(4)
    shift[:3, 3] = np.array([a for a, _ in expander.box], dtype=np.float64) - pad
    spacing = np.asarray(spacing_from_affine(affine), dtype=np.float64)
    sigma_vx = np.maximum(sigma_mm / spacing, min_sigma_vx)
    iso = iso_faces(mask.astype(np.float32), affine @ shift, sigma_vx)
    if not len(iso.area):
        return 0.0, 0.0
    to_centre = np.asarray(centre_mm, dtype=np.float64) - iso.c_w
    to_centre /= np.maximum(np.linalg.norm(to_centre, axis=1, keepdims=True), 1e-9)
    base = np.einsum("ij,ij->i", iso.n_w, to_centre) > _BASE_COS
    return float(iso.area[~base].sum()), float(iso.area[base].sum())


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
