"""Fast preview level of detail: vertex clustering on a world grid.

The page draws a coarse scene first and swaps in the full level of detail when it
arrives, so the first picture does not wait for a multi-second decimation or for the
GPU to raster a million triangles. Quadric decimation (``fast-simplification``) keeps
shape better but costs seconds per million faces on a laptop core; vertex clustering
(Rossignac & Borrel 1993: every vertex moves to the mean of the vertices in its grid
cell, triangles that collapse are dropped) is a few array passes. Its error is bounded
by the cell size: every new vertex is the mean of original vertices in one cell, so it
lies within one cell diagonal of the original surface.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import numpy.typing as npt

from twinsep.errors import InputError
from twinsep.viewer.glb import GlbMesh, read_glb_meshes, write_glb_meshes

logger = logging.getLogger(__name__)

__all__ = ["cluster_mesh", "mesh_area_mm2", "preview_glb"]

#: Faces per unit (area / cell area) that vertex clustering leaves on a smooth closed
#: surface: about 1.5 occupied cells per cell-area of surface, two triangles per vertex.
_FACES_PER_CELL_AREA = 3.0
_MAX_ROUNDS = 5
_AREA_SAMPLE = 20_000


def mesh_area_mm2(vertices: npt.ArrayLike, faces: npt.ArrayLike) -> float:
    """Total triangle area (mm² when vertices are in mm)."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if f.size == 0:
        return 0.0
    cross = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    return float(0.5 * np.linalg.norm(cross, axis=1).sum())


def cluster_mesh(
    vertices: npt.ArrayLike,
    faces: npt.ArrayLike,
    cell_mm: float,
    *,
    origin_mm: npt.ArrayLike | None = None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Simplify a triangle mesh by merging the vertices of each grid cell.

    Parameters
    ----------
    vertices : (N, 3) array_like
        Positions in mm.
    faces : (M, 3) array_like of int
        Triangles.
    cell_mm : float
        Edge of the cubic grid cells in mm (> 0).
    origin_mm : (3,) array_like, optional
        A corner of the grid (default: the vertices' minimum), so that several meshes
        can share one grid.

    Returns
    -------
    vertices : (N', 3) float32 ndarray
        Mean position of the vertices of each occupied cell that a face still uses.
    faces : (M', 3) int64 ndarray
        Triangles whose three vertices fell into three different cells, each kept once
        (orientation of its first occurrence kept).
    """
    if not (math.isfinite(cell_mm) and cell_mm > 0):
        raise InputError("cell_mm", f"{cell_mm} must be a finite number > 0")
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if len(v) == 0 or f.size == 0:
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int64)
    origin = v.min(axis=0) if origin_mm is None else np.asarray(origin_mm, dtype=np.float64)
    cell = np.floor((v - origin) / cell_mm).astype(np.int64)
    cell -= cell.min(axis=0)
    dims = cell.max(axis=0) + 1
    key = (cell[:, 0] * dims[1] + cell[:, 1]) * dims[2] + cell[:, 2]
    _, inverse = np.unique(key, return_inverse=True)
    inverse = inverse.reshape(-1)
    n_cells = int(inverse.max()) + 1
    counts = np.bincount(inverse, minlength=n_cells).astype(np.float64)
    means = np.stack(
        [np.bincount(inverse, weights=v[:, d], minlength=n_cells) / counts for d in range(3)],
        axis=1,
    )
    g = inverse[f]
    keep = (g[:, 0] != g[:, 1]) & (g[:, 1] != g[:, 2]) & (g[:, 0] != g[:, 2])
    g = g[keep]
    if len(g) == 0:
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int64)
    s = np.sort(g, axis=1)
    if n_cells < 2_000_000:  # one int64 key per face: far faster than unique(axis=0)
        _, first = np.unique((s[:, 0] * n_cells + s[:, 1]) * n_cells + s[:, 2], return_index=True)
    else:
        _, first = np.unique(s, axis=0, return_index=True)
    g = g[np.sort(first)]
    used, compact = np.unique(g, return_inverse=True)
    return means[used].astype(np.float32), compact.reshape(-1, 3).astype(np.int64)


def preview_glb(
    data: bytes,
    max_faces: int,
    *,
    min_faces_per_mesh: int = 2_000,
    source: str = "scene.glb",
) -> bytes:
    """A coarse GLB of the scene within about ``max_faces`` triangles.

    All meshes share one grid, so the error (at most one cell diagonal) is the same
    everywhere. Meshes with at most ``min_faces_per_mesh`` faces, and meshes that
    clustering would reduce below that, are kept as they are (a thin vessel must not
    vanish from the preview). Node names, materials and extras are kept.

    Parameters
    ----------
    data : bytes
        A GLB file.
    max_faces : int
        Target number of triangles of the whole scene (> 0).
    min_faces_per_mesh : int
        Meshes are not reduced below this many triangles.
    source : str
        Name used in error messages.

    Returns
    -------
    bytes
        A GLB file written by :func:`twinsep.viewer.glb.write_glb_meshes` (also when
        the scene already fits: then only its layout changes).
    """
    if max_faces <= 0:
        raise InputError("max_faces", f"{max_faces} must be > 0")
    t0 = time.perf_counter()
    meshes = read_glb_meshes(data, source=source)
    small = [m for m in meshes if len(m.faces) <= min_faces_per_mesh]
    big = [m for m in meshes if len(m.faces) > min_faces_per_mesh]
    total = sum(len(m.faces) for m in meshes)
    if total <= max_faces or not big:
        return write_glb_meshes(meshes)
    budget = max(max_faces - sum(len(m.faces) for m in small), min_faces_per_mesh)
    # the cell size only needs the area roughly (the loop below corrects it): a regular
    # sample of at most 20 000 faces per mesh keeps this step cheap
    area = sum(
        mesh_area_mm2(m.vertices, m.faces[:: max(1, len(m.faces) // _AREA_SAMPLE)])
        * len(m.faces)
        / len(m.faces[:: max(1, len(m.faces) // _AREA_SAMPLE)])
        for m in big
    )
    origin = np.min([m.vertices.min(axis=0) for m in big], axis=0)
    cell = math.sqrt(_FACES_PER_CELL_AREA * max(area, 1e-9) / budget)
    result: dict[int, tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]] = {}
    for _ in range(_MAX_ROUNDS):
        result = {}
        for i, m in enumerate(big):
            cv, cf = cluster_mesh(m.vertices, m.faces, cell, origin_mm=origin)
            if len(cf) >= min_faces_per_mesh:
                result[i] = (cv, cf)
        got = sum(len(result[i][1]) if i in result else len(m.faces) for i, m in enumerate(big))
        if got <= budget:
            break
        cell *= math.sqrt(got / budget) * 1.03
    out: list[GlbMesh] = []
    big_index = {id(m): i for i, m in enumerate(big)}
    for m in meshes:
        j = big_index.get(id(m))
        if j is not None and j in result:
            cv, cf = result[j]
            out.append(GlbMesh(m.name, cv, cf, m.material, m.extras))
        else:
            out.append(m)
    faces = sum(len(m.faces) for m in out)
    logger.info(
        "scene preview: %d -> %d faces (grid %.2f mm) in %.2f s",
        total,
        faces,
        cell,
        time.perf_counter() - t0,
    )
    return write_glb_meshes(out)
