"""One infant head as implicit shapes in its own local frame.

Local frame (millimetres, before the per-twin scale factor): origin at the centre of
the cranium, +x toward the head's own right, +y anterior (toward the face), +z superior
(toward the vertex). :mod:`twinsep.phantom.compose` places two such heads in the world.

The head is built from:

* the **cranium**: one ellipsoid (the outer scalp surface). Its scaled copies give the
  outer table of the skull (``scalp_mm`` deeper), the inner table (``bone_mm`` deeper)
  and the brain surface (``csf_mm`` deeper). The cranial cavity is cut by a floor (the
  skull base: flat posteriorly, rising under the frontal lobes above the orbits), with a
  ``skull_base_mm`` slab of bone under it;
* open **sutures** (sagittal, coronal, lambdoid) and the **anterior fontanelle**: gaps in
  the vault bone filled with fibrous tissue (soft tissue);
* a **face** (mid-face, jaw, nose, ears, eyes in bony orbits, maxilla, mandible, a small
  closed oral air space) and a **neck** (cervical spine with its canal, carotid arteries,
  jugular veins), cut flat where the scan would end;
* two **lateral ventricles**, the **superior sagittal** and **transverse sinuses**
  (ribbons in the dural/CSF layer along the inner table).

Dimensions are those of a 6-10 month infant (head circumference about 43 cm, skull about
137 x 118 mm): see :class:`HeadParams` for each number and its source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from twinsep import labels as lab
from twinsep.phantom.shapes import (
    FloatArray,
    capped_cylinder_distance,
    ellipsoid_distance,
    ellipsoid_volume_mm3,
    smooth_min,
    soft_inside,
    soft_slab,
    truncated_ellipsoid_volume_mm3,
)


@dataclass(frozen=True)
class HeadParams:
    """Geometry of one infant head (local frame, mm, before the per-twin scale).

    Sources: WHO child growth standards (head circumference 43-45 cm at 6-10 months);
    infant CT literature for scalp (3-5 mm), skull (1.5-3 mm) and sinus calibre (~5 mm);
    the anterior fontanelle measures about 2 cm across at 8 months. Values were chosen
    inside those ranges, not fitted to any scan.
    """

    skin_semi_axes_mm: tuple[float, float, float] = (63.0, 73.0, 62.0)
    """Outer scalp ellipsoid semi-axes (right, anterior, superior), mm: circumference
    about 428 mm, skull outer table about 118 x 137 mm."""
    scalp_mm: float = 4.0
    """Scalp thickness (skin, fat, galea), mm; infant scalp is 3-5 mm."""
    bone_mm: float = 2.0
    """Vault bone thickness, mm; infant calvaria is 1.5-3 mm."""
    csf_mm: float = 2.5
    """Dura + subarachnoid CSF layer between inner table and brain, mm (infants 2-4 mm)."""
    floor_z_mm: float = -28.0
    """Height of the flat (posterior) part of the cranial-cavity floor, mm."""
    floor_front_y_mm: float = 15.0
    """Where the floor starts rising under the frontal lobes (y), mm."""
    floor_slope: float = 0.8
    """Rise of the anterior cranial fossa per mm forward (keeps the orbits below it)."""
    skull_base_mm: float = 5.0
    """Thickness of the skull-base slab under the cavity floor, mm."""
    suture_mm: float = 1.5
    """Width of the open sutures (sagittal, coronal, lambdoid), mm."""
    fontanelle_half_mm: tuple[float, float] = (11.0, 13.0)
    """Half-diagonals (x, y) of the diamond-shaped anterior fontanelle, mm (~2 cm wide)."""
    bregma_y_mm: float = 22.0
    """y of the bregma (coronal/sagittal junction, fontanelle centre), mm."""
    lambda_y_mm: float = -50.0
    """y of the lambda (sagittal/lambdoid junction), mm."""
    coronal_low_z_mm: float = -5.0
    """Lowest z reached by the coronal and lambdoid sutures (pterion/asterion), mm."""
    sinus_width_mm: float = 7.0
    """Width of the dural venous sinus ribbons, mm (infant SSS ~5-7 mm)."""
    sinus_depth_mm: float = 3.0
    """Depth of the sinus ribbons from 0.5 mm inside the inner table, mm."""
    torcula_z_mm: float = -8.0
    """Height of the transverse sinuses and the torcula, mm."""
    ventricle_centre_mm: tuple[float, float, float] = (9.0, 2.0, 14.0)
    """Centre of the right lateral ventricle (the left is mirrored), mm."""
    ventricle_semi_axes_mm: tuple[float, float, float] = (4.5, 20.0, 7.0)
    """Lateral ventricle semi-axes, mm (infant ventricles are slit-like, ~5 mL each)."""
    white_matter_depth_mm: float = 22.0
    """Depth below the brain surface where (lower-HU) white matter starts, mm."""
    face_centre_mm: tuple[float, float, float] = (0.0, 36.0, -32.0)
    """Mid-face ellipsoid centre, mm."""
    face_semi_axes_mm: tuple[float, float, float] = (44.0, 37.0, 34.0)
    """Mid-face ellipsoid semi-axes, mm."""
    jaw_centre_mm: tuple[float, float, float] = (0.0, 40.0, -56.0)
    """Jaw/chin ellipsoid centre, mm."""
    jaw_semi_axes_mm: tuple[float, float, float] = (36.0, 30.0, 18.0)
    """Jaw/chin ellipsoid semi-axes, mm."""
    nose_centre_mm: tuple[float, float, float] = (0.0, 72.0, -30.0)
    """Nose ellipsoid centre, mm (tip about 10 mm in front of the face)."""
    nose_semi_axes_mm: tuple[float, float, float] = (8.0, 10.0, 13.0)
    """Nose ellipsoid semi-axes, mm."""
    ear_semi_axes_mm: tuple[float, float, float] = (5.0, 13.0, 19.0)
    """Ear (pinna) ellipsoid semi-axes, mm; centred on the cranium's side at y=-6, z=-14."""
    eye_centre_mm: tuple[float, float, float] = (17.0, 56.0, -16.0)
    """Right eye globe centre, mm (left mirrored)."""
    eye_radius_mm: float = 9.0
    """Eye globe radius, mm (infant axial length about 18 mm)."""
    orbit_wall_mm: float = 2.0
    """Thickness of the bony orbit cup around the globe (1 mm away from it), mm."""
    mouth_centre_mm: tuple[float, float, float] = (0.0, 50.0, -52.0)
    """Closed oral air space centre, mm."""
    mouth_semi_axes_mm: tuple[float, float, float] = (15.0, 12.0, 4.0)
    """Oral air space semi-axes, mm."""
    neck_axis_xy_mm: tuple[float, float] = (0.0, -5.0)
    """Neck axis (x, y), mm."""
    neck_radius_mm: float = 33.0
    """Neck radius, mm (infant neck circumference ~21 cm)."""
    neck_cut_z_mm: float = -100.0
    """Where the neck leaves the scanned field (flat cut), mm."""
    neck_point_z_mm: float = -85.0
    """Height of the truth neck point on the neck axis, mm."""
    spine_axis_xy_mm: tuple[float, float] = (0.0, -14.0)
    """Cervical spine axis, mm."""
    spine_radius_mm: float = 8.0
    """Vertebral body/arch radius (bone), mm."""
    canal_radius_mm: float = 4.0
    """Spinal canal radius (CSF label), mm."""
    carotid_xy_mm: tuple[float, float] = (12.0, 4.0)
    """Right carotid artery axis (left mirrored), mm."""
    carotid_radius_mm: float = 2.6
    """Carotid radius, mm."""
    jugular_xy_mm: tuple[float, float] = (18.0, -4.0)
    """Right internal jugular vein axis (left mirrored), mm."""
    jugular_radius_mm: float = 4.2
    """Jugular vein radius, mm."""
    face_blend_mm: float = 10.0
    """Smooth-union radius that blends face, ears and neck into the cranium, mm."""

    @property
    def ref_mm(self) -> float:
        """Geometric-mean radius of the scalp ellipsoid, mm (distance scale)."""
        a, b, c = self.skin_semi_axes_mm
        return float((a * b * c) ** (1.0 / 3.0))

    @property
    def outer_table_depth_mm(self) -> float:
        """Depth of the outer table below the scalp surface, mm."""
        return self.scalp_mm

    @property
    def inner_table_depth_mm(self) -> float:
        """Depth of the inner table (cavity surface) below the scalp surface, mm."""
        return self.scalp_mm + self.bone_mm

    @property
    def brain_depth_mm(self) -> float:
        """Depth of the brain surface below the scalp surface, mm."""
        return self.scalp_mm + self.bone_mm + self.csf_mm

    def layer_semi_axes_mm(self, depth_mm: float) -> tuple[float, float, float]:
        """Semi-axes of the cranium layer ``depth_mm`` below the scalp surface, mm."""
        f = 1.0 - depth_mm / self.ref_mm
        a, b, c = self.skin_semi_axes_mm
        return (a * f, b * f, c * f)


