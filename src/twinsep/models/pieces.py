"""Loose pieces of a print part: which stay, which go, and what went.

A print part (one twin's bone, brain, CSF, vessels) is often several pieces: bone plates
apart at open sutures and fontanelles, vertebrae, fluid spaces apart at the scan's
resolution, vessel segments; and islands of a few voxels that a segmentation leaves
beside a structure (real-ct-angular: 31 pieces of 2-350 mm^3 beside twin A's brain).
Each piece is a loose part in the printer's tray; an imaging engineer removes the
specks before printing and keeps the anatomy.

Rule (:func:`drop_loose_pieces`): a piece is kept when it encloses at least
``PrintParams.min_piece_ml`` or at least ``PrintParams.min_piece_fraction`` of the
part's largest piece. The first keeps every piece big enough to be a bone or a fluid
space in its own right (an infant's vertebra or skull plate holds about 1 mL or more);
the second keeps the pieces of a part that is small as a whole (vessel segments of a
few mL). Pieces are faces joined through edges: a piece that meets another at one vertex
only is loose in a print. Voids (closed cavities in a piece, e.g. ventricles in the brain) stay with
their piece; a void inside a dropped piece goes with it. What was dropped (count,
volume, largest) is returned for the print report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twinsep.models.surface import keep_faces, piece_volumes

__all__ = ["DroppedPieces", "drop_loose_pieces", "points_inside"]


@dataclass(frozen=True)
class DroppedPieces:
    """Pieces left out of a print part.

    Parameters
    ----------
    count : int
        Pieces dropped (voids inside them not counted).
    volume_ml : float
        Volume of the material left out, mL: the pieces less the voids inside them.
    largest_ml : float
        Volume enclosed by the largest dropped piece (its outer shell), mL; 0 when none.
    """

    count: int = 0
    volume_ml: float = 0.0
    largest_ml: float = 0.0


def points_inside(
    points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, *, eps: float = 1e-9
) -> np.ndarray:
    """Which ``points`` lie inside the closed mesh (even-odd rule along one ray each).

    The ray's direction is fixed and irrational-looking so that it meets no edge or
    vertex of a mesh made on a grid except by accident.

    Parameters
    ----------
    points : (P, 3) float ndarray
    vertices : (N, 3) float ndarray
    faces : (M, 3) int ndarray

    Returns
    -------
    (P,) bool ndarray
    """
    direction = np.array([0.5773502691896258, 0.5934424512, 0.5607156423])
    direction /= np.linalg.norm(direction)
    tri = vertices[faces]
    e1 = tri[:, 1] - tri[:, 0]
    e2 = tri[:, 2] - tri[:, 0]
    pvec = np.cross(direction, e2)
    det = np.einsum("ij,ij->i", e1, pvec)
    ok = np.abs(det) > eps
    tri0, e1, e2, pvec, det = tri[ok, 0], e1[ok], e2[ok], pvec[ok], det[ok]
    inv = 1.0 / det
    out = np.zeros(len(points), dtype=bool)
    for i, p in enumerate(np.asarray(points, dtype=np.float64)):
        tvec = p - tri0
        u = np.einsum("ij,ij->i", tvec, pvec) * inv
        qvec = np.cross(tvec, e1)
        v = (qvec @ direction) * inv
        t = np.einsum("ij,ij->i", e2, qvec) * inv
        hits = (u >= 0) & (v >= 0) & (u + v <= 1) & (t > eps)
        out[i] = bool(np.count_nonzero(hits) % 2)
    return out


def drop_loose_pieces(
    vertices: np.ndarray,
    faces: np.ndarray,
    *,
    min_ml: float,
    min_fraction: float,
) -> tuple[np.ndarray, np.ndarray, DroppedPieces]:
    """A closed, outward-wound mesh without its loose specks.

    Parameters
    ----------
    vertices : (N, 3) float ndarray, world mm
    faces : (M, 3) int ndarray
    min_ml : float
        A piece enclosing at least this much is kept, mL (0 keeps every piece).
    min_fraction : float
        A piece enclosing at least this fraction of the largest piece is kept.

    Returns
    -------
    vertices, faces : the kept pieces (and their voids), faces re-indexed.
    dropped : DroppedPieces
    """
    if len(faces) == 0 or min_ml <= 0:
        return vertices, faces, DroppedPieces()
    piece, volume = piece_volumes(vertices, faces, by_edges=True)
    solid = volume > 0
    if not solid.any():
        return vertices, faces, DroppedPieces()
    limit = min(1000.0 * min_ml, min_fraction * float(volume[solid].max()))
    gone = solid & (volume < limit)
    if not gone.any():
        return vertices, faces, DroppedPieces()
    drop = gone.copy()
    voids = np.flatnonzero(volume < 0)
    if len(voids):
        drop |= _voids_inside(vertices, faces, piece, voids, np.flatnonzero(gone), len(volume))
    v, f = keep_faces(vertices, faces, ~drop[piece])
    dropped = DroppedPieces(
        count=int(gone.sum()),
        volume_ml=float(volume[drop].sum()) / 1000.0,  # less the voids that went with them
        largest_ml=float(volume[gone].max()) / 1000.0,
    )
    return v, f, dropped


def _voids_inside(
    vertices: np.ndarray,
    faces: np.ndarray,
    piece: np.ndarray,
    voids: np.ndarray,
    gone: np.ndarray,
    n_pieces: int,
) -> np.ndarray:
    """Mask over the pieces: the voids (of ``voids``) that lie inside a piece of
    ``gone`` (a void inside a piece lies in its bounding box; one of its vertices is
    then tested against that piece's faces)."""
    lo = np.full((n_pieces, 3), np.inf)
    hi = np.full((n_pieces, 3), -np.inf)
    tri = vertices[faces]
    np.minimum.at(lo, piece, tri.min(axis=1))
    np.maximum.at(hi, piece, tri.max(axis=1))
    out = np.zeros(n_pieces, dtype=bool)
    first_face = np.full(n_pieces, -1, dtype=np.int64)
    ids, at = np.unique(piece, return_index=True)
    first_face[ids] = at
    for vd in voids:
        holders = gone[np.all((lo[gone] <= lo[vd]) & (hi[gone] >= hi[vd]), axis=1)]
        point = vertices[faces[first_face[vd], 0]][None]
        for g in holders:
            if points_inside(point, vertices, faces[piece == g])[0]:
                out[vd] = True
                break
    return out
