"""Cranial cavity of a head CT: the non-bone space that a closed copy of the skull encloses.

An infant skull has open sutures and fontanelles, and a thin plate of bone may lose
voxels to noise, so the bone mask is *not* closed. The cavity is found on a coarse grid
(``SegmentParams.cavity_grid_mm``) from a closed *copy* of the skull, then carried back to
the full grid against the unclosed bone:

1. **Pockets.** The scalp layer (body shallower than the skull vault's depth under the
   skin, see ``_shell_depth_mm``) and a closed copy of the skull (radius ``R`` of
   ``SegmentParams.skull_close_mm``, small first) wall off the rest of the body. That
   space is eroded by a ball of ``cavity_channel_mm``: narrow channels (the spinal
   canal, sutures, vascular foramina) no longer connect anything, and each remaining
   component is a candidate core. A bony defect (the union of two heads often has
   none, a craniectomy) is closed by the scalp layer, so the cavity under it is still
   found; the ball cannot leak through a gap into the scalp either. Given the body's
   part-air voxels, the depth is measured from the air around the head, not from a
   piece of air that reaches it only through a passage narrower than
   ``skin_air_passage_mm`` and is walled by bone, unless pneumatised bone lies around
   it (``_skin_air``): a notch of air under a thin plate of the skull base is no
   scalp's depth from the cranium behind the plate, but mastoid, ethmoid and sphenoid
   cells are outside the cranium.
2. **Which pockets are cranial.** The wall of each core (what lies just beyond the
   free space around it, as far as the scan reaches) is measured: a cranial cavity is
   walled by skull (``cavity_bone_fraction``), a face or a neck mostly by soft tissue. Each accepted core, grown back by the same ball
   within the free space, is a pocket of at least ``min_intracranial_ml``. A pocket far
   shallower than the deepest one (``cavity_min_radius_share`` of its inscribed radius)
   is the mouth between maxilla, mandible and skull base, walled by bone too.
3. **Heads found at different radii.** A pocket at a larger radius that lies outside
   the cavities already found is another head whose skull has wider openings.
4. **Crevices.** The ball does not reach corners narrower than itself. The cavity grows
   (6-neighbour steps, at most ``R``) into voxels that are inside the closed skull, not
   bone, and nearer to the cavity than to the outside air. Where the pockets are apart
   (two heads, each in its own skull: a partial union), what two of them would both
   reach is the wall between the skulls (two plates and the seam of soft tissue
   between them), not a crevice of either; it is kept out of the growth and of the
   ring of step 5 (``_between_heads``). A shared cavity is one pocket.
5. **Full grid.** Non-bone body voxels of the grown coarse cavity (one coarse voxel
   wider, for the blocks that straddle the inner table), connected (6-neighbours) to the
   cavity's core. An open suture is a channel through the bone mask (at 1.17 mm a
   1.5 mm suture is one to two voxels) that must stay a gap in the bone but must not
   carry the cavity onto the scalp: free voxels in a run of at most ``suture_gap_mm``
   between bone (along the 13 grid lines) do not connect, and are cavity only when
   nearer the cavity than the scalp through non-bone (a dead-end pit of the inner table
   is, a channel through the plate is cut half-way). Found on ~``suture_grid_mm``
   blocks when the CT is finer.
6. **Wall rules** (:func:`apply_wall_rules`, once the rest of the segmentation has read
   the CT around the cavity of step 5): step 5 again, where voxels holding part of a
   thin plate that the bone mask left out do not connect (they join the cavity only
   where they touch it), and fat is never cavity (``_to_full_grid``). Which voxels are
   plate and which are fat is the caller's (``segment.ct``): contrast blood is no
   plate, and a sharp kernel's undershoot is no fat.

Every step is a distance transform, a component labelling or a block reduction, on the
coarse grid except the last (one labelling on the full grid).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from twinsep.errors import ScanError
from twinsep.segment import morph
from twinsep.segment.params import SegmentParams

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cavity:
    """The cranial cavity found in a bone mask.

    Attributes
    ----------
    mask : ndarray of bool
        Cavity voxels on the bone mask's grid (never bone).
    close_radius_mm : float
        Largest closing radius (mm) that was needed to enclose a head.
    n_pockets : int
        Number of separate cavities found (one per head, or one for a shared cavity).
    coarse : CoarseCavity or None
        The coarse cavity the mask was carried from (for :func:`apply_wall_rules`).
    """

    mask: np.ndarray
    close_radius_mm: float
    n_pockets: int
    coarse: CoarseCavity | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class CoarseCavity:
    """The coarse cavity that step 5 carries to the full grid (for :func:`apply_wall_rules`).

    Attributes
    ----------
    grown : ndarray of bool
        The pockets grown into their crevices, on the coarse grid.
    closed : ndarray of bool
        The closed skull (less any wall between two heads), on the coarse grid.
    factors : tuple of int
        Block factor of the coarse grid along each axis.
    """

    grown: np.ndarray
    closed: np.ndarray
    factors: tuple[int, int, int]


def find_cranial_cavity(
    bone: np.ndarray,
    body_filled: np.ndarray,
    spacing_mm: morph.Spacing,
    *,
    params: SegmentParams = SegmentParams(),
    source: str = "CT",
    part_air: np.ndarray | None = None,
) -> Cavity:
    """Find the cranial cavity enclosed by a (gapped) skull.

    Parameters
    ----------
    bone : (I, J, K) ndarray of bool
        Bone mask, sutures and fontanelles left open.
    body_filled : (I, J, K) ndarray of bool
        The patients' body with its holes filled (air around it is outside).
    spacing_mm : (3,) tuple of float
        Voxel size (mm) along the array axes.
    params : SegmentParams
        ``skull_close_mm``, ``cavity_channel_mm``, ``min_intracranial_ml``,
        ``cavity_bone_fraction``, ``cavity_min_radius_share``,
        ``cavity_wall_middle_share``, ``cavity_grid_mm`` and ``cavity_max_slice_mm``
        are used.
    source : str
        Name of the scan, for the error message.
    part_air : (I, J, K) ndarray of bool, optional
        Body voxels that are part air (``SegmentParams.skin_air_cells_level``): the
        cells and septa of pneumatised bone. Without it, every piece of air connected
        to the outside is skin (``_skin_air`` is not applied).

    Returns
    -------
    Cavity
        The cavity mask on the input grid and the closing radius used.

    Raises
    ------
    ScanError
        If a voxel is coarser than ``cavity_max_slice_mm`` along an axis (slices too
        thick to find the skull's inner surface), or no closed skull encloses a cavity
        of at least ``min_intracranial_ml``.
    """
    bone = np.asarray(bone, dtype=bool)
    body_filled = np.asarray(body_filled, dtype=bool)
    if bone.shape != body_filled.shape or bone.ndim != 3:
        raise ValueError(f"bone {bone.shape} and body {body_filled.shape} must be the same 3D grid")
    thick = too_thick_reason(spacing_mm, params.cavity_max_slice_mm)
    if thick is not None:
        raise ScanError(source, thick)
    f = morph.downsample_factors(bone.shape, spacing_mm, params.cavity_grid_mm)
    csp: morph.Spacing = (spacing_mm[0] * f[0], spacing_mm[1] * f[1], spacing_mm[2] * f[2])
    # a block counts as bone when a quarter of it is: a 2 mm plate in 2 mm blocks stays
    # closed wherever it is complete, one-voxel noise holes do not open it
    bone_c = morph.block_mean(bone, f) >= 0.25
    body_c = morph.block_mean(body_filled, f) >= 0.5
    outside_c = ~morph.block_any(body_filled, f)
    d_air = morph.distance_to_mm(outside_c, csp)
    # the scalp's depth, read from all outside air ...
    shell_mm = _shell_depth_mm(d_air, bone_c, csp)
    if part_air is not None and params.skin_air_passage_mm > 0:
        # ... and the depth under the skin from the air around the head, not from a
        # notch of air walled by bone with no cells around it
        free = body_filled & ~bone
        free_c = morph.block_mean(free, f)
        part_c = morph.block_mean(free & np.asarray(part_air, dtype=bool), f)
        del free
        skin = _skin_air(outside_c, bone_c, body_c, free_c, part_c, csp, shell_mm, params)
        if not np.array_equal(skin, outside_c):
            d_air = morph.distance_to_mm(skin, csp)
        del skin, free_c, part_c
    # the scalp layer: body shallower than the skull vault lies under the skin
    deep_body = body_c & (d_air > shell_mm)
    cavity_c, closed_c, radius, n = _pockets(bone_c, deep_body, csp, params)
    if cavity_c is None or closed_c is None:
        raise ScanError(
            source,
            "no skull enclosing a cranial cavity of at least "
            f"{params.min_intracranial_ml:.0f} mL was found; this does not look like a head CT",
        )
    # crevices: inside the closed skull, not bone, deeper than the scalp (growing one
    # voxel clear of bone would stop gaps better but cuts the narrow bridge between two
    # merged cavities: the independent phantom's fusion axes went 26 deg off)
    inside_c = closed_c & ~bone_c & deep_body
    wall_c = _between_heads(cavity_c, csp, radius, params.cavity_wall_middle_share)
    if wall_c is not None:
        # neither head's crevices nor its inner-table ring reach into the wall between
        # two separate pockets (two skulls and the tissue between them)
        inside_c &= ~wall_c
        closed_c = closed_c & ~wall_c
    grown_c = _grow_into_crevices(cavity_c, inside_c, d_air, csp, radius)
    del inside_c
    del d_air
    mask = _to_full_grid(grown_c, closed_c, bone, body_filled, f, spacing_mm, params)
    logger.debug(
        "cranial cavity: %d pocket(s), closing %.0f mm, %.0f mL",
        n,
        radius,
        mask.sum() * float(np.prod(spacing_mm)) / 1000.0,
    )
    return Cavity(
        mask=mask,
        close_radius_mm=float(radius),
        n_pockets=n,
        coarse=CoarseCavity(grown=grown_c, closed=closed_c, factors=f),
    )


def too_thick_reason(spacing_mm: morph.Spacing, max_mm: float) -> str | None:
    """Why a grid is too coarse to find the skull's inner surface on, or None.

    Parameters
    ----------
    spacing_mm : length-3 tuple of float
        Voxel size (mm) along the array axes.
    max_mm : float
        ``SegmentParams.cavity_max_slice_mm``: the largest voxel size (mm) along any axis.

    Returns
    -------
    str or None
        One line naming the slices (or voxels) and what to do, or None when every
        axis is at most ``max_mm`` (to 0.1 %, the rounding of a stored spacing).
    """
    s = [float(v) for v in spacing_mm]
    top = max(s)
    if top <= max_mm * 1.001:
        return None
    n = sum(v > max_mm * 1.001 for v in s)
    what = f"slices {top:.1f} mm apart" if n == 1 else f"voxels {top:.1f} mm wide along {n} axes"
    return (
        f"{what}: too thick to find the skull's inner surface (twinsep plans on at most "
        f"{max_mm:g} mm); reconstruct the series at 3 mm or thinner (1 mm for planning)"
    )


def apply_wall_rules(
    cavity: Cavity,
    bone: np.ndarray,
    body_filled: np.ndarray,
    spacing_mm: morph.Spacing,
    *,
    plate: np.ndarray | None,
    fat: np.ndarray | None,
    params: SegmentParams = SegmentParams(),
) -> np.ndarray:
    """The cavity carried to the full grid again (step 5) with the wall rules (step 6).

    Parameters
    ----------
    cavity : Cavity
        What :func:`find_cranial_cavity` found with the same ``bone``, ``body_filled``,
        ``spacing_mm`` and ``params``.
    bone, body_filled : (I, J, K) ndarray of bool
        As given to :func:`find_cranial_cavity`.
    spacing_mm : (3,) tuple of float
        Voxel size (mm).
    plate : (I, J, K) ndarray of bool, optional
        Non-bone voxels that hold part of a bone plate
        (``segment.cavity_wall.plate_partial``): at the wall they are cavity where they
        touch it but do not carry it on.
    fat : (I, J, K) ndarray of bool, optional
        Voxels that read as fat (``SegmentParams.cavity_fat_below_soft_hu``): never
        cavity at the wall, nor a path for it.
    params : SegmentParams

    Returns
    -------
    ndarray of bool
        The cavity mask: ``cavity.mask`` itself when there is no rule to apply, else a
        subset of it (the voxels only plate or fat voxels joined to it are left out).
    """
    if cavity.coarse is None or (plate is None and fat is None):
        return cavity.mask
    c = cavity.coarse
    mask = _to_full_grid(
        c.grown, c.closed, bone, body_filled, c.factors, spacing_mm, params, plate=plate, fat=fat
    )
    return np.asarray(mask & cavity.mask)


def _pockets(
    bone_c: np.ndarray,
    deep_body: np.ndarray,
    csp: morph.Spacing,
    params: SegmentParams,
) -> tuple[np.ndarray | None, np.ndarray | None, float, int]:
    """Coarse cavity pockets over the closing radii: (cavity, closed skull, radius, count)."""
    vx_ml = float(np.prod(csp)) / 1000.0
    min_vx = params.min_intracranial_ml / vx_ml
    ch = params.cavity_channel_mm
    cavity_c: np.ndarray | None = None
    closed_c: np.ndarray | None = None
    # inscribed radius (mm) of the core each accepted pocket grew from, per coarse voxel
    inr_c = np.zeros(bone_c.shape, np.float32)
    radius = params.skull_close_mm[-1]
    # the same for every closing radius, computed once; the free space's depth and the
    # core's components once per radius, for the appendage test and the pockets alike
    near_bone = _dilate_axes(bone_c, _one_voxel_beyond(0.0, csp), csp)
    for r in params.skull_close_mm:
        closed = morph.close_mm(bone_c, r, csp)
        space = ~closed & deep_body
        core = morph.erode_mm(space, ch, csp)
        shut = np.zeros(space.shape, bool)
        depth: np.ndarray | None = None
        parts: tuple[np.ndarray, np.ndarray] | None = None
        if params.cavity_opening_share > 0:
            # the part of a pocket beyond an opening narrower than the pocket (a neck
            # below an open foramen magnum) walled by soft tissue is no cranial cavity
            parts = morph.component_sizes(core, connectivity=6)
            if (parts[1] * vx_ml >= params.min_intracranial_ml / 8).any():
                depth = morph.distance_mm(space, csp)  # the test measures pockets by it
            beyond = _soft_walled_appendages(
                core, space, closed, near_bone, ch, csp, params, parts=parts, depth=depth
            )
            if beyond.any():
                core &= ~beyond
                shut = morph.dilate_mm(beyond, ch + 0.5 * max(csp), csp)
                parts = None  # the core changed
            del beyond
        lab, sizes = parts if parts is not None else morph.component_sizes(core, connectivity=6)
        if sizes.size == 0:
            continue
        keep = _enclosed_ids(lab, sizes, closed, space, bone_c, ch, csp, params)
        if keep.size == 0:
            logger.debug("closing %.0f mm: no enclosed pocket", r)
            continue
        lut = np.zeros(sizes.size + 1, bool)
        lut[keep] = True
        pocket = morph.dilate_mm(lut[lab], ch + 0.5 * max(csp), csp) & space & ~shut
        if cavity_c is not None:
            pocket &= ~cavity_c
        plab, psizes = morph.component_sizes(pocket, connectivity=6)
        big = np.flatnonzero(psizes >= min_vx) + 1
        logger.debug("closing %.0f mm: pockets %s mL", r, np.round(np.sort(psizes)[-3:] * vx_ml, 0))
        if big.size == 0:
            continue
        lut = np.zeros(psizes.size + 1, bool)
        lut[big] = True
        new = lut[plab]
        # each new pocket's inscribed radius: the deepest point of the free space in it
        if depth is None:
            depth = morph.distance_mm(space, csp)
        deepest = np.zeros(psizes.size + 1, np.float32)
        np.maximum.at(deepest, plab[new], depth[new])
        inr_c[new] = deepest[plab[new]]
        del depth
        cavity_c = new if cavity_c is None else cavity_c | new
        closed_c = closed if closed_c is None else closed_c | closed
        radius = r
    if cavity_c is None:
        return None, None, radius, 0
    # a face or oral pocket walled by the jaw and facial bones is far shallower than the
    # cranial cavities of the heads (cavity_min_radius_share)
    shallow = cavity_c & (inr_c < params.cavity_min_radius_share * float(inr_c.max()))
    if shallow.any():
        logger.debug(
            "pockets shallower than %.0f mm dropped (%.0f mL): not a cranial cavity",
            params.cavity_min_radius_share * float(inr_c.max()),
            shallow.sum() * vx_ml,
        )
        cavity_c &= ~shallow
    n = int(morph.component_sizes(cavity_c, connectivity=6)[1].size)
    return cavity_c, closed_c, radius, n


def _soft_walled_appendages(
    core: np.ndarray,
    space: np.ndarray,
    closed: np.ndarray,
    near_bone: np.ndarray,
    ch: float,
    csp: morph.Spacing,
    params: SegmentParams,
    *,
    parts: tuple[np.ndarray, np.ndarray] | None = None,
    depth: np.ndarray | None = None,
) -> np.ndarray:
    """Core voxels beyond an opening narrower than their pocket, walled by soft tissue.

    The foramen magnum of an infant is 20-30 mm across (adult 30-35 mm), wider than the
    channels the core's erosion cuts (``cavity_channel_mm``); without the bright
    vertebral arteries and sinuses of a contrast CT, which narrow it in the bone mask,
    the neck's muscle below it joins the cranial core and, as part of one pocket walled
    mostly by skull, became cavity (and brain). Per core component: a ball of
    ``cavity_opening_share`` of the pocket's inscribed radius sweeps the free space
    (a cranium, 28-60 mm deep, is swept wall to wall; the ball does not pass an opening
    narrower than itself); what of the core lies more than ``cavity_channel_mm`` beyond
    the sweep is split into pieces. A piece of at least a channel ball's volume (0.9 mL
    of core; the corners of a cranium the ball misses are slivers, 0.0-0.2 mL in the
    independent phantom's crania, and dropping them cost 0.008 vessel Dice there) and
    of ``cavity_opening_min_share`` of its pocket's core (an adult skull base beside
    pneumatised cells leaves pieces of 0.1 % of true cranium walled half by soft
    tissue), that touches only one swept piece (a dead end, not a bridge between two
    heads' cavities)
    and whose own wall is less than ``cavity_bone_fraction`` skull (measured as for a
    pocket in ``_enclosed_ids``) is returned: it is a neck or a face, and the cavity
    stops at the opening.

    Parameters
    ----------
    core : ndarray of bool
        The free space eroded by ``ch`` (coarse grid).
    space : ndarray of bool
        The free space (body deeper than the scalp, outside the closed skull).
    closed : ndarray of bool
        Closed skull on the coarse grid.
    near_bone : ndarray of bool
        Bone on the coarse grid dilated by one coarse voxel along each axis
        (``_one_voxel_beyond``: a slice along a thick-slice axis, a pixel in the plane).
    ch : float
        ``cavity_channel_mm`` (mm).
    csp : length-3 tuple of float
        Coarse voxel size (mm).
    params : SegmentParams
        ``cavity_opening_share``, ``cavity_bone_fraction``, ``min_intracranial_ml``.
    parts : (labels, sizes), optional
        ``morph.component_sizes(core, connectivity=6)``, when the caller has it.
    depth : ndarray of float32, optional
        ``morph.distance_mm(space, csp)``, when the caller has it.

    Returns
    -------
    ndarray of bool
        The core voxels to drop (may be empty).
    """
    out = np.zeros(core.shape, bool)
    vx_ml = float(np.prod(csp)) / 1000.0
    lab, sizes = parts if parts is not None else morph.component_sizes(core, connectivity=6)
    cand = np.flatnonzero(sizes * vx_ml >= params.min_intracranial_ml / 8) + 1
    if cand.size == 0:
        return out
    if depth is None:
        depth = morph.distance_mm(space, csp)
    reach = _one_voxel_beyond(ch, csp)
    min_ml = 4.0 / 3.0 * np.pi * ch**3 / 1000.0  # a channel ball
    for i in cand:
        box = _box(lab == i, [int(np.ceil(r / s)) + 1 for r, s in zip(reach, csp, strict=True)])
        comp = lab[box] == i
        ball = params.cavity_opening_share * float(depth[box][comp].max())
        if ball <= ch:
            continue
        swept = morph.dilate_mm((depth[box] > ball) & comp, ball, csp) & comp
        rest = comp & ~morph.dilate_mm(swept, ch, csp)
        if not rest.any():
            continue
        rlab, rsizes = morph.component_sizes(rest, connectivity=6)
        slab, _ = morph.component_sizes(swept, connectivity=6)
        sp_box, closed_box, near_box = space[box], closed[box], near_bone[box]
        # an appendage that matters: a share of its pocket (and more than a sliver)
        least_ml = max(min_ml, params.cavity_opening_min_share * sizes[i - 1] * vx_ml)
        for j in np.flatnonzero(rsizes * vx_ml >= least_ml) + 1:
            piece = rlab == j
            around = _dilate_axes(piece, reach, csp)
            if np.unique(slab[around & (slab > 0)]).size > 1:
                # a bridge between two swept pieces (two heads' cavities) stays
                logger.debug("%.1f mL between two swept pieces kept", rsizes[j - 1] * vx_ml)
                continue
            ring = around & ~sp_box
            frac = float((ring & closed_box & near_box).sum()) / max(int(ring.sum()), 1)
            logger.debug(
                "pocket core %.0f mL: %.1f mL beyond an opening narrower than a %.0f mm "
                "ball, %.2f of its wall skull",
                sizes[i - 1] * vx_ml, rsizes[j - 1] * vx_ml, ball, frac,
            )  # fmt: skip
            if frac < params.cavity_bone_fraction:
                out[box] |= piece
    return out


def _skin_air(
    outside: np.ndarray,
    bone: np.ndarray,
    body: np.ndarray,
    free_share: np.ndarray,
    part_air_share: np.ndarray,
    csp: morph.Spacing,
    shell_mm: float,
    params: SegmentParams,
) -> np.ndarray:
    """The air around the head: ``outside`` without the notches of air under thin bone.

    A morphological opening by a ball of ``skin_air_passage_mm`` keeps the air such a
    ball can reach; its components that reach the array's border (padded with air,
    so that the ball passes along it) are the air around the head. Each piece of the
    rest (air beyond a narrower passage) is left out when (1) at least
    ``skin_air_bone_share`` of its wall (the body voxels beside it) lies within one
    voxel of bone (bone beside air reads soft tissue by partial volume): the floor of a
    narrow crease between two joined heads' scalps is walled by skin, and is skin; and
    (2) the body that leaving it out would take out of the scalp layer (body within
    ``shell_mm`` of it and farther than that from the air kept) holds at most
    ``skin_air_cells_share`` part-air voxels in its non-bone part: a notch of air under
    a thin plate (Colin27's, under the occipital bone) has brain behind the plate,
    while the middle ear, the mastoid and the sinuses lie in pneumatised bone, whose
    cells and thin septa average to part air; without (2), the septa became deep body
    inside the closed skull and the adult real CT's cavity took in 39.6 mL of them.

    Parameters
    ----------
    outside : ndarray of bool
        Air around the body (coarse grid).
    bone, body : ndarray of bool
        Bone and body on the same grid.
    free_share, part_air_share : ndarray of float
        Per coarse voxel, the share of its fine voxels that are non-bone body, and
        that are non-bone body and part air.
    csp : length-3 tuple of float
        Voxel size (mm).
    shell_mm : float
        The scalp's depth (mm, ``_shell_depth_mm``).
    params : SegmentParams
        ``skin_air_passage_mm``, ``skin_air_bone_share``, ``skin_air_cells_share``.

    Returns
    -------
    ndarray of bool
        The air around the head, a subset of ``outside``.
    """
    passage_mm = params.skin_air_passage_mm
    if passage_mm <= 0 or not outside.any():
        return outside
    pad = [int(np.ceil(passage_mm / s)) + 1 for s in csp]
    opened = morph.open_mm(
        np.pad(outside, [(p, p) for p in pad], constant_values=True), passage_mm, csp
    )
    lab, n = morph.label_components(np.ascontiguousarray(opened, dtype=np.uint8), 6)
    del opened
    inner = tuple(slice(p, lab.shape[i] - p) for i, p in enumerate(pad))
    in_pad = np.ones(lab.shape, bool)
    in_pad[inner] = False
    lut = np.zeros(int(n) + 1, bool)
    lut[np.unique(lab[in_pad])] = True
    lut[0] = False
    out: np.ndarray = lut[lab[inner]]
    del lab, in_pad
    rlab, rn = morph.label_components(np.ascontiguousarray(outside & ~out, dtype=np.uint8), 6)
    if rn == 0:
        return out
    cube = np.ones((3, 3, 3), bool)
    wall_id = ndi.grey_dilation(rlab, footprint=cube) * ~outside
    n_wall = np.bincount(wall_id.ravel(), minlength=rn + 1)
    n_bone = np.bincount(wall_id[morph.dilate_mm(bone, max(csp), csp)], minlength=rn + 1)
    del wall_id
    skin = n_bone < params.skin_air_bone_share * np.maximum(n_wall, 1)
    skin[0] = False
    walled = np.flatnonzero(~skin[1:]) + 1
    if walled.size:
        # what leaving one piece out would take out of the scalp layer: body within
        # the scalp's depth of it, beyond that depth from the air around the head
        d_kept = morph.distance_to_mm(out | skin[rlab], csp)
        boxes = ndi.find_objects(rlab)
        margin = [int(np.ceil(shell_mm / s)) + 1 for s in csp]
        shares = []
        for i in walled:
            box = _grow_box(boxes[i - 1], margin, rlab.shape)
            near = morph.distance_to_mm(rlab[box] == i, csp) <= shell_mm
            zone = near & body[box] & (d_kept[box] > shell_mm)
            free = float(free_share[box][zone].sum())
            cells = float(part_air_share[box][zone].sum()) / max(free, 1e-9)
            shares.append(cells)
            if cells > params.skin_air_cells_share:
                skin[i] = True  # pneumatised bone: the cells are outside the cranium
        vx_ml = float(np.prod(csp)) / 1000.0
        piece_ml = np.bincount(rlab.ravel(), minlength=rn + 1)[walled] * vx_ml
        left = ~skin[walled]
        logger.debug(
            "air beyond passages narrower than %.0f mm walled by bone: %d pieces "
            "(%.1f mL) left out of the skin, %d (%.1f mL) kept in pneumatised bone "
            "(part-air share %.3f-%.3f)",
            2 * passage_mm, int(left.sum()), float(piece_ml[left].sum()),
            int((~left).sum()), float(piece_ml[~left].sum()), min(shares), max(shares),
        )  # fmt: skip
    out |= skin[rlab]
    return out


def _grow_box(
    box: tuple[slice, ...], margin: list[int], shape: tuple[int, ...]
) -> tuple[slice, ...]:
    """The slices ``box`` grown by ``margin`` voxels per axis, clipped to ``shape``."""
    return tuple(
        slice(max(int(b.start) - m, 0), min(int(b.stop) + m, n))
        for b, m, n in zip(box, margin, shape, strict=True)
    )


def _shell_depth_mm(d_air: np.ndarray, bone_c: np.ndarray, csp: morph.Spacing) -> float:
    """Depth (mm) of the skull vault under the skin: the lower quartile of the distance
    to air over bone voxels.

    The vault is the shallowest bone and most of an infant's skull; the face, skull
    base and spine lie deeper, hence a quartile, not the median. Soft tissue shallower
    than this is scalp; where the skull has a defect (the union of two heads often has
    none), the cavity begins under this depth.
    """
    vals = d_air[bone_c]
    if vals.size == 0:
        return float(max(csp))
    return float(max(np.percentile(vals, 25.0), max(csp)))


def _enclosed_ids(
    lab: np.ndarray,
    sizes: np.ndarray,
    closed: np.ndarray,
    space: np.ndarray,
    bone_c: np.ndarray,
    ch: float,
    csp: morph.Spacing,
    params: SegmentParams,
) -> np.ndarray:
    """Labels of core components enclosed mostly by the closed skull.

    Around each component, the wall is what a ball one channel radius plus one voxel
    wider reaches outside the free space; the share of the wall in the closed skull is
    measured (the rest is scalp-deep soft tissue or air); a cranial cavity is walled by
    bone except at fontanelles and defects, the neck or the face by soft tissue. Where
    the scan's field of view cuts a head, there is no wall: the share is taken over
    the wall that was scanned.
    """
    vx_ml = float(np.prod(csp)) / 1000.0
    # the core of the smallest cavity (a ball of min_intracranial_ml eroded by the
    # channel radius) keeps over a third of its volume; an eighth leaves room for flat ones
    cand = np.flatnonzero(sizes * vx_ml >= params.min_intracranial_ml / 8) + 1
    out = []
    reach = _one_voxel_beyond(ch, csp)
    for i in cand:
        box = _box(lab == i, [int(np.ceil(r / s)) + 1 for r, s in zip(reach, csp, strict=True)])
        comp = lab[box] == i
        ring = _dilate_axes(comp, reach, csp) & ~space[box]
        # skull wall: closed by the closing *and* within one coarse voxel of real bone
        # (the closing also bridges the wide gaps between facial bones)
        wall = ring & closed[box] & _dilate_axes(bone_c[box], _one_voxel_beyond(0.0, csp), csp)
        frac = float(wall.sum()) / max(int(ring.sum()), 1)
        logger.debug("pocket core %.0f mL: %.2f of its wall is skull", sizes[i - 1] * vx_ml, frac)
        if frac >= params.cavity_bone_fraction:
            out.append(i)
    return np.asarray(out, dtype=np.int64)


def _one_voxel_beyond(mm: float, csp: morph.Spacing) -> tuple[float, float, float]:
    """Semi-axes (mm) of the ellipsoid that reaches ``mm`` plus one voxel along each axis.

    On a grid with thick slices, one voxel is a slice along the slice axis and a pixel
    in the plane: a ball of the slice's width would reach through the skull and the
    scalp in the plane (the wall of a cranial cavity on 2.2 x 2.2 x 6.6 mm read 0.53
    skull).  On a grid of equal voxels this is a ball of ``mm`` plus a voxel and a 1 %.
    """
    if max(csp) - min(csp) <= 1e-6 * max(csp):
        r = mm + 1.01 * max(csp)
        return (r, r, r)
    return (mm + 1.01 * csp[0], mm + 1.01 * csp[1], mm + 1.01 * csp[2])


def _dilate_axes(
    mask: np.ndarray, radii_mm: tuple[float, float, float], csp: morph.Spacing
) -> np.ndarray:
    """Dilation by the ellipsoid of semi-axes ``radii_mm`` (a ball when they are equal)."""
    if radii_mm[0] == radii_mm[1] == radii_mm[2]:
        return morph.dilate_mm(mask, radii_mm[0], csp)
    unit: morph.Spacing = (csp[0] / radii_mm[0], csp[1] / radii_mm[1], csp[2] / radii_mm[2])
    return morph.dilate_mm(mask, 1.0, unit)


def _box(mask: np.ndarray, margin: list[int]) -> tuple[slice, ...]:
    """Bounding box of ``mask`` grown by ``margin`` voxels per axis (clipped)."""
    sl = []
    for ax in range(3):
        other = tuple(j for j in range(3) if j != ax)
        nz = np.flatnonzero(mask.any(axis=other))
        lo = max(int(nz[0]) - margin[ax], 0)
        hi = min(int(nz[-1]) + margin[ax] + 1, mask.shape[ax])
        sl.append(slice(lo, hi))
    return tuple(sl)


def _between_heads(
    cavity_c: np.ndarray, csp: morph.Spacing, radius_mm: float, middle_share: float
) -> np.ndarray | None:
    """The wall between two heads' separate pockets: non-pocket coarse voxels that the
    crevice growth (``radius_mm``) of two different pockets would both reach, widened
    by one coarse voxel's diagonal (so that what each reaches on its side does not
    touch the other's), whose distance to the nearer pocket is at least ``middle_share``
    of that to the farther (``SegmentParams.cavity_wall_middle_share``). None when there
    are fewer than two pockets or no such voxel.

    Pockets that steps 1-3 found apart are cavities walled off from each other by
    bone: on a partial union each twin's own skull, and between the two skulls a
    seam of soft tissue (scalp, membrane) that the closing fills. That seam lies
    outside both inner tables, yet it is inside the closed skull, not bone (a thin
    plate and its sutures are partly lost to partial volume) and deeper than the
    scalp, so the crevice growth of both pockets and the one-block ring of step 5
    took it in, through the plates' gaps and then along the seam (``twinsep.phantom``
    vertical-partial 28 % of the interskull tissue): the two twins' brains then touched
    across tissue that is no brain. A shared cavity (a total union, a bony defect
    between two heads) is one pocket already, and nothing is taken from it here.
    """
    lab, sizes = morph.component_sizes(cavity_c, connectivity=6)
    if sizes.size < 2:
        return None
    reach = radius_mm + float(np.sqrt(sum(c * c for c in csp)))
    # nearest and second-nearest pocket distances (mm) per voxel
    d1 = np.full(cavity_c.shape, np.inf, np.float32)
    d2 = np.full(cavity_c.shape, np.inf, np.float32)
    for i in range(1, sizes.size + 1):
        d = morph.distance_to_mm(lab == i, csp)
        d2 = np.minimum(d2, np.maximum(d1, d))
        d1 = np.minimum(d1, d)
    # the middle of the wall (a corner of one cavity beside its own inner table is far
    # nearer its pocket, and stays a crevice)
    wall: np.ndarray = (d2 <= reach) & (d1 >= middle_share * d2) & ~cavity_c
    del d1, d2
    logger.debug(
        "wall between %d separate pockets: %.1f mL kept out of their crevices",
        sizes.size,
        wall.sum() * float(np.prod(csp)) / 1000.0,
    )
    return wall if wall.any() else None


def _grow_into_crevices(
    cavity_c: np.ndarray,
    inside_c: np.ndarray,
    d_air: np.ndarray,
    csp: morph.Spacing,
    radius_mm: float,
) -> np.ndarray:
    """Grow the pockets into corners of the closed skull nearer the cavity than the air.

    ``inside_c`` is the closed skull's non-bone, deeper-than-scalp part: soft tissue in
    the notch between two joined heads is filled by the closing too, but it lies at
    scalp depth or nearer the air than the cavity, so it stays out.
    """
    d_cav = morph.distance_to_mm(cavity_c, csp)
    allowed = inside_c & (d_cav < d_air) & (d_cav <= radius_mm)
    del d_cav
    steps = int(np.ceil(radius_mm / min(csp)))
    grown = ndi.binary_dilation(
        cavity_c, structure=ndi.generate_binary_structure(3, 1), iterations=steps, mask=allowed
    )
    return np.asarray(grown | cavity_c)


def _to_full_grid(
    grown_c: np.ndarray,
    closed_c: np.ndarray,
    bone: np.ndarray,
    body_filled: np.ndarray,
    f: tuple[int, int, int],
    spacing_mm: morph.Spacing,
    params: SegmentParams,
    *,
    plate: np.ndarray | None = None,
    fat: np.ndarray | None = None,
) -> np.ndarray:
    """Non-bone body voxels of the coarse cavity, widened by one block into the closed
    skull (blocks straddling the inner table; not the scalp over a gap).

    In the cavity's edge blocks and the widening (ring) blocks around them, a free voxel
    counts when it connects (6-neighbours, without crossing bone) to the edge blocks
    that touch the cavity's interior blocks (the seeds): the far side of a plate thinner
    than a block is not cavity. An open suture must not connect: the cavity is first
    walled at the skull on a grid of about ``suture_grid_mm`` (``_walled_cavity``), and
    full-grid voxels count only inside that wall. The connectivity is labelled on the
    edge and ring blocks only (a sparse mask), and the block codes are upsampled once.

    A thin plate at the skull base, lying across thick slices or beside dense bone,
    keeps only its core in the bone mask (the half-maximum edge drops the voxels that
    hold part of it): the free voxels beyond it then connect to the cavity through
    those voxels, and under a 1.4 mm infant skull base 6-18 k voxels of fat and muscle
    did. In the edge and ring blocks the ``plate`` voxels therefore do not connect:
    the cavity is labelled without them, then each piece of them that touches it
    joins it (it was cavity before, a partial-volume layer). ``fat`` voxels there are
    not cavity: fat lies outside the dura, never inside.
    """
    shape: tuple[int, int, int] = (bone.shape[0], bone.shape[1], bone.shape[2])
    code_c = _block_codes(grown_c, closed_c)
    code = morph.upsample(code_c, f, shape)
    free = body_filled & ~bone
    out: np.ndarray = (code == 3) & free
    part = (code == 1) | (code == 2) | (code == 4)
    part &= free
    del free
    if fat is not None:
        part &= ~fat
    idx = np.flatnonzero(part)
    if params.suture_gap_mm > 0:
        g = _mid_factors(f, spacing_mm, params.suture_grid_mm)
        allowed = _walled_cavity(code_c, bone, body_filled, f, g, spacing_mm, params.suture_gap_mm)
        mid = _mid_index(idx, shape, g, allowed.shape)
        keep = allowed.reshape(-1)[mid]
        part.reshape(-1)[idx[~keep]] = False
        idx = idx[keep]
    # the labels are read at the edge and ring voxels only (a few per cent of the grid):
    # a lookup over the whole label grid took 0.45 s on a 512x512x400 CT, and they are
    # labelled in the voxels' bounding box (morph.component_ids: the labels of the
    # whole grid, in the raster order of idx) without a uint32 label grid of the crop
    # the voxels that hold part of a plate do not carry the cavity
    on_plate = np.zeros(idx.size, bool) if plate is None else plate.reshape(-1)[idx]
    if on_plate.any():
        part.reshape(-1)[idx[on_plate]] = False
    lab_part, sizes = morph.component_ids(part, connectivity=6)
    del part
    carry = idx[~on_plate]
    n = sizes.size
    seeds = np.unique(lab_part[code.reshape(-1)[carry] == 1])
    lut = np.zeros(int(n) + 1, bool)
    lut[seeds] = True
    lut[0] = False
    np.put(out, carry[lut[lab_part]], True)
    if on_plate.any():
        np.put(out, _touching_pieces(idx[on_plate], out), True)
    return out


def _touching_pieces(idx: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The voxels ``idx`` (flat indices, sorted) of the face-connected pieces they form
    that touch ``target`` (a face neighbour in it)."""
    mask = np.zeros(target.shape, bool)
    np.put(mask, idx, True)
    lab, _sizes = morph.component_ids(mask, connectivity=6)
    del mask
    hit = np.unique(lab[_touches(idx, target)])
    keep = np.zeros(int(lab.max(initial=0)) + 1, bool)
    keep[hit] = True
    out: np.ndarray = idx[keep[lab]]
    return out


