"""Build a phantom: place the twins, fit the grid, render, blur, add noise, fill the truth."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from twinsep import labels as lab
from twinsep.errors import ConfigError
from twinsep.phantom.anatomy import (
    HeadParams,
    fontanelle_local,
    neck_local,
    surface_points_local,
    vertex_local,
)
from twinsep.phantom.compose import HeadPose, measure_plane, place_twins, render_scene
from twinsep.phantom.ct import CtParams, add_noise, apply_psf, to_int16_hu
from twinsep.phantom.grid import fit_grid, voxel_centres_mm
from twinsep.phantom.kinds import kind_spec
from twinsep.phantom.truth import (
    PhantomTruth,
    TwinTruth,
    angle_deg,
    oconnell_type,
    rotation_about_deg,
    vec3,
)
from twinsep.volume import Volume, orientation_code, spacing_from_affine

logger = logging.getLogger(__name__)

#: Margin (mm) left around the anatomy and table on every side of the grid.
GRID_MARGIN_MM = 8.0
#: Range of the per-twin size factor drawn from the seed (head-size variation, +-3 %).
SCALE_RANGE = (0.97, 1.03)
#: Factor of the largest voxel size below which thin walls are widened in the truth.
THIN_FACTOR = 1.05


@dataclass(frozen=True, eq=False)
class Phantom:
    """A synthetic craniopagus CT with its exact truth.

    Attributes
    ----------
    ct : Volume
        int16 HU.
    labels : Volume
        uint8 tissue labels 0..5 (:mod:`twinsep.labels`).
    twins : Volume
        uint8 ownership: 0 background, 1 twin A, 2 twin B.
    truth : PhantomTruth
        Classification, geometry and volumes (see :data:`twinsep.phantom.truth.DEFINITIONS`).
    """

    ct: Volume
    labels: Volume
    twins: Volume
    truth: PhantomTruth


def _check_options(size: int, seed: int, noise_hu: float) -> None:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 16 <= size <= 1024:
        raise ConfigError(
            "size", f"{size!r} is not an integer in 16..1024 (voxels along the longest axis)"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError("seed", f"{seed!r} is not a non-negative integer")
    if (
        not isinstance(noise_hu, (int, float))
        or not math.isfinite(noise_hu)
        or not 0 <= noise_hu <= 500
    ):
        raise ConfigError("noise_hu", f"{noise_hu!r} is not a noise sigma in 0..500 HU")


def _twin_truth(
    pose: HeadPose,
    hp: HeadParams,
    labels: np.ndarray,
    mask: np.ndarray,
    vol: Volume,
) -> TwinTruth:
    voxel_ml = vol.voxel_volume_mm3 / 1000.0
    tissue = {
        name: round(float(np.count_nonzero(mask & (labels == value)) * voxel_ml), 4)
        for value, name in lab.TISSUE_NAMES.items()
    }
    vertex = pose.to_world(vertex_local(hp))
    neck = pose.to_world(neck_local(hp))
    return TwinTruth(
        volume_ml=round(float(np.count_nonzero(mask) * voxel_ml), 4),
        tissue_ml=tissue,
        centroid_mm=vec3(vol.centroid_mm(mask)),
        vertex_mm=vec3(vertex),
        neck_mm=vec3(neck),
        long_axis=vec3((neck - vertex) / np.linalg.norm(neck - vertex)),
        face_dir=vec3(pose.direction(np.array([0.0, 1.0, 0.0]))),
        right_dir=vec3(pose.direction(np.array([1.0, 0.0, 0.0]))),
        head_centre_mm=vec3(pose.centre_mm),
        fontanelle_mm=vec3(pose.to_world(fontanelle_local(hp))),
        scale=round(pose.scale, 6),
    )


def make_phantom(
    kind: str,
    *,
    size: int = 96,
    seed: int = 0,
    spacing_mm: float | Sequence[float] | None = None,
    noise_hu: float | None = None,
    contrast: bool = True,
    table: bool = True,
    affine: npt.ArrayLike | None = None,
    head: HeadParams | None = None,
    ct_params: CtParams | None = None,
) -> Phantom:
    """Make a synthetic craniopagus CT with exact truth.

    Parameters
    ----------
    kind : str
        One of :data:`twinsep.phantom.PHANTOM_KINDS`.
    size : int
        Voxels along the longest axis of the anatomy's bounding box (isotropic grid).
        Ignored when ``spacing_mm`` or ``affine`` is given.
    seed : int
        Seed of the only random generator used (head sizes +-3 %, vessel HU, noise).
    spacing_mm : float or (3,) sequence of float, optional
        Exact voxel size(s) in mm (anisotropic allowed) of an axis-aligned RAS grid.
    noise_hu : float, optional
        Gaussian noise sigma in HU; default ``CtParams.noise_hu``.
    contrast : bool
        Contrast-filled vessels (250-400 HU) or plain blood (40-60 HU). Labels are the same.
    table : bool
        Put a plastic patient table under the heads (background in the truth).
    affine : (4, 4) or (3, 3) array_like, optional
        Voxel axes of an arbitrary (rotated, flipped, oblique) grid; the anatomy stays put
        in world mm and is sampled on this grid. Its translation is re-fitted.
    head : HeadParams, optional
        Head geometry (default :class:`HeadParams`).
    ct_params : CtParams, optional
        HU values and imaging settings (default :class:`CtParams`).

    Returns
    -------
    Phantom

    Raises
    ------
    ConfigError
        Unknown kind or invalid option (the message names the parameter).
    """
    t0 = time.perf_counter()
    spec = kind_spec(kind)
    hp = head if head is not None else HeadParams()
    ct = ct_params if ct_params is not None else CtParams()
    noise = ct.noise_hu if noise_hu is None else noise_hu
    _check_options(size, seed, noise)
    rng = np.random.default_rng(seed)
    scales = rng.uniform(*SCALE_RANGE, size=2)
    vrange = ct.contrast_vessel_hu if contrast else ct.plain_vessel_hu
    vessel_hu = float(rng.uniform(*vrange))

    placement = place_twins(spec, hp, (float(scales[0]), float(scales[1])))
    pts = np.concatenate([p.to_world(surface_points_local(hp)) for p in placement.poses])
    lo = pts.min(axis=0)
    hi = pts.max(axis=0)
    table_top = None
    if table:
        table_top = float(lo[1] - ct.table_gap_mm)
        lo[1] = table_top - ct.table_thickness_mm
    lo -= GRID_MARGIN_MM
    hi += GRID_MARGIN_MM
    shape, aff = fit_grid(lo, hi, size=int(size), spacing_mm=spacing_mm, affine=affine)
    spacing = spacing_from_affine(aff)
    h_mm = float(np.prod(spacing) ** (1.0 / 3.0))
    thin_mm = THIN_FACTOR * max(spacing)
    x, y, z = voxel_centres_mm(shape, aff)
    scene = render_scene(
        placement,
        x,
        y,
        z,
        h_mm=h_mm,
        thin_mm=thin_mm,
        ct=ct,
        vessel_hu=vessel_hu,
        table_top_y_mm=table_top,
        voxel_axes_mm=aff[:3, :3],
        thin_factor=THIN_FACTOR,
    )
    del x, y, z
    labels = scene.labels.reshape(shape)
    owner = scene.owner.reshape(shape)
    hu = apply_psf(scene.hu.reshape(shape), spacing, ct.psf_fwhm_mm)
    hu = add_noise(hu, float(noise), rng)
    ct_arr = to_int16_hu(hu)
    if scene.misassigned:
        # Slivers where one (rotated) head pokes past P outside the other head: owned by
        # the side of P like the rest of the bridge.
        logger.debug(
            "%s: %d voxels of one head lie on the other head's side", kind, scene.misassigned
        )

    grid = Volume(np.zeros((1, 1, 1), dtype=np.uint8), aff)
    first_mask = owner == lab.TWIN_A
    second_mask = owner == lab.TWIN_B
    c1 = grid.centroid_mm(first_mask)
    c2 = grid.centroid_mm(second_mask)
    axis = int(np.argmax(np.abs(c1 - c2)))
    poses = list(placement.poses)
    if c1[axis] > c2[axis]:  # the DESIGN.md rule makes the second head twin A
        owner = np.where(owner == 0, 0, 3 - owner).astype(np.uint8)
        first_mask, second_mask = second_mask, first_mask
        poses.reverse()
    truth_a = _twin_truth(poses[0], hp, labels, first_mask, grid)
    truth_b = _twin_truth(poses[1], hp, labels, second_mask, grid)

    plane = measure_plane(placement)
    voxel_ml = grid.voxel_volume_mm3 / 1000.0
    shared_bone_ml = float(np.count_nonzero(scene.bridge.reshape(shape) & (labels == lab.BONE)))
    rotation = rotation_about_deg(truth_a.face_dir, truth_b.face_dir, placement.normal)
    axis_angle = angle_deg(truth_a.long_axis, truth_b.long_axis)
    total_vertical = spec.type == "vertical" and spec.completeness == "total"
    truth = PhantomTruth(
        kind=spec.name,
        description=spec.description,
        type=spec.type,
        completeness=spec.completeness,
        oconnell=oconnell_type(rotation) if total_vertical else None,
        site=spec.site,
        rotation_deg=round(rotation, 4),
        axis_angle_deg=round(axis_angle, 4),
        shared_sinus=spec.sinus_kind != "separate",
        sinus_kind=spec.sinus_kind,
        bridge_area_mm2=round(plane.bridge_area_mm2, 2),
        bridge_centre_mm=vec3(plane.bridge_centre_mm),
        bridge_normal=vec3(placement.normal),
        brain_contact_area_mm2=round(plane.brain_contact_area_mm2, 2),
        shared_bone_ml=round(shared_bone_ml * voxel_ml, 4),
        twins={"A": truth_a, "B": truth_b},
        seed=int(seed),
        size=int(max(shape)),
        shape=shape,
        spacing_mm=vec3(spacing),
        affine=[[float(v) for v in row] for row in aff],
        orientation=orientation_code(aff),
        noise_hu=float(noise),
        contrast=bool(contrast),
        vessel_hu=round(vessel_hu, 3),
        table=bool(table),
        psf_fwhm_mm=ct.psf_fwhm_mm,
        thin_layer_mm=round(thin_mm, 4),
    )
    meta = {"modality": "CT", "phantom_kind": spec.name, "seed": int(seed)}
    phantom = Phantom(
        ct=Volume(ct_arr, aff.copy(), dict(meta)),
        labels=Volume(labels, aff.copy(), dict(meta)),
        twins=Volume(owner, aff.copy(), dict(meta)),
        truth=truth,
    )
    logger.debug(
        "phantom %s %s (%.2f mm) built in %.2f s",
        kind,
        shape,
        max(spacing),
        time.perf_counter() - t0,
    )
    return phantom
