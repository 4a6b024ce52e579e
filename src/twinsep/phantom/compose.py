"""Place two heads in the world and render the joined scene on a set of world points.

Placement: the junction plane P passes through the world origin with normal ``n`` =
world +z (pointing from the first twin to the second). Each head is rotated so that its
junction direction points across P, and pushed in until the two scalp surfaces
interpenetrate by ``KindSpec.overlap_mm``. Twin B is twin A's frame turned 180 degrees
about a direction in P and twisted by ``KindSpec.rotation_deg`` about ``n`` (half each
way). The tissue layers of the two heads are smooth unions (:func:`smooth_min`), so scalp,
bone and, in total forms, the cavities and sinuses run continuously across the bridge.

Ownership: every body point on the first twin's side of P belongs to the first twin;
the twin boundary inside the body is therefore exactly P, which makes the bridge area an
exact, grid-independent number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twinsep import labels as lab
from twinsep.phantom.anatomy import (
    HeadParams,
    cranium_distance,
    floor_z,
    head_inclusions,
    neck_local,
    sinus_path_distance,
    skin_distance,
    sss_centreline_local,
    vault_gaps,
    vertex_local,
)
from twinsep.phantom.ct import CtParams
from twinsep.phantom.kinds import KindSpec
from twinsep.phantom.shapes import FloatArray, smooth_min, soft_inside, soft_slab


def _rotation(axis: np.ndarray, angle_rad: float) -> np.ndarray:
    """Rotation matrix about a unit ``axis`` by ``angle_rad`` (right-hand rule)."""
    a = axis / np.linalg.norm(axis)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(angle_rad) * k + (1 - math.cos(angle_rad)) * (k @ k)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


@dataclass(frozen=True)
class HeadPose:
    """Where one head sits: local (unscaled) -> world is ``centre + rotation @ (scale p)``."""

    rotation: np.ndarray
    centre_mm: np.ndarray
    scale: float

    def to_local(
        self, x: FloatArray, y: FloatArray, z: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """World mm -> local unscaled mm."""
        r = self.rotation.astype(np.float32) / np.float32(self.scale)
        dx = x - np.float32(self.centre_mm[0])
        dy = y - np.float32(self.centre_mm[1])
        dz = z - np.float32(self.centre_mm[2])
        # local = R^T (p - c) / s
        return (
            r[0, 0] * dx + r[1, 0] * dy + r[2, 0] * dz,
            r[0, 1] * dx + r[1, 1] * dy + r[2, 1] * dz,
            r[0, 2] * dx + r[1, 2] * dy + r[2, 2] * dz,
        )

    def to_world(self, pts_local: np.ndarray) -> np.ndarray:
        """Local unscaled mm (..., 3) -> world mm."""
        return np.asarray(pts_local) * self.scale @ self.rotation.T + self.centre_mm

    def direction(self, v_local: np.ndarray) -> np.ndarray:
        """A local direction as a world unit vector."""
        return _unit(self.rotation @ np.asarray(v_local, dtype=np.float64))


@dataclass(frozen=True)
class Placement:
    """Both head poses and the junction geometry (world mm)."""

    spec: KindSpec
    head: HeadParams
    first: HeadPose
    second: HeadPose
    normal: np.ndarray
    """Unit normal of the junction plane P, from the first head toward the second."""
    in_plane: np.ndarray
    """Unit reference direction lying in P (the bodies' side for angular kinds)."""
    junction_mm: np.ndarray
    """A point of P (the world origin)."""
    sinus_arcs_rad: tuple[tuple[float, float], ...]
    """Arcs (start, signed sweep) of the shared sinus ring in P, azimuth about ``normal``
    measured from ``in_plane``; empty when the sinuses are separate."""
    sss_crossings: tuple[int, int]
    """How often each twin's superior sagittal sinus centre line crosses P."""

    @property
    def poses(self) -> tuple[HeadPose, HeadPose]:
        """(first, second)."""
        return (self.first, self.second)


def junction_direction_local(spec: KindSpec, hp: HeadParams) -> np.ndarray:
    """Unit local direction from the cranium centre to the junction."""
    up = _unit(vertex_local(hp) - neck_local(hp))
    if spec.junction_polar_deg == 0.0:
        return up
    toward = {
        "frontal": np.array([0.0, 1.0, 0.0]),
        "occipital": np.array([0.0, -1.0, 0.0]),
        "parietal": np.array([1.0, 0.0, 0.0]),
        "vertex": np.array([0.0, 1.0, 0.0]),
    }[spec.site]
    side = _unit(toward - (toward @ up) * up)
    g = math.radians(spec.junction_polar_deg)
    return _unit(math.cos(g) * up + math.sin(g) * side)


def _azimuth(points: np.ndarray, e1: np.ndarray, e2: np.ndarray) -> np.ndarray:
    return np.arctan2(points @ e2, points @ e1)


def _crossings(pose: HeadPose, hp: HeadParams, n: np.ndarray, j: np.ndarray) -> np.ndarray:
    """World points where a head's SSS centre line crosses P."""
    pts = pose.to_world(sss_centreline_local(hp))
    s = (pts - j) @ n
    idx = np.nonzero(np.sign(s[:-1]) * np.sign(s[1:]) < 0)[0]
    out = []
    for i in idx:
        t = s[i] / (s[i] - s[i + 1])
        out.append(pts[i] + t * (pts[i + 1] - pts[i]))
    return np.asarray(out).reshape(-1, 3)


def place_twins(spec: KindSpec, hp: HeadParams, scales: tuple[float, float]) -> Placement:
    """Pose both heads for ``spec`` (see the module docstring)."""
    n = np.array([0.0, 0.0, 1.0])
    uj = junction_direction_local(spec, hp)
    up = _unit(vertex_local(hp) - neck_local(hp))
    if spec.junction_polar_deg > 0:
        ref = np.array([1.0, 0.0, 0.0])
        p = -up - (-up @ uj) * uj
    else:
        ref = np.array([0.0, 1.0, 0.0])
        face = np.array([0.0, 1.0, 0.0])
        p = face - (face @ uj) * uj
    p = _unit(p)
    local_basis = np.stack([uj, p, np.cross(uj, p)], axis=1)
    world_basis = np.stack([n, ref, np.cross(n, ref)], axis=1)
    f0 = world_basis @ local_basis.T
    half = math.radians(spec.rotation_deg) / 2.0
    rot_a = _rotation(n, -half) @ f0
    rot_b = _rotation(n, half) @ _rotation(ref, math.pi) @ f0
    # Distance from the cranium centre to its scalp surface along the junction direction.
    t = 1.0 / float(np.linalg.norm(uj / np.asarray(hp.skin_semi_axes_mm)))
    sa, sb = scales
    c_a = (spec.overlap_mm / 2.0 - t * sa) * n
    c_b = (t * sb - spec.overlap_mm / 2.0) * n
    first = HeadPose(rot_a, c_a, sa)
    second = HeadPose(rot_b, c_b, sb)
    j = np.zeros(3)
    e2 = np.cross(n, ref)
    ca = _crossings(first, hp, n, j)
    cb = _crossings(second, hp, n, j)
    arcs: list[tuple[float, float]] = []
    if spec.sinus_kind == "circular":
        arcs.append((0.0, 2.0 * math.pi))
    elif spec.sinus_kind == "superior_sagittal" and len(ca) and len(cb):
        psi_a = _azimuth(ca, ref, e2)
        psi_b = _azimuth(cb, ref, e2)
        for pa in psi_a:
            diff = (psi_b - pa + math.pi) % (2.0 * math.pi) - math.pi
            k = int(np.argmin(np.abs(diff)))
            arcs.append((float(pa), float(diff[k])))
    return Placement(spec, hp, first, second, n, ref, j, tuple(arcs), (len(ca), len(cb)))


@dataclass(frozen=True)
class Scene:
    """The rendered scene on N world points (flat arrays)."""

    labels: np.ndarray
    """uint8 tissue labels (0..5)."""
    owner: np.ndarray
    """uint8: 1 first twin, 2 second twin, 0 where the label is background."""
    hu: np.ndarray
    """float32 noise-free, PSF-free HU with partial-volume mixing."""
    bridge: np.ndarray
    """bool: body points inside both heads' skins or inside neither (the fused bridge)."""
    misassigned: int
    """Points inside only one head's skin but on the other head's side of P (should be 0)."""


def _in_arcs(psi: FloatArray, arcs: tuple[tuple[float, float], ...], pad: FloatArray) -> np.ndarray:
    inside = np.zeros(psi.shape, dtype=bool)
    for start, sweep in arcs:
        if abs(sweep) >= 2.0 * math.pi - 1e-9:
            return np.ones(psi.shape, dtype=bool)
        lo, width = (start, sweep) if sweep >= 0 else (start + sweep, -sweep)
        rel = (psi - np.float32(lo)) % np.float32(2.0 * math.pi)
        rel = np.where(rel > math.pi + width / 2.0, rel - np.float32(2.0 * math.pi), rel)
        inside |= (rel >= -pad) & (rel <= np.float32(width) + pad)
    return inside


def render_scene(
    placement: Placement,
    x: FloatArray,
    y: FloatArray,
    z: FloatArray,
    *,
    h_mm: float,
    thin_mm: float,
    ct: CtParams,
    vessel_hu: float,
    table_top_y_mm: float | None,
    voxel_axes_mm: np.ndarray | None = None,
    thin_factor: float = 1.05,
) -> Scene:
    """Evaluate labels, ownership and clean HU at world points ``(x, y, z)`` (mm).

    Parameters
    ----------
    placement : Placement
        Head poses and junction.
    x, y, z : ndarray of float32, shape (N,)
        World coordinates, mm.
    h_mm : float
        Voxel width for partial-volume fractions, mm.
    thin_mm : float
        Minimum thickness of thin walls and gaps in the crisp truth, mm.
    ct : CtParams
        HU values.
    vessel_hu : float
        HU of blood in vessels and sinuses for this phantom.
    table_top_y_mm : float or None
        World y of the table top (the table lies below it); None for no table.
    voxel_axes_mm : (3, 3) ndarray, optional
        Voxel axes of the grid (columns: direction times voxel size). When given, the
        vault in the crisp truth is widened only to ``thin_factor`` times the voxel's
        extent along the local bone normal (``max_i |n . axis_i|``), which keeps it closed
        to 6-connected paths without over-thickening it on anisotropic grids; otherwise
        it is widened to ``thin_mm`` everywhere.
    thin_factor : float
        Safety factor on that extent.
    """
    spec, hp = placement.spec, placement.head
    a, b = placement.poses
    f32 = np.float32
    xa, ya, za = a.to_local(x, y, z)
    xb, yb, zb = b.to_local(x, y, z)
    da_cr = cranium_distance(xa, ya, za, hp) * f32(a.scale)
    db_cr = cranium_distance(xb, yb, zb, hp) * f32(b.scale)
    da_sk = skin_distance(xa, ya, za, hp) * f32(a.scale)
    db_sk = skin_distance(xb, yb, zb, hp) * f32(b.scale)
    n, j = placement.normal, placement.junction_mm
    s_n = (x - f32(j[0])) * f32(n[0]) + (y - f32(j[1])) * f32(n[1]) + (z - f32(j[2])) * f32(n[2])
    own_a = s_n < 0
    d_skin = smooth_min(da_sk, db_sk, spec.skin_blend_mm)
    d_out = smooth_min(da_cr, db_cr, spec.outer_blend_mm)
    d_in = smooth_min(da_cr, db_cr, spec.inner_blend_mm)
    xo = np.where(own_a, xa, xb)
    yo = np.where(own_a, ya, yb)
    zo = np.where(own_a, za, zb)
    so = np.where(own_a, f32(a.scale), f32(b.scale)).astype(np.float32)
    del xa, ya, za, xb, yb, zb

    ts, tb, tc = f32(hp.scalp_mm), f32(hp.bone_mm), f32(hp.csf_mm)
    fl = floor_z(yo, hp)
    base_d = (fl - f32(hp.skull_base_mm) - zo) * so  # < 0 above the skull-base bottom
    cav_floor_d = (fl - zo) * so  # < 0 above the cavity floor
    brain_floor_d = (fl + tc - zo) * so

    # Soft (partial-volume) cumulative occupancies of the nested layers.
    f_body = soft_inside(d_skin, h_mm)
    f_out = np.minimum(
        np.minimum(soft_inside(d_out + ts * so, h_mm), soft_inside(base_d, h_mm)), f_body
    )
    f_cav = np.minimum(
        np.minimum(soft_inside(d_in + (ts + tb) * so, h_mm), soft_inside(cav_floor_d, h_mm)), f_out
    )
    f_brain = np.minimum(
        np.minimum(soft_inside(d_in + (ts + tb + tc) * so, h_mm), soft_inside(brain_floor_d, h_mm)),
        f_cav,
    )
    # Crisp (truth) masks; the vault is widened to thin_mm so it stays closed on the grid.
    e_b = _vault_widening(
        placement,
        own_a,
        xo,
        yo,
        zo,
        so,
        thin_mm=thin_mm,
        voxel_axes_mm=voxel_axes_mm,
        thin_factor=thin_factor,
    )
    body = d_skin < 0
    outer = (d_out < -ts * so + e_b) & (base_d < 0) & body
    cav = (d_in < -(ts + tb) * so - e_b) & (cav_floor_d < 0) & outer
    brain = (d_in < -(ts + tb + tc) * so) & (brain_floor_d < 0) & cav

    gaps = vault_gaps(xo, yo, zo, hp)
    in_vault = cav_floor_d < 0
    sut = gaps.suture_centre_mm * so
    font = gaps.fontanelle_mm * so
    gap_soft = np.maximum(soft_slab(sut, hp.suture_mm / 2.0, h_mm), soft_inside(font, h_mm))
    gap_soft = np.where(in_vault, gap_soft, f32(0.0))
    gap_crisp = ((sut < max(hp.suture_mm, thin_mm) / 2.0) | (font < 0)) & in_vault

    # HU of each layer (fields), then the exact mix of the nested stack.
    fat_mid = f32(sum(ct.fat_depth_mm) / 2.0)
    fat_half = (ct.fat_depth_mm[1] - ct.fat_depth_mm[0]) / 2.0
    t_soft = f32(ct.soft_hu) + f32(ct.fat_hu - ct.soft_hu) * soft_slab(
        d_skin + fat_mid, fat_half, h_mm
    )
    t_bone = np.where(
        in_vault,
        f32(ct.vault_bone_hu) + f32(ct.membrane_hu - ct.vault_bone_hu) * gap_soft,
        f32(ct.base_bone_hu),
    )
    wm = f32(hp.brain_depth_mm + hp.white_matter_depth_mm)
    t_brain = f32(ct.grey_hu) + f32(ct.white_hu - ct.grey_hu) * soft_inside(d_in + wm * so, h_mm)
    if table_top_y_mm is not None:
        th = ct.table_thickness_mm
        f_tab = soft_slab(y - f32(table_top_y_mm - th / 2.0), th / 2.0, h_mm)
        background = f32(ct.air_hu) + f32(ct.table_hu - ct.air_hu) * f_tab
    else:
        background = np.full(x.shape, ct.air_hu, dtype=np.float32)
    hu = (
        background * (1 - f_body)
        + t_soft * (f_body - f_out)
        + t_bone * (f_out - f_cav)
        + f32(ct.csf_hu) * (f_cav - f_brain)
        + t_brain * f_brain
    ).astype(np.float32)

    labels = np.zeros(x.shape, dtype=np.uint8)
    labels[body] = lab.SOFT_TISSUE
    labels[outer] = lab.BONE
    labels[outer & ~cav & gap_crisp] = lab.SOFT_TISSUE
    labels[cav] = lab.CSF
    labels[brain] = lab.BRAIN

    hu_of = {
        "air": ct.air_hu,
        "eye": ct.eye_hu,
        "face_bone": ct.face_bone_hu,
        "spine_bone": ct.spine_bone_hu,
        "csf": ct.csf_hu,
        "vessel": vessel_hu,
    }
    for inc in head_inclusions(xo, yo, zo, so, hp, h_mm=h_mm, thin_mm=thin_mm):
        soft = inc.soft * f_body
        hu += (f32(hu_of[inc.hu_key]) - hu) * soft
        labels[inc.crisp & body] = inc.label

    if spec.completeness == "total":
        # Dural layer between the two brains, in P.
        dura = (np.abs(s_n) < max(ct.dura_mm, thin_mm) / 2.0) & brain
        hu += (f32(ct.csf_hu) - hu) * soft_slab(s_n, ct.dura_mm / 2.0, h_mm) * f_brain
        labels[dura] = lab.CSF

    # Dural venous sinuses: ribbons in a band just under the (blended) inner table.
    depth = hp.sinus_depth_mm
    band_d = d_in + f32(hp.inner_table_depth_mm - 0.5 + depth / 2.0) * so
    band_soft = soft_slab(band_d, depth / 2.0, h_mm) * f_out
    band_crisp = (np.abs(band_d) < depth / 2.0) & outer
    half_w = hp.sinus_width_mm / 2.0
    path = sinus_path_distance(xo, yo, zo, hp) * so
    ribbon_soft = np.minimum(band_soft, soft_slab(path, half_w, h_mm))
    ribbon_crisp = band_crisp & (path < half_w)
    if placement.sinus_arcs_rad:
        e1 = placement.in_plane
        e2 = np.cross(n, e1)
        px, py, pz = x - f32(j[0]), y - f32(j[1]), z - f32(j[2])
        u = px * f32(e1[0]) + py * f32(e1[1]) + pz * f32(e1[2])
        v = px * f32(e2[0]) + py * f32(e2[1]) + pz * f32(e2[2])
        psi = np.arctan2(v, u)
        radius = np.maximum(np.sqrt(u * u + v * v), f32(1.0))
        in_arc = _in_arcs(psi, placement.sinus_arcs_rad, f32(half_w) / radius)
        ring_soft = np.minimum(band_soft, soft_slab(s_n, half_w, h_mm)) * in_arc
        ring_crisp = band_crisp & (np.abs(s_n) < half_w) & in_arc
        ribbon_soft = np.maximum(ribbon_soft, ring_soft)
        ribbon_crisp |= ring_crisp
    hu += (f32(vessel_hu) - hu) * ribbon_soft
    labels[ribbon_crisp] = lab.VESSEL

    only_a = (da_sk < 0) & (db_sk >= 0)
    only_b = (db_sk < 0) & (da_sk >= 0)
    bridge = body & ~only_a & ~only_b
    misassigned = int(np.count_nonzero(only_a & ~own_a) + np.count_nonzero(only_b & own_a))
    owner = np.where(own_a, np.uint8(lab.TWIN_A), np.uint8(lab.TWIN_B)).astype(np.uint8)
    owner[labels == lab.BACKGROUND] = lab.TWIN_NONE
    return Scene(labels, owner, hu, bridge, misassigned)


def _vault_widening(
    placement: Placement,
    own_a: np.ndarray,
    xo: FloatArray,
    yo: FloatArray,
    zo: FloatArray,
    so: FloatArray,
    *,
    thin_mm: float,
    voxel_axes_mm: np.ndarray | None,
    thin_factor: float,
) -> FloatArray:
    """Per-point widening (scene-distance mm, each side) of the crisp vault bone.

    The scaled radial distance ``d`` grows ``|grad d| = ref |p / a^2| / |p / a|`` times as
    fast as the true distance, so a true thickness ``T`` spans ``T |grad d|`` in ``d``.
    """
    hp = placement.head
    f32 = np.float32
    a, b, c = (f32(v) for v in hp.skin_semi_axes_mm)
    gx, gy, gz = xo / (a * a), yo / (b * b), zo / (c * c)
    gnorm = np.sqrt(gx * gx + gy * gy + gz * gz) + f32(1e-12)
    r = np.sqrt((xo / a) ** 2 + (yo / b) ** 2 + (zo / c) ** 2) + f32(1e-12)
    grad = f32(hp.ref_mm) * gnorm / r
    if voxel_axes_mm is None:
        thin_true = np.full(xo.shape, thin_mm, dtype=np.float32)
    else:
        extent = []
        for pose in placement.poses:
            axes_local = pose.rotation.T @ np.asarray(voxel_axes_mm, dtype=np.float64)
            ext = np.zeros(xo.shape, dtype=np.float32)
            for i in range(3):
                v = axes_local[:, i].astype(np.float32)
                ext = np.maximum(ext, np.abs(gx * v[0] + gy * v[1] + gz * v[2]) / gnorm)
            extent.append(ext)
        thin_true = f32(thin_factor) * np.where(own_a, extent[0], extent[1])
    e_b = (thin_true * grad - f32(hp.bone_mm) * so) / f32(2.0)
    return np.clip(e_b, 0.0, (f32(hp.csf_mm) - f32(0.5)) * so).astype(np.float32)


@dataclass(frozen=True)
class PlaneMeasures:
    """Exact areas in the junction plane P, from a fine 2D sampling."""

    bridge_area_mm2: float
    """Area of P inside the body (the twin boundary), mm^2."""
    bridge_centre_mm: np.ndarray
    """Centroid of that area, world mm."""
    brain_contact_area_mm2: float
    """Area of P where brain lies on both sides (before the dural layer), mm^2."""


def measure_plane(
    placement: Placement, *, step_mm: float = 0.4, half_mm: float = 130.0
) -> PlaneMeasures:
    """Sample P on a ``step_mm`` grid and integrate the bridge and brain-contact areas."""
    hp, spec = placement.head, placement.spec
    n, e1 = placement.normal, placement.in_plane
    e2 = np.cross(n, e1)
    t = np.arange(-half_mm, half_mm + step_mm / 2, step_mm)
    uu, vv = np.meshgrid(t, t, indexing="ij")
    pts = placement.junction_mm + uu.reshape(-1, 1) * e1 + vv.reshape(-1, 1) * e2
    x, y, z = (pts[:, i].astype(np.float32) for i in range(3))
    a, b = placement.poses
    xa, ya, za = a.to_local(x, y, z)
    xb, yb, zb = b.to_local(x, y, z)
    d_skin = smooth_min(
        skin_distance(xa, ya, za, hp) * np.float32(a.scale),
        skin_distance(xb, yb, zb, hp) * np.float32(b.scale),
        spec.skin_blend_mm,
    )
    d_in = smooth_min(
        cranium_distance(xa, ya, za, hp) * np.float32(a.scale),
        cranium_distance(xb, yb, zb, hp) * np.float32(b.scale),
        spec.inner_blend_mm,
    )
    cell = step_mm * step_mm
    body = d_skin < 0
    area = float(np.count_nonzero(body) * cell)
    centre = pts[body].mean(axis=0) if area > 0 else placement.junction_mm.copy()
    deep = np.float32(hp.brain_depth_mm)
    brain_a = (d_in < -deep * np.float32(a.scale)) & (za > floor_z(ya, hp) + hp.csf_mm)
    brain_b = (d_in < -deep * np.float32(b.scale)) & (zb > floor_z(yb, hp) + hp.csf_mm)
    contact = float(np.count_nonzero(brain_a & brain_b) * cell)
    return PlaneMeasures(area, centre, contact)
