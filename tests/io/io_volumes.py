"""Builders for the io tests: small volumes with known affines.

A module of its own, not ``conftest.py``: ``from conftest import ...`` takes whichever
``conftest`` module was imported first, and ``pytest tests/schedule tests/io`` failed at
collection (``tests/schedule/conftest.py`` has no ``make_volume``).
"""

from __future__ import annotations

import numpy as np

from twinsep.volume import Volume

#: Voxel index holding a unique marker value (its world position is checked after I/O).
MARK_IJK = (3, 5, 7)
MARK_VALUE = 3000


def _rotation(axis: tuple[float, float, float], angle_deg: float) -> np.ndarray:
    a = np.asarray(axis, dtype=float)
    a /= np.linalg.norm(a)
    t = np.radians(angle_deg)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * (k @ k)


def make_affine(name: str) -> np.ndarray:
    """Named RAS affines covering the orientations real files use."""
    aff = np.eye(4)
    if name == "lps_axial":  # DICOM's usual axial stack: i -> L, j -> P, k -> S
        aff[:3, :3] = np.diag([-0.8, -0.8, 1.25])
        aff[:3, 3] = (100.2, 90.7, -50.3)
    elif name == "oblique":  # rotated about a skew axis, anisotropic voxels
        aff[:3, :3] = _rotation((1.0, 2.0, 3.0), 17.0) @ np.diag([0.6, 0.9, 2.0])
        aff[:3, 3] = (-33.3, 12.7, 80.1)
    elif name == "lsa":  # i -> L, j -> S, k -> A (the ITK Kmeans example's layout)
        aff[:3, :3] = np.array([[-2.0, 0, 0], [0, 0, 2.5], [0, 3.0, 0]])
        aff[:3, 3] = (60.0, -80.0, -40.0)
    elif name == "las_left_handed":  # FSL-style radiological NIfTI (det < 0)
        aff[:3, :3] = np.diag([-1.0, 1.1, 1.5])
        aff[:3, 3] = (90.0, -120.0, -70.0)
    else:
        raise KeyError(name)
    return aff


AFFINES = ("lps_axial", "oblique", "lsa", "las_left_handed")


def make_volume(
    affine_name: str, *, shape: tuple[int, int, int] = (20, 18, 12), seed: int = 0
) -> Volume:
    """Random CT-like int16 volume with a unique marker voxel."""
    rng = np.random.default_rng(seed)
    arr = rng.integers(-1000, 2000, size=shape).astype(np.int16)
    arr[MARK_IJK] = MARK_VALUE
    return Volume(arr, make_affine(affine_name))
