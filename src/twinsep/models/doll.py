"""The conjoined doll: the joined heads as one model split into two snap-together parts.

The two parts are complementary level sets of smoothed indicator fields on one grid:

* ``g`` = smoothed head indicator (skin at ``g = 0.5``),
* ``h`` = smoothed (twin A indicator - twin B indicator) (cut where ``h = 0``),
* part A = ``{g > 0.5 and h > 0}``, part B = ``{g > 0.5 and h < 0}``.

Marching cubes interpolates the same ``h`` on the same edges for both parts, so they
share the cut surface exactly and do not overlap. Alignment pins (cylinders) across the
cut are added to part A and subtracted, with clearance, from part B (manifold3d
booleans). A cutting-guide strip is a shell on the scalp along the skin line of the
separation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from twinsep.errors import AnatomyError, InputError
from twinsep.labels import TWIN_A, TWIN_B, shade
from twinsep.layout import to_canonical
from twinsep.models.guide import guide_strip
from twinsep.models.params import DollParams, MeshParams
from twinsep.models.surface import (
    Mesh,
    block_fraction,
    bounding_box,
    coarsening_factors,
    drop_small_pieces,
    iso_surface_index,
)
from twinsep.models.thickness import _edt_mm
from twinsep.segment.morph import fill_holes
from twinsep.volume import Volume, apply_affine

logger = logging.getLogger(__name__)

__all__ = ["Pin", "Doll", "make_doll", "to_manifold", "from_manifold"]


@dataclass(frozen=True)
class Pin:
    """One alignment pin.

    Parameters
    ----------
    centre_mm : (x, y, z)
        Where the pin crosses the separation surface, world RAS mm.
    axis : (x, y, z)
        Unit vector from part A into part B (the pin sticks out of A into B's hole).
    depth_mm : float
        Depth of the centre under the skin, mm.
    """

    centre_mm: tuple[float, float, float]
    axis: tuple[float, float, float]
    depth_mm: float


@dataclass(frozen=True, eq=False)
class Doll:
    """The split doll.

    Parameters
    ----------
    part_a, part_b : Mesh
        Twin A's part (with pins) and twin B's part (with holes), world mm.
    joined : Mesh
        The joined heads as one model (same grid and smoothing as the parts).
    guide : Mesh or None
        Cutting-guide strip on the scalp along the skin line of the separation.
    pins : list of Pin
    overlap_ml : float
        Volume of part A intersected with part B (0 for parts that fit), mL.
    after_stage : list of Mesh
        One model per separation stage but the last: the joined heads as they are after
        that stage (``doll/after_stage<N>``), with an open slot where this and the
        earlier stages divided the bridge; for rehearsing staged operations months
        apart. After the last stage the heads are the two parts. Empty without a cut.
    """

    part_a: Mesh
    part_b: Mesh
    joined: Mesh
    guide: Mesh | None
    pins: list[Pin]
    overlap_ml: float
    after_stage: list[Mesh] = field(default_factory=list)


def to_manifold(mesh: Mesh):  # noqa: ANN201 - manifold3d is imported lazily
    """A ``manifold3d.Manifold`` from a closed mesh.

    Raises
    ------
    ValueError
        If the mesh is not a closed 2-manifold (manifold3d's status is not ``NoError``).
    """
    import manifold3d

    m = manifold3d.Manifold(
        manifold3d.Mesh(
            vert_properties=np.ascontiguousarray(mesh.vertices, dtype=np.float32),
            tri_verts=np.ascontiguousarray(mesh.faces, dtype=np.uint32),
        )
    )
    status = m.status()
    if str(status).split(".")[-1] != "NoError":
        raise ValueError(f"mesh {mesh.name!r} is not a closed manifold ({status})")
    return m


def from_manifold(m, like: Mesh) -> Mesh:  # noqa: ANN001
    """Back to a :class:`Mesh` with ``like``'s name and colour."""
    out = m.to_mesh()
    v = np.asarray(out.vert_properties, dtype=np.float64)[:, :3]
    f = np.asarray(out.tri_verts, dtype=np.int64)
    return like.with_geometry(v, f)


def _cylinder(centre: np.ndarray, axis: np.ndarray, radius: float, length: float):  # noqa: ANN202
    import manifold3d

    cyl = manifold3d.Manifold.cylinder(length, radius, radius, 48, True)
    z = np.array([0.0, 0.0, 1.0])
    a = axis / np.linalg.norm(axis)
    v = np.cross(z, a)
    s = np.linalg.norm(v)
    c = float(np.dot(z, a))
    if s < 1e-9:
        rot = np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    else:
        vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
        rot = np.eye(3) + vx + vx @ vx * ((1 - c) / s**2)
    mat = np.hstack([rot, centre.reshape(3, 1)])
    return cyl.transform(mat.astype(np.float32))


def _fps(points: np.ndarray, first: int, n: int, min_dist: float) -> list[int]:
    """Farthest-point sampling: up to ``n`` indices starting at ``first``, no two
    closer than ``min_dist``. ``n <= 0`` or no points gives no indices."""
    if n <= 0 or len(points) == 0:
        return []
    chosen = [first]
    d = np.linalg.norm(points - points[first], axis=1)
    while len(chosen) < min(n, len(points)):
        nxt = int(np.argmax(d))
        if d[nxt] < min_dist:
            break
        chosen.append(nxt)
        d = np.minimum(d, np.linalg.norm(points - points[nxt], axis=1))
    return chosen


def make_doll(
    labels: Volume,
    twins: Volume,
    *,
    colours: dict[str, str],
    params: DollParams = DollParams(),
    mesh_params: MeshParams = MeshParams(),
    with_guide: bool = True,
    cut: Volume | None = None,
) -> Doll:
    """Build the split conjoined doll from the tissue labels and twin ownership.

    Parameters
    ----------
    labels, twins : Volume
        Tissue labels (0..5) and twins (0..2) on the same grid (not modified).
    colours : dict
        ``{"A": "#RRGGBB", "B": "#RRGGBB"}``.
    params : DollParams
        Pins, clearance, strip and face budget.
    mesh_params : MeshParams
        Extractor used for the parts.
    with_guide : bool
        Also build the cutting-guide strip.
    cut : Volume, optional
        Stage number on the cut voxels (``separation.nii.gz``, same grid): adds one model
        per stage but the last (:attr:`Doll.after_stage`). Stages are applied in
        increasing number, the plan's order.

    Raises
    ------
    AnatomyError
        If either twin has no tissue (an ``InputError``, hence also a ``ValueError``).
    """
    if cut is not None and not cut.same_grid(labels):
        raise InputError("separation", "is not on the grid of the tissue labels")
    # built on the canonical layout (twinsep.layout, views): the coarsening blocks, the
    # triangulation and the pins' order then do not depend on how the scan was stored
    labels = to_canonical(labels, copy=False)[0]
    twins = to_canonical(twins, copy=False)[0]
    cut = None if cut is None else to_canonical(cut, copy=False)[0]
    lab = np.asarray(labels.array)
    tw = np.asarray(twins.array)
    spacing = labels.spacing_mm
    margin_mm = params.strip_thickness_mm + 3 * max(spacing)
    margin = int(np.ceil(margin_mm / min(spacing))) + 2
    box = bounding_box(lab > 0, margin)
    if box is None:
        raise AnatomyError("twins", "the doll needs tissue of both twins")
    head = lab[box] > 0
    tw_box = tw[box]
    a_ind = head & (tw_box == TWIN_A)
    b_ind = head & (tw_box == TWIN_B)
    if not a_ind.any() or not b_ind.any():
        raise AnatomyError("twins", "the doll needs tissue of both twins")
    # grid: coarsen so that each part has about the face budget
    # (boundary faces across i on every other j, k line, times 4 lines, times 3 axes)
    sub = head[:, ::2, ::2]
    n_surf = int(np.count_nonzero(sub[1:] != sub[:-1])) * 4 * 3
    f = coarsening_factors(n_surf, spacing, params.face_budget)
    a = block_fraction(a_ind, f)
    b = block_fraction(b_ind, f)
    del a_ind, b_ind, tw_box
    sig = params.smoothing_sigma_vx
    if sig > 0:
        a = ndimage.gaussian_filter(a, sig, mode="constant")
        b = ndimage.gaussian_filter(b, sig, mode="constant")
    # the twins' tissue is disjoint and together the head: g = a + b (smoothing is linear)
    g = a + b
    # air closed inside the heads is solid in the doll, as in the skin models: its
    # surface was a second, inward shell of a part (a void that traps resin; the demo
    # vertical-II's parts held 2 mL each). The missing fraction goes to the twin with
    # the larger one there, so the cut stays where it was.
    cavity = fill_holes(g > 0.5) & (g <= 0.5)
    if cavity.any():
        missing = np.where(cavity, 1.0 - g, 0.0).astype(a.dtype)
        to_a = a >= b
        a += np.where(to_a, missing, 0.0).astype(a.dtype)
        b += np.where(to_a, 0.0, missing).astype(b.dtype)
        g = a + b
    h = a - b
    gg = g - 0.5
    f_arr = np.asarray(f, dtype=np.float64)
    lo = np.array([s.start for s in box], dtype=np.float64)

    def to_world(v_idx: np.ndarray) -> np.ndarray:
        fine = (v_idx - 1.0) * f_arr + (f_arr - 1.0) / 2.0 + lo
        return apply_affine(labels.affine, fine)

    flip = np.linalg.det(labels.affine[:3, :3]) < 0

    def level_mesh(field: np.ndarray, name: str, twin: str | None, colour: str) -> Mesh:
        padded = np.full(tuple(n + 2 for n in field.shape), -1.0, dtype=field.dtype)
        padded[1:-1, 1:-1, 1:-1] = field  # np.pad(field, 1, constant_values=-1), faster
        v, fc = iso_surface_index(padded, 0.0, extractor=mesh_params.extractor)
        if flip:
            fc = fc[:, ::-1].copy()
        v, fc = drop_small_pieces(to_world(v), fc, 1000.0 * params.min_piece_ml)
        return Mesh(v, fc, name=name, twin=twin, structure="doll", colour=colour)

    part_a = level_mesh(np.minimum(gg, h), "doll/A", "A", colours["A"])
    part_b = level_mesh(np.minimum(gg, -h), "doll/B", "B", colours["B"])
    joined = level_mesh(gg, "doll/joined", None, "#BBBBBB")
    csp_grid = tuple(float(x) for x in np.asarray(spacing) * f_arr)

    after_stage: list[Mesh] = []
    if cut is not None:
        if not cut.same_grid(labels):
            raise InputError("separation", "is not on the grid of the tissue labels")
        cu = np.asarray(cut.array)[box]
        # stage numbers present, counted on the cut voxels only (a bincount of the
        # whole box converts every voxel to a 64-bit index first; issue 10)
        counts = np.bincount(cu[cu > 0], minlength=256)
        numbers = [int(n) for n in np.flatnonzero(counts) if n > 0]
        # the divided voxels grown by half the kerf plus one voxel on each side, so that
        # the slot survives the smoothing (about kerf + 2 voxels wide in the end)
        half_kerf = 0.5 * params.kerf_mm + max(csp_grid)
        done = np.zeros(gg.shape, dtype=bool)
        for number in numbers[:-1]:
            done |= block_fraction(cu == number, f) > 0
            slot = (_edt_mm(~done, csp_grid) <= half_kerf + 1e-6).astype(np.float32)  # type: ignore[arg-type]
            if sig > 0:
                slot = ndimage.gaussian_filter(slot, sig, mode="constant")
            after_stage.append(
                level_mesh(np.minimum(gg, 0.5 - slot), f"doll/after_stage{number}", None, "#BBBBBB")
            )

    # --- pins --------------------------------------------------------------------
    coarse_aff = labels.affine.copy()
    coarse_aff[:3, :3] = labels.affine[:3, :3] * f_arr
    coarse_aff[:3, 3] = apply_affine(labels.affine, lo + (f_arr - 1.0) / 2.0)
    csp = tuple(float(s) for s in np.asarray(spacing) * f_arr)
    inside = gg > 0
    depth = _edt_mm(inside, csp)  # type: ignore[arg-type]
    pos = inside & (h > 0)
    iface = pos & ~ndimage.binary_erosion(pos | ~inside, border_value=1)
    iface &= ndimage.binary_dilation(inside & (h <= 0))
    cand = np.argwhere(iface & (depth >= params.min_depth_mm))
    pins: list[Pin] = []
    m_a = to_manifold(part_a)
    m_b = to_manifold(part_b)
    if len(cand):
        pts = apply_affine(coarse_aff, cand)
        first = int(np.argmax(depth[tuple(cand.T)]))
        grads = np.gradient(h)
        inv_t = np.linalg.inv(coarse_aff[:3, :3]).T
        # holes at least one pin diameter of material apart
        spacing_mm = 4.0 * (params.pin_radius_mm + params.clearance_mm)
        for i in _fps(pts, first, params.n_pins, spacing_mm):
            ijk = tuple(cand[i])
            gvec = inv_t @ np.array([gr[ijk] for gr in grads])
            if np.linalg.norm(gvec) < 1e-9:
                continue
            gnorm = float(np.linalg.norm(gvec))
            axis = -gvec / gnorm  # h grows toward A: the pin points into B
            # move from the A-side voxel centre onto the cut (h = 0, linearised)
            centre = pts[i] + axis * float(h[ijk]) / gnorm
            pins.append(
                Pin(
                    tuple(float(x) for x in centre),  # type: ignore[arg-type]
                    tuple(float(x) for x in axis),  # type: ignore[arg-type]
                    float(depth[ijk]),
                )
            )
    for p in pins:
        c = np.asarray(p.centre_mm)
        ax = np.asarray(p.axis)
        m_a = m_a + _cylinder(c, ax, params.pin_radius_mm, params.pin_length_mm)
        m_b = m_b - _cylinder(
            c,
            ax,
            params.pin_radius_mm + params.clearance_mm,
            params.pin_length_mm + 2 * params.clearance_mm,
        )
    if not pins:
        logger.warning(
            "no place deep enough for alignment pins (min depth %.1f mm)", params.min_depth_mm
        )
    overlap_ml = float((m_a ^ m_b).volume()) / 1000.0
    part_a = from_manifold(m_a, part_a)
    part_b = from_manifold(m_b, part_b)

    guide = None
    if with_guide:
        v, fc = guide_strip(
            gg,
            h,
            coarse_aff,
            width_mm=params.strip_width_mm,
            thickness_mm=params.strip_thickness_mm,
            face_budget=params.face_budget // 2,
            extractor=mesh_params.extractor,
        )
        if fc.shape[0]:
            guide = Mesh(
                v,
                fc,
                name="doll/guide",
                twin=None,
                structure="guide",
                colour=shade("#FFFFFF", 0.85),
            )
        if guide is None:
            logger.warning("no cutting guide: the separation does not reach the skin")
    return Doll(part_a, part_b, joined, guide, pins, overlap_ml, after_stage)
