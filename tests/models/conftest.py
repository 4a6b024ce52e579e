"""Analytic shapes on anisotropic, flipped and oblique grids for the model tests."""

from __future__ import annotations

import numpy as np

from twinsep.volume import Volume, apply_affine


def rotation(axis: tuple[float, float, float], angle_deg: float) -> np.ndarray:
    a = np.asarray(axis, dtype=np.float64)
    a /= np.linalg.norm(a)
    t = np.deg2rad(angle_deg)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * k @ k


def make_affine(spacing_mm: tuple[float, float, float], kind: str) -> np.ndarray:
    """``kind``: ``ras`` (axis aligned), ``flipped`` (LAI-like, det < 0), ``oblique``."""
    aff = np.eye(4)
    s = np.diag(spacing_mm)
    if kind == "ras":
        aff[:3, :3] = s
    elif kind == "flipped":
        aff[:3, :3] = np.diag([-1.0, 1.0, -1.0]) @ s
    elif kind == "oblique":
        aff[:3, :3] = rotation((1.0, 2.0, 0.5), 23.0) @ np.diag([1.0, -1.0, 1.0]) @ s
    else:
        raise ValueError(kind)
    aff[:3, 3] = [-31.0, 17.5, 4.25]
    return aff


def sphere(
    shape: tuple[int, int, int], affine: np.ndarray, centre_ijk: np.ndarray, radius_mm: float
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean ball of ``radius_mm`` around the world point of ``centre_ijk``; returns
    (mask, centre_mm)."""
    idx = np.indices(shape).reshape(3, -1).T
    world = apply_affine(affine, idx)
    c = apply_affine(affine, centre_ijk)
    mask = (np.linalg.norm(world - c, axis=1) <= radius_mm).reshape(shape)
    return mask, c


def two_heads(
    spacing_mm: tuple[float, float, float] = (1.5, 1.5, 1.5), kind: str = "flipped", n: int = 72
) -> tuple[Volume, Volume]:
    """Two balls of radius 30 mm whose centres are 36 mm apart along i (a neck of
    radius 25 mm); skin shell, bone, brain, a vessel crossing. Twin A: i < n/2."""
    aff = make_affine(spacing_mm, kind)
    shape = (n, int(n * 0.8), int(n * 0.8))
    ctr = np.array(shape, dtype=np.float64) / 2
    off = 18.0 / spacing_mm[0]
    idx = np.indices(shape).reshape(3, -1).T
    world = apply_affine(aff, idx)
    c1 = apply_affine(aff, ctr - [off, 0, 0])
    c2 = apply_affine(aff, ctr + [off, 0, 0])
    d1 = np.linalg.norm(world - c1, axis=1).reshape(shape)
    d2 = np.linalg.norm(world - c2, axis=1).reshape(shape)
    labels = np.zeros(shape, np.uint8)
    labels[(d1 < 30) | (d2 < 30)] = 1
    labels[(d1 < 26) | (d2 < 26)] = 2
    labels[(d1 < 22) | (d2 < 22)] = 3
    ii = np.indices(shape)
    tube = ((ii[1] - ctr[1]) ** 2 + (ii[2] - ctr[2] - 4) ** 2) <= 4
    labels[tube & (labels > 0)] = 5
    twins = np.where(labels > 0, np.where(ii[0] < n // 2, 1, 2), 0).astype(np.uint8)
    return Volume(labels, aff), Volume(twins, aff)