def cranium_distance(x: FloatArray, y: FloatArray, z: FloatArray, hp: HeadParams) -> FloatArray:
    """Scaled radial distance (mm, local) to the scalp ellipsoid of the cranium."""
    return ellipsoid_distance(x, y, z, (0.0, 0.0, 0.0), hp.skin_semi_axes_mm, hp.ref_mm)


def floor_z(y: FloatArray, hp: HeadParams) -> FloatArray:
    """Height (local mm) of the cranial-cavity floor at anterior position ``y``."""
    rise = np.maximum(y - np.float32(hp.floor_front_y_mm), 0.0) * np.float32(hp.floor_slope)
    return (np.float32(hp.floor_z_mm) + rise).astype(np.float32, copy=False)


def skin_distance(x: FloatArray, y: FloatArray, z: FloatArray, hp: HeadParams) -> FloatArray:
    """Signed distance (mm, local) to the whole head's skin: cranium, face, ears, neck."""
    k = hp.face_blend_mm
    d = cranium_distance(x, y, z, hp)
    d = smooth_min(d, ellipsoid_distance(x, y, z, hp.face_centre_mm, hp.face_semi_axes_mm), k)
    d = smooth_min(d, ellipsoid_distance(x, y, z, hp.jaw_centre_mm, hp.jaw_semi_axes_mm), k)
    d = smooth_min(d, ellipsoid_distance(x, y, z, hp.nose_centre_mm, hp.nose_semi_axes_mm), 4.0)
    ear_x = hp.skin_semi_axes_mm[0] - 2.0
    ax = np.abs(x)
    ears = ellipsoid_distance(ax, y, z, (ear_x, -6.0, -14.0), hp.ear_semi_axes_mm)
    d = smooth_min(d, ears, 4.0)
    neck = capped_cylinder_distance(
        x, y, z, hp.neck_axis_xy_mm, hp.neck_radius_mm, (hp.neck_cut_z_mm, -20.0)
    )
    # The neck leaves the scanned field through a flat cut.
    blended = smooth_min(d, neck, k)
    return np.maximum(blended, np.float32(hp.neck_cut_z_mm) - z).astype(np.float32, copy=False)


