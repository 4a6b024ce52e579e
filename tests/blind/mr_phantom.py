"""A blind MR craniopagus phantom (T1, optional venogram) and a matching CT, with truth.

Written without reading twinsep's segmentation, phantom or tests: its own anatomy, its own
MR physics and its own grids, so that twinsep's MR path can be scored against a design it
was not tuned on.

Anatomy (world millimetres, RAS). Each twin's head is a layered, smoothly perturbed
ellipsoid in its own frame (``e1`` right, ``e2`` anterior/face, ``e3`` toward the vertex):
skin, subcutaneous fat, skull (outer table, diploe/marrow, inner table, thickness varying
over the head), subarachnoid CSF with sulci, cortex lining the sulci, white matter, deep
grey nuclei, two asymmetric lateral ventricles, an interhemispheric fissure, a superior
sagittal sinus and two transverse sinuses (the right one larger). Outside the cranium: a
face (skin, fat, muscle, jaw bone, nasal air, globes in orbital fat) and a neck (spine,
jugular veins) that leaves the field of view. The two heads overlap at the junction: a
voxel inside both heads belongs to the twin on its side of the junction plane (normal
from A's centre toward B's), a voxel inside one head to that twin. At the junction the
two cavities share a dural septum (CSF) and a circular sinus around its rim, so the case
is a total craniopagus with a shared sinus.

Geometry: ``vertical`` puts the long axes head to head (axis angle 180 deg), ``angular``
tilts both heads toward their faces so that the long axes meet at ``axis_angle_deg``
(frontal junction). Twin B's face is turned about the junction axis by ``twist_deg``.
On an angular union that twist also turns B's tilted long axis about the junction axis,
so the built heads' axes meet at more than ``axis_angle_deg`` (111.2 deg for 110 with a
20 deg twist): the truth records the angle the built heads show (:func:`truth_angles`),
and the nominal one beside it.

Rendering: each voxel averages ``supersample``**3 points (partial volume); the truth label
of a voxel is the most frequent label among its points. The MR is T1-weighted (arbitrary
units, fat brightest, then white matter > grey matter > CSF, cortical bone and air dark,
marrow intermediate), multiplied by a smooth bias field of ``bias_fraction`` peak-to-peak
(log-normal over the head), with Rician noise of ``noise_fraction`` of the white-matter
signal. ``venogram`` makes the dural sinuses and jugular veins bright (contrast-enhanced
T1 venogram). The MR is acquired in its own scanner frame: the anatomy is moved by a rigid
``mr_pose`` (rotation about the junction centre, then a shift) before it is sampled, so
``truth["mr_to_ct"]`` (MR world -> CT world) is known exactly. The CT is HU per tissue,
partial volume, a small Gaussian PSF and Gaussian noise, int16, on its own axis-aligned
grid in the anatomy's frame.

Randomness only through ``numpy.random.default_rng(seed)``: the same config gives the same
arrays.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

# ---------------------------------------------------------------------------- tissues

AIR, SKIN, FAT, MUSCLE, CORTICAL, MARROW, CSF, GM, WM, DEEP_GM, SINUS, VITREOUS = range(12)
N_TISSUES = 12

#: DESIGN.md label of each internal tissue class (0 air, 1 soft, 2 bone, 3 brain, 4 CSF,
#: 5 vessel/sinus).
TISSUE_LABEL: NDArray[np.uint8] = np.array([0, 1, 1, 1, 2, 2, 4, 3, 3, 3, 5, 4], dtype=np.uint8)

#: T1-weighted signal per tissue (arbitrary units; infant beyond myelination: WM > GM).
T1_SIGNAL: NDArray[np.float64] = np.array(
    [0.0, 420.0, 950.0, 360.0, 30.0, 330.0, 140.0, 470.0, 640.0, 540.0, 230.0, 110.0]
)
#: Contrast-enhanced T1 venogram: as T1, with the venous blood bright (about 2x white
#: matter, 1.4x fat).
SINUS_SIGNAL_VENOGRAM = 1300.0

#: CT number per tissue (HU); infant cortical bone is less dense than an adult's.
CT_HU: NDArray[np.float64] = np.array(
    [-1000.0, 45.0, -90.0, 50.0, 950.0, 330.0, 8.0, 40.0, 28.0, 38.0, 45.0, 10.0]
)
#: CT number of venous blood in a CT venogram (HU).
SINUS_HU_CONTRAST = 280.0


# ---------------------------------------------------------------------------- config


@dataclass(frozen=True)
class MrPhantomConfig:
    """Everything that defines one case.

    Attributes
    ----------
    fusion : {"vertical", "angular"}
        Head to head (long axes at 180 deg) or tilted toward the faces.
    axis_angle_deg : float
        Angle between the long axes (neck -> vertex) for ``angular``, deg (< 140 is
        angular by Stone & Goodrich). Ignored for ``vertical`` (180).
    twist_deg : float
        Rotation of twin B's face about the junction axis, deg (O'Connell's rotation).
    head_semi_axes_mm : tuple of 3 floats
        Cranium semi-axes (right, anterior, superior), mm; (54, 64, 56) is a young infant
        (head circumference about 37 cm).
    junction_overlap : float
        Distance of each head centre from the junction plane as a fraction of the head's
        extent along the junction direction (smaller = wider junction).
    neck_in_fov_mm : float
        How far below the cranium the field of view reaches (the necks leave it there), mm.
    mr_spacing_mm : tuple of 3 floats
        MR voxel size, mm.
    ct_spacing_mm : tuple of 3 floats
        CT voxel size, mm.
    supersample : int
        Points per axis averaged per voxel (partial volume); the count is raised on an
        axis whose voxel is much larger than the smallest one.
    noise_fraction : float
        Rician noise sigma as a fraction of the white-matter T1 signal.
    bias_fraction : float
        Peak-to-peak multiplicative intensity non-uniformity over the heads (0.2 = 20 %).
    venogram : bool
        Bright venous sinuses and jugular veins on the MR.
    ct_contrast : bool
        Contrast-filled veins on the CT (CT venogram).
    ct_noise_hu : float
        Gaussian noise sigma on the CT, HU.
    mr_rotation_deg : tuple of 3 floats
        Rotation of the anatomy about world x, y, z (applied in that order) in the MR
        scanner, deg.
    mr_shift_mm : tuple of 3 floats
        Shift of the anatomy in the MR scanner after the rotation, mm.
    mr_header_shift_mm : tuple of 3 floats
        An error in the MR's header: its affine is translated by this much while the
        voxels stay (what a registration must recover; not part of the true pose).
    mr_flip_lr : bool
        The MR's voxels are mirrored along the array axis closest to world x while its
        header is unchanged (a left-right error in the MR file).
    seed : int
        Seed of every random shape perturbation and of the noise.
    """

    fusion: Literal["vertical", "angular"] = "vertical"
    axis_angle_deg: float = 110.0
    twist_deg: float = 30.0
    head_semi_axes_mm: tuple[float, float, float] = (54.0, 64.0, 56.0)
    junction_overlap: float = 0.72
    neck_in_fov_mm: float = 40.0
    mr_spacing_mm: tuple[float, float, float] = (2.0, 2.0, 2.0)
    ct_spacing_mm: tuple[float, float, float] = (2.0, 2.0, 2.0)
    supersample: int = 2
    noise_fraction: float = 0.03
    bias_fraction: float = 0.2
    venogram: bool = False
    ct_contrast: bool = False
    ct_noise_hu: float = 12.0
    mr_rotation_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    mr_shift_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    mr_header_shift_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    mr_flip_lr: bool = False
    seed: int = 0


@dataclass(frozen=True)
class Image:
    """A voxel array and its 4x4 voxel -> world (RAS mm) affine."""

    array: NDArray[Any]
    affine: NDArray[np.float64]


@dataclass(frozen=True)
class MrCase:
    """One generated case.

    Attributes
    ----------
    mr : Image
        The MR (uint16, arbitrary units) as written to disk (header errors included).
    mr_labels, mr_twins : Image
        Truth on the MR grid (uint8, DESIGN.md values; twins 1 = A by DESIGN's rule in
        the MR's world frame). With a header shift or flip these describe the anatomy
        where the MR's voxels really are, not where the header puts them.
    ct : Image
        The CT (int16 HU) of the same anatomy.
    ct_labels, ct_twins : Image
        Truth on the CT grid (twins 1 = A by DESIGN's rule in the CT's world frame).
    truth : dict
        JSON-ready: config, fusion type, axis angle, twist, twin A's head, centroids,
        tissue volumes, ``mr_to_ct`` (4x4, MR scanner world -> CT world).
    """

    mr: Image
    mr_labels: Image
    mr_twins: Image
    ct: Image
    ct_labels: Image
    ct_twins: Image
    truth: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------- geometry


def rotation_matrix(axis: NDArray[np.float64], angle_deg: float) -> NDArray[np.float64]:
    """Rotation by ``angle_deg`` (deg, right hand) about ``axis`` (any length > 0)."""
    u = np.asarray(axis, dtype=float)
    u = u / np.linalg.norm(u)
    a = math.radians(angle_deg)
    k = np.array([[0, -u[2], u[1]], [u[2], 0, -u[0]], [-u[1], u[0], 0]])
    return np.eye(3) + math.sin(a) * k + (1 - math.cos(a)) * (k @ k)


def header_turn(
    affine: NDArray[np.float64], shape: tuple[int, ...], axis: int, deg: float
) -> NDArray[np.float64]:
    """4x4 world transform: a turn by ``deg`` about world axis ``axis`` (0, 1, 2) through
    the centre of the grid of ``affine`` and ``shape``; ``turn @ affine`` is that grid's
    header turned (the voxels kept), as a hand-made NIfTI with a wrong header is."""
    centre = (
        np.asarray(affine, dtype=float)
        @ np.r_[(np.asarray(shape[:3], dtype=float) - 1.0) / 2.0, 1.0]
    )
    t = np.radians(deg)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    r = np.eye(4)
    r[i, i] = r[j, j] = np.cos(t)
    r[i, j], r[j, i] = -np.sin(t), np.sin(t)
    to, back = np.eye(4), np.eye(4)
    to[:3, 3], back[:3, 3] = -centre[:3], centre[:3]
    return np.asarray(back @ r @ to)


def euler_xyz(angles_deg: tuple[float, float, float]) -> NDArray[np.float64]:
    """Rotation about world x, then y, then z (deg)."""
    ex, ey, ez = np.eye(3)
    return (
        rotation_matrix(ez, angles_deg[2])
        @ rotation_matrix(ey, angles_deg[1])
        @ rotation_matrix(ex, angles_deg[0])
    )


@dataclass(frozen=True)
class _Waves:
    """Sum of plane waves on unit directions: ``sum amp * cos(w . u + phi)``."""

    w: NDArray[np.float64]
    phi: NDArray[np.float64]
    amp: NDArray[np.float64]

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int, k: float, amp: float) -> _Waves:
        w = rng.normal(size=(n, 3))
        w *= k / np.linalg.norm(w, axis=1, keepdims=True)
        return cls(w, rng.uniform(0, 2 * np.pi, n), np.full(n, amp / math.sqrt(n)))

    def __call__(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.cos(u @ self.w.T + self.phi) @ self.amp


@dataclass(frozen=True)
class _Head:
    """One twin's head: pose and the random parts of its shape."""

    centre: NDArray[np.float64]
    rot: NDArray[np.float64]  # columns e1 (right), e2 (face), e3 (vertex), world
    semi: NDArray[np.float64]
    shape: _Waves
    skull: _Waves
    csf: _Waves
    sulci: _Waves
    vent_scale: tuple[float, float]


@dataclass(frozen=True)
class _Anatomy:
    heads: tuple[_Head, _Head]
    junction_mm: NDArray[np.float64]
    normal: NDArray[np.float64]  # from head 0 toward head 1


def _make_head(
    rng: np.random.Generator,
    centre: NDArray[np.float64],
    rot: NDArray[np.float64],
    semi: NDArray[np.float64],
) -> _Head:
    return _Head(
        centre=centre,
        rot=rot,
        semi=semi * rng.uniform(0.97, 1.03, 3),
        shape=_Waves.draw(rng, 4, 2.5, 0.035),
        skull=_Waves.draw(rng, 3, 3.0, 0.35),
        csf=_Waves.draw(rng, 3, 3.0, 0.4),
        sulci=_Waves.draw(rng, 5, 24.0, 1.0),
        vent_scale=(float(rng.uniform(1.05, 1.2)), float(rng.uniform(0.85, 0.95))),
    )


def _radial_extent(semi: NDArray[np.float64], u: NDArray[np.float64]) -> float:
    """Distance from an ellipsoid's centre to its surface along unit vector ``u``."""
    return float(1.0 / np.sqrt(np.sum((u / semi) ** 2)))


def build_anatomy(config: MrPhantomConfig) -> _Anatomy:
    """Place the two heads: junction at the origin, junction axis along world z."""
    rng = np.random.default_rng(config.seed)
    semi = np.asarray(config.head_semi_axes_mm, dtype=float)
    n = np.array([0.0, 0.0, 1.0])  # junction axis, head 0 below, head 1 above
    m = np.array([0.0, 1.0, 0.0])  # world anterior: both lie supine
    if config.fusion == "vertical":
        tilt = 0.0
    else:
        tilt = (180.0 - config.axis_angle_deg) / 2.0
    t = math.radians(tilt)
    # head 0: its junction direction (local) is cos(t) e3 + sin(t) e2 and equals +n
    e3_0 = math.cos(t) * n - math.sin(t) * m
    e2_0 = math.sin(t) * n + math.cos(t) * m
    # head 1: the mirror image through the junction plane, then B's twist about n
    e3_1 = -math.cos(t) * n - math.sin(t) * m
    e2_1 = -math.sin(t) * n + math.cos(t) * m
    twist = rotation_matrix(n, config.twist_deg)
    e3_1, e2_1 = twist @ e3_1, twist @ e2_1
    rots = []
    for e2, e3 in ((e2_0, e3_0), (e2_1, e3_1)):
        rots.append(np.column_stack([np.cross(e2, e3), e2, e3]))
    u_local = np.array([0.0, math.sin(t), math.cos(t)])
    reach = config.junction_overlap * _radial_extent(semi, u_local)
    # a small global tilt so that nothing is exactly grid-aligned
    tilt_world = euler_xyz((3.0, -2.0, 4.0))
    centres = (-reach * n, reach * n)
    heads = tuple(
        _make_head(rng, tilt_world @ c, tilt_world @ r, semi)
        for c, r in zip(centres, rots, strict=True)
    )
    return _Anatomy(heads=(heads[0], heads[1]), junction_mm=np.zeros(3), normal=tilt_world @ n)


def truth_angles(anatomy: _Anatomy) -> dict[str, float]:
    """The union's angles as the built heads show them (deg).

    Returns
    -------
    dict
        ``axis_angle_deg``: between the two heads' long axes (``e3``, neck -> vertex);
        ``rotation_deg``: between their faces (``e2``) projected on the junction plane
        (B's twist about the junction axis); ``rotation_across_axes_deg``: between the
        faces projected on the plane perpendicular to ``e3_A - e3_B`` (the line through
        both vertices when the axes are opposite; equal to ``rotation_deg`` on a vertical
        union, not on a twisted angular one).
    """

    def between(u: NDArray[np.float64], v: NDArray[np.float64]) -> float:
        c = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))
        return math.degrees(math.acos(max(-1.0, min(1.0, c))))

    def across(v: NDArray[np.float64], n: NDArray[np.float64]) -> NDArray[np.float64]:
        n = n / np.linalg.norm(n)
        return v - float(np.dot(v, n)) * n

    r0, r1 = anatomy.heads[0].rot, anatomy.heads[1].rot
    shared = r0[:, 2] - r1[:, 2]
    return {
        "axis_angle_deg": between(r0[:, 2], r1[:, 2]),
        "rotation_deg": between(across(r0[:, 1], anatomy.normal), across(r1[:, 1], anatomy.normal)),
        "rotation_across_axes_deg": between(across(r0[:, 1], shared), across(r1[:, 1], shared)),
    }


