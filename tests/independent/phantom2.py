"""An independently designed craniopagus CT phantom (test asset; does not use twinsep.phantom).

Two infant heads, each an ellipsoidal skull with its own proportions, are built in their own
head frames (``u`` neck -> vertex, ``f`` face direction, ``r = u x f``) and joined either
vertex to vertex (vertical, with an axial rotation between the faces) or at an angle
(angular: each head meets the other at ``theta = (180 - axis_angle) / 2`` degrees from its
vertex, towards its face). The whole scene is then turned by a random rotation (and,
optionally, mirrored) and sampled on an axis-aligned grid whose affine may flip or permute
axes, so no array axis means "up".

Tissue is composed outside-in with linear partial-volume ramps on approximate signed
distances (``(rho - 1) / |grad rho|`` for an ellipsoid's normalised radius ``rho``), so bone
edges are blurred like a real CT. The truth is exact by construction:

* ownership: a voxel belongs to the head whose normalised radius ``rho`` (its own metric)
  is smaller; the boundary is the surface ``rho_A == rho_B``;
* type / rotation / axis angle: from the frames used to place the heads;
* completeness: total (shared sinus ring around the junction, brains in contact) or
  partial (a bone plate between the brains, each head's superior sagittal sinus stops
  short of the junction, no ring).
* tissue (``labels``, twinsep.labels values): at each voxel centre, the last-painted
  tissue whose signed distance puts the centre inside it (occupancy > 0.5), i.e. the same
  outside-in order that composes the CT; the head holder is background. The sinuses are
  vessel (5) with and without contrast; the eyes are soft tissue.

``Config.hu`` and ``Config.psf_fwhm_mm`` change the tissue values and add a Gaussian scanner
blur (before the noise); ``Config.aniso`` makes the voxels anisotropic (thick slices along
one array axis); the defaults give the original CT byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from twinsep import labels as L
from twinsep.volume import Volume

FusionType = Literal["vertical", "angular"]
MAX_VOXELS = 160  # default grid size cap per axis (test speed); the spacing grows to fit


@dataclass(frozen=True)
class HeadShape:
    """One head's size, in mm (semi-axes of the skull's outer table)."""

    semi_lr_mm: float  # half width (right-left), infant ~57 mm
    semi_ap_mm: float  # half length (face-back), infant ~67 mm
    semi_si_mm: float  # half height (neck-vertex), infant ~55 mm
    bone_mm: float = 2.5  # skull thickness (infant calvaria 2-3 mm)
    scalp_mm: float = 4.0  # scalp thickness (3-5 mm)
    csf_mm: float = 1.5  # subarachnoid CSF rim


@dataclass(frozen=True)
class Hu:
    """Phantom HU values (deliberately not twinsep's own)."""

    air: float = -1000.0
    scalp: float = 45.0
    fat: float = -90.0
    bone_low: float = 900.0
    bone_high: float = 1300.0
    brain: float = 35.0
    csf: float = 8.0
    contrast: float = 300.0
    blood: float = 50.0  # unenhanced sinus
    holder: float = 100.0
    eye: float = 12.0


@dataclass(frozen=True)
class Config:
    """One phantom configuration."""

    kind: FusionType
    total: bool = True
    rotation_deg: float = 30.0  # axial rotation between faces (vertical) / about B's axis
    axis_angle_deg: float = 180.0  # used for angular
    contrast: bool = True
    seed: int = 0
    spacing_mm: float = 2.2
    noise_hu: float = 15.0
    overlap_mm: float = 24.0  # how far the two skull ellipsoids interpenetrate
    neck_mm: float = 35.0  # neck length below the scalp at the skull base (truncated scan)
    mirror: bool = False
    head_a: HeadShape = field(default_factory=lambda: HeadShape(57.5, 67.5, 55.0))
    head_b: HeadShape = field(default_factory=lambda: HeadShape(55.0, 70.0, 53.0, 2.2, 3.5))
    hu: Hu = field(default_factory=Hu)  # tissue HU values (vary them to probe thresholds)
    psf_fwhm_mm: float = 0.0  # Gaussian scanner blur applied before the noise (0: none)
    aniso: tuple[float, float, float] = (1.0, 1.0, 1.0)  # spacing factor per array axis (>= 1)
    max_voxels: int = MAX_VOXELS  # cap per axis; spacing_mm grows when the heads need more


@dataclass(frozen=True)
class Frame:
    """A head's placement in world mm."""

    centre_mm: np.ndarray
    up: np.ndarray  # neck -> vertex
    face: np.ndarray
    right: np.ndarray
    shape: HeadShape


@dataclass(frozen=True)
class Phantom2:
    """CT, truth ownership and truth quantities."""

    ct: Volume
    owner: np.ndarray  # 1 (head 1) / 2 (head 2) everywhere, by the rho metric
    body: np.ndarray  # bool: voxels with > 50 % patient tissue (no holder, no air)
    frames: tuple[Frame, Frame]  # world mm (RAS): the scene rotation applied
    labels: np.ndarray  # uint8 tissue truth (twinsep.labels values) at each voxel centre
    type: FusionType
    completeness: Literal["total", "partial"]
    shared_sinus: bool
    contrast: bool
    rotation_deg: float
    axis_angle_deg: float


def _unit(v: np.ndarray) -> np.ndarray:
    return np.asarray(v, float) / float(np.linalg.norm(v))


def _rot(axis: np.ndarray, deg: float) -> np.ndarray:
    a = _unit(axis)
    t = np.radians(deg)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * (k @ k)


def _radius_along(shape: HeadShape, frame_dirs: tuple[np.ndarray, ...], d: np.ndarray) -> float:
    r, f, u = frame_dirs
    x, y, z = d @ r, d @ f, d @ u
    return 1.0 / float(
        np.sqrt(
            (x / shape.semi_lr_mm) ** 2 + (y / shape.semi_ap_mm) ** 2 + (z / shape.semi_si_mm) ** 2
        )
    )


def _place(cfg: Config) -> tuple[Frame, Frame, float, float]:
    """Head frames in scene coordinates, plus truth rotation and axis angle."""
    u_a, f_a = np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0])
    theta = 0.0 if cfg.kind == "vertical" else (180.0 - cfg.axis_angle_deg) / 2.0
    # junction direction from A's centre: tilted from the vertex towards the face
    n = _rot(np.cross(u_a, f_a), -theta) @ u_a if theta else u_a
    n = _unit(n)
    mirror = np.eye(3) - 2.0 * np.outer(n, n)
    u_b = mirror @ u_a
    f_b0 = mirror @ f_a
    f_b = _rot(-n, cfg.rotation_deg) @ f_b0  # axial twist of B about the junction axis
    u_b = _rot(-n, cfg.rotation_deg) @ u_b
    r_a = np.cross(u_a, f_a)
    r_b = np.cross(u_b, f_b)
    ra = _radius_along(cfg.head_a, (r_a, f_a, u_a), n)
    rb = _radius_along(cfg.head_b, (r_b, f_b, u_b), -n)
    c_b = n * (ra + rb - cfg.overlap_mm)
    fa = Frame(np.zeros(3), u_a, f_a, r_a, cfg.head_a)
    fb = Frame(c_b, _unit(u_b), _unit(f_b), _unit(r_b), cfg.head_b)
    axis = float(np.degrees(np.arccos(np.clip(u_a @ fb.up, -1, 1))))
    pa = f_a - (f_a @ n) * n
    pb = fb.face - (fb.face @ n) * n
    rot = float(np.degrees(np.arccos(np.clip(_unit(pa) @ _unit(pb), -1, 1))))
    return fa, fb, rot, axis


