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
from scipy.special import ndtr

from twinsep.segment import morph
from twinsep.segment.vessels.grid import _CUBE, _grow_faces

logger = logging.getLogger(__name__)


def _sample_at(a: np.ndarray, q: np.ndarray, fill: float | bool) -> np.ndarray:
    """Values of ``a`` at the indices ``q`` (n, 3); ``fill`` where ``q`` leaves the array.

    The rim rules read a candidate's neighbours along a line (:func:`suture_gaps`,
    :func:`blurred_rim`); beyond the array border there is nothing, not a copy of the
    border voxel.
    """
    ok = np.all((q >= 0) & (q < np.asarray(a.shape)), axis=1)
    r = np.full(len(q), fill, dtype=a.dtype)
    r[ok] = a[tuple(q[ok].T)]
    return r


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
    bone = np.float32(bone_hu)
    gap = np.zeros(len(idx), bool)
    for ax in range(3):
        e = np.zeros(3, np.intp)
        e[ax] = 1
        between = (_sample_at(sm, idx + e, -np.inf) >= bone) & (
            _sample_at(sm, idx - e, -np.inf) >= bone
        )
        if not between.any():
            continue
        cand = idx[between]
        through = np.zeros(len(cand), bool)
        for bx in (b for b in range(3) if b != ax):
            f = np.zeros(3, np.intp)
            f[bx] = 1
            for step in (f, -f):
                through |= _sample_at(outside, cand + step, False) & _sample_at(
                    vessel, cand - step, False
                )
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


#: Edge positions (in edge spreads) tried by the step fit of :func:`blurred_rim`, back
#: from the tested voxel's face on the bone side (0) into the bone.
_EDGE_GRID = np.arange(-8.0, 0.0001, 0.05)

#: Rows of the step fit taken at a time (bounds its memory to a few MB).
_FIT_ROWS = 4096


def _step_misfit(
    y: np.ndarray, pos: np.ndarray, r: float, grid: np.ndarray = _EDGE_GRID
) -> tuple[np.ndarray, np.ndarray]:
    """Least sum of squares (HU^2) of ``y`` about a blurred step through its samples.

    ``y`` (n, p) holds the values above the background at positions ``pos`` (p, in
    voxel steps; the bone at negative positions); the step is ``A Phi(u - pos r)``
    with ``r`` the voxel step over the edge spread. ``A`` is fitted in closed form
    for each edge position ``u`` of ``grid`` shifted by ``-r / 2``. With the default
    :data:`_EDGE_GRID` the edge lies at or beyond the tested voxel's face, so its
    value is the bone's blurred tail, not bone inside the voxel (which a sharp scan
    cannot tell from a sinus filling the voxel; :func:`_bone_inside` asks that
    separately). The best ``u`` is kept; returned are its sum of squares and the
    step's value at position 0 (the tested voxel).
    """
    g = ndtr((grid[:, None] - 0.5 * r) - pos[None, :] * r)  # (G, p)
    gg = (g * g).sum(axis=1)  # (G,)
    g0 = ndtr(grid - 0.5 * r)
    ss_out = np.empty(len(y))
    at0 = np.empty(len(y))
    for lo in range(0, len(y), _FIT_ROWS):  # (rows, G) blocks of a few MB
        yb = y[lo : lo + _FIT_ROWS]
        yg = yb @ g.T
        amp = np.maximum(yg / gg[None, :], 0.0)
        ss = (yb * yb).sum(axis=1)[:, None] - 2.0 * amp * yg + amp * amp * gg[None, :]
        best = np.argmin(ss, axis=1)
        rows = np.arange(len(yb))
        ss_out[lo : lo + _FIT_ROWS] = ss[rows, best]
        at0[lo : lo + _FIT_ROWS] = amp[rows, best] * g0[best]
    return ss_out, at0


def _edge_grid_inside(r: float) -> np.ndarray:
    """:data:`_EDGE_GRID` continued into the tested voxel up to its centre (``r`` the
    voxel step over the edge spread): bone filling less than half of the voxel, whose
    centre then lies in the tissue beside it."""
    return np.arange(_EDGE_GRID[0], 0.5 * r + 1e-9, _EDGE_GRID[1] - _EDGE_GRID[0])


#: Blood fractions of the tested voxel tried by :func:`_blood_misfit`: a voxel is
#: vessel when more than half of it is blood.
_BLOOD_FRACTIONS = (0.5, 0.75, 1.0)