def _ellipsoid_depth(
    q: NDArray[np.float64], semi: NDArray[np.float64], pert: NDArray[np.float64] | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Radial depth below an ellipsoid surface (mm, > 0 inside) and unit directions."""
    r = np.linalg.norm(q, axis=1)
    u = q / np.maximum(r, 1e-9)[:, None]
    surf = 1.0 / np.sqrt(np.sum((u / semi) ** 2, axis=1))
    if pert is not None:
        surf = surf * (1.0 + pert)
    return surf - r, u


def _in_ellipsoid(
    q: NDArray[np.float64], centre: tuple[float, float, float], semi: tuple[float, float, float]
) -> NDArray[np.bool_]:
    return np.sum(((q - np.asarray(centre)) / np.asarray(semi)) ** 2, axis=1) < 1.0


def _head_tissue(
    head: _Head, p: NDArray[np.float64]
) -> tuple[NDArray[np.uint8], NDArray[np.bool_], NDArray[np.float64]]:
    """Tissue of one head at world points ``p`` (N, 3).

    Returns the tissue class (AIR outside), whether the point is inside this twin's body,
    and the depth below the inner table (mm, > 0 in the cranial cavity, NaN outside).
    Only the points in :func:`_near_head` are worked out (the same values there; the
    rest are air), a third less time for a render.
    """
    q_all = (p - head.centre) @ head.rot
    near = _near_head(head, q_all)
    tissue_all = np.full(len(p), AIR, dtype=np.uint8)
    body_all = np.zeros(len(p), dtype=bool)
    depth_all = np.full(len(p), np.nan)
    tissue_all[near], body_all[near], depth_all[near] = _head_tissue_local(head, q_all[near])
    return tissue_all, body_all, depth_all


def _near_head(head: _Head, q: NDArray[np.float64]) -> NDArray[np.bool_]:
    """The points (head coordinates, (N, 3)) that may hold any of ``head``'s tissue: the
    union of boxes around the cranium (its surface waves move it by at most the sum of
    their amplitudes), the face, the neck and the orbits, 1 mm wider. Every other point
    is air and outside the body in :func:`_head_tissue_local`."""
    a, b, c = head.semi
    wave = 1.0 + float(np.abs(head.shape.amp).sum())
    boxes = [
        (np.zeros(3), head.semi * wave),
        (np.array([0.0, 0.5 * b, -0.78 * c]), np.array([0.7 * a, 0.48 * b, 0.5 * c])),
        (
            np.array([0.0, -0.2 * b, -0.5 * (1.55 * c + 120.0)]),
            np.array([0.55 * a, 0.55 * a, 0.5 * (0.45 * c + 120.0)]),
        ),
        (np.array([0.3 * a, 0.8 * b, -0.6 * c]), np.full(3, 10.5)),
        (np.array([-0.3 * a, 0.8 * b, -0.6 * c]), np.full(3, 10.5)),
    ]
    near = np.zeros(len(q), dtype=bool)
    for centre, half in boxes:
        lo, hi = centre - half - 1.0, centre + half + 1.0
        inside = (q[:, 0] >= lo[0]) & (q[:, 0] <= hi[0])
        for ax in (1, 2):
            inside &= (q[:, ax] >= lo[ax]) & (q[:, ax] <= hi[ax])
        near |= inside
    return near


def _head_tissue_local(
    head: _Head, q: NDArray[np.float64]
) -> tuple[NDArray[np.uint8], NDArray[np.bool_], NDArray[np.float64]]:
    """:func:`_head_tissue` at points ``q`` (N, 3) in the head's own coordinates."""
    a, b, c = head.semi
    d, u = _ellipsoid_depth(q, head.semi, head.shape(_unit(q)))
    # skull base: the anterior cranial fossa sits above the orbits, the posterior fossa
    # lower; below it are the face (front) and the neck (back)
    w_front = np.clip((q[:, 1] / b + 0.2) / 0.4, 0.0, 1.0)
    z_base = -c * (0.72 - 0.3 * w_front)
    d = np.minimum(d, q[:, 2] - z_base)
    t_skull = 3.5 * (1.0 + head.skull(u))
    o1 = 4.0
    inner = o1 + t_skull
    csf_w = 2.5 * (1.0 + head.csf(u))
    s = head.sulci(u)
    sulc = 6.0 * np.clip((s - 0.35) / 0.3, 0.0, 1.0)
    sulc_wide = 6.0 * np.clip((s - 0.15) / 0.3, 0.0, 1.0)
    brain = inner + csf_w
    wm = brain + 2.8 + sulc_wide
    tissue = np.full(len(q), AIR, dtype=np.uint8)
    tissue[d >= 0] = SKIN
    tissue[d >= 1.5] = FAT
    tissue[d >= o1] = CORTICAL
    tissue[d >= o1 + 0.3 * t_skull] = MARROW
    tissue[d >= o1 + 0.7 * t_skull] = CORTICAL
    tissue[d >= inner] = CSF
    tissue[d >= brain + sulc] = GM
    tissue[d >= wm] = WM
    rel = d - inner
    intracranial = rel >= 0
    x, y, z = q[:, 0], q[:, 1], q[:, 2]
    # interhemispheric fissure (with the falx) in the upper brain
    fissure = intracranial & (np.abs(x) < 1.2) & (z > -0.15 * c) & (rel < 32.0)
    tissue[fissure] = CSF
    # deep grey nuclei, then the lateral ventricles (right larger)
    for side in (-1.0, 1.0):
        deep = _in_ellipsoid(q, (side * 11.0, -3.0, -5.0), (7.0, 10.0, 6.0))
        tissue[deep & intracranial & (tissue == WM)] = DEEP_GM
        k = head.vent_scale[0] if side > 0 else head.vent_scale[1]
        vent = _in_ellipsoid(q, (side * 7.0, 3.0, 7.0), (4.0 * k, 18.0 * k, 6.5 * k))
        tissue[vent & intracranial] = CSF
    # superior sagittal sinus (triangular), then the transverse sinuses (right larger)
    upper = (z > 0.1 * c) | ((y < 0) & (z > -0.3 * c))
    sss = intracranial & upper & (rel < 5.0) & (np.abs(x) < 4.5 * (1 - rel / 5.0))
    tissue[sss] = SINUS
    for side, hw, h in ((1.0, 4.5, 5.0), (-1.0, 3.0, 4.0)):
        ts = (
            intracranial
            & (y < -0.2 * b)
            & (side * x > -2.0)
            & (rel < h)
            & (np.abs(z + 0.3 * c) < hw * (1 - rel / h))
        )
        tissue[ts] = SINUS
    inside = d >= 0
    soft_zone = (d < o1) | ~inside  # scalp or outside the cranium
    # face: skin, fat, muscle, jaw bone, nasal air, globes in orbital fat
    fsemi = np.array([0.7 * a, 0.48 * b, 0.5 * c])
    fq = q - np.array([0.0, 0.5 * b, -0.78 * c])
    fd, _ = _ellipsoid_depth(fq, fsemi)
    face = (fd >= 0) & soft_zone
    ft = np.where(fd < 1.5, SKIN, np.where(fd < 4.0, FAT, MUSCLE)).astype(np.uint8)
    ft[(fd >= 5.0) & (fd < 8.5) & (z < -0.95 * c)] = CORTICAL  # mandible
    ft[(fd >= 5.0) & (fd < 8.0) & (z >= -0.95 * c) & (y > 0.45 * b)] = CORTICAL  # maxilla
    ft[_in_ellipsoid(q, (0.0, 0.78 * b, -0.8 * c), (4.0, 10.0, 9.0)) & (fd >= 3.0)] = AIR
    tissue[face] = ft[face]
    # neck: a cylinder along -e3 that runs out of the field of view
    nq = q - np.array([0.0, -0.2 * b, 0.0])
    rho = np.hypot(nq[:, 0], nq[:, 1])
    nd = 0.55 * a - rho
    neck = (nd >= 0) & (z < -0.55 * c) & (z > -c - 120.0) & soft_zone & ~face
    nt = np.where(nd < 1.5, SKIN, np.where(nd < 4.0, FAT, MUSCLE)).astype(np.uint8)
    spine = np.hypot(nq[:, 0], nq[:, 1] + 0.12 * b)
    nt[spine < 7.0] = CORTICAL
    nt[spine < 5.5] = MARROW
    for side in (-1.0, 1.0):
        jug = np.hypot(nq[:, 0] - side * 0.33 * a, nq[:, 1] - 0.05 * b)
        nt[jug < (3.5 if side > 0 else 2.8)] = SINUS
    tissue[neck] = nt[neck]
    # orbits (in front of the frontal lobes, never in the cranial cavity)
    for side in (-1.0, 1.0):
        centre = np.array([side * 0.3 * a, 0.8 * b, -0.6 * c])
        r = np.linalg.norm(q - centre, axis=1)
        orbit = (r < 10.5) & ~intracranial
        tissue[orbit] = np.where(r[orbit] < 7.5, VITREOUS, FAT)
    body = inside | face | neck
    depth_in = np.where(body, rel, np.nan)
    return tissue, body, depth_in


def _unit(q: NDArray[np.float64]) -> NDArray[np.float64]:
    r = np.linalg.norm(q, axis=1)
    return q / np.maximum(r, 1e-9)[:, None]


def tissue_at(
    anatomy: _Anatomy, p: NDArray[np.float64]
) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """Tissue class and owning head (0 none, 1 head 0, 2 head 1) at world points (N, 3)."""
    t0, in0, rel0 = _head_tissue(anatomy.heads[0], p)
    t1, in1, rel1 = _head_tissue(anatomy.heads[1], p)
    s = (p - anatomy.junction_mm) @ anatomy.normal
    owner = np.where(in0 & in1, np.where(s < 0, 1, 2), np.where(in0, 1, np.where(in1, 2, 0)))
    owner = owner.astype(np.uint8)
    tissue = np.where(owner == 1, t0, np.where(owner == 2, t1, AIR)).astype(np.uint8)
    rel = np.where(owner == 1, rel0, rel1)
    cavity = (owner > 0) & (rel >= 0)
    # the dural septum between the two brains, and the circular sinus around its rim
    tissue[cavity & (np.abs(s) < 1.5) & (tissue != SINUS)] = CSF
    ring = cavity & (np.abs(s) < 4.0) & (rel < 5.0 * (1 - np.abs(s) / 4.0))
    tissue[ring] = SINUS
    tissue[owner == 0] = AIR
    return tissue, owner


# ---------------------------------------------------------------------------- sampling


def _grid(
    anatomy: _Anatomy,
    pose: NDArray[np.float64],
    spacing_mm: tuple[float, float, float],
    neck_mm: float,
) -> tuple[NDArray[np.float64], tuple[int, int, int]]:
    """An axis-aligned grid (affine, shape) in a frame where the anatomy is moved by ``pose``.

    The box holds both crania, faces and ``neck_mm`` of each neck below its cranium
    (plus 8 mm of air elsewhere); the necks leave it (a scan cut, as in a real head scan).
    """
    pts = []
    for head in anatomy.heads:
        a, b, c = head.semi
        for corner in np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T:
            loc = corner * np.array([a, b * 1.1, c]) + np.array([0.0, 0.1 * b, 0.0])
            pts.append(head.centre + head.rot @ loc)
        pts.append(head.centre + head.rot @ np.array([0.0, -0.2 * b, -c - neck_mm]))
    world = np.array(pts) @ pose[:3, :3].T + pose[:3, 3]
    lo, hi = world.min(axis=0) - 8.0, world.max(axis=0) + 8.0
    sp = np.asarray(spacing_mm, dtype=float)
    shape = np.ceil((hi - lo) / sp).astype(int) + 1
    affine = np.eye(4)
    affine[:3, :3] = np.diag(sp)
    affine[:3, 3] = lo
    return affine, (int(shape[0]), int(shape[1]), int(shape[2]))


def _sample(
    anatomy: _Anatomy,
    vox: NDArray[np.float64],
    affine: NDArray[np.float64],
    inv_pose: NDArray[np.float64],
) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """Tissue and owner at voxel coordinates ``vox`` (N, 3), in chunks."""
    tissue = np.empty(len(vox), dtype=np.uint8)
    owner = np.empty(len(vox), dtype=np.uint8)
    step = 400_000
    for s0 in range(0, len(vox), step):
        world = vox[s0 : s0 + step] @ affine[:3, :3].T + affine[:3, 3]
        anat = world @ inv_pose[:3, :3].T + inv_pose[:3, 3]
        tissue[s0 : s0 + step], owner[s0 : s0 + step] = tissue_at(anatomy, anat)
    return tissue, owner


def _render(
    anatomy: _Anatomy,
    affine: NDArray[np.float64],
    shape: tuple[int, int, int],
    pose: NDArray[np.float64],
    values: tuple[NDArray[np.float64], ...],
    supersample: int,
) -> tuple[list[NDArray[np.float32]], NDArray[np.uint8], NDArray[np.uint8]]:
    """Average each ``values[tissue]`` table over sub-voxel points; majority label and twin.

    ``pose`` maps anatomy world -> this grid's world; points are mapped back by its
    inverse. Each voxel centre is evaluated first; only voxels whose 3x3x3 neighbourhood
    holds more than one tissue or owner are supersampled (the others are uniform at this
    scale), ``supersample`` points per axis, more along an axis whose voxel is larger
    than the smallest (at most 4).
    """
    inv: NDArray[np.float64] = np.linalg.inv(pose).astype(np.float64)
    idx = np.indices(shape, dtype=np.float64).reshape(3, -1).T
    tissue, owner = _sample(anatomy, idx, affine, inv)
    tissue = tissue.reshape(shape)
    owner = owner.reshape(shape)
    code = tissue.astype(np.int16) * 3 + owner
    mixed = ndimage.maximum_filter(code, size=3) != ndimage.minimum_filter(code, size=3)
    images = [np.asarray(v, dtype=np.float32)[tissue] for v in values]
    labels = TISSUE_LABEL[tissue]
    twins = np.where(labels > 0, owner, 0).astype(np.uint8)
    sp = np.sqrt(np.sum(affine[:3, :3] ** 2, axis=0))
    ss = [int(min(4, max(supersample, math.ceil(supersample * s / sp.min() - 1e-6)))) for s in sp]
    if max(ss) <= 1:
        return images, labels, twins
    offs = [((np.arange(k) + 0.5) / k - 0.5) for k in ss]
    sub = np.array(np.meshgrid(*offs, indexing="ij")).reshape(3, -1).T
    n_sub = len(sub)
    where = np.argwhere(mixed)
    step = max(1, 400_000 // n_sub)
    for s0 in range(0, len(where), step):
        w = where[s0 : s0 + step]
        pts = (w[:, None, :].astype(np.float64) + sub[None]).reshape(-1, 3)
        t_sub, o_sub = _sample(anatomy, pts, affine, inv)
        t_sub = t_sub.reshape(-1, n_sub)
        o_sub = o_sub.reshape(-1, n_sub)
        at = (w[:, 0], w[:, 1], w[:, 2])
        for img, v in zip(images, values, strict=True):
            img[at] = np.asarray(v, dtype=np.float32)[t_sub].mean(axis=1)
        lab = TISSUE_LABEL[t_sub]
        counts = np.stack([(lab == v).sum(axis=1) for v in range(6)], axis=1)
        best = counts.argmax(axis=1).astype(np.uint8)
        tw = np.stack([((o_sub == v) & (lab > 0)).sum(axis=1) for v in (1, 2)], axis=1)
        labels[at] = best
        twins[at] = np.where(best > 0, tw.argmax(axis=1) + 1, 0).astype(np.uint8)
    return images, labels, twins


def _bias_field(
    rng: np.random.Generator,
    affine: NDArray[np.float64],
    shape: tuple[int, int, int],
    head: NDArray[np.bool_],
    bias_fraction: float,
) -> NDArray[np.float32]:
    """A smooth multiplicative field, ``bias_fraction`` peak-to-peak over ``head``."""
    if bias_fraction <= 0:
        return np.ones(shape, dtype=np.float32)
    idx = np.indices(shape, dtype=np.float32).reshape(3, -1).T
    world = idx @ affine[:3, :3].T.astype(np.float32) + affine[:3, 3].astype(np.float32)
    h = np.zeros(len(world), dtype=np.float64)
    for _ in range(3):
        w = rng.normal(size=3)
        w *= 2 * np.pi / rng.uniform(250.0, 400.0) / np.linalg.norm(w)
        h += np.cos(world @ w + rng.uniform(0, 2 * np.pi))
    h = h.reshape(shape)
    lo, hi = h[head].min(), h[head].max()
    h = (h - 0.5 * (lo + hi)) / max(hi - lo, 1e-9)
    return np.exp(math.log1p(bias_fraction) * h).astype(np.float32)


def twin_a_rule(twins: NDArray[np.uint8], affine: NDArray[np.float64]) -> int:
    """Which label (1 or 2) is twin A by DESIGN.md's rule, in this grid's world frame.

    Twin A has the smaller centroid coordinate along the world axis on which the two
    centroids differ most.
    """
    cents = []
    for v in (1, 2):
        idx = np.argwhere(twins == v).mean(axis=0)
        cents.append(affine[:3, :3] @ idx + affine[:3, 3])
    diff = cents[1] - cents[0]
    axis = int(np.argmax(np.abs(diff)))
    return 1 if cents[0][axis] < cents[1][axis] else 2


def _relabel_a(
    twins: NDArray[np.uint8], affine: NDArray[np.float64]
) -> tuple[NDArray[np.uint8], int]:
    """Twins with 1 = A by the DESIGN rule; also which head (0/1) is A."""
    a = twin_a_rule(twins, affine)
    if a == 1:
        return twins, 0
    out = twins.copy()
    out[twins == 1] = 2
    out[twins == 2] = 1
    return out, 1


def _volumes_ml(
    labels: NDArray[np.uint8], twins: NDArray[np.uint8], affine: NDArray[np.float64]
) -> dict[str, dict[str, float]]:
    vox_ml = abs(float(np.linalg.det(affine[:3, :3]))) / 1000.0
    names = ("soft_tissue", "bone", "brain", "csf", "vessel")
    return {
        tw: {
            n: float(np.sum((labels == i + 1) & (twins == t)) * vox_ml) for i, n in enumerate(names)
        }
        for tw, t in (("A", 1), ("B", 2))
    }


def make_mr_case(config: MrPhantomConfig, *, with_ct: bool = True) -> MrCase:
    """Generate the MR, the CT and their truth for ``config`` (deterministic).

    Parameters
    ----------
    config : MrPhantomConfig
        The case.
    with_ct : bool
        Also render the CT (an MR-alone case does not need it; ``ct`` is then an empty
        1x1x1 image and its truth maps too).

    Returns
    -------
    MrCase
    """
    anatomy = build_anatomy(config)
    rng = np.random.default_rng([config.seed, 1])
    # MR scanner pose: rotate about the junction centre, then shift
    pose = np.eye(4)
    pose[:3, :3] = euler_xyz(config.mr_rotation_deg)
    pose[:3, 3] = (
        np.asarray(config.mr_shift_mm) + anatomy.junction_mm - pose[:3, :3] @ anatomy.junction_mm
    )
    t1 = T1_SIGNAL.copy()
    if config.venogram:
        t1[SINUS] = SINUS_SIGNAL_VENOGRAM
    hu = CT_HU.copy()
    if config.ct_contrast:
        hu[SINUS] = SINUS_HU_CONTRAST
    mr_aff, mr_shape = _grid(anatomy, pose, config.mr_spacing_mm, config.neck_in_fov_mm)
    ct_aff, ct_shape = _grid(anatomy, np.eye(4), config.ct_spacing_mm, config.neck_in_fov_mm)
    same_grid = (
        with_ct
        and np.allclose(pose, np.eye(4))
        and mr_shape == ct_shape
        and np.allclose(mr_aff, ct_aff)
    )
    tables = (t1, hu) if same_grid else (t1,)
    images, mr_lab, mr_tw = _render(anatomy, mr_aff, mr_shape, pose, tables, config.supersample)
    clean = images[0]
    # --- MR physics: bias field, then Rician noise
    headmask = ndimage.binary_dilation(mr_lab > 0, iterations=2)
    bias = _bias_field(rng, mr_aff, mr_shape, headmask, config.bias_fraction)
    sigma = config.noise_fraction * T1_SIGNAL[WM]
    sig = clean * bias
    n1 = rng.normal(0.0, sigma, mr_shape).astype(np.float32)
    n2 = rng.normal(0.0, sigma, mr_shape).astype(np.float32)
    mr = np.sqrt((sig + n1) ** 2 + n2**2)
    mr_arr = np.clip(np.rint(mr), 0, 65535).astype(np.uint16)
    mr_tw_a, a_head_mr = _relabel_a(mr_tw, mr_aff)
    file_aff = mr_aff.copy()
    file_aff[:3, 3] += np.asarray(config.mr_header_shift_mm)
    mr_lab_file = mr_lab
    if config.mr_flip_lr:
        mr_arr = flip_lr(Image(mr_arr, mr_aff)).array
        mr_lab_file = flip_lr(Image(mr_lab, mr_aff)).array
        mr_tw_a = flip_lr(Image(mr_tw_a, mr_aff)).array
    # --- CT (in the anatomy's own frame): partial volume, PSF, noise
    if not with_ct:
        ct_aff, ct_shape = np.eye(4), (1, 1, 1)
        ct_arr = np.full(ct_shape, -1000, dtype=np.int16)
        ct_lab = np.zeros(ct_shape, dtype=np.uint8)
        ct_tw_a, a_head_ct = np.zeros(ct_shape, dtype=np.uint8), -1
    else:
        if same_grid:
            ct_clean, ct_lab, ct_tw = images[1], mr_lab, mr_tw
        else:
            (ct_clean,), ct_lab, ct_tw = _render(
                anatomy, ct_aff, ct_shape, np.eye(4), (hu,), config.supersample
            )
        ct_f = ndimage.gaussian_filter(ct_clean, 0.5)
        ct_f = ct_f + rng.normal(0.0, config.ct_noise_hu, ct_shape)
        ct_arr = np.clip(np.rint(ct_f), -1024, 3071).astype(np.int16)
        ct_tw_a, a_head_ct = _relabel_a(ct_tw, ct_aff)
    # MR scanner world -> CT world, for the file as written (header shift included)
    mr_to_ct = np.linalg.inv(pose)
    file_shift = np.eye(4)
    file_shift[:3, 3] = -np.asarray(config.mr_header_shift_mm)
    mr_file_to_ct = mr_to_ct @ file_shift
    nominal = 180.0 if config.fusion == "vertical" else config.axis_angle_deg
    built = truth_angles(anatomy)
    axis_angle = round(built["axis_angle_deg"], 3)
    truth: dict[str, Any] = {
        "generator": "tests/blind/mr_phantom.py",
        "config": asdict(config),
        "fusion_type": "angular" if axis_angle < 140.0 else "vertical",
        "axis_angle_deg": axis_angle,
        "axis_angle_nominal_deg": nominal,
        "twist_deg": config.twist_deg,
        "rotation_across_axes_deg": round(built["rotation_across_axes_deg"], 3),
        "completeness": "total",
        "shared_sinus": True,
        "twin_a_head_mr": a_head_mr,
        "twin_a_head_ct": a_head_ct,
        "mr_to_ct": mr_to_ct.tolist(),
        "mr_file_to_ct": mr_file_to_ct.tolist(),
        "mr_flip_lr": config.mr_flip_lr,
        "tissue_ml_mr": _volumes_ml(mr_lab_file, mr_tw_a, mr_aff),
        "tissue_ml_ct": _volumes_ml(ct_lab, ct_tw_a, ct_aff),
        "mr_shape": list(mr_shape),
        "ct_shape": list(ct_shape),
    }
    return MrCase(
        mr=Image(mr_arr, file_aff),
        mr_labels=Image(mr_lab_file, file_aff),
        mr_twins=Image(mr_tw_a, file_aff),
        ct=Image(ct_arr, ct_aff),
        ct_labels=Image(ct_lab, ct_aff),
        ct_twins=Image(ct_tw_a, ct_aff),
        truth=truth,
    )


def write_case(case: MrCase, out_dir: Path) -> dict[str, Path]:
    """Write ``mr.nii.gz``, ``ct.nii.gz``, the four truth maps and ``truth.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, img in (
        ("mr", case.mr),
        ("mr_labels", case.mr_labels),
        ("mr_twins", case.mr_twins),
        ("ct", case.ct),
        ("ct_labels", case.ct_labels),
        ("ct_twins", case.ct_twins),
    ):
        paths[name] = save_image(img, out_dir / f"{name}.nii.gz")
    (out_dir / "truth.json").write_text(json.dumps(case.truth, indent=2) + "\n")
    paths["truth"] = out_dir / "truth.json"
    return paths


def flip_lr(image: Image) -> Image:
    """``image`` with its voxels mirrored along the array axis closest to world x and its
    header unchanged (a left-right error in a file)."""
    xaxis = int(np.argmax(np.abs(image.affine[0, :3])))
    return Image(np.flip(image.array, axis=xaxis).copy(), image.affine.copy())


def save_image(image: Image, path: Path) -> Path:
    """Write ``image`` as NIfTI (units mm) and return ``path``."""
    import nibabel as nib

    nii = nib.Nifti1Image(np.asarray(image.array), image.affine)
    nii.header.set_xyzt_units("mm")
    nib.save(nii, str(path))
    return path
