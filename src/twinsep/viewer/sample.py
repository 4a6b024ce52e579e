"""A synthetic plan folder with known geometry, to try and test the viewer alone.

Two spherical "heads" (twin A and twin B) side by side along world x, each with skin,
bone and brain shells, a separation surface in the gap made of two stages (stage 1
above z = 0, stage 2 below) and two vessel crossings. Everything is defined in world
millimetres (RAS) and sampled through the affine, so any voxel order or spacing gives
the same anatomy. The truth is returned so tests can compare what the viewer shows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twinsep.io.atomic import atomic_write_bytes, atomic_write_text
from twinsep.labels import DEFAULT_COLOUR_A, DEFAULT_COLOUR_B
from twinsep.plan import SCHEMA
from twinsep.volume import apply_affine

__all__ = ["SampleTruth", "write_sample_plan"]

#: Tissue HU written into the synthetic CT (typical CT numbers).
_HU = {0: -1000, 1: 40, 2: 1000, 3: 30}


@dataclass(frozen=True)
class SampleTruth:
    """Known geometry of a sample plan (world RAS mm)."""

    centre_a_mm: tuple[float, float, float]
    centre_b_mm: tuple[float, float, float]
    radius_a_mm: float
    radius_b_mm: float
    cut_x_mm: float
    cut_half_mm: float
    crossings_mm: tuple[tuple[float, float, float], ...]
    shape: tuple[int, int, int]
    affine: tuple[tuple[float, ...], ...]


def _labels_at(xyz: np.ndarray, truth: SampleTruth) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tissue label, twin and cut-stage of world points (..., 3)."""
    lab = np.zeros(xyz.shape[:-1], dtype=np.uint8)
    twin = np.zeros_like(lab)
    for t, (c, r) in enumerate(
        ((truth.centre_a_mm, truth.radius_a_mm), (truth.centre_b_mm, truth.radius_b_mm)),
        start=1,
    ):
        d = np.linalg.norm(xyz - np.asarray(c), axis=-1)
        inside = d <= r
        lab[inside] = 1
        lab[d <= 0.87 * r] = 2
        lab[d <= 0.75 * r] = 3
        twin[inside] = t
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    on_cut = (
        (np.abs(x - truth.cut_x_mm) <= 1.5)
        & (np.abs(y) <= truth.cut_half_mm)
        & (np.abs(z) <= truth.cut_half_mm)
    )
    cut = np.where(on_cut, np.where(z >= 0, 1, 2), 0).astype(np.uint8)
    return lab, twin, cut


def _sphere_mesh(centre: tuple[float, float, float], radius: float, subdivisions: int) -> Any:
    import trimesh

    m = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    m.apply_translation(centre)
    return m


def _patch(x_mm: float, z0: float, z1: float, half: float) -> Any:
    import trimesh

    v = np.array(
        [[x_mm, -half, z0], [x_mm, half, z0], [x_mm, half, z1], [x_mm, -half, z1]],
        dtype=np.float64,
    )
    f = np.array([[0, 1, 2], [0, 2, 3], [0, 2, 1], [0, 3, 2]])  # both sides
    return trimesh.Trimesh(v, f, process=False)


def _material(hex_colour: str, name: str) -> Any:
    import trimesh

    h = hex_colour.lstrip("#")
    rgba = [int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), 255]
    return trimesh.visual.material.PBRMaterial(name=name, baseColorFactor=rgba)