class GapField(NamedTuple):
    """Vault gaps of one head: suture centre distance and fontanelle signed distance."""

    suture_centre_mm: FloatArray
    """Distance (mm, local) to the nearest suture centre surface; large where none."""
    fontanelle_mm: FloatArray
    """Signed distance bound (mm, local) to the anterior fontanelle; negative inside."""


def vault_gaps(x: FloatArray, y: FloatArray, z: FloatArray, hp: HeadParams) -> GapField:
    """Distances that define the open sutures and the anterior fontanelle (local mm)."""
    big = np.float32(1e4)
    ax = np.abs(x)
    sagittal = np.where((y < hp.bregma_y_mm) & (y > hp.lambda_y_mm) & (z > 0), ax, big)
    coronal = np.where(z > hp.coronal_low_z_mm, np.abs(y - np.float32(hp.bregma_y_mm)), big)
    # Lambdoid: plane through the lambda tilted 45 degrees (down and forward).
    c_out = hp.layer_semi_axes_mm(hp.outer_table_depth_mm)
    z_l = c_out[2] * math.sqrt(max(0.0, 1.0 - (hp.lambda_y_mm / c_out[1]) ** 2))
    s = np.float32(math.sqrt(0.5))
    lam = np.abs((y - np.float32(hp.lambda_y_mm)) * s + (z - np.float32(z_l)) * s)
    lambdoid = np.where((y < hp.lambda_y_mm + 25.0) & (z > hp.coronal_low_z_mm), lam, big)
    centre = np.minimum(np.minimum(sagittal, coronal), lambdoid)
    fx, fy = hp.fontanelle_half_mm
    diamond = ax / np.float32(fx) + np.abs(y - np.float32(hp.bregma_y_mm)) / np.float32(fy) - 1
    font = np.where(z > 0, diamond * np.float32(min(fx, fy)), big)
    return GapField(centre.astype(np.float32), font.astype(np.float32))


def sinus_path_distance(x: FloatArray, y: FloatArray, z: FloatArray, hp: HeadParams) -> FloatArray:
    """Lateral distance (mm, local) to the superior sagittal and transverse sinus paths.

    The SSS runs in the midline (x = 0) above the torcula and 2 mm above the cavity floor;
    the transverse sinuses run around the back (y < -10) at the torcula height. Combined
    with a depth band below the inner table this gives the sinus ribbons.
    """
    big = np.float32(1e4)
    top = np.maximum(np.float32(hp.torcula_z_mm), floor_z(y, hp) + np.float32(2.0))
    sss = np.where(z > top, np.abs(x), big)
    transverse = np.where(y < -10.0, np.abs(z - np.float32(hp.torcula_z_mm)), big)
    return np.minimum(sss, transverse).astype(np.float32)