def _block_codes(grown_c: np.ndarray, closed_c: np.ndarray) -> np.ndarray:
    """Coarse code per block: 3 cavity block inside, 1 edge block touching the inside
    (the seeds), 4 other edge block, 2 ring block (closed skull one block beyond the
    cavity), 0 else. A crevice block grown into a suture is an edge block away from the
    inside, so it is no seed."""
    cube = ndi.generate_binary_structure(3, 3)
    ring_c = ndi.binary_dilation(grown_c, structure=cube) & closed_c & ~grown_c
    edge_c = grown_c & ndi.binary_dilation(ring_c, structure=cube)
    seed_c = edge_c & ndi.binary_dilation(grown_c & ~edge_c, structure=cube)
    if not seed_c.any():
        seed_c = edge_c
    code_c = np.zeros(grown_c.shape, np.uint8)
    code_c[grown_c] = 3
    code_c[edge_c] = 4
    code_c[seed_c] = 1
    code_c[ring_c] = 2
    return code_c


def _mid_factors(
    f: tuple[int, int, int], spacing_mm: morph.Spacing, grid_mm: float
) -> tuple[int, int, int]:
    """Per axis, the largest divisor of the coarse block factor whose block is at most
    ``grid_mm`` long (1 when the voxels are already that large)."""
    out = []
    for fa, s in zip(f, spacing_mm, strict=True):
        out.append(max(d for d in range(1, fa + 1) if fa % d == 0 and (d == 1 or d * s <= grid_mm)))
    return (out[0], out[1], out[2])


