"""Shared-structure inventory: sinus, bone, brain contact and CSF across the twin boundary.

All volumes in mL from voxel counts times the voxel volume (|det affine|); all areas in
mm^2 from the marching-cubes interface (see :mod:`twinsep.fusion.surface`).

Brain contact and the open area are counted on each twin's own brain only
(:func:`main_brain_labels`): brain-labelled pieces that are not connected to the twin's
main brain are soft tissue between two skulls, which has the HU of brain on a plain CT.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import cc3d
import edt
import numpy as np
import numpy.typing as npt
from scipy import ndimage

from twinsep.fusion.axes import TwinFrame
from twinsep.fusion.params import EDT_THREADS, FusionParams
from twinsep.fusion.surface import (
    InterfaceMesh,
    affine_points,
    contact_mask,
    contact_mask_26,
    interface_mesh,
)
from twinsep.labels import BONE, BRAIN, CSF, SOFT_TISSUE, TWIN_A, TWIN_B, VESSEL
from twinsep.segment.morph import label_components
from twinsep.volume import Volume

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SinusCrossing:
    """One place where a shared vessel passes from twin A into twin B.

    Attributes
    ----------
    position_mm : (x, y, z)
        World centroid of the crossing, mm.
    area_mm2 : float
        Area of the vessel's section on the twin boundary, mm^2.
    """

    position_mm: tuple[float, float, float]
    area_mm2: float


@dataclass(frozen=True)
class SharedInventory:
    """What the twins share, with units.

    Attributes
    ----------
    shared_sinus : bool
        A significant dural venous sinus crosses the twin boundary.
    sinus_ml : float
        Volume of the shared vessel components, mL (both twins' parts).
    sinus_kind : str
        ``"circular"``, ``"superior_sagittal"`` (shared/helical sagittal) or
        ``"separate"`` (no shared sinus).
    sinus_coverage_deg : float
        Azimuth around the bridge axis covered by the shared sinus, deg.
    sinus_crossings : list of SinusCrossing
        Where it crosses the boundary.
    sinus_seeds_mm : list of (x, y, z)
        One voxel centre (world mm) in each vessel component counted as the shared
        sinus (26-connected vessel label), so that a later stage can find the sinus's
        own voxels on the same labels (``separate.crossings.sinus_share_ml``); empty
        without a shared sinus.
    shared_bone_ml : float
        Bone within ``bone_band_mm`` of the boundary, in bone pieces that span both
        twins (``bone_span_min_share``), inside both twins' fitted heads or inside
        neither (:func:`shared_bone_mask`).
    brain_contact_area_mm2 : float
        Boundary area where only a layer of at most ``brain_contact_gap_mm`` (or one
        voxel), without bone, separates the brains of the two twins, counted in patches
        of at least ``brain_contact_min_mm2``, mm^2 (:func:`brain_contact_faces` on
        :func:`main_brain_labels`: each twin's main brain piece only).
    brain_shared : bool
        ``brain_contact_area_mm2`` >= ``brain_shared_min_mm2``.
    csf_contact_area_mm2 : float
        Boundary area with CSF on both sides, mm^2.
    csf_communication : bool
        CSF spaces of the twins touch across the boundary.
    open_area_mm2 : float
        Boundary area with intracranial tissue (main brain, CSF or vessel) on both sides,
        mm^2 (:func:`open_area_mm2` on :func:`main_brain_labels`): where the two cranial
        cavities communicate without bone.
    sinus_unresolved : bool
        No shared sinus was seen, but a vessel with sinus-sized parts in both twins
        crosses the boundary through a section narrower than ``sinus_min_cross_faces``
        voxel faces: a shared sinus cannot be told from two sinuses touching across the
        dura at this voxel size (the completeness is then inferred from the cavities).
    notes : list of str
        Located findings in plain words (for ``plan.json`` ``shared.notes``).
    """

    shared_sinus: bool
    sinus_ml: float
    sinus_kind: str
    sinus_coverage_deg: float
    sinus_crossings: list[SinusCrossing] = field(default_factory=list)
    sinus_seeds_mm: list[tuple[float, float, float]] = field(default_factory=list)
    shared_bone_ml: float = 0.0
    brain_contact_area_mm2: float = 0.0
    brain_shared: bool = False
    csf_contact_area_mm2: float = 0.0
    csf_communication: bool = False
    open_area_mm2: float = 0.0
    sinus_unresolved: bool = False
    notes: list[str] = field(default_factory=list)


def _extent(mask: np.ndarray, margin: npt.ArrayLike = 0) -> tuple[slice, slice, slice] | None:
    """Bounding box (slices) of a mask's true voxels grown by ``margin`` voxels per axis.

    Uses axis projections (no list of voxel indices); None when the mask is empty.
    """
    pad = np.broadcast_to(np.asarray(margin, dtype=np.int64), (3,))
    box = []
    for ax in range(3):
        hit = np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != ax)))
        if hit.size == 0:
            return None
        lo = max(int(hit[0]) - int(pad[ax]), 0)
        hi = min(int(hit[-1]) + 1 + int(pad[ax]), mask.shape[ax])
        box.append(slice(lo, hi))
    return (box[0], box[1], box[2])


def _component_boxes(
    comps: np.ndarray, margin: int
) -> tuple[np.ndarray, list[tuple[slice, slice, slice] | None]]:
    """Voxel count and bounding box (grown by ``margin``, clipped) of every label of
    ``comps``, from one ``cc3d.statistics`` pass.

    Equal to ``count_nonzero(comps == c)`` and ``_extent(comps == c, margin)`` for each
    label ``c`` (tested), which cost one pass over the whole array per label (issue 10).
    Index ``c`` of both results is label ``c``; an absent label has count 0 and box None.
    """
    stats = cc3d.statistics(comps)
    counts = np.asarray(stats["voxel_counts"], dtype=np.int64)
    boxes: list[tuple[slice, slice, slice] | None] = []
    for c, bb in enumerate(stats["bounding_boxes"]):
        if bb is None or c >= counts.size or counts[c] == 0:
            boxes.append(None)
            continue
        lo = [max(int(b.start) - margin, 0) for b in bb]
        hi = [min(int(b.stop) + margin, n) for b, n in zip(bb, comps.shape, strict=True)]
        boxes.append((slice(lo[0], hi[0]), slice(lo[1], hi[1]), slice(lo[2], hi[2])))
    return counts, boxes


def _sub_volume(vol: Volume, array: np.ndarray, box: tuple[slice, ...]) -> Volume:
    """``array`` (a crop of ``vol``'s grid at ``box``) as a Volume with the shifted affine."""
    lo = np.array([s.start for s in box], dtype=np.float64)
    aff = vol.affine.copy()
    aff[:3, 3] = vol.affine[:3, :3] @ lo + vol.affine[:3, 3]
    return Volume(array, aff, dict(vol.meta))


def _in_world_order(
    ids: np.ndarray, boxes: list[tuple[slice, slice, slice] | None], vol: Volume
) -> list[int]:
    """Component ``ids`` sorted by the world position (x, then y, then z, to 1e-3 mm)
    of their boxes' centres on ``vol``'s grid; a box is the same voxels in any storage
    layout, its centre the same point."""

    def key(cid: int) -> tuple[float, ...]:
        box = boxes[cid]
        if box is None:
            return (np.inf, np.inf, np.inf)
        centre = np.array([[(b.start + b.stop - 1) / 2.0 for b in box]])
        return tuple(np.round(vol.world_coords(centre)[0], 3).tolist())

    return sorted((int(c) for c in ids), key=key)


def _fmt(p: np.ndarray | tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:.0f}" for v in p) + ") mm"


def _side_pair_area(mesh: InterfaceMesh, lab: np.ndarray, tissue: int) -> float:
    if mesh.faces.shape[0] == 0:
        return 0.0
    la = lab[tuple(mesh.side_a_ijk.T)]
    lb = lab[tuple(mesh.side_b_ijk.T)]
    return float(mesh.areas_mm2[(la == tissue) & (lb == tissue)].sum())


def _merge_patches(
    pos: list[np.ndarray], areas: np.ndarray, merge_mm: float
) -> list[tuple[np.ndarray, float]]:
    """Merge crossing patches closer than ``merge_mm`` (single linkage); area-weighted."""
    if len(pos) <= 1:
        return [(p, float(a)) for p, a in zip(pos, areas, strict=True)]
    from scipy.cluster.hierarchy import fcluster, linkage

    pts = np.stack(pos)
    groups = fcluster(linkage(pts, method="single"), t=merge_mm, criterion="distance")
    out = []
    for g in np.unique(groups):
        sel = groups == g
        w = areas[sel]
        centre = (pts[sel] * w[:, None]).sum(0) / w.sum() if w.sum() > 0 else pts[sel].mean(0)
        out.append((centre, float(w.sum())))
    return out


def _face_components(faces: np.ndarray, n_vertices: int) -> np.ndarray:
    """Component label of each triangle (triangles sharing a vertex are connected)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n_f = faces.shape[0]
    rows = np.repeat(np.arange(n_f), 3)
    cols = n_f + faces.ravel()
    size = n_f + n_vertices
    graph = coo_matrix((np.ones(rows.size, np.int8), (rows, cols)), shape=(size, size))
    _, comp = connected_components(graph, directed=False)
    return np.asarray(comp[:n_f])


def main_brain_labels(labels: Volume, twins: Volume) -> Volume:
    """``labels`` with brain voxels outside each twin's largest brain piece as soft tissue.

    Soft tissue between two skulls (a fibrous gap where the outer tables did not fuse)
    has the HU of brain on a plain CT and may be labelled brain; walled off by bone, it
    is not connected to the twin's brain, which a cavity shared with the other twin is.
    The brain contact and the open area are counted on this map (each twin's own brain).
    Where both skulls have a gap at the same place (sutures, the unfused ring) the
    tissue joins both brains and still counts: only the segmentation's cavity can keep
    it out (docs/separation.md, "Brain contact on plain CT").

    Parameters
    ----------
    labels, twins : Volume
        Tissue labels 0..5 and twin labels 0/1/2 on the same grid.

    Returns
    -------
    Volume
        ``labels`` itself when every twin's brain is one piece, else a relabelled copy.
    """
    lab = labels.array
    tw = twins.array
    brain = lab == BRAIN
    strays: list[tuple[tuple[slice, slice, slice], np.ndarray]] = []
    for code in (TWIN_A, TWIN_B):
        box = _extent(brain & (tw == code))
        if box is None:
            continue
        mine = brain[box] & (tw[box] == code)
        # the pieces in the twin's brain box; all but the largest are stray (one
        # labelling and cc3d's counts: cc3d.largest_k took 4x longer, np.bincount 15x,
        # on a 512x512x400 grid)
        comps, n = label_components(mine, 26)
        if n <= 1:
            continue
        sizes = np.asarray(cc3d.statistics(comps)["voxel_counts"], dtype=np.int64)
        sizes[0] = 0
        strays.append((box, mine & (comps != int(np.argmax(sizes)))))
    if not strays:
        return labels
    out = lab.copy()
    for box, stray in strays:
        out[box][stray] = SOFT_TISSUE
    return labels.with_array(out)


def open_area_mm2(labels: Volume, interface: InterfaceMesh) -> float:
    """Area (mm^2) of the twin boundary with brain, CSF or vessel on both sides.

    Where the two cranial cavities communicate without bone between them.
    """
    if interface.faces.shape[0] == 0:
        return 0.0
    lab = labels.array
    la = lab[tuple(interface.side_a_ijk.T)]
    lb = lab[tuple(interface.side_b_ijk.T)]
    intra_a = (la == BRAIN) | (la == CSF) | (la == VESSEL)
    intra_b = (lb == BRAIN) | (lb == CSF) | (lb == VESSEL)
    return float(interface.areas_mm2[intra_a & intra_b].sum())


def _own_brain_contact(
    labels: Volume, twins: Volume, interface: InterfaceMesh, params: FusionParams
) -> tuple[np.ndarray, float]:
    """Brain-contact faces and open area (mm^2), both on :func:`main_brain_labels`."""
    own = main_brain_labels(labels, twins)
    faces = brain_contact_faces(
        own,
        twins,
        interface,
        gap_mm=params.brain_contact_gap_mm,
        min_patch_mm2=params.brain_contact_min_mm2,
        layer_vx=params.brain_contact_layer_vx,
    )
    return faces, open_area_mm2(own, interface)


def brain_contact_faces(
    labels: Volume,
    twins: Volume,
    mesh: InterfaceMesh,
    *,
    gap_mm: float,
    min_patch_mm2: float,
    layer_vx: float = 1.5,
) -> np.ndarray:
    """Boundary triangles where the two twins' brains are in contact (bool per face).

    A triangle is in contact when the layer between twin A's brain and twin B's brain
    across it is at most ``max(gap_mm, layer_vx voxels)`` thick (sum of the two distances
    to the nearest brain voxel centres minus one voxel), no bone lies closer to it than
    the farther brain, each brain lies straight across (along the triangle's normal),
    and its connected patch of such triangles is at least
    ``min_patch_mm2`` (mm^2).
    """
    n_f = mesh.faces.shape[0]
    if n_f == 0:
        return np.zeros(0, bool)
    lab = labels.array
    tw = twins.array
    spacing = np.asarray(labels.spacing_mm)
    vox = float(spacing.max())
    limit = max(gap_mm, layer_vx * vox)
    cent_mm = mesh.centroids_mm  # a property that recomputes: take it once
    to_voxel = np.linalg.inv(labels.affine)
    cent = affine_points(to_voxel, cent_mm)
    margin = np.ceil((limit + 2 * vox) / spacing).astype(int) + 2
    lo = np.maximum(np.floor(cent.min(axis=0)).astype(int) - margin, 0)
    hi = np.minimum(np.ceil(cent.max(axis=0)).astype(int) + margin + 1, lab.shape)
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    brain_a = (lab[box] == BRAIN) & (tw[box] == TWIN_A)
    brain_b = (lab[box] == BRAIN) & (tw[box] == TWIN_B)
    near = []
    for m in (brain_a, brain_b, lab[box] == BONE):
        if not m.any():
            near.append(np.full(n_f, np.inf))
            continue
        d = edt.edt(~m, anisotropy=tuple(spacing), black_border=False, parallel=EDT_THREADS)
        near.append(ndimage.map_coordinates(d, (cent - lo).T, order=1, mode="nearest"))
    d_a, d_b, d_bone = near
    # the sum counts one voxel too many when the brains touch directly (voxel centres)
    thickness = d_a + d_b - vox
    # bone nearer than the farther brain lies in the layer: separate skulls
    contact = (thickness <= limit + 1e-6) & (d_bone >= np.maximum(d_a, d_b))
    # Each brain must lie straight across (along the triangle's normal, within the
    # layer limit plus a voxel): near the rim of a contact both brains are close but
    # beside the triangle, not across it.
    tri = mesh.vertices_mm[mesh.faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    to_a = labels.world_coords(mesh.side_a_ijk.astype(np.float64)) - cent_mm
    normal *= np.where((normal * to_a).sum(axis=1) < 0, -1.0, 1.0)[:, None]
    steps = np.linspace(0.25 * vox, limit + vox, 8)
    for sign, mask in ((1.0, brain_a), (-1.0, brain_b)):
        found = np.zeros(n_f, bool)
        for h in steps:
            pts = affine_points(to_voxel, cent_mm + sign * h * normal) - lo
            found |= ndimage.map_coordinates(mask, pts.T, order=0, mode="constant") > 0
        contact &= found
    if not contact.any():
        return contact
    comp = _face_components(mesh.faces, mesh.vertices_mm.shape[0])
    patch = np.where(contact, comp, -1)
    ids, inv = np.unique(patch[contact], return_inverse=True)
    area = np.bincount(inv, weights=mesh.areas_mm2[contact], minlength=ids.size)
    keep = ids[area >= min_patch_mm2]
    return contact & np.isin(patch, keep)


#: Grid (mm) on which the scalp points of the ellipsoid head fit are taken: every
#: ``floor(FIT_GRID_MM / spacing)``-th voxel along each axis (scans at 1 mm or coarser
#: are used as they are). An infant vault (radius 50-70 mm) still gives tens of
#: thousands of points for the fit's 6 unknowns, and the 12 mm scalp band is 12 grid
#: steps wide. The full grid also weighted the fit by voxel shape (more surface voxels
#: per mm^2 on faces normal to the finest axes); the ~1 mm grid is nearly isotropic.
#: On the 512x512x400 benchmark (vertical-II, 0.31-0.75 mm voxels, truth 5.6 mL) the
#: shared bone went from 41.0 to 31.7 mL (total vertical forms read high, see
#: docs/separation.md) while the fit's distance transform ran on 6x fewer voxels
#: (issue #10).
FIT_GRID_MM: float = 1.0


def _lstsq_on_plane(design: np.ndarray, target: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Least squares ``design @ coef ~ target`` subject to ``row @ coef == 0``.

    Solved in the null space of ``row`` (an orthonormal basis from its SVD).
    """
    _, _, vt = np.linalg.svd(row[None, :])
    null = vt[1:].T
    sol, *_ = np.linalg.lstsq(design @ null, target, rcond=None)
    return np.asarray(null @ sol)


def _fit_bounded(design: np.ndarray) -> np.ndarray:
    """Quadric coefficients (6,) of :func:`fit_head` for one set of points.

    The ellipsoid's semi-axes are ``sqrt(k / coef[i])`` with one ``k``, so the long
    (vertex) semi-axis is no longer than the face or right one when ``coef[0] >=
    coef[1]`` or ``coef[0] >= coef[2]``. When the plain least squares breaks both, the
    bound holds as an equality at the optimum (a convex problem whose free optimum lies
    outside): the better of the two fits with ``coef[0] == coef[1]`` and
    ``coef[0] == coef[2]`` is kept.
    """
    target = np.ones(design.shape[0])
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    if coef[0] >= min(coef[1], coef[2]):
        return np.asarray(coef)
    best: np.ndarray | None = None
    best_ss = np.inf
    for other in (1, 2):
        row = np.zeros(6)
        row[0], row[other] = 1.0, -1.0
        cand = _lstsq_on_plane(design, target, row)
        ss = float(np.sum((design @ cand - target) ** 2))
        if ss < best_ss:
            best, best_ss = cand, ss
    assert best is not None
    return best


def fit_head(
    points_mm: np.ndarray, frame: TwinFrame, *, trim_keep: float = 0.7
) -> tuple[np.ndarray, np.ndarray] | None:
    """Ellipsoid with axes along a twin's frame fitted to scalp points (least squares).

    Solves ``a x^2 + b y^2 + c z^2 + d x + e y + f z = 1`` in the frame (long axis,
    face, right) centred on the brain; 6 unknowns stay well posed on the part of the
    vault that a fusion leaves intact, where a general 9-parameter quadric does not.
    The long (vertex) semi-axis is bounded by the longer of the face and right
    semi-axes: a head is no higher, from its centre, than it is long or wide. Where a
    fusion hides the vertex (a vertex-to-vertex union leaves scalp points only up to
    20 mm above the brain centre) nothing else holds the top of the ellipsoid: 3 % of
    points on the neck drew the plain fit's long axis out to 99-104 mm for a true
    62 mm, deep into the other head (docs/separation.md, "Shared bone of total
    vertical forms"). With the neck kept out of the points (:func:`shared_bone_mask`)
    the bound is a guard: it acted on none of the phantom rows measured there.

    Returns
    -------
    (basis, coef) or None
        ``basis`` (4, 3): frame origin then the three unit axes; ``coef`` (6,): the
        quadric. None if the fit is not an ellipsoid.
    """
    e1 = frame.axis / np.linalg.norm(frame.axis)
    e2 = frame.face_dir - np.dot(frame.face_dir, e1) * e1
    if np.linalg.norm(e2) < 1e-6:
        e2 = np.cross(e1, np.eye(3)[int(np.argmin(np.abs(e1)))])
    e2 = e2 / np.linalg.norm(e2)
    e3 = np.cross(e1, e2)
    basis = np.stack([frame.brain_centre_mm, e1, e2, e3])
    loc = (points_mm - basis[0]) @ basis[1:].T
    design = np.hstack([loc**2, loc])
    keep = np.ones(loc.shape[0], bool)
    for _ in range(4):
        coef = _fit_bounded(design[keep])
        if np.any(coef[:3] <= 0):
            return None
        # Trimmed refit: points farthest from the surface (skull base, neck root,
        # brow) leave; the vault, which an ellipsoid fits, stays.
        resid = np.abs(design @ coef - 1.0)
        keep = resid <= np.quantile(resid, trim_keep)
    centre = -coef[3:] / (2.0 * coef[:3])
    if 1.0 + float(np.sum(coef[:3] * centre**2)) <= 0:
        return None
    return basis, coef


def _inside_head(points_mm: np.ndarray, basis: np.ndarray, coef: np.ndarray) -> np.ndarray:
    # plain arithmetic instead of BLAS products (see surface.affine_points)
    loc = np.einsum("ij,nj->ni", basis[1:], points_mm - basis[0])
    value = np.einsum("nj,j->n", loc**2, coef[:3]) + np.einsum("nj,j->n", loc, coef[3:])
    return np.asarray(value <= 1.0)


def shared_bone_mask(
    labels: Volume,
    twins: Volume,
    interface: InterfaceMesh,
    frames: dict[str, TwinFrame],
    *,
    params: FusionParams = FusionParams(),
    exclude: np.ndarray | None = None,
) -> tuple[np.ndarray | None, str]:
    """Bone of the fused calvarium that belongs to neither twin's intact skull.

    Each twin's intact head is an ellipsoid (:func:`fit_head`) fitted to its scalp
    surface over the cranium (body surface within ``scalp_skull_mm`` of its brain/CSF
    and not lower, along its long axis, than ``scalp_skull_mm`` under the bottom of
    its brain: not the face, jaw, ears or neck) away from the bridge (farther than
    ``bridge_exclusion_mm`` from the twin boundary).
    Shared bone = bone voxels within ``bone_band_mm`` of the twin boundary, in a
    face-connected piece of that bone of which each twin holds at least
    ``bone_span_min_share`` (bone the separation must cut), that lie inside both fitted
    heads (their overlap) or inside neither (the bridge's waist).

    ``exclude`` (bool, the label grid; optional): voxels that are not the twins'
    anatomy, the scalp tissue expanders already in place and the scalp over them
    (:func:`twinsep.segment.implants.expander_cover_mask`). Their surface is left out
    of the fit points: a balloon lifts the scalp off the skull, and the lifted scalp
    within ``scalp_skull_mm`` of the brain (the dome's rim, a small or flat expander)
    drew the fitted heads out (docs/separation.md, "Shared bone under scalp
    expanders").

    Returns
    -------
    (mask or None, reason)
        The bool mask on the label grid, or None with the reason in plain words; an
        empty mask with a reason when no piece of bone crosses the twin boundary.
    """
    from scipy.spatial import cKDTree

    lab = labels.array
    tw = twins.array
    if interface.faces.shape[0] == 0:
        return None, "the twins share no boundary"
    side_a = tw == TWIN_A
    side_b = tw == TWIN_B
    # distances to the boundary from the centres of its voxel faces, not from the
    # interface mesh: marching cubes triangulates the same voxels differently per axis
    # order, which moved scalp points across bridge_exclusion_mm and the shared bone
    # of a flipped copy of one scan by 1 % (tests/test_layout_invariance.py)
    tree = cKDTree(boundary_face_points_mm(side_a, side_b, labels.affine))
    spacing = np.asarray(labels.spacing_mm)
    fits = {}
    # the scalp points of the fit are taken on a grid of about FIT_GRID_MM (every
    # step-th voxel per axis): the distance transform and erosion then run on a few
    # million voxels instead of tens of millions on a sub-millimetre scan
    step = tuple(max(1, int(np.floor(FIT_GRID_MM / sp + 1e-9))) for sp in spacing)
    coarse = tuple(slice(None, None, k) for k in step)
    spacing_c = spacing * np.asarray(step)
    tw_c = tw[coarse]
    lab_c = lab[coarse]
    for name, code in (("A", TWIN_A), ("B", TWIN_B)):
        mine = tw_c == code
        inner = mine & ((lab_c == BRAIN) | (lab_c == CSF))
        # scalp over the cranium: body surface within scalp_skull_mm of the twin's
        # brain/CSF (face, jaw, ears and neck lie farther out)
        reach = np.ceil((params.scalp_skull_mm + 1.0) / spacing_c).astype(int) + 1
        hbox = _extent(inner, reach)
        if hbox is None:
            return None, f"twin {name} has no labelled brain or CSF"
        blo = np.array([s.start for s in hbox])
        d_in = edt.edt(
            ~inner[hbox], anisotropy=tuple(spacing_c), black_border=False, parallel=EDT_THREADS
        )
        del inner
        surface = mine[hbox] & ~ndimage.binary_erosion(tw_c[hbox] > 0, border_value=0)
        surface &= d_in <= params.scalp_skull_mm
        del d_in
        if exclude is not None:
            surface &= ~exclude[coarse][hbox]
        idx = (np.argwhere(surface) + blo) * np.asarray(step)
        if idx.shape[0] > 400_000:
            idx = idx[:: idx.shape[0] // 400_000 + 1]
        pts = affine_points(labels.affine, idx)
        f = frames[name]
        far, _ = tree.query(pts, distance_upper_bound=params.bridge_exclusion_mm)
        keep = ~np.isfinite(far)
        # Not lower along the long axis than the bottom of the twin's brain by more
        # than the scalp and skull: below lies the neck, whose surface the CSF of the
        # spinal canal brings within scalp_skull_mm (the neck's cut surface on the
        # phantoms' truth labels: 3 % of the points, 105 mm below the brain centre,
        # which drew the long axis of a hidden vertex out to 99-104 mm). The bottom is
        # that of the brain's bulk, deeper than scalp_skull_mm inside it, lowered by
        # as much: a spinal cord labelled brain down the neck is thinner.
        brain = mine[hbox] & (lab_c[hbox] == BRAIN)
        depth = edt.edt(
            brain, anisotropy=tuple(spacing_c), black_border=False, parallel=EDT_THREADS
        )
        bulk = np.argwhere(depth > params.scalp_skull_mm)
        del brain, depth
        if bulk.shape[0]:
            axis_ijk = (labels.affine[:3, :3].T @ f.axis) * np.asarray(step)
            lowest = float(np.min((bulk + blo).astype(np.float64) @ axis_ijk))
            lowest += float(labels.affine[:3, 3] @ f.axis)
            keep &= pts @ f.axis >= lowest - 2.0 * params.scalp_skull_mm
        use = pts[keep]
        if use.shape[0] < params.head_fit_min_points:
            return None, (
                f"twin {name} shows only {use.shape[0]} scalp points over its cranium away "
                "from the bridge (too little intact head to fit)"
            )
        fit = fit_head(use, f)
        if fit is None:
            return None, f"twin {name}'s vault does not fit an ellipsoid"
        fits[name] = fit
    boundary = contact_mask(side_a, side_b)
    boundary |= contact_mask(side_b, side_a)
    del side_a, side_b
    margin = np.ceil(params.bone_band_mm / spacing).astype(int) + 1
    box = _extent(boundary, margin)
    if box is None:
        return None, "the twins share no boundary"
    lo = np.array([s.start for s in box])
    near = edt.edt(
        ~boundary[box], anisotropy=tuple(spacing), black_border=False, parallel=EDT_THREADS
    )
    del boundary
    cand = lab[box] == BONE
    cand &= near <= params.bone_band_mm
    # Only bone that the separation must cut can be shared: a face-connected piece of
    # the band's bone of which each twin holds at least ``bone_span_min_share``. Two
    # skulls that face each other across scalp (a vertex union whose skulls stay apart,
    # as Colin27's real-vertical: the fitted heads' overlap held 115 mL of the twins'
    # own vaults), or touch only where a few voxels went to the other twin, share none.
    pieces, n_pieces = label_components(cand, 6)
    tw_box = tw[box]
    in_a = np.bincount(pieces[cand & (tw_box == TWIN_A)], minlength=n_pieces + 1)
    in_b = np.bincount(pieces[cand & (tw_box == TWIN_B)], minlength=n_pieces + 1)
    spans = np.minimum(in_a, in_b) >= params.bone_span_min_share * (in_a + in_b)
    spans &= np.minimum(in_a, in_b) > 0
    cand &= spans[pieces]
    del pieces, tw_box
    if not cand.any():
        return np.zeros(lab.shape, bool), "no piece of bone crosses the twin boundary"
    cidx = np.argwhere(cand)
    pts = affine_points(labels.affine, cidx + lo)
    in_a = _inside_head(pts, *fits["A"])
    in_b = _inside_head(pts, *fits["B"])
    shared = in_a == in_b
    out = np.zeros(lab.shape, bool)
    sel = cidx[shared] + lo
    out[tuple(sel.T)] = True
    return out, ""


def azimuth_coverage_deg(
    points_mm: np.ndarray, centre_mm: np.ndarray, axis: np.ndarray, *, bin_deg: float = 10.0
) -> float:
    """Azimuth (deg) around an axis covered by points, in bins of ``bin_deg``.

    The bins start at the azimuth of the point that ends the widest empty arc (a
    direction of the points themselves): counted from a world axis, the same points
    stored under a turned affine could fill one bin more or less.
    """
    if points_mm.shape[0] == 0:
        return 0.0
    axis = axis / np.linalg.norm(axis)
    helper = np.eye(3)[int(np.argmin(np.abs(axis)))]
    e1 = np.cross(axis, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(axis, e1)
    rel = points_mm - centre_mm
    phi = np.degrees(np.arctan2(rel @ e2, rel @ e1)) % 360.0
    ordered = np.sort(phi)
    gaps = np.diff(np.concatenate([ordered, ordered[:1] + 360.0]))
    widest = int(np.argmax(gaps))
    start = float(ordered[(widest + 1) % len(ordered)])
    phi = (phi - start) % 360.0
    # nothing lies in the widest gap before the start: only the start's own rounding
    phi[phi >= 360.0 - 0.5 * float(gaps[widest])] = 0.0
    n_bins = int(round(360.0 / bin_deg))
    occupied = np.unique(np.floor(phi / bin_deg).astype(int) % n_bins)
    return float(occupied.size * bin_deg)


@dataclass(frozen=True)
class _SinusPart:
    """Vessels that cross the twin boundary (part of :class:`SharedInventory`)."""

    shared: bool
    sinus_ml: float
    kind: str
    coverage_deg: float
    crossings: list[SinusCrossing]
    notes: list[str]
    unresolved: bool = False
    """Narrow crossings and no shared sinus: undecided by the vessel label alone."""
    narrow: bool = False
    """Some sinus-sized crossing was narrow (decided, or not counted, by the face rule)."""
    seeds_mm: tuple[tuple[float, float, float], ...] = ()
    """One voxel centre (world mm) in each shared sinus component."""


def boundary_face_count(a: np.ndarray, b: np.ndarray) -> int:
    """Number of voxel faces between two disjoint masks (6-neighbour pairs, a in b)."""
    n = 0
    for ax in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[ax] = slice(0, -1)
        hi[ax] = slice(1, None)
        n += int(np.count_nonzero(a[tuple(lo)] & b[tuple(hi)]))
        n += int(np.count_nonzero(b[tuple(lo)] & a[tuple(hi)]))
    return n


def boundary_face_points_mm(a: np.ndarray, b: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """World centres (mm) of the voxel faces between two disjoint masks.

    Parameters
    ----------
    a, b : (I, J, K) bool ndarray
        Disjoint masks on one grid.
    affine : (4, 4) ndarray
        Voxel-to-world affine of the grid.

    Returns
    -------
    (N, 3) float ndarray
        One point per 6-neighbour pair of an ``a`` and a ``b`` voxel, halfway between
        their centres, in a fixed order of axis then scan order; the same set of
        world points for any storage layout of the same voxels.
    """
    ea, eb = _extent(a), _extent(b)
    if ea is None or eb is None:
        return np.zeros((0, 3))
    # only where the two masks' boxes, one voxel wider, overlap can they touch
    box = tuple(
        slice(max(sa.start, sb.start, 1) - 1, min(sa.stop, sb.stop, n - 1) + 1)
        for sa, sb, n in zip(ea, eb, a.shape, strict=True)
    )
    if any(sl.stop - sl.start < 2 for sl in box):
        return np.zeros((0, 3))
    start = np.array([sl.start for sl in box], dtype=np.float64)
    ab, bb = a[box], b[box]
    half: list[np.ndarray] = []
    for ax in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[ax] = slice(0, -1)
        hi[ax] = slice(1, None)
        pairs = (ab[tuple(lo)] & bb[tuple(hi)]) | (bb[tuple(lo)] & ab[tuple(hi)])
        idx = np.argwhere(pairs).astype(np.float64) + start
        idx[:, ax] += 0.5
        half.append(idx)
    ijk = np.concatenate(half)
    return np.asarray(ijk @ np.asarray(affine, dtype=np.float64)[:3, :3].T + affine[:3, 3])


def _shared_sinus(
    labels: Volume,
    twins: Volume,
    interface: InterfaceMesh,
    bridge_centroid_mm: np.ndarray,
    bridge_axis: np.ndarray,
    params: FusionParams,
) -> _SinusPart:
    """Shared venous sinuses: vessel components with a significant part in each twin.

    A component is a shared sinus when at least ``sinus_min_side_ml`` of it lies in each
    twin and its section on the twin boundary is at least ``sinus_min_cross_mm2`` and
    ``sinus_min_cross_faces`` voxel faces. A component with that much in each twin but a
    narrower section is an unresolved crossing (``_SinusPart.unresolved``): about one
    voxel across, as where partial volume links two separate sinuses through a suture
    or the dura; :func:`_judge_narrow` decides it from the cranial cavities. So is a
    component whose twin A and twin B voxels touch only along voxel edges or corners
    (no face, 0 mm^2 of section: a lumen one voxel across that steps diagonally over
    the boundary), the narrowest crossing of all.
    """
    lab = labels.array
    tw = twins.array
    vox_ml = labels.voxel_volume_mm3 / 1000.0
    notes: list[str] = []
    # -- vessels spanning both twins ----------------------------------------------------
    # everything runs in the bounding box of the vessel label (cc3d numbers components
    # in scan order, which a crop keeps)
    vbox = _extent(lab == VESSEL)
    if vbox is None:  # no vessel: a one-voxel box without any
        vbox = (slice(0, 1), slice(0, 1), slice(0, 1))
    vessel = lab[vbox] == VESSEL
    tw_v = tw[vbox]
    sub = _sub_volume(labels, vessel, vbox)
    comps, n_found = label_components(vessel, 26)
    n_comp = int(n_found) + 1
    in_a = tw_v == TWIN_A
    # per-component counts from the vessel voxels only (component 0 is not vessel)
    comp_v = comps[vessel]
    tw_vv = tw_v[vessel]
    count_a = np.bincount(comp_v[tw_vv == TWIN_A], minlength=n_comp)
    count_b = np.bincount(comp_v[tw_vv == TWIN_B], minlength=n_comp)
    del comp_v, tw_vv
    candidates = np.nonzero((count_a > 0) & (count_b > 0))[0]
    crossings: list[SinusCrossing] = []
    sinus_ids: list[int] = []
    seeds_mm: list[tuple[float, float, float]] = []
    unresolved = False
    vox_mm = float(max(labels.spacing_mm))
    # each candidate is measured in its own bounding box, grown by more than the
    # margin interface_mesh adds around the contact (so its smoothing sees the same
    # voxels as on the whole box); counts and boxes of all components in one pass
    mesh_margin = int(np.ceil(3 * params.smooth_sigma_vx)) + 4
    comp_vx, comp_box = _component_boxes(comps, mesh_margin) if candidates.size else (None, [])
    # components in world order (their boxes' centres), not in the array's raster
    # order: the notes and crossings read the same whichever way the scan was stored
    for cid in _in_world_order(candidates, comp_box, sub):
        if cid == 0:
            continue
        vol_a, vol_b = count_a[cid] * vox_ml, count_b[cid] * vox_ml
        cbox = comp_box[cid]
        if cbox is None:  # cannot happen: the component has voxels in both twins
            continue
        comp = comps[cbox] == cid
        csub = _sub_volume(sub, comp, cbox)
        va = comp & in_a[cbox]
        vb = comp & (tw_v[cbox] == TWIN_B)
        mesh = interface_mesh(va, vb, csub.affine, smooth_sigma_vx=params.smooth_sigma_vx)
        cross = mesh.area_mm2
        n_faces = boundary_face_count(va, vb)
        # where the component passes from A into B: the A voxels with a face neighbour
        # in B or, with no face between them, an edge or corner neighbour (the
        # 26-connected component crosses there, through a section of 0 faces)
        touching = contact_mask(va, vb) if n_faces else contact_mask_26(va, vb)
        # sinus-sized on both sides; significant when its section is wide enough too
        sized = min(vol_a, vol_b) >= params.sinus_min_side_ml
        significant = (
            sized
            and cross >= params.sinus_min_cross_mm2
            and n_faces >= params.sinus_min_cross_faces
        )
        logger.debug(
            "vessel component %d: %.3f mL in A, %.3f mL in B, crossing %.1f mm2 "
            "(%d voxel faces) -> %s",
            cid,
            vol_a,
            vol_b,
            cross,
            n_faces,
            significant,
        )
        if sized and not significant:
            unresolved = True
            section = (
                f"a section {n_faces} voxel face{'s' if n_faces != 1 else ''} across "
                f"({cross:.0f} mm²)"
                if n_faces
                else "voxels that touch along an edge or a corner (no voxel face, 0 mm²)"
            )
            near = touching | (contact_mask(vb, va) if n_faces else contact_mask_26(vb, va))
            notes.append(
                f"a vessel ({vol_a:.2f} mL in twin A, {vol_b:.2f} mL in twin B) crosses the "
                f"twin boundary near {_fmt(csub.centroid_mm(near))} "
                f"only through {section} at {vox_mm:.1f} mm voxels: a shared sinus cannot "
                "be told from two sinuses touching across the dura at this voxel size; not "
                "counted as a shared sinus"
            )
            continue
        if not significant:
            if cross > 0:
                notes.append(
                    f"small vessel crossing the twin boundary ({cross:.0f} mm²) near "
                    f"{_fmt(csub.centroid_mm(contact_mask(va, vb)))}: not counted as a "
                    "shared sinus"
                )
            continue
        sinus_ids.append(int(cid))
        # a voxel of the component: the later stages find the sinus's voxels from it
        first = np.unravel_index(int(np.flatnonzero(comp)[0]), comp.shape)
        seed = csub.world_coords(np.asarray([first], dtype=np.float64))[0]
        seeds_mm.append((float(seed[0]), float(seed[1]), float(seed[2])))
        patches, n_patches = label_components(touching, 26)
        pos = [csub.centroid_mm(patches == p) for p in range(1, n_patches + 1)]
        if pos and mesh.faces.shape[0]:
            cent = mesh.centroids_mm
            dist = np.stack([np.linalg.norm(cent - p, axis=1) for p in pos], axis=1)
            owner = np.argmin(dist, axis=1)
            areas: np.ndarray = np.bincount(owner, weights=mesh.areas_mm2, minlength=len(pos))
        else:
            areas = np.zeros(len(pos))
        merged = _merge_patches(pos, areas, params.crossing_merge_mm)
        for p, a in sorted(merged, key=lambda pa: tuple(np.round(pa[0], 3).tolist())):
            crossings.append(
                SinusCrossing(
                    position_mm=(float(p[0]), float(p[1]), float(p[2])), area_mm2=float(a)
                )
            )
    shared = bool(sinus_ids)
    if shared:
        assert comp_vx is not None  # sinus_ids come from the candidates
        sinus_ml = float(sum(int(comp_vx[sid]) for sid in sinus_ids) * vox_ml)
        # Circular: one sinus that goes round the bridge axis near the junction. Two
        # helical sagittal sinuses may cover all azimuths together but not each alone.
        r_eq = float(np.sqrt(interface.area_mm2 / np.pi))
        slab_mm = max(0.25 * r_eq, 2.0 * max(labels.spacing_mm))
        coverage = 0.0
        for sid in sinus_ids:
            # the component's voxels in raster order, found inside its own box
            sbox = comp_box[sid]
            assert sbox is not None
            cidx = np.argwhere(comps[sbox] == sid) + [b.start for b in sbox]
            cpts = sub.world_coords(cidx[:: max(1, cidx.shape[0] // 100_000)])
            near = np.abs((cpts - bridge_centroid_mm) @ bridge_axis) <= slab_mm
            coverage = max(
                coverage, azimuth_coverage_deg(cpts[near], bridge_centroid_mm, bridge_axis)
            )
        circular = coverage >= params.circular_coverage_deg
        kind = "circular" if circular else "superior_sagittal"
        where = "; ".join(_fmt(c.position_mm) for c in crossings)
        notes.append(
            f"shared {kind.replace('_', ' ')} sinus, {sinus_ml:.1f} mL, covering "
            f"{coverage:.0f}° around the bridge axis, crossing the twin boundary at {where}"
        )
    else:
        sinus_ml, coverage, kind = 0.0, 0.0, "separate"
    del comps, vessel, tw_v
    return _SinusPart(
        shared,
        sinus_ml,
        kind,
        coverage,
        crossings,
        notes,
        unresolved and not shared,
        unresolved,
        tuple(seeds_mm),
    )


def cavity_reading(contact_share: float, open_share: float, params: FusionParams) -> str:
    """What the brain contact and open area (shares of the bridge) say of the cavities.

    ``"one"`` (one cranial cavity: brain contact from ``inferred_total_contact_min``),
    ``"separate"`` (bone walls the cavities apart: contact below
    ``inferred_partial_contact_max`` and open share below ``inferred_partial_open_max``)
    or ``"between"``. The one rule behind the plain-CT completeness call
    (:func:`twinsep.fusion.completeness.call_completeness`) and the narrow sinus
    crossings (:func:`_judge_narrow`).
    """
    if contact_share >= params.inferred_total_contact_min:
        return "one"
    if (
        contact_share < params.inferred_partial_contact_max
        and open_share < params.inferred_partial_open_max
    ):
        return "separate"
    return "between"


def _judge_narrow(
    strict: _SinusPart,
    brain_contact_mm2: float,
    open_mm2: float,
    bridge_mm2: float,
    rerun: Callable[[FusionParams], _SinusPart],
    params: FusionParams,
) -> _SinusPart:
    """Decide narrow sinus crossings (``strict.narrow``) from the cranial cavities.

    A sinus runs in the dura of the cranial cavity, so only twins that share one cavity
    can share a sinus. Where the brains are in contact over at least
    ``inferred_total_contact_min`` of the bridge (one cavity), the narrow crossings are
    the shared sinus (``rerun`` without the face rule); where both the contact and the
    open share are below the partial limits (bone walls the cavities apart), they are
    two sinuses touching across the dura; in between they stay unresolved. The limits
    are those of :func:`twinsep.fusion.completeness.call_completeness` without contrast.
    """
    area = max(bridge_mm2, 1e-9)
    contact, opened = brain_contact_mm2 / area, open_mm2 / area
    cue = (
        f"the brains are in contact over {100 * contact:.0f} % of the bridge and the "
        f"cavities communicate without bone over {100 * opened:.0f} %"
    )
    reading = cavity_reading(contact, opened, params)
    if reading == "one":
        loose = rerun(replace(params, sinus_min_cross_faces=0, sinus_min_cross_mm2=0.0))
        note = (
            f"the narrow sinus crossing is taken as the shared sinus: {cue} (one cranial "
            "cavity, in which the sinuses are shared)"
        )
        return replace(loose, notes=[*loose.notes, note], unresolved=False, narrow=False)
    if strict.shared:
        # a wide crossing was seen: the narrow ones stay out, as noted
        return strict
    if reading == "separate":
        note = (
            f"the narrow vessel crossing is taken as two sinuses touching, not a shared "
            f"sinus: {cue} (bone walls the two cranial cavities apart)"
        )
        return replace(strict, notes=[*strict.notes, note], unresolved=False)
    return strict


def shared_inventory(
    labels: Volume,
    twins: Volume,
    interface: InterfaceMesh,
    bridge_centroid_mm: np.ndarray,
    bridge_axis: np.ndarray,
    *,
    frames: dict[str, TwinFrame] | None = None,
    params: FusionParams = FusionParams(),
    exclude: np.ndarray | None = None,
) -> SharedInventory:
    """Inventory of the structures that cross the twin boundary.

    Parameters
    ----------
    labels, twins : Volume
        Tissue labels 0..5 and twin labels 0/1/2 on the same grid.
    interface : InterfaceMesh
        Boundary between twin A and twin B (from :func:`interface_mesh`).
    bridge_centroid_mm, bridge_axis : (3,) ndarray
        Centroid (mm) and unit normal of the bridge (used to describe the sinus shape).
    frames : dict, optional
        ``{"A": TwinFrame, "B": TwinFrame}``; needed for the shared bone (0 without).
    params : FusionParams
    exclude : ndarray of bool, optional
        Scalp expanders and the scalp over them (same grid): left out of the shared
        bone's head fits (:func:`shared_bone_mask`).

    Returns
    -------
    SharedInventory
    """
    lab = labels.array
    vox_ml = labels.voxel_volume_mm3 / 1000.0
    notes: list[str] = []

    # The three parts read the same inputs and write nothing shared: the shared bone
    # and the brain contact run in two worker threads while the sinuses are traced
    # here (numpy, edt and scipy release the GIL in their loops). Each part is
    # deterministic, and the notes are put together in a fixed order.
    with ThreadPoolExecutor(max_workers=2) as pool:
        bone_job = (
            pool.submit(
                shared_bone_mask, labels, twins, interface, frames, params=params, exclude=exclude
            )
            if frames is not None
            else None
        )
        contact_job = pool.submit(_own_brain_contact, labels, twins, interface, params)
        sinus = _shared_sinus(labels, twins, interface, bridge_centroid_mm, bridge_axis, params)
        bone = bone_job.result() if bone_job is not None else None
        brain_faces, open_mm2 = contact_job.result()
    brain_area = float(interface.areas_mm2[brain_faces].sum()) if brain_faces.size else 0.0
    if sinus.narrow:
        sinus = _judge_narrow(
            sinus,
            brain_area,
            open_mm2,
            interface.area_mm2,
            lambda p: _shared_sinus(labels, twins, interface, bridge_centroid_mm, bridge_axis, p),
            params,
        )
    shared, sinus_ml, kind, coverage, crossings = (
        sinus.shared,
        sinus.sinus_ml,
        sinus.kind,
        sinus.coverage_deg,
        sinus.crossings,
    )
    notes.extend(sinus.notes)

    # -- bone ----------------------------------------------------------------------------
    shared_bone_ml = 0.0
    if bone is not None:
        bone_mask, why = bone
        if bone_mask is None:
            notes.append(f"shared bone not measured: {why}")
        elif why:
            notes.append(f"no shared calvarial bone: {why} (each twin's skull is its own)")
        else:
            shared_bone_ml = float(np.count_nonzero(bone_mask) * vox_ml)
            if shared_bone_ml > 0:
                notes.append(
                    f"shared calvarial bone (in the bridge, outside both twins' fitted "
                    f"heads or inside both): {shared_bone_ml:.1f} mL"
                )

    # -- brain and CSF contact -------------------------------------------------------------
    csf_area = _side_pair_area(interface, lab, CSF)
    brain_shared = brain_area >= params.brain_shared_min_mm2
    if brain_area > 0:
        notes.append(
            f"brains of the two twins in contact (at most a thin dural layer between) over {brain_area:.0f} mm²"
            + (" (shared brain tissue)" if brain_shared else "")
        )
    if csf_area > 0:
        notes.append(f"CSF spaces communicate across the twin boundary over {csf_area:.0f} mm²")
    return SharedInventory(
        shared_sinus=shared,
        sinus_ml=sinus_ml,
        sinus_kind=kind,
        sinus_coverage_deg=coverage,
        sinus_crossings=crossings,
        sinus_seeds_mm=list(sinus.seeds_mm),
        shared_bone_ml=shared_bone_ml,
        brain_contact_area_mm2=brain_area,
        brain_shared=bool(brain_shared),
        csf_contact_area_mm2=csf_area,
        csf_communication=csf_area > 0,
        open_area_mm2=open_mm2,
        sinus_unresolved=sinus.unresolved,
        notes=notes,
    )