def write_sample_plan(
    out_dir: str | Path,
    *,
    shape: tuple[int, int, int] = (64, 64, 64),
    affine: np.ndarray | None = None,
    sphere_subdivisions: int = 4,
    radius_a_mm: float = 30.0,
    radius_b_mm: float = 40.0,
    write_ct: bool = True,
    seed: int = 0,
) -> SampleTruth:
    """Write a sample plan folder (``plan.json``, label maps, CT, ``models/scene.glb``).

    Parameters
    ----------
    out_dir : path-like
        Folder to create (must not hold a plan already; parents are created).
    shape : (int, int, int)
        Voxel grid.
    affine : (4, 4) ndarray, optional
        Voxel to world RAS mm; default 3 mm isotropic, RAS, centred on the origin.
    sphere_subdivisions : int
        Icosphere subdivisions of the head meshes (4: 5120 faces; 7: 327 680 faces).
    radius_a_mm, radius_b_mm : float
        Head radii; centres are on the x axis with a 25 mm gap between the heads.
    write_ct : bool
        Also write ``ct.nii.gz`` (recorded as the plan's input), tissue HU plus
        Gaussian noise of 10 HU standard deviation (a real scan is never piecewise
        constant, and the scan loader rejects images that look like label maps).
    seed : int
        Seed of the CT noise.

    Returns
    -------
    SampleTruth
    """
    import nibabel as nib
    import trimesh

    out = Path(out_dir)
    (out / "models").mkdir(parents=True, exist_ok=True)
    if affine is None:
        affine = np.diag([3.0, 3.0, 3.0, 1.0])
        affine[:3, 3] = -1.5 * (np.asarray(shape) - 1)
    affine = np.asarray(affine, dtype=np.float64)
    gap = 25.0
    ca = (-(gap / 2 + radius_a_mm) - 2.5, 0.0, 0.0)
    cb = (gap / 2 + radius_b_mm - 2.5, 0.0, 0.0)
    cut_x = -2.5
    half = 0.6 * min(radius_a_mm, radius_b_mm)
    crossings = ((cut_x, 0.0, half * 0.5), (cut_x, 0.0, -half * 0.5))
    truth = SampleTruth(
        centre_a_mm=ca,
        centre_b_mm=cb,
        radius_a_mm=radius_a_mm,
        radius_b_mm=radius_b_mm,
        cut_x_mm=cut_x,
        cut_half_mm=half,
        crossings_mm=crossings,
        shape=tuple(int(s) for s in shape),  # type: ignore[arg-type]
        affine=tuple(tuple(float(v) for v in row) for row in affine),
    )
    lab = np.zeros(shape, dtype=np.uint8)
    twin = np.zeros(shape, dtype=np.uint8)
    cut = np.zeros(shape, dtype=np.uint8)
    ii, jj = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    for k in range(shape[2]):  # one slab at a time keeps memory small for big grids
        ijk = np.stack([ii, jj, np.full_like(ii, k)], axis=-1)
        lab[:, :, k], twin[:, :, k], cut[:, :, k] = _labels_at(apply_affine(affine, ijk), truth)
    for name, arr in (("labels", lab), ("twins", twin), ("separation", cut)):
        img = nib.Nifti1Image(arr, affine)
        atomic_write_bytes(out / f"{name}.nii.gz", _nifti_bytes(img))
    if write_ct:
        lut = np.array([_HU.get(v, 0) for v in range(256)], dtype=np.float32)
        noise = np.random.default_rng(seed).normal(0.0, 10.0, size=shape).astype(np.float32)
        ct = np.rint(lut[lab] + noise).astype(np.int16)
        atomic_write_bytes(out / "ct.nii.gz", _nifti_bytes(nib.Nifti1Image(ct, affine)))
    scene = trimesh.Scene()
    for twin_name, centre, radius, colour in (
        ("A", ca, radius_a_mm, DEFAULT_COLOUR_A),
        ("B", cb, radius_b_mm, DEFAULT_COLOUR_B),
    ):
        m = _sphere_mesh(centre, radius, sphere_subdivisions)
        m.visual = trimesh.visual.TextureVisuals(material=_material(colour, f"{twin_name}/skin"))
        scene.add_geometry(m, node_name=f"{twin_name}/skin", geom_name=f"{twin_name}/skin")
    for stage, (z0, z1) in ((1, (0.0, half)), (2, (-half, 0.0))):
        p = _patch(cut_x, z0, z1, half)
        p.visual = trimesh.visual.TextureVisuals(material=_material("#12A4A4", "separation"))
        scene.add_geometry(
            p, node_name=f"separation/stage{stage}", geom_name=f"separation/stage{stage}"
        )
    glb = scene.export(file_type="glb")
    atomic_write_bytes(out / "models" / "scene.glb", bytes(glb))
    plan = {
        "schema": SCHEMA,
        "version": "sample",
        "input": {
            "path": "ct.nii.gz" if write_ct else None,
            "modality": "CT",
            "shape": list(truth.shape),
            "affine": [list(r) for r in truth.affine],
        },
        "colours": {"A": DEFAULT_COLOUR_A, "B": DEFAULT_COLOUR_B},
        "twins": {
            "A": {"colour": "purple", "hex": DEFAULT_COLOUR_A},
            "B": {"colour": "orange", "hex": DEFAULT_COLOUR_B},
        },
        "separation": {
            "vessel_crossings": [
                {"number": i + 1, "stage": i + 1, "position_mm": list(p)}
                for i, p in enumerate(crossings)
            ],
            "stages": [
                {"number": 1, "structures": ["soft_tissue", "bone"], "rationale": "upper half"},
                {"number": 2, "structures": ["brain", "vessel"], "rationale": "lower half"},
            ],
        },
        "warnings": ["synthetic sample plan for the viewer, not a patient"],
    }
    atomic_write_text(out / "plan.json", json.dumps(plan, indent=1))
    return truth


def _nifti_bytes(img: Any) -> bytes:
    """A NIfTI image as ``.nii.gz`` bytes (gzip level 1: fast, deterministic)."""
    import gzip

    return gzip.compress(bytes(img.to_bytes()), compresslevel=1, mtime=0)