def _blood_misfit(y: np.ndarray, pos: np.ndarray, r: float, blood: np.ndarray) -> np.ndarray:
    """Least sum of squares (HU^2) of ``y`` about the bone's blurred tail (edge at or
    beyond the tested voxel's face, :func:`_step_misfit`) plus a layer of blood on the
    bone filling the part ``b`` of the tested voxel from that face, blurred alike.

    ``blood`` (n,) is the blood's value above the background (the lumen less it), ``b``
    runs over :data:`_BLOOD_FRACTIONS`: a sinus one voxel thick lying on the bone.
    """
    best = np.full(len(y), np.inf)
    for b in _BLOOD_FRACTIONS:
        box = ndtr((b - 0.5 - pos) * r) - ndtr((-0.5 - pos) * r)  # (p,) the blurred layer
        ss, _ = _step_misfit(y - blood[:, None] * box[None, :], pos, r)
        best = np.minimum(best, ss)
    return best


def _layer_spill(blood: np.ndarray, r: float) -> np.ndarray:
    """What a layer of blood filling the tested voxel adds to the next voxel away from
    the bone (HU): ``blood (Phi(-r/2) - Phi(-3r/2))``, ``blood`` its value above the
    background, ``r`` the voxel step over the edge spread. Only where this exceeds the
    misfit tolerance can :func:`_bone_inside` tell blood from bone inside the voxel:
    on a grid sharp for its voxel (``r`` of 3 or more: 7 % of the blood, 15 HU for
    220 HU of contrast) the two read the same."""
    return np.asarray(blood, np.float64) * float(ndtr(-0.5 * r) - ndtr(-1.5 * r))


def _bone_inside(
    y: np.ndarray,
    pos: np.ndarray,
    r: float,
    *,
    background: np.ndarray,
    floor: np.ndarray,
    lumen_hu: float,
    tol2: float,
) -> np.ndarray:
    """Rows of ``y`` (as :func:`_step_misfit`) whose tested voxel is explained by bone
    filling less than half of it, and not by blood.

    The step with its edge inside the voxel, up to the voxel's centre
    (:func:`_edge_grid_inside`), fits within ``tol2`` (HU^2) and lifts the voxel to the
    vessels' edge (``floor``, HU, per row; ``background`` the tissue's value per row),
    while no blood layer of half a voxel or more on the bone (:func:`_blood_misfit`,
    the blood at ``lumen_hu``) fits within ``tol2``. Where both fit (a sharp scan, on
    which a sinus one voxel thick on the table and a tissue voxel holding a fifth of
    bone give the same samples) the voxel is not explained.
    """
    out = np.zeros(len(y), bool)
    ss, at0 = _step_misfit(y, pos, r, _edge_grid_inside(r))
    rows = np.flatnonzero((ss <= tol2) & (background + at0 >= floor))
    if rows.size == 0:
        return out
    alt = _blood_misfit(y[rows], pos, r, np.float64(lumen_hu) - background[rows])
    out[rows[alt > tol2]] = True
    return out


