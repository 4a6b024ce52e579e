"""The bone rim's rules: which vessel voxels in or beside the bone's partial-volume rim
are bone (:func:`rim_pieces`, :func:`bone_profile`, :func:`suture_gaps`,
:func:`_bone_side`) and which rim voxels are sinus (:func:`rim_plateau`). The sinus
rule (:mod:`twinsep.segment.vessels.sinus`) applies them; its docstring gives the
measurements.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy import ndimage as ndi

from twinsep.segment import morph
from twinsep.segment.vessels.grid import _CUBE, _grow_faces

logger = logging.getLogger(__name__)


def _bone_side(sm: np.ndarray, cand: np.ndarray, lumen_hu: float, margin_hu: float) -> np.ndarray:
    """Voxels of ``cand`` that hold more bone than blood.

    The brightest voxel of a candidate's 3x3x3 block (itself included) holds something
    denser than blood when it exceeds ``lumen_hu + margin_hu``; a voxel mixing blood
    (the lumen value) with that bone is mostly bone when its value is at least half-way
    between them. The peak is a lower bound of the bone's own value (partial volume),
    so the half-way level errs towards bone only next to weak bone; next to dense bone
    it lies above the blood range and drops nothing.
    """
    out = np.zeros(cand.shape, bool)
    box = morph._bounding_box(cand, [1, 1, 1])
    if box is None:
        return out
    sub = sm[box]
    peak = ndi.maximum_filter(sub, size=3, mode="nearest")
    c = cand[box]
    top = np.float32(lumen_hu + margin_hu)
    out[box] = c & (peak >= top) & (sub >= (np.float32(lumen_hu) + peak) / 2)
    return out


def rim_pieces(vessel: np.ndarray, rim: np.ndarray, sm: np.ndarray, top_hu: float) -> np.ndarray:
    """Voxels of the pieces of ``vessel`` that are bone partial volume by position and value.

    A piece (26-connected) is dropped when every voxel of it lies in the bone's
    partial-volume rim (``rim``) and at least one is brighter than ``top_hu`` (the lumen
    plus a few noise sigmas, which blood alone does not exceed). Inside the rim any value
    from the cavity's to the bone's is a mixture of the two, so a piece with no voxel
    outside it shows no blood of its own; its brightest voxel above what blood reaches
    says that it holds bone. A sinus piece that lies in the rim but is no brighter than
    its lumen is kept, and so is any piece with a voxel outside the rim (the sinus rule
    found its blood there).

    Parameters
    ----------
    vessel : (I, J, K) ndarray of bool
        Vessel voxels.
    rim : (I, J, K) ndarray of bool
        Partial-volume rim around the bone core.
    sm : (I, J, K) ndarray of float
        Smoothed CT (HU).
    top_hu : float
        Highest value (HU) blood reaches (lumen plus noise).

    Returns
    -------
    ndarray of bool
        The voxels to drop (a subset of ``vessel``); no input is modified.
    """
    out = np.zeros(vessel.shape, bool)
    if not vessel.any():
        return out
    lab, sizes = morph.component_sizes(vessel)
    at = lab[vessel]
    n = sizes.size
    in_rim = np.bincount(at[rim[vessel]], minlength=n + 1)[1:]
    peak = np.full(n + 1, -np.inf, np.float64)
    np.maximum.at(peak, at, sm[vessel].astype(np.float64))
    drop = (in_rim >= sizes) & (peak[1:] > top_hu)
    if drop.any():
        out = np.concatenate([[False], drop])[lab] & vessel
        logger.debug(
            "vessel: %d pieces (%d voxels) wholly in the bone rim and brighter than %.0f HU "
            "are bone partial volume", int(drop.sum()), int(sizes[drop].sum()), top_hu,
        )  # fmt: skip
    return out


def bone_profile(
    vessel: np.ndarray,
    zone: np.ndarray,
    sm: np.ndarray,
    *,
    top_hu: float,
    edge_hu: tuple[float, float],
    first: np.ndarray,
) -> np.ndarray:
    """Voxels of ``vessel`` in ``zone`` that lie on a bone surface's profile.

    A vessel voxel brighter than ``top_hu`` (the lumen plus a few noise sigmas, more
    than blood alone reaches) holds something denser than blood. Its brightest of the
    26 neighbours points to that bone; the neighbour on the opposite side (the mirrored
    offset) then tells the two cases apart by partial volume: below the vessel's
    half-height edge it holds no blood, so the profile across the voxel runs bone ->
    voxel -> tissue without blood, a bone surface whose partial volume lies in the
    contrast band; blood lifted by bone fills a tube that continues beyond it. The
    caller restricts ``zone`` to the bone rim outside the cranial cavity, where no
    sinus lies flat on the inner table with CSF beyond it (which shows the same
    profile). Only the candidates and their neighbours are read.

    Parameters
    ----------
    vessel : (I, J, K) ndarray of bool
        Vessel voxels.
    zone : (I, J, K) ndarray of bool
        Where the test applies (``segment.vessels``: the bone rim outside the cavity).
    sm : (I, J, K) ndarray of float
        Smoothed CT (HU).
    top_hu : float
        Highest value (HU) blood reaches (lumen plus noise).
    edge_hu : (float, float)
        Half-height edge (HU) of the voxels in ``first`` and of the others.
    first : (I, J, K) ndarray of bool
        Voxels whose edge is ``edge_hu[0]`` (the sinuses).

    Returns
    -------
    ndarray of bool
        The voxels to drop (a subset of ``vessel``); no input is modified.
    """
    out = np.zeros(vessel.shape, bool)
    cand = vessel & zone
    idx = np.argwhere(cand)
    if idx.size == 0:
        return out
    idx = idx[sm[tuple(idx.T)] > top_hu]
    if idx.size == 0:
        return out
    off = np.argwhere(_CUBE) - 1
    off = off[np.abs(off).sum(axis=1) > 0]  # 26 offsets; off[25 - i] == -off[i]
    hi = np.asarray(sm.shape) - 1
    nb = np.stack([sm[tuple(np.clip(idx + o, 0, hi).T)] for o in off], axis=1)
    bone_dir = np.argmax(nb, axis=1)
    far = nb[np.arange(len(idx)), len(off) - 1 - bone_dir]
    edge = np.where(first[tuple(idx.T)], np.float32(edge_hu[0]), np.float32(edge_hu[1]))
    surface = idx[far < edge]
    out[tuple(surface.T)] = True
    if surface.size:
        logger.debug(
            "vessel: %d voxels brighter than %.0f HU outside the cavity lie on a bone "
            "surface's profile (no blood beyond them); bone partial volume",
            len(surface), top_hu,
        )  # fmt: skip
    return out


def suture_gaps(
    vessel: np.ndarray, sm: np.ndarray, outside: np.ndarray, *, bone_hu: float
) -> np.ndarray:
    """Voxels of ``vessel`` in a gap through a bone plate, between the outside and a vessel.

    A voxel lies in a gap of bone (a suture, the edge of a fontanelle, the seam between
    two skulls) when its two face neighbours along one axis are brighter than blood can
    be (``bone_hu``, the top of the blood range). Along another axis the gap runs
    through the plate; when one face neighbour there is the outside of the skull
    (``outside``: scalp, air) and the opposite one is a vessel voxel, the profile runs
    scalp -> voxel -> vessel: the vessel is the sinus beneath the inner table, and the
    voxel spans the plate from the scalp to it. Its value (200-470 HU on 2.3-3.6 mm
    grids) is the gap's soft tissue averaged with the bone on both sides, which any
    blood lifted by bone would read too, so the position decides: the blood is in the
    next voxel inward. A gap voxel with no vessel beyond it stays (a sinus one voxel
    thick on a coarse grid may show only there), and so does one whose outer neighbour
    is bone or another gap voxel (a plate more than a voxel thick: the sinus may reach
    into the gap's inner voxel). The test is the same for every axis and direction, so
    the result does not depend on the storage layout. Only the candidates' face
    neighbours are read.

    Parameters
    ----------
    vessel : (I, J, K) ndarray of bool
        Vessel voxels.
    sm : (I, J, K) ndarray of float
        Smoothed CT (HU).
    outside : (I, J, K) ndarray of bool
        The outside of the skull: neither the cranial side (cavity, bone) nor the
        contrast band (``sinus_mask``).
    bone_hu : float
        Top of the blood range (HU); brighter voxels hold bone.

    Returns
    -------
    ndarray of bool
        The voxels to drop (a subset of ``vessel``); no input is modified.
    """
    out = np.zeros(vessel.shape, bool)
    idx = np.argwhere(vessel)
    if idx.size == 0:
        return out
    top = np.asarray(vessel.shape) - 1

    def at(a: np.ndarray, q: np.ndarray, fill: float | bool) -> np.ndarray:
        ok = np.all((q >= 0) & (q <= top), axis=1)
        r = np.full(len(q), fill, dtype=a.dtype)
        r[ok] = a[tuple(q[ok].T)]
        return r

    bone = np.float32(bone_hu)
    gap = np.zeros(len(idx), bool)
    for ax in range(3):
        e = np.zeros(3, np.intp)
        e[ax] = 1
        between = (at(sm, idx + e, -np.inf) >= bone) & (at(sm, idx - e, -np.inf) >= bone)
        if not between.any():
            continue
        cand = idx[between]
        through = np.zeros(len(cand), bool)
        for bx in (b for b in range(3) if b != ax):
            f = np.zeros(3, np.intp)
            f[bx] = 1
            for step in (f, -f):
                through |= at(outside, cand + step, False) & at(vessel, cand - step, False)
        gap[np.flatnonzero(between)[through]] = True
    out[tuple(idx[gap].T)] = True
    if gap.any():
        logger.debug(
            "vessel: %d voxels in a gap through a bone plate between the scalp and a "
            "vessel (suture soft tissue with bone partial volume)", int(gap.sum()),
        )  # fmt: skip
    return out


def rim_plateau(
    sinus: np.ndarray,
    zone: np.ndarray,
    sm: np.ndarray,
    *,
    lumen_hu: float,
    tol_hu: float,
    steps: int,
    min_faces: int,
) -> np.ndarray:
    """Voxels of ``zone`` inside a patch at the lumen value, reached from ``sinus``.

    Blood is one fluid: a voxel of the sinus reads the lumen value (plus noise) whatever
    lies beside it, also in the bone's partial-volume rim, where a sinus lying flat on
    the inner table of a coarse grid has whole layers. A CSF or brain voxel there reads
    the lumen only when the bone it holds lifts it by just the difference, one narrow
    range of bone fractions, and then as a lone voxel: its neighbours along the table
    hold other fractions. So a voxel of ``zone`` (the caller: contrast band, cavity
    side, bone rim) joins the sinus when its value lies within ``tol_hu`` of
    ``lumen_hu``, at least ``min_faces`` of its six face neighbours are sinus or such
    plateau voxels (it lies inside a patch of blood, not alone on the sinus's edge), and
    a chain of such voxels joins it to ``sinus`` in at most ``steps`` face steps.

    Parameters
    ----------
    sinus : (I, J, K) ndarray of bool
        Sinus voxels (the seeds).
    zone : (I, J, K) ndarray of bool
        Where the sinus may grow (not containing ``sinus``).
    sm : (I, J, K) ndarray of float
        Smoothed CT (HU).
    lumen_hu : float
        Lumen value (HU).
    tol_hu : float
        Largest distance (HU) from the lumen value (a few noise sigmas).
    steps : int
        Most face steps from ``sinus``.
    min_faces : int
        Fewest face neighbours (0-6) in the sinus or on the plateau.

    Returns
    -------
    ndarray of bool
        The voxels to add (a subset of ``zone``); no input is modified.
    """
    out = np.zeros(sinus.shape, bool)
    m = steps + 1
    box = morph._bounding_box(zone, [m, m, m])
    if box is None or steps <= 0:
        return out
    sub = sm[box]
    lo, hi = np.float32(lumen_hu - tol_hu), np.float32(lumen_hu + tol_hu)
    seeds = sinus[box]
    plateau = zone[box] & (sub >= lo) & (sub <= hi)
    both = (seeds | plateau).view(np.uint8)
    faces = np.zeros(both.shape, np.uint8)
    for ax in range(3):
        hi_sl = tuple(slice(1, None) if a == ax else slice(None) for a in range(3))
        lo_sl = tuple(slice(None, -1) if a == ax else slice(None) for a in range(3))
        faces[hi_sl] += both[lo_sl]
        faces[lo_sl] += both[hi_sl]
    add = _grow_faces(seeds, plateau & (faces >= min_faces), steps)
    out[box] = add
    if add.any():
        logger.debug(
            "vessel: %d bone-rim voxels within %.0f HU of the lumen (%.0f HU), inside a "
            "patch of it, joined the sinus", int(add.sum()), tol_hu, lumen_hu,
        )  # fmt: skip
    return out
