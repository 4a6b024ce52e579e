"""The cutting-guide strip: a shell on the scalp along the skin line of the separation.

The skin line is the doll's seam: where its skin (the zero level of the smoothed head
field) meets its cut (the zero level of the smoothed twin A - twin B field). The strip
is the region outside the heads at most ``thickness_mm`` above the skin whose foot
point on the skin lies at most ``width_mm / 2`` from that line. It is extracted as the
zero level of one continuous field,

    F = min(s, thickness_mm - s, width_mm / 2 - d),

sampled on a grid of ``thickness_mm / 2`` in the strip's box, where ``s`` is the height
above the skin (Newton steps along the head field's gradient onto its zero level) and
``d`` the distance from the foot point to the seam.

A strip thinner than the grid cannot be drawn as voxels: the one-voxel shell of the
voxels touching the skin across a face, which the guide was before, falls apart into
pieces joined only at edges (104 pieces for two joined 30 mm balls on a 1.5 mm grid;
25-32 pieces, the largest 16-18 % of the strip and some of one voxel, on the
real-anatomy and real-CT demos). On a grid step of at most ``thickness_mm / sqrt(3)``
every grid line across a locally flat shell of that thickness has a node inside it,
so the nodes inside form one face-connected layer and the strip is one piece.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt
from scipy import ndimage
from scipy.spatial import cKDTree

from twinsep.models.surface import decimate, drop_small_pieces, iso_surface_index
from twinsep.volume import apply_affine

logger = logging.getLogger(__name__)

__all__ = ["guide_strip"]

#: Newton steps onto the skin; the head field is a blurred step, whose slope falls
#: away from the skin, so one linearised step overestimates the height (a 2 mm strip
#: came out 1.3-1.5 mm thick); five bring it within 0.2 mm of the doll's skin.
_NEWTON_STEPS = 5


def _at(values: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Trilinear interpolation of ``values`` at index points ``pts`` (3, N)."""
    return ndimage.map_coordinates(values, pts, order=1, mode="nearest")


