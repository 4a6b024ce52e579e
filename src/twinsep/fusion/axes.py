"""Each twin's own frame from anatomy: brain centre, long axis (neck to vertex), face.

Nothing here looks at array axes; all directions are world unit vectors (RAS).

Method (per twin):

1. brain centre ``b``: world centroid of the twin's brain (brain + CSF if no brain);
2. extracranial tissue ``E``: the twin's voxels farther than ``scalp_skull_mm`` from its
   brain/CSF and farther than ``bridge_exclusion_mm`` from the other twin (face, neck,
   ears; not the scalp over the skull, not the bridge);
3. neck: first guess, the part of ``E`` farther from the brain than
   ``neck_far_fraction`` of the farthest extracranial voxel (the soft tissue that leaves
   the head the farthest); then, a few times, the end slab (``neck_slab_mm``) of ``E``
   along the current neck direction, whose centroid re-aims it (the chin and nose end
   before the neck does). The long axis points from the neck through ``b`` to the
   vertex: ``axis = normalize(b - neck)``;
4. face: extracranial tissue seen from ``b`` between ``face_band_deg`` of the neck
   direction (around the jaw, nose and ears), weighted by how far it protrudes; its
   mean direction perpendicular to the long axis points to the face (ears, being
   bilateral, cancel).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import edt
import numpy as np

from twinsep.errors import AnatomyError
from twinsep.fusion.params import FusionParams
from twinsep.labels import BRAIN, CSF
from twinsep.volume import Volume

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TwinFrame:
    """Anatomical frame of one twin, world mm / unit vectors.

    Attributes
    ----------
    twin : str
        ``"A"`` or ``"B"``.
    brain_centre_mm : (3,) ndarray
        World centroid of the brain, mm.
    axis : (3,) ndarray
        Unit long axis pointing from the neck to the vertex.
    face_dir : (3,) ndarray
        Unit facial direction, perpendicular to ``axis``.
    neck_mm, vertex_mm : (3,) ndarray
        World points on the neck and at the vertex (farthest tissue along ``axis``).
    neck_ml, face_ml : float
        Volume of tissue used as neck / face evidence, mL.
    face_strength : float
        Length of the mean protrusion vector (0 = no preferred face direction, 1 =
        all protrusion on one side); below 0.05 the face direction is a guess.
    """

    twin: str
    brain_centre_mm: np.ndarray
    axis: np.ndarray
    face_dir: np.ndarray
    neck_mm: np.ndarray
    vertex_mm: np.ndarray
    neck_ml: float
    face_ml: float
    face_strength: float


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def _crop(mask: np.ndarray) -> tuple[slice, ...]:
    idx = np.argwhere(mask)
    lo = idx.min(axis=0)
    hi = idx.max(axis=0) + 1
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))


def twin_frame(
    labels: Volume,
    twins: Volume,
    twin_value: int,
    *,
    params: FusionParams = FusionParams(),
) -> TwinFrame:
    """Long axis and face direction of one twin from its anatomy.

    Parameters
    ----------
    labels : Volume
        Tissue labels 0..5 (DESIGN.md).
    twins : Volume
        Twin labels 0/1/2 on the same grid.
    twin_value : int
        1 (A) or 2 (B).
    params : FusionParams
        Distances and angles used (mm, deg).

    Returns
    -------
    TwinFrame

    Raises
    ------
    AnatomyError
        If the twin has no brain/CSF or no extracranial tissue (neck) to orient it.
    """
    name = "A" if twin_value == 1 else "B"
    lab = labels.array
    tw = twins.array
    body = tw == twin_value
    other = (tw != 0) & ~body
    brain = body & (lab == BRAIN)
    vox_ml = labels.voxel_volume_mm3 / 1000.0
    if brain.sum() * vox_ml < 5.0:
        brain = body & np.isin(lab, (BRAIN, CSF))
    if not brain.any():
        raise AnatomyError(
            "labels", f"twin {name} has no brain or CSF voxels; cannot find its head axes"
        )
    spacing = labels.spacing_mm
    box = _crop(body)
    body_c = body[box]
    d_brain = edt.edt(~brain[box], anisotropy=spacing, black_border=False)
    d_other = edt.edt(~other[box], anisotropy=spacing, black_border=False) if other.any() else None
    ext = body_c & (d_brain > params.scalp_skull_mm)
    if d_other is not None:
        ext &= d_other > params.bridge_exclusion_mm
    if not ext.any():
        raise AnatomyError(
            "labels",
            f"twin {name} has no face or neck tissue beyond its skull "
            f"(> {params.scalp_skull_mm:g} mm from the brain); cannot orient the head",
        )
    offset = np.array([s.start for s in box])
    b = labels.centroid_mm(brain)
    idx = np.argwhere(ext)
    pts = labels.world_coords(idx + offset)
    dist = d_brain[ext]
    far = dist >= params.neck_far_fraction * float(dist.max())
    neck_c = pts[far].mean(axis=0)
    neck_dir = _unit(neck_c - b)
    # Refine: the neck is the end of the extracranial tissue along the neck direction
    # (the chin and nose stop before it); re-aim at the centroid of that end slab.
    slab_mm = max(params.neck_slab_mm, 2.0 * max(labels.spacing_mm))
    for _ in range(params.neck_iterations):
        depth = (pts - b) @ neck_dir
        end = depth >= float(depth.max()) - slab_mm
        neck_c = pts[end].mean(axis=0)
        neck_dir = _unit(neck_c - b)
    far = end
    axis = -neck_dir
    # Face: protrusions in a band of angles around the neck direction.
    rel = pts - b
    r = np.linalg.norm(rel, axis=1)
    r[r == 0] = 1.0
    unit = rel / r[:, None]
    ang = np.degrees(np.arccos(np.clip(unit @ neck_dir, -1.0, 1.0)))
    lo, hi = params.face_band_deg
    band = (ang >= lo) & (ang <= hi)
    face_ml = float(band.sum() * vox_ml)
    if band.any():
        w = dist[band] - params.scalp_skull_mm
        perp = unit[band] - np.outer(unit[band] @ axis, axis)
        mean = (perp * w[:, None]).sum(axis=0) / max(float(w.sum()), 1e-9)
        strength = float(np.linalg.norm(mean))
        face = _unit(mean)
    else:
        strength = 0.0
        face = np.zeros(3)
    if strength == 0.0:
        # no evidence: any perpendicular direction (flagged by face_strength 0)
        helper = np.eye(3)[int(np.argmin(np.abs(axis)))]
        face = _unit(np.cross(axis, helper))
    # Vertex: the twin's tissue farthest along the axis.
    body_idx = np.argwhere(body_c)
    body_pts = labels.world_coords(body_idx + offset)
    along = (body_pts - b) @ axis
    vertex = b + axis * float(along.max())
    logger.debug(
        "twin %s: axis %s face %s (strength %.2f)", name, axis.round(3), face.round(3), strength
    )
    return TwinFrame(
        twin=name,
        brain_centre_mm=b,
        axis=axis,
        face_dir=face,
        neck_mm=neck_c,
        vertex_mm=vertex,
        neck_ml=float(far.sum() * vox_ml),
        face_ml=face_ml,
        face_strength=strength,
    )


def angle_deg(u: np.ndarray, v: np.ndarray) -> float:
    """Angle between two vectors in degrees (0..180)."""
    c = float(np.dot(_unit(u), _unit(v)))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def axial_rotation_deg(frame_a: TwinFrame, frame_b: TwinFrame) -> float:
    """Rotation (deg, 0..180) between the two faces about the shared axis.

    The shared axis is ``normalize(axis_A - axis_B)`` (both vertices point at each other
    in a vertical fusion); each face direction is projected on the plane perpendicular
    to it and the angle between the projections is returned.
    """
    shared = _unit(frame_a.axis - frame_b.axis)
    if np.linalg.norm(shared) == 0:
        shared = frame_a.axis
    fa = frame_a.face_dir - np.dot(frame_a.face_dir, shared) * shared
    fb = frame_b.face_dir - np.dot(frame_b.face_dir, shared) * shared
    return angle_deg(fa, fb)
