"""The :class:`Volume` type: a voxel array with its affine to world millimetres.

Conventions (written down once, used everywhere):

* arrays are indexed ``[i, j, k]`` in the file's voxel order; no code assumes that
  an array axis is "up" or "left";
* the affine maps ``(i, j, k, 1)`` to world ``(x, y, z, 1)`` in millimetres in the
  **RAS+** convention of NIfTI: +x toward the patient's Right, +y Anterior,
  +z Superior;
* DICOM / ITK LPS coordinates are converted on load by negating x and y.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

#: Matrix that converts LPS world coordinates to RAS (and back: it is its own inverse).
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def apply_affine(affine: npt.ArrayLike, points_ijk: npt.ArrayLike) -> np.ndarray:
    """Map voxel indices to world millimetres.

    Parameters
    ----------
    affine : (4, 4) array_like
        Voxel-to-world matrix.
    points_ijk : (..., 3) array_like
        Voxel coordinates (may be fractional).

    Returns
    -------
    (..., 3) ndarray of float64
        World coordinates in mm.
    """
    a = np.asarray(affine, dtype=np.float64)
    p = np.asarray(points_ijk, dtype=np.float64)
    return p @ a[:3, :3].T + a[:3, 3]


def world_to_voxel(affine: npt.ArrayLike, points_mm: npt.ArrayLike) -> np.ndarray:
    """Map world millimetres to (fractional) voxel indices; inverse of :func:`apply_affine`."""
    inv = np.linalg.inv(np.asarray(affine, dtype=np.float64))
    return apply_affine(inv, points_mm)


def spacing_from_affine(affine: npt.ArrayLike) -> tuple[float, float, float]:
    """Voxel size along i, j, k in mm: the column norms of the affine's 3x3 part; for an
    oblique affine, to float32 precision (the nearest float32, 6e-8 relative or better).

    A NIfTI sform holds float32: an oblique affine stored there has column norms a few
    1e-8 off its pixdim and off each other, and that made a cubic grid anisotropic by
    those few 1e-8, enough to break exact ties (the segmentation's, the min-cut's)
    another way than on the same voxels stored square to the world axes
    (docs/orientation.md, "Whole plan in 16 storages"). The nearest float32 of each
    norm is the stored spacing again whenever the storage moved it by under half a
    float32 step (1.2e-7 mm at 3 mm; measured 4e-8). A norm within 1e-9 of a float32 is
    that float32 too (a NIfTI's pixdim printed to 15 digits in a DICOM series). An
    affine square to the world axes otherwise keeps its exact norms: rounding 2.4 mm to
    float32 moved exact multiples of the spacing across a radius (bench_independent's
    Dice by up to 0.001).
    """
    a = np.asarray(affine, dtype=np.float64)[:3, :3]
    s = np.linalg.norm(a, axis=0)
    s32 = s.astype(np.float32).astype(np.float64)
    oblique = np.count_nonzero(a) > 3  # its norms carry the storage's rounding
    s = np.where(oblique | (np.abs(s32 - s) <= 1e-9 * s), s32, s)
    return (float(s[0]), float(s[1]), float(s[2]))


def orientation_code(affine: npt.ArrayLike) -> str:
    """Three-letter RAS orientation code of the voxel axes, e.g. ``"LAS"`` or ``"RAS"``.

    Each letter names the world direction toward which the voxel axis points most.
    """
    a = np.asarray(affine, dtype=np.float64)[:3, :3]
    letters = (("L", "R"), ("P", "A"), ("I", "S"))
    out = []
    for col in range(3):
        v = a[:, col]
        ax = int(np.argmax(np.abs(v)))
        out.append(letters[ax][1] if v[ax] > 0 else letters[ax][0])
    return "".join(out)


@dataclass(frozen=True, eq=False)
class Volume:
    """A 3D voxel array with its voxel-to-world (RAS, mm) affine.

    Parameters
    ----------
    array : (I, J, K) ndarray
        Voxel values (HU for CT, arbitrary units for MR, small integers for labels).
    affine : (4, 4) ndarray
        Maps voxel ``(i, j, k)`` to world RAS millimetres.
    meta : dict
        Non-identifying facts about the source (modality, series description...).
        Never holds patient names or IDs unless the user asked to keep them.
    """

    array: np.ndarray
    affine: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.array.ndim != 3:
            raise ValueError(f"Volume array must be 3D, got shape {self.array.shape}")
        aff = np.asarray(self.affine, dtype=np.float64)
        if aff.shape != (4, 4):
            raise ValueError(f"Volume affine must be 4x4, got {aff.shape}")
        object.__setattr__(self, "affine", aff)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape ``(I, J, K)``."""
        s = self.array.shape
        return (int(s[0]), int(s[1]), int(s[2]))

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        """Voxel size along i, j, k in mm."""
        return spacing_from_affine(self.affine)

    @property
    def origin_mm(self) -> tuple[float, float, float]:
        """World position (RAS mm) of the centre of voxel (0, 0, 0)."""
        o = self.affine[:3, 3]
        return (float(o[0]), float(o[1]), float(o[2]))

    @property
    def direction(self) -> np.ndarray:
        """3x3 matrix of unit column vectors: world direction of each voxel axis."""
        return self.affine[:3, :3] / np.asarray(self.spacing_mm)

    @property
    def voxel_volume_mm3(self) -> float:
        """Volume of one voxel in mm^3 (absolute determinant of the 3x3 part)."""
        return float(abs(np.linalg.det(self.affine[:3, :3])))

    @property
    def orientation(self) -> str:
        """Three-letter orientation code (see :func:`orientation_code`)."""
        return orientation_code(self.affine)

    def with_array(self, array: np.ndarray, **meta: Any) -> Volume:
        """A new Volume on the same grid holding ``array`` (same shape required)."""
        if array.shape != self.array.shape:
            raise ValueError(f"shape {array.shape} differs from grid {self.array.shape}")
        return Volume(array, self.affine.copy(), {**self.meta, **meta})

    def world_coords(self, index: npt.ArrayLike) -> np.ndarray:
        """World mm of voxel indices (see :func:`apply_affine`)."""
        return apply_affine(self.affine, index)

    def centroid_mm(self, mask: np.ndarray) -> np.ndarray:
        """World centroid (mm) of the voxels where ``mask`` is true.

        Raises
        ------
        ValueError
            If the mask is empty.
        """
        m = np.asarray(mask, dtype=bool)
        # exact integer index sums from axis profiles inside the mask's bounding box
        # (no (N, 3) list of voxel indices: large masks cost a few passes over the box)
        box = []
        for ax in range(3):
            hit = np.flatnonzero(m.any(axis=tuple(a for a in range(3) if a != ax)))
            if hit.size == 0:
                raise ValueError("cannot take the centroid of an empty mask")
            box.append(slice(int(hit[0]), int(hit[-1]) + 1))
        sub = m[tuple(box)]
        col = sub.sum(axis=2, dtype=np.int64)
        n = float(col.sum())
        prof_k = sub.sum(axis=(0, 1), dtype=np.int64)
        ijk = np.array(
            [
                box[0].start + float(col.sum(axis=1) @ np.arange(col.shape[0])) / n,
                box[1].start + float(col.sum(axis=0) @ np.arange(col.shape[1])) / n,
                box[2].start + float(prof_k @ np.arange(prof_k.size)) / n,
            ]
        )
        return self.world_coords(ijk)

    def same_grid(self, other: Volume, *, atol: float = 1e-4) -> bool:
        """True when ``other`` has the same shape and affine (to ``atol`` mm)."""
        return self.shape == other.shape and bool(np.allclose(self.affine, other.affine, atol=atol))