def _seam_points(head: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Index points (N, 3) of the seam: the zero crossings of ``side`` along the edges
    of the marching-cubes surface of ``head`` (its zero level)."""
    padded = np.full(tuple(k + 2 for k in head.shape), -1.0)
    padded[1:-1, 1:-1, 1:-1] = head
    v, f = iso_surface_index(padded, 0.0)
    if f.shape[0] == 0:
        return np.zeros((0, 3))
    v = v - 1.0
    hv = _at(side, v.T)
    # only the faces the seam crosses (a few thousand of the skin's faces)
    pos = hv[f] > 0
    f = f[pos.any(axis=1) & ~pos.all(axis=1)]
    edges = np.unique(
        np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1), axis=0
    )
    h0, h1 = hv[edges[:, 0]], hv[edges[:, 1]]
    cross = (h0 > 0) != (h1 > 0)
    e, a, b = edges[cross], h0[cross], h1[cross]
    t = (a / np.where(a - b == 0, 1.0, a - b))[:, None]
    return v[e[:, 0]] + t * (v[e[:, 1]] - v[e[:, 0]])


def _foot_and_height(
    head: np.ndarray, affine: np.ndarray, nodes: np.ndarray, *, max_step_mm: float
) -> tuple[np.ndarray, np.ndarray]:
    """Foot points on the zero level of ``head`` (index coordinates, (3, N)) and the
    height of ``nodes`` above it, mm (negative inside; infinite where the field is flat,
    far from the skin)."""
    lin = affine[:3, :3]
    inv = np.linalg.inv(lin)
    g_idx = np.gradient(head)
    # world gradient = inv(lin).T @ index gradient
    g_world = [sum(inv[c, r] * g_idx[c] for c in range(3)) for r in range(3)]
    del g_idx
    g0 = _at(head, nodes)
    q = nodes.copy()
    for _ in range(_NEWTON_STEPS):
        grad = np.stack([_at(g, q) for g in g_world])
        norm2 = np.einsum("ij,ij->j", grad, grad)
        move = np.where(norm2 > 1e-18, -_at(head, q) / np.maximum(norm2, 1e-18), 0.0) * grad
        length = np.sqrt(np.einsum("ij,ij->j", move, move))
        move *= np.minimum(1.0, max_step_mm / np.maximum(length, 1e-12))
        q += inv @ move
    step = lin @ (q - nodes)
    height = np.sqrt(np.einsum("ij,ij->j", step, step))
    height = np.where(g0 > 0, -height, height)
    flat = np.abs(_at(head, q)) > 1e-3  # not on the skin after the steps
    return q, np.where(flat, np.where(g0 > 0, -np.inf, np.inf), height)


def guide_strip(
    head_field: npt.NDArray[np.floating],
    side_field: npt.NDArray[np.floating],
    affine: npt.ArrayLike,
    *,
    width_mm: float,
    thickness_mm: float,
    face_budget: int = 0,
    extractor: str = "vtk",
) -> tuple[np.ndarray, np.ndarray]:
    """Closed, outward-wound surface of the cutting-guide strip, world mm.

    Parameters
    ----------
    head_field : (I, J, K) float ndarray
        Smoothed head field, positive inside the heads, zero on the skin (the doll's
        ``g - 0.5``); not modified.
    side_field : (I, J, K) float ndarray
        Smoothed twin A - twin B field, zero on the cut (the doll's ``h``); not
        modified.
    affine : (4, 4) array_like
        Voxel-to-world RAS mm of the fields' grid (any orientation).
    width_mm : float
        Width of the strip on the skin, across the skin line, mm.
    thickness_mm : float
        Thickness of the strip above the skin, mm.
    face_budget : int
        Decimate to about this many faces (0: no decimation).
    extractor : {"vtk", "skimage"}
        Iso-surface library for the strip.

    Returns
    -------
    vertices : (N, 3) float64 world RAS mm
    faces : (M, 3) int64, outward normals; both empty when the cut does not reach the
        skin.
    """
    aff = np.asarray(affine, dtype=np.float64)
    head = np.asarray(head_field, dtype=np.float64)
    side = np.asarray(side_field, dtype=np.float64)
    empty = (np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64))
    seam = _seam_points(head, side)
    if len(seam) == 0:
        return empty
    sp = np.linalg.norm(aff[:3, :3], axis=0)
    half = 0.5 * width_mm
    reach = float(sp.max())
    # the strip's box: the seam's, grown by the half width, the thickness and a voxel
    grow = (half + thickness_mm + reach) / sp
    lo = np.maximum(seam.min(axis=0) - grow, 0.0)
    hi = np.minimum(seam.max(axis=0) + grow, np.asarray(head.shape) - 1.0)
    step_mm = min(0.5 * thickness_mm, float(sp.min()))
    steps = step_mm / sp  # grid step in index units of the fields, per axis
    n = np.floor((hi - lo) / steps).astype(int) + 1
    axes = [lo[i] + steps[i] * np.arange(n[i]) for i in range(3)]
    nodes = np.stack(np.meshgrid(*axes, indexing="ij")).reshape(3, -1)
    # the height on the box's crop (the head field's gradient is three arrays of its size),
    # with room for the Newton steps (each at most the largest voxel edge)
    room = np.ceil(_NEWTON_STEPS * reach / sp).astype(int) + 1
    c_lo = np.maximum(np.floor(lo).astype(int) - room, 0)
    c_hi = np.minimum(np.ceil(hi).astype(int) + room + 1, np.asarray(head.shape))
    crop = tuple(slice(int(a), int(b)) for a, b in zip(c_lo, c_hi, strict=True))
    origin = c_lo.astype(np.float64)[:, None]
    foot, s = _foot_and_height(head[crop], aff, nodes - origin, max_step_mm=reach)
    foot += origin
    d = np.full(s.shape, np.inf)
    layer = (s > -step_mm) & (s < thickness_mm + step_mm)  # the nodes that matter
    tree = cKDTree(apply_affine(aff, seam))
    d[layer] = tree.query(apply_affine(aff, foot[:, layer].T))[0]
    field = np.minimum(np.minimum(s, thickness_mm - s), half - d).reshape(tuple(n))
    padded = np.full(tuple(int(k) + 2 for k in n), -1.0)
    # no infinity on an interpolated edge
    padded[1:-1, 1:-1, 1:-1] = np.maximum(field, -1.0 - thickness_mm)
    v_idx, faces = iso_surface_index(padded, 0.0, extractor=extractor)
    if faces.shape[0] == 0:
        return empty
    verts = apply_affine(aff, (v_idx - 1.0) * steps + lo)
    if np.linalg.det(aff[:3, :3]) < 0:
        faces = faces[:, ::-1].copy()  # a mirroring affine turns the winding inside out
    # pieces smaller than a cube of the strip's thickness are specks, not a guide
    verts, faces = drop_small_pieces(verts, faces, thickness_mm**3)
    if face_budget > 0:
        verts, faces = decimate(verts, faces, face_budget)
    logger.debug("guide strip: %d faces on a %.2f mm grid %s", faces.shape[0], step_mm, tuple(n))
    return verts, faces