def _local(pts: np.ndarray, fr: Frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = pts - fr.centre_mm
    return d @ fr.right, d @ fr.face, d @ fr.up


def _ell_dist(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, a: float, b: float, c: float
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate signed distance (mm, negative inside) and normalised radius rho."""
    rho = np.sqrt((x / a) ** 2 + (y / b) ** 2 + (z / c) ** 2)
    safe = np.maximum(rho, 1e-6)
    g = np.sqrt((x / a**2) ** 2 + (y / b**2) ** 2 + (z / c**2) ** 2) / safe
    return (rho - 1.0) / np.maximum(g, 1e-9), rho


def _occ(d: np.ndarray, s: float) -> np.ndarray:
    """Partial-volume fraction of a voxel of size ``s`` whose centre is at signed distance d."""
    return np.clip(0.5 - d / s, 0.0, 1.0)


def _smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def _tube_dist(pts: np.ndarray, path: np.ndarray, reach_mm: float) -> np.ndarray:
    """Distance to a densely sampled polyline (inf beyond ``reach_mm``)."""
    tree = cKDTree(path)
    d, _ = tree.query(pts, distance_upper_bound=reach_mm)
    return d


def _sss_path(fr: Frame, depth_mm: float) -> np.ndarray:
    """Points along the midline just inside the inner table, from the forehead to the occiput."""
    s = fr.shape
    t = np.radians(np.linspace(-70.0, 200.0, 600))  # angle from the face direction over the top
    scale = 1.0 - (s.bone_mm + depth_mm) / min(s.semi_ap_mm, s.semi_si_mm)
    y = np.cos(t) * s.semi_ap_mm * scale
    z = np.sin(t) * s.semi_si_mm * scale
    return fr.centre_mm + np.outer(y, fr.face) + np.outer(z, fr.up)


def make_phantom2(cfg: Config) -> Phantom2:
    """Build the phantom for one configuration (deterministic for a given ``cfg.seed``)."""
    rng = np.random.default_rng(cfg.seed)
    fa, fb, rot_true, axis_true = _place(cfg)
    hu = cfg.hu
    s = cfg.spacing_mm
    # random scene rotation (QR of a Gaussian matrix, proper) and optional mirror
    q, rr = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q @ np.diag(np.sign(np.diag(rr)))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    if cfg.mirror:
        q = q @ np.diag([-1.0, 1.0, 1.0])
    # scene bounding box: heads, necks and face, in scene coordinates
    corners = []
    for fr in (fa, fb):
        h = fr.shape
        ext = np.array([h.semi_lr_mm, h.semi_ap_mm, h.semi_si_mm]) + h.scalp_mm + 12
        for sx in (-1, 1):
            for sy in (-1, 1):
                for sz in (-1, 1):
                    loc = np.array([sx, sy, sz]) * ext
                    if sz < 0:
                        loc[2] -= cfg.neck_mm  # neck
                    corners.append(fr.centre_mm + loc @ np.stack([fr.right, fr.face, fr.up]))
    world = np.asarray(corners) @ q.T
    lo, hi = world.min(0), world.max(0)
    s = max(s, float((hi - lo).max()) / (cfg.max_voxels - 6))  # keep every axis <= the cap
    # grid axes: a permutation with random signs
    perm = rng.permutation(3)
    signs = rng.choice([-1.0, 1.0], size=3)
    lin = np.zeros((3, 3))
    for col in range(3):
        lin[perm[col], col] = signs[col] * s * cfg.aniso[col]
    shp = tuple(int(np.ceil((hi - lo)[perm[c]] / (s * cfg.aniso[c]))) + 4 for c in range(3))
    origin = np.zeros(3)
    for col in range(3):
        ax = perm[col]
        s_col = s * cfg.aniso[col]
        origin[ax] = lo[ax] - 2 * s_col if signs[col] > 0 else hi[ax] + 2 * s_col
    affine = np.eye(4)
    affine[:3, :3] = lin
    affine[:3, 3] = origin
    # partial-volume ramp width: the cube root of the voxel volume (thick slices blur more)
    s_pv = s * float(np.prod(cfg.aniso)) ** (1.0 / 3.0)
    ii = np.indices(shp, dtype=np.float32).reshape(3, -1).T
    wpts = ii @ lin.T.astype(np.float32) + origin.astype(np.float32)
    pts = (wpts @ q.astype(np.float32)).astype(np.float64)  # world -> scene
    del ii, wpts

    dist = {}
    for key, fr in (("a", fa), ("b", fb)):
        x, y, z = _local(pts, fr)
        h = fr.shape
        d_out, rho = _ell_dist(x, y, z, h.semi_lr_mm, h.semi_ap_mm, h.semi_si_mm)
        dist[key] = (d_out, rho, (x, y, z))
    owner = np.where(dist["a"][1] <= dist["b"][1], 1, 2).astype(np.uint8)
    # signed distance to the mid surface rho_a == rho_b (positive in B), first-order
    mid = (dist["a"][1] - dist["b"][1]) * 0.5 * (fa.shape.semi_si_mm + fb.shape.semi_si_mm) / 2
    skull = _smin(dist["a"][0], dist["b"][0], 8.0)  # fused outer table (fillet at the bridge)
    bone_t = np.where(owner == 1, fa.shape.bone_mm, fb.shape.bone_mm)
    scalp_t = np.where(owner == 1, fa.shape.scalp_mm, fb.shape.scalp_mm)
    csf_t = np.where(owner == 1, fa.shape.csf_mm, fb.shape.csf_mm)

    val = np.full(pts.shape[0], hu.air)
    body = np.zeros(pts.shape[0], bool)
    tissue_at = np.zeros(pts.shape[0], np.uint8)  # truth label at each voxel centre

    def paint(d: np.ndarray, v: float | np.ndarray, label: int) -> None:
        # later paint covers earlier paint by its occupancy; the truth at a voxel centre is
        # the last tissue whose signed distance puts the centre inside it (occupancy > 0.5)
        nonlocal val, body
        o = _occ(d, s_pv)
        val = val * (1 - o) + v * o
        inside = o > 0.5  # the voxel centre is inside (d < 0)
        body |= inside
        tissue_at[inside] = label

    # necks (truncated cylinders below each skull base) with a vertebral column
    for key, fr in (("a", fa), ("b", fb)):
        x, y, z = dist[key][2]
        h = fr.shape
        rad = np.sqrt((x / 0.55) ** 2 + ((y + 8) / 0.6) ** 2)
        z0, z1 = -h.semi_si_mm - h.scalp_mm - cfg.neck_mm, -0.3 * h.semi_si_mm
        d_cyl = np.maximum(rad - h.semi_lr_mm, np.maximum(z0 - z, z - z1))
        paint(d_cyl, hu.scalp, L.SOFT_TISSUE)
        d_vert = np.maximum(np.sqrt(x**2 + (y + 18) ** 2) - 7.0, np.maximum(z0 - z, z - z1))
        paint(d_vert, 700.0, L.BONE)
    # scalp and subcutaneous fat
    paint(skull - scalp_t, hu.scalp, L.SOFT_TISSUE)
    paint(skull - 0.5 * scalp_t + 0.0, hu.fat * 0.3 + hu.scalp * 0.7, L.SOFT_TISSUE)
    # faces: jaw, nose
    for key, fr in (("a", fa), ("b", fb)):
        x, y, z = dist[key][2]
        h = fr.shape
        dj, _ = _ell_dist(x, y - 0.72 * h.semi_ap_mm, z + 0.85 * h.semi_si_mm, 32, 24, 22)
        paint(dj, hu.scalp, L.SOFT_TISSUE)
        paint(dj + 6.0, 1100.0, L.BONE)
        dn, _ = _ell_dist(x, y - 1.02 * h.semi_ap_mm, z + 0.25 * h.semi_si_mm, 7, 9, 12)
        paint(dn, hu.scalp, L.SOFT_TISSUE)
    # skull bone (outer table to inner table), density varies smoothly per voxel
    bone_hu = hu.bone_low + (hu.bone_high - hu.bone_low) * rng.uniform(size=1)[0]
    o_bone = _occ(skull, s_pv)
    paint(skull, bone_hu, L.BONE)
    # intracranial: CSF rim, brain
    paint(skull + bone_t, hu.csf, L.CSF)
    paint(skull + bone_t + csf_t, hu.brain, L.BRAIN)
    del o_bone
    if not cfg.total:
        # a bone plate between the brains (dura/bone partition): partial fusion
        paint(np.maximum(np.abs(mid) - 1.5, skull), bone_hu, L.BONE)
    # orbits and eyes, ventricles
    for key, fr in (("a", fa), ("b", fb)):
        x, y, z = dist[key][2]
        h = fr.shape
        for side in (-1, 1):
            ox, oy, oz = side * 0.33 * h.semi_lr_mm, 0.78 * h.semi_ap_mm, 0.05 * h.semi_si_mm
            d_orb = np.sqrt((x - ox) ** 2 + (y - oy) ** 2 + (z - oz) ** 2)
            paint(d_orb - 14.0, bone_hu * 0.8, L.BONE)
            paint(d_orb - 11.5, hu.fat, L.SOFT_TISSUE)
            paint(d_orb - 9.0, hu.eye, L.SOFT_TISSUE)  # globe: soft tissue (DESIGN.md)
            d_ven, _ = _ell_dist(x - side * 0.12 * h.semi_lr_mm, y + 5, z - 5, 5, 22, 9)
            paint(d_ven, hu.csf, L.CSF)
    # dural venous sinuses
    sinus_hu = hu.contrast if cfg.contrast else hu.blood
    near = (skull < 2.0) & (skull > -25.0)
    idx = np.flatnonzero(near)
    shared = cfg.total
    for key, fr in (("a", fa), ("b", fb)):
        path = _sss_path(fr, 4.0)
        if not cfg.total:
            keep = _side_of_mid(path, fa, fb) == (1 if key == "a" else 2)
            x_mid = np.abs(_mid_of(path, fa, fb))
            path = path[keep & (x_mid > 15.0)]
        d = np.full(pts.shape[0], np.inf)
        d[idx] = _tube_dist(pts[idx], path, 10.0)
        paint(d - 3.5, sinus_hu, L.VESSEL)
    if shared:
        # a ring around the junction, just inside the bridge's skull, crossing between heads
        n = _unit(fb.centre_mm - fa.centre_mm)
        e1 = _unit(np.cross(n, fa.right if abs(n @ fa.right) < 0.9 else fa.face))
        e2 = np.cross(n, e1)
        sel = np.flatnonzero(np.abs(mid) < 10.0)
        centre = _junction_centre(pts[sel], skull[sel], n, fa)
        ring_r = _ring_radius(pts[sel], skull[sel], centre, n, bone_t[sel] + 6.0)
        t = np.linspace(0, 2 * np.pi, 400, endpoint=False)
        ring = centre + ring_r * (np.outer(np.cos(t), e1) + np.outer(np.sin(t), e2))
        d = np.full(pts.shape[0], np.inf)
        d[idx] = _tube_dist(pts[idx], ring, 10.0)
        paint(d - 3.5, sinus_hu, L.VESSEL)
    # head holder: a plastic slab touching head A's scalp on the side away from B
    n_h = -fa.face  # behind head A's occiput
    r_out = _radius_along(fa.shape, (fa.right, fa.face, fa.up), n_h) + fa.shape.scalp_mm
    along = (pts - fa.centre_mm) @ n_h
    lat = pts - fa.centre_mm - np.outer(along, n_h)
    d_slab = np.maximum(
        np.abs(along - (r_out + 6.0 - 1.0)) - 6.0, np.linalg.norm(lat, axis=1) - 60.0
    )
    o = _occ(d_slab, s_pv) * ~body  # the holder touches the scalp, never enters it
    val = val * (1 - o) + hu.holder * o
    if cfg.psf_fwhm_mm > 0.0:
        sigma_mm = cfg.psf_fwhm_mm / (2.0 * np.sqrt(2.0 * np.log(2.0)))
        sigma_vx = [sigma_mm / (s * a) for a in cfg.aniso]
        val = ndimage.gaussian_filter(val.reshape(shp), sigma_vx, mode="nearest").ravel()
    val = val + rng.normal(0.0, cfg.noise_hu, size=val.shape)
    ct = np.clip(np.round(val), -1024, 3071).astype(np.int16).reshape(shp)
    return Phantom2(
        ct=Volume(ct, affine),
        owner=owner.reshape(shp),
        body=body.reshape(shp),
        frames=(_to_world(fa, q), _to_world(fb, q)),
        labels=tissue_at.reshape(shp),
        type=cfg.kind,
        completeness="total" if cfg.total else "partial",
        shared_sinus=shared and cfg.contrast,
        contrast=cfg.contrast,
        rotation_deg=rot_true,
        axis_angle_deg=axis_true,
    )


def _to_world(fr: Frame, q: np.ndarray) -> Frame:
    return Frame(q @ fr.centre_mm, q @ fr.up, q @ fr.face, q @ fr.right, fr.shape)


def _rho(p: np.ndarray, fr: Frame) -> np.ndarray:
    x, y, z = _local(p, fr)
    h = fr.shape
    return np.sqrt((x / h.semi_lr_mm) ** 2 + (y / h.semi_ap_mm) ** 2 + (z / h.semi_si_mm) ** 2)


def _mid_of(p: np.ndarray, fa: Frame, fb: Frame) -> np.ndarray:
    return (_rho(p, fa) - _rho(p, fb)) * 0.5 * (fa.shape.semi_si_mm + fb.shape.semi_si_mm) / 2


def _side_of_mid(p: np.ndarray, fa: Frame, fb: Frame) -> np.ndarray:
    return np.where(_rho(p, fa) <= _rho(p, fb), 1, 2)


def _junction_centre(p: np.ndarray, skull: np.ndarray, n: np.ndarray, fa: Frame) -> np.ndarray:
    inside = p[skull < 0]
    return inside.mean(0)


def _ring_radius(
    p: np.ndarray, skull: np.ndarray, centre: np.ndarray, n: np.ndarray, inset_mm: np.ndarray
) -> float:
    """Radius of the bridge cross-section (inner table) near the mid surface, minus an inset."""
    inside = skull < 0
    rel = p[inside] - centre
    radial = np.linalg.norm(rel - np.outer(rel @ n, n), axis=1)
    return float(np.percentile(radial, 98) - np.median(inset_mm[inside]))