class Inclusion(NamedTuple):
    """A structure painted over the layered head: label, HU key, soft and crisp masks."""

    label: int
    hu_key: str
    soft: FloatArray
    crisp: np.ndarray


def head_inclusions(
    x: FloatArray,
    y: FloatArray,
    z: FloatArray,
    scale: FloatArray | float,
    hp: HeadParams,
    *,
    h_mm: float,
    thin_mm: float,
) -> list[Inclusion]:
    """Face, neck and ventricle structures of one head, in painting order.

    Parameters
    ----------
    x, y, z : ndarray of float32
        Local (unscaled) coordinates, mm.
    scale : float or ndarray
        Per-point scale factor of the head (local mm -> world mm).
    hp : HeadParams
        Head geometry.
    h_mm : float
        Voxel width used for partial-volume fractions, mm.
    thin_mm : float
        Minimum thickness given to thin walls in the crisp (truth) masks, mm, so that
        they stay closed on the grid.
    """
    sc = np.asarray(scale, dtype=np.float32)
    out: list[Inclusion] = []

    def solid(d_local: FloatArray) -> tuple[FloatArray, np.ndarray]:
        d = d_local * sc
        return soft_inside(d, h_mm), d < 0

    def shell(
        mid_local: FloatArray, half_mm: float, limit_local: FloatArray
    ) -> tuple[FloatArray, np.ndarray]:
        mid = mid_local * sc
        lim = limit_local * sc
        soft = np.minimum(soft_slab(mid, half_mm, h_mm), soft_inside(lim, h_mm))
        crisp = (np.abs(mid) < max(half_mm, thin_mm / 2.0)) & (lim < 0)
        return soft, crisp

    ax = np.abs(x)
    # Oral air space.
    s, c = solid(ellipsoid_distance(x, y, z, hp.mouth_centre_mm, hp.mouth_semi_axes_mm))
    out.append(Inclusion(lab.BACKGROUND, "air", s, c))
    # Eyes in bony orbit cups (open anteriorly).
    ex, ey, ez = hp.eye_centre_mm
    r_eye = np.sqrt((ax - ex) ** 2 + (y - ey) ** 2 + (z - ez) ** 2)
    s, c = solid(r_eye - np.float32(hp.eye_radius_mm))
    out.append(Inclusion(lab.SOFT_TISSUE, "eye", s, c))
    r_mid = hp.eye_radius_mm + 1.0 + hp.orbit_wall_mm / 2.0
    s, c = shell(r_eye - np.float32(r_mid), hp.orbit_wall_mm / 2.0, y - np.float32(ey + 2.0))
    out.append(Inclusion(lab.BONE, "face_bone", s, c))
    # Maxilla: a curved plate inside the mid-face, between orbits and mouth.
    d_face = ellipsoid_distance(x, y, z, hp.face_centre_mm, hp.face_semi_axes_mm)
    lim = np.maximum(np.maximum(np.float32(40.0) - y, z - np.float32(ez - 12.0)), -48.0 - z)
    s, c = shell(d_face + np.float32(10.0), 1.5, lim)
    out.append(Inclusion(lab.BONE, "face_bone", s, c))
    # Mandible: lower half of a shell inside the jaw.
    d_jaw = ellipsoid_distance(x, y, z, hp.jaw_centre_mm, hp.jaw_semi_axes_mm)
    lim = np.maximum(z - np.float32(hp.jaw_centre_mm[2]), np.float32(15.0) - y)
    s, c = shell(d_jaw + np.float32(5.5), 1.5, lim)
    out.append(Inclusion(lab.BONE, "face_bone", s, c))
    # Cervical spine (bone) with its canal (CSF) passing the foramen magnum.
    base_bottom = hp.floor_z_mm - hp.skull_base_mm
    s, c = solid(
        capped_cylinder_distance(
            x, y, z, hp.spine_axis_xy_mm, hp.spine_radius_mm, (hp.neck_cut_z_mm, base_bottom)
        )
    )
    out.append(Inclusion(lab.BONE, "spine_bone", s, c))
    s, c = solid(
        capped_cylinder_distance(
            x, y, z, hp.spine_axis_xy_mm, hp.canal_radius_mm, (hp.neck_cut_z_mm, hp.floor_z_mm)
        )
    )
    out.append(Inclusion(lab.CSF, "csf", s, c))
    # Neck vessels: carotid arteries and internal jugular veins (both sides).
    for xy, r in (
        (hp.carotid_xy_mm, hp.carotid_radius_mm),
        (hp.jugular_xy_mm, hp.jugular_radius_mm),
    ):
        s, c = solid(
            capped_cylinder_distance(ax, y, z, xy, r, (hp.neck_cut_z_mm, base_bottom - 1.0))
        )
        out.append(Inclusion(lab.VESSEL, "vessel", s, c))
    # Lateral ventricles (inside the brain).
    s, c = solid(ellipsoid_distance(ax, y, z, hp.ventricle_centre_mm, hp.ventricle_semi_axes_mm))
    out.append(Inclusion(lab.CSF, "csf", s, c))
    return out