def _mid_index(
    idx: np.ndarray,
    shape: tuple[int, int, int],
    g: tuple[int, int, int],
    mid_shape: tuple[int, ...],
) -> np.ndarray:
    """Flat index on the block grid of factor ``g`` of the full-grid voxels ``idx``."""
    if g == (1, 1, 1):
        return idx
    i, rest = np.divmod(idx, shape[1] * shape[2])
    j, k = np.divmod(rest, shape[2])
    out: np.ndarray = ((i // g[0]) * mid_shape[1] + j // g[1]) * mid_shape[2] + k // g[2]
    return out


def _walled_cavity(
    code_c: np.ndarray,
    bone: np.ndarray,
    body_filled: np.ndarray,
    f: tuple[int, int, int],
    g: tuple[int, int, int],
    spacing_mm: morph.Spacing,
    gap_mm: float,
) -> np.ndarray:
    """Where the cavity may be, on the grid of blocks ``g`` (the full grid when g = 1).

    On that grid (bone where half a block is), the free voxels of the edge and
    ring blocks are labelled without the voxels in a gap through the skull narrower
    than ``gap_mm`` (``_gap_voxels``, one face step wider where two sutures cross). The
    components that hold a seed are cavity; of the others, those that touch the free
    space beyond the ring (the scalp) or air are open, the rest dead ends. The gap and
    dead-end voxels are then split between the cavity and the open side by which is
    nearer through non-bone (``_split_gaps``): a pit in the inner table stays cavity, a
    suture channel is cut half-way through the plate, and the scalp beyond it stays
    out. Returned: those cavity voxels, the interior blocks, and the bone blocks next to
    them (a full-grid voxel of a bone block may be free, at the inner table).
    """
    if g == (1, 1, 1):
        bone_m, body_m = bone, body_filled
    else:
        # the body is not block-averaged (0.2 s on a 512x512x400 CT): the edge and ring
        # blocks lie inside it, and the full-grid labelling keeps to it
        bone_m = morph.block_mean(bone, g) >= 0.5
        body_m = np.ones(bone_m.shape, bool)
    shape: tuple[int, int, int] = (bone_m.shape[0], bone_m.shape[1], bone_m.shape[2])
    sp: morph.Spacing = (spacing_mm[0] * g[0], spacing_mm[1] * g[1], spacing_mm[2] * g[2])
    fm = (f[0] // g[0], f[1] // g[1], f[2] // g[2])
    code = morph.upsample(code_c, fm, shape)
    free = body_m & ~bone_m
    cavity: np.ndarray = (code == 3) & free
    part = ((code == 1) | (code == 2) | (code == 4)) & free
    idx = np.flatnonzero(part)
    gap = _gap_voxels(idx, bone_m, sp, gap_mm)
    # one face step wider: where two sutures cross, the free voxels on the crossing line
    # have no short run to bone along the grid's lines but are ringed by gap voxels
    near = np.zeros(shape, bool)
    np.put(near, _face_neighbours(idx[gap], shape), True)
    gap |= near.reshape(-1)[idx]
    del near
    part.reshape(-1)[idx[gap]] = False
    gap_idx = idx[gap]
    idx = idx[~gap]
    lab, n = morph.label_components(part.view(np.uint8), 6)
    del part
    lab_part = lab.reshape(-1)[idx]
    del lab
    core = np.zeros(int(n) + 1, bool)
    core[np.unique(lab_part[code.reshape(-1)[idx] == 1])] = True
    core[0] = False
    np.put(cavity, idx[core[lab_part]], True)
    if gap_idx.size:
        # beyond a gap: open when it touches free space outside the cavity and ring
        # blocks (the scalp) or air; a component that does not is a dead end
        rest = ~core[lab_part]
        outside = (code == 0) & ~bone_m
        is_open = np.zeros(int(n) + 1, bool)
        is_open[np.unique(lab_part[rest][_touches(idx[rest], outside)])] = True
        pocket = idx[rest & ~is_open[lab_part]]
        cand = np.concatenate([gap_idx, pocket])
        np.put(cavity, _split_gaps(cand, cavity, outside, idx[is_open[lab_part]], shape), True)
        del outside
    if g == (1, 1, 1):
        return cavity
    # bone blocks beside the cavity: their free full-grid voxels are the inner table's
    # partial-volume layer; the full-grid labelling decides them
    bidx = np.flatnonzero(bone_m & (code > 0))
    np.put(cavity, bidx[_touches(bidx, cavity)], True)
    return cavity


_DIRECTIONS: tuple[tuple[int, int, int], ...] = (
    (1, 0, 0),
    (0, 1, 0),
    (0, 0, 1),
    (1, 1, 0),
    (1, -1, 0),
    (1, 0, 1),
    (1, 0, -1),
    (0, 1, 1),
    (0, 1, -1),
    (1, 1, 1),
    (1, 1, -1),
    (1, -1, 1),
    (1, -1, -1),
)
"""The 13 lines through a voxel and its 26 neighbours (one sign each)."""


def _gap_voxels(
    idx: np.ndarray, bone: np.ndarray, spacing_mm: morph.Spacing, gap_mm: float
) -> np.ndarray:
    """Which of the free voxels ``idx`` (flat indices) lie in a gap between bone.

    A voxel is in a gap when, along one of the 13 lines through it and its neighbours,
    the run of non-bone voxels that holds it ends in bone on both sides and is at most
    ``gap_mm`` long (run length = voxels x step length in mm): the gap of an open suture
    met at any angle, or a pit between bumps of the inner table. None is found when no
    voxel side is at most ``gap_mm / 2``: a gap needs two voxels to be resolved.
    """
    shape = bone.shape
    steps = []
    for d in _DIRECTIONS:
        step_mm = float(np.sqrt(sum((di * s) ** 2 for di, s in zip(d, spacing_mm, strict=True))))
        steps.append(int(np.floor(gap_mm / step_mm + 1e-9)))
    reach = max(steps)
    gap = np.zeros(idx.size, bool)
    # a gap must be two voxels long along an axis to be resolved: on coarser grids a
    # one-voxel run between bone is the plates' own partial-volume edge (at 2.4 mm the
    # test took sinus voxels under the inner table of the independent phantom)
    if reach < 2 or idx.size == 0:
        return gap
    # voxels farther than the longest run from the grid's border need no bounds checks
    coords = np.unravel_index(idx, shape)
    inner = np.ones(idx.size, bool)
    for ax in range(3):
        inner &= (coords[ax] >= reach) & (coords[ax] < shape[ax] - reach)
    del coords
    for sel, check in ((np.flatnonzero(inner), False), (np.flatnonzero(~inner), True)):
        if sel.size:
            gap[sel] = _gap_runs(idx[sel], bone, steps, check)
    return gap


def _gap_runs(idx: np.ndarray, bone: np.ndarray, steps: list[int], check: bool) -> np.ndarray:
    """``_gap_voxels`` for the voxels ``idx``, at most ``steps[i]`` voxels per side along
    ``_DIRECTIONS[i]``; ``check``: test each look-up against the grid's border."""
    shape = bone.shape
    flat = bone.reshape(-1)
    strides = (shape[1] * shape[2], shape[2], 1)
    coords = np.unravel_index(idx, shape) if check else None
    gap = np.zeros(idx.size, bool)
    for d, n in zip(_DIRECTIONS, steps, strict=True):
        if n < 1:
            continue
        off = sum(di * st for di, st in zip(d, strides, strict=True))
        # first bone behind (k_back) and ahead; ahead is searched only where a bone
        # behind leaves room for a short run
        k_back = np.full(idx.size, n + 1, np.int16)
        for sign, k_max in ((-1, n), (1, n)):
            act = np.flatnonzero(k_back <= n) if sign == 1 else np.arange(idx.size)
            k_hit = np.full(act.size, n + 1, np.int16)
            limit = (n + 1 - k_back[act]) if sign == 1 else np.full(act.size, n, np.int16)
            for k in range(1, k_max + 1):
                live = np.flatnonzero((k_hit > n) & (limit >= k))
                if live.size == 0:
                    break
                v = idx[act[live]]
                if coords is not None:
                    ok = np.ones(live.size, bool)
                    for ax in range(3):
                        if d[ax]:
                            c = coords[ax][act[live]] + sign * k * d[ax]
                            ok &= (c >= 0) & (c < shape[ax])
                    live, v = live[ok], v[ok]
                hit = flat[v + sign * k * off]
                k_hit[live[hit]] = k
            if sign == -1:
                k_back = k_hit
            else:
                gap[act[k_hit <= limit]] = True
    return gap


def _face_neighbours(idx: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Flat indices of the face neighbours (inside the grid) of voxels ``idx``."""
    coords = np.unravel_index(idx, shape)
    strides = (shape[1] * shape[2], shape[2], 1)
    out = []
    for ax in range(3):
        for sign in (-1, 1):
            c = coords[ax] + sign
            out.append(idx[(c >= 0) & (c < shape[ax])] + sign * strides[ax])
    return np.concatenate(out) if out else idx[:0]


def _touches(idx: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Which voxels ``idx`` (flat indices) have a face neighbour in ``target``."""
    shape = target.shape
    flat = target.reshape(-1)
    coords = np.unravel_index(idx, shape)
    strides = (shape[1] * shape[2], shape[2], 1)
    hit = np.zeros(idx.size, bool)
    for ax in range(3):
        for sign in (-1, 1):
            c = coords[ax] + sign
            ok = np.flatnonzero((c >= 0) & (c < shape[ax]))
            hit[ok] |= flat[idx[ok] + sign * strides[ax]]
    return hit


def _split_gaps(
    cand: np.ndarray,
    cavity: np.ndarray,
    outside: np.ndarray,
    opened: np.ndarray,
    shape: tuple[int, int, int],
) -> np.ndarray:
    """Gap and dead-end voxels (``cand``, flat indices) nearer the cavity than the scalp.

    Two fronts grow through the candidates in face steps, one from the cavity, one
    from the free space that opens onto the scalp (``outside`` and the components in
    ``opened``; ``outside`` is updated in place); each voxel goes to the front that reaches it first (the scalp's on a
    tie: a suture channel is soft tissue from mid-plate out). A dead end is reached by
    the cavity's front only; a channel through the plate is cut half-way, so the cavity
    stops at the skull instead of following the suture onto the scalp. Returns the
    candidates the cavity's front reached.
    """
    cand = np.unique(cand)
    outside.reshape(-1)[opened] = True

    def unreached_neighbours(v: np.ndarray, state: np.ndarray) -> np.ndarray:
        """Positions in ``cand`` of the unreached face neighbours of voxels ``v``."""
        nbs = np.unique(_face_neighbours(v, shape))
        pos = np.minimum(np.searchsorted(cand, nbs), cand.size - 1)
        pos = pos[cand[pos] == nbs]
        return pos[state[pos] == 0]

    # state per candidate: 0 unreached, 1 cavity, 2 scalp
    state = np.zeros(cand.size, np.uint8)
    s_pos = np.flatnonzero(_touches(cand, outside))
    state[s_pos] = 2
    c_pos = np.flatnonzero(_touches(cand, cavity) & (state == 0))
    state[c_pos] = 1
    while s_pos.size or c_pos.size:
        s_pos = unreached_neighbours(cand[s_pos], state)
        state[s_pos] = 2
        c_pos = unreached_neighbours(cand[c_pos], state)
        state[c_pos] = 1
    out: np.ndarray = cand[state == 1]
    return out