def blurred_rim(
    vessel: np.ndarray,
    sm: np.ndarray,
    bone_hu: float,
    spacing_mm: tuple[float, float, float],
    widths_mm: tuple[float, float, float],
    *,
    background_hu: np.ndarray | float,
    edge_hu: np.ndarray | float,
    tol_hu: float,
    reach_w: float,
    lumen_hu: float | None = None,
) -> np.ndarray:
    """Voxels of ``vessel`` whose value the blurred bone beside them explains.

    Along each array axis and direction a vessel voxel looks for the nearest voxel
    brighter than blood can be (``bone_hu``) within ``reach_w`` edge spreads of that
    axis (``widths_mm``, :func:`.blur.edge_widths`; at least the face neighbour). The
    line from that bone voxel to one voxel beyond the tested voxel (away from the
    bone) is fitted by a step of bone blurred by that axis's spread,
    ``bg + A Phi((x0 - x) / w)`` (``A`` and the edge ``x0`` free,
    :func:`_step_misfit`). When the misfit of some direction is within ``tol_hu``
    (root of the sum of squares; 3 noise sigmas is the 99 % level of a fit with two
    free parameters), the voxel's value is the bone's blurred tail, with no blood of
    its own: CSF or brain lifted by the inner table. Blood does not follow that tail:
    a sinus in its groove holds its lumen value one voxel farther from the bone too,
    and one a voxel thick lifts its own value above the tail the bone voxels set.
    With ``lumen_hu``, a voxel the tail alone does not explain is also tested for bone
    inside it (:func:`_bone_inside`): the step's edge may lie up to the voxel's centre
    (a thin plate's partial volume split between two voxels, the tissue's share the
    larger), and the voxel is dropped when that fits and no layer of blood at the
    lumen filling half the voxel or more on the bone does. On a sharp grid both fit
    and the voxel stays; on a blurred one the blood layer spreads into the next voxel
    and the bone inside does not. The test runs only along axes where that spill of a
    voxel-thick layer at the lumen exceeds ``tol_hu`` (:func:`_layer_spill`). Only the
    candidates' axis lines are read.

    Parameters
    ----------
    vessel : (I, J, K) ndarray of bool
        Vessel voxels.
    sm : (I, J, K) ndarray of float
        Smoothed CT (HU).
    bone_hu : float
        Top of the blood range (HU); brighter voxels hold bone.
    spacing_mm : length-3 tuple of float
        Voxel size (mm).
    widths_mm : length-3 tuple of float
        Edge spread ``w`` (mm) along each axis.
    background_hu : float or (I, J, K) ndarray of float
        Value (HU) of the tissue the bone is blurred into (per voxel, or one value).
    edge_hu : float or (I, J, K) ndarray of float
        The vessels' edge (HU): the fitted tail must reach it at the voxel.
    tol_hu : float
        Largest misfit (HU, root of the sum of squares) of a line the bone explains.
    reach_w : float
        How far (in edge spreads of each axis) bone is looked for.
    lumen_hu : float, optional
        The vessels' lumen value (HU); when given, bone inside the tested voxel is
        looked for too (:func:`_bone_inside`).

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
    bg = np.broadcast_to(np.asarray(background_hu, np.float64), vessel.shape)[tuple(idx.T)]
    floor = np.broadcast_to(np.asarray(edge_hu, np.float64), vessel.shape)[tuple(idx.T)]
    hu = np.float32(bone_hu)
    explained = np.zeros(len(idx), bool)
    sp = np.asarray(spacing_mm, np.float64)
    wd = np.asarray(widths_mm, np.float64)
    # the six axis lines through a voxel; along the diagonals the few samples fit a step
    # too easily (measured: a third of the probe's sinus at PSF 0.5 voxel dropped)
    for d in np.concatenate([np.eye(3, dtype=np.intp), -np.eye(3, dtype=np.intp)]):
        ax = int(np.flatnonzero(d)[0])
        step, w = float(sp[ax]), float(wd[ax])
        n_max = max(1, int(np.ceil(reach_w * w / step - 1e-9)))
        left = np.ones(len(idx), bool)  # no bone met yet along this line
        for n in range(1, n_max + 1):
            val = _sample_at(sm, idx + n * d, -np.inf)
            hit = np.flatnonzero(left & (val >= hu))
            left[hit] = False
            hit = hit[~explained[hit]]
            if hit.size == 0:
                continue
            # samples from the bone voxel to one voxel beyond the tested one, away from
            # the bone (not beyond the bone voxel: a plate's far side is no step)
            pos = np.arange(-n, 2, dtype=np.float64)
            line = idx[hit][:, None, :] - pos[None, :, None].astype(np.intp) * d[None, None, :]
            line = np.clip(line, 0, top)
            y = sm[tuple(line.reshape(-1, 3).T)].reshape(hit.size, pos.size)
            y = y.astype(np.float64) - bg[hit][:, None]
            ss, at0 = _step_misfit(y, pos, step / w)
            # the tail alone lifts the voxel to the vessel's edge: without the bone it
            # would not be vessel
            tol2 = tol_hu * tol_hu
            ok = (ss <= tol2) & (bg[hit] + at0 >= floor[hit])
            if lumen_hu is not None and not ok.all():
                # or bone inside the voxel that no blood layer on the bone can stand for,
                # where such a layer would show in the next voxel above the noise
                rest = np.flatnonzero(~ok & (_layer_spill(lumen_hu - bg[hit], step / w) > tol_hu))
                ok[rest] = _bone_inside(
                    y[rest], pos, step / w, background=bg[hit][rest], floor=floor[hit][rest],
                    lumen_hu=lumen_hu, tol2=tol2,
                )  # fmt: skip
            explained[hit] = ok
    out[tuple(idx[explained].T)] = True
    if explained.any():
        logger.debug(
            "vessel: %d voxels within %.1f edge spreads of bone lie on its blurred tail "
            "(misfit <= %.0f HU): bone blur, not blood", int(explained.sum()), reach_w, tol_hu,
        )  # fmt: skip
    return out