def vertex_local(hp: HeadParams) -> np.ndarray:
    """Vertex: top of the skull's outer table on the z axis (local mm)."""
    return np.array([0.0, 0.0, hp.layer_semi_axes_mm(hp.outer_table_depth_mm)[2]])


def neck_local(hp: HeadParams) -> np.ndarray:
    """Neck point: on the neck axis at ``neck_point_z_mm`` (local mm)."""
    return np.array([hp.neck_axis_xy_mm[0], hp.neck_axis_xy_mm[1], hp.neck_point_z_mm])


def fontanelle_local(hp: HeadParams) -> np.ndarray:
    """Centre of the anterior fontanelle in the middle of the vault bone (local mm)."""
    a, b, c = hp.layer_semi_axes_mm(hp.scalp_mm + hp.bone_mm / 2.0)
    y = hp.bregma_y_mm
    return np.array([0.0, y, c * math.sqrt(max(0.0, 1.0 - (y / b) ** 2))])


def sss_centreline_local(hp: HeadParams, n: int = 721) -> np.ndarray:
    """Points (n, 3) along the centre of the superior sagittal sinus ribbon (local mm)."""
    depth = hp.inner_table_depth_mm - 0.5 + hp.sinus_depth_mm / 2.0
    _, b, c = hp.layer_semi_axes_mm(depth)
    phi = np.linspace(0.0, math.pi, n)
    pts = np.stack([np.zeros(n), b * np.cos(phi), c * np.sin(phi)], axis=1)
    ys = pts[:, 1].astype(np.float32)
    top = np.maximum(hp.torcula_z_mm, floor_z(ys, hp) + 2.0)
    return pts[pts[:, 2] > top]


def surface_points_local(hp: HeadParams, n: int = 24) -> np.ndarray:
    """Points on (or just outside) the head's skin, for bounding boxes (local mm)."""
    u = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    v = np.linspace(0.0, math.pi, n // 2 + 1)
    uu, vv = np.meshgrid(u, v)
    sphere = np.stack(
        [np.cos(uu) * np.sin(vv), np.sin(uu) * np.sin(vv), np.cos(vv)], axis=-1
    ).reshape(-1, 3)
    pts = [sphere * np.asarray(hp.skin_semi_axes_mm)]
    for centre, semi in (
        (hp.face_centre_mm, hp.face_semi_axes_mm),
        (hp.jaw_centre_mm, hp.jaw_semi_axes_mm),
        (hp.nose_centre_mm, hp.nose_semi_axes_mm),
    ):
        pts.append(sphere * np.asarray(semi) + np.asarray(centre))
    ring = np.stack([np.cos(u), np.sin(u), np.zeros_like(u)], axis=1) * hp.neck_radius_mm
    for zc in (hp.neck_cut_z_mm, -20.0):
        pts.append(ring + np.array([*hp.neck_axis_xy_mm, zc]))
    return np.concatenate(pts, axis=0)


def analytic_brain_volume_mm3(hp: HeadParams, scale: float = 1.0) -> float:
    """Analytic brain volume (mm^3) of one intact head: truncated ellipsoid - ventricles.

    The brain is the cranium layer ``brain_depth_mm`` deep, above the cavity floor raised
    by ``csf_mm``, minus both lateral ventricles (which lie wholly inside it). Sinus
    ribbons stay in the CSF layer and do not reduce it.
    """
    semi = hp.layer_semi_axes_mm(hp.brain_depth_mm)
    z0 = hp.floor_z_mm + hp.csf_mm
    brain = truncated_ellipsoid_volume_mm3(semi, z0, hp.floor_front_y_mm, hp.floor_slope)
    ventricles = 2.0 * ellipsoid_volume_mm3(hp.ventricle_semi_axes_mm)
    return (brain - ventricles) * scale**3
