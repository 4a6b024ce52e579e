"""phantom3: a blind, independently designed craniopagus CT phantom with exact truth.

Written without reading twinsep's sources, tests or benchmarks (only the user-level
contracts: label values 0-5, twin map 0/1/2 and the DESIGN rule for twin A). It is meant
to be what a careful outside evaluator would build from anatomy and CT physics.

Design choices
--------------
*Coordinates.* Every shape is defined in a head's local frame in millimetres: ``x`` to
the head's right, ``y`` anterior (toward the face), ``z`` superior (toward the vertex),
origin at the centre of the cranial vault. A head of length ``length_mm`` is the template
(135 mm) scaled by ``length_mm / 135``; layer thicknesses (scalp, bone, CSF, cortex) are
in real millimetres and are not scaled. Heads are placed in world RAS millimetres; a grid
(shape, spacing, direction matrix) samples the world, so the same world case can be stored
RAS, LPS, permuted (sagittal slices) or 20 deg oblique.

*Anatomy of one infant head* (HU values in ``MATERIALS``):
skin (+40) over subcutaneous fat (-100; 1.5 mm on the scalp, 4 mm on the face and neck)
over galea/muscle (+50); skull from an egg-shaped implicit surface (wider behind, lower
half deeper), bone 1.2-4 mm thick by direction, with outer and inner tables (1500 HU)
and diploe (600 HU) where thicker than 2.4 mm, solid thin plate (1100 HU) elsewhere;
open sagittal, coronal and lambdoid sutures (2 mm) and an anterior fontanelle (diamond,
``fontanelle_mm`` across) filled with fibrous membrane (+40, soft tissue); a skull base
with anterior/middle/posterior fossae at different heights, dense petrous ridges
(1900 HU) and a foramen magnum; a subarachnoid CSF layer (+8 HU) 1-4 mm thick by
direction, an interhemispheric fissure, a tentorium gap, a few sulci; brain with cortex
(grey, +38) 3 mm deep over white matter (+27), deep grey nuclei, cerebellum, brainstem,
lateral/third/fourth ventricles; a face with orbits (bony walls, orbital fat -90, globes
+10, lenses +90), nasal cavity with a septum, small maxillary sinuses (air), palate, a
mandible with marrow and tooth buds (2200 HU), an oral air slit, pharyngeal airway, ears
with air-filled canals; a neck with cervical vertebrae (infant: low density), spinal
canal, cord and vessels; dural venous sinuses (superior sagittal with a triangular
section under the inner table, straight, confluence, transverse, sigmoid, jugular) that
are blood (+45) on plain CT and 200-400 HU with contrast, and arteries (carotids, circle
of Willis, middle/anterior cerebral, basilar) that are only visible with contrast.

*Labels of ambiguous tissues* (DESIGN is silent; my choice): eyes, lenses, orbital fat,
suture membranes and intervertebral discs are soft tissue (1); teeth and cartilage-poor
infant vertebrae are bone (2); spinal cord and brainstem are brain (3); air inside the
body (nose, sinuses, airway, mouth, ear canal) is background (0); the table and mattress
are background (0). Dura is not modelled as its own layer. On plain CT the sinuses and
arteries are still label 5 in the truth map, but ``truth["vessel_voxels_scored"]`` is
False: the scorer then leaves those voxels out of every Dice (nothing can tell
non-enhanced blood from soft tissue).

*Union.* Head B is placed so that its junction direction (vertex tilted by ``tilt_deg``
toward azimuth ``site_deg``: 0 frontal, 90 lateral, 180 occipital) points back along
head A's junction direction, spun by ``rotation_deg`` about that shared line; the skull
surfaces overlap by ``overlap_mm``. The skulls join through a smooth minimum (a fillet
of ``fillet_mm``). *Partial*: each head keeps its own cranial cavity; the bone between
them is a shared bony septum; each has its own superior sagittal sinus. *Total*: the
cavities and brain surfaces are smooth-joined (no bone between them: a skull defect),
the brains touch on a disc of ``contact_mm`` radius and are separated by a 1.5 mm CSF
sheet outside it, and a circular (circumferential) sinus runs round the junction under
the inner table, fed by both sagittal sinuses (shared sinus).

*Truth ownership* is the bisecting plane: the plane perpendicular to the junction line
through the middle of the skull overlap. Each tissue voxel belongs to the twin on whose
side its centre lies; head features are evaluated in the owner's frame only. The
generator checks that no tissue of one head crosses the plane outside the bridge
(``truth["cross_plane_voxels"]``). Twin A of the twin map is chosen by the DESIGN rule
(smaller world coordinate along the axis on which the tissue centroids differ most).

*Rendering.* Truth = the tissue at each voxel centre. CT value = mean of
``supersample``^3 sub-samples per voxel (partial volume; the adaptive scheme samples
all sub-positions only in voxels where the centre labels of the 3x3x3 neighbourhood
differ or a thin structure is near, see ``_render``), plus a smooth cupping term inside
each cranium, then a Gaussian PSF (``psf_fwhm_mm``, 0 = none), then Gaussian noise
(``noise_hu``; optionally spatially correlated), then the outside of a circular
reconstruction field set to ``pad_hu``. A curved carbon table with a foam core and a
foam mattress lies under the pair (world -y, the patients are supine). Stored as int16
with slope 1 and intercept 0 (HU) or -1024 (CT number + 1024 on disk).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
from scipy import ndimage

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

TEMPLATE_LENGTH_MM = 135.0

# ---------------------------------------------------------------------------------------
# materials: (name, plain HU, contrast HU, truth label)
MATERIALS: tuple[tuple[str, float, float, int], ...] = (
    ("air", -1000.0, -1000.0, 0),
    ("skin", 40.0, 55.0, 1),
    ("fat", -100.0, -95.0, 1),
    ("muscle", 50.0, 62.0, 1),
    ("membrane", 40.0, 55.0, 1),  # suture / fontanelle fibrous tissue
    ("cortical", 1500.0, 1500.0, 2),
    ("diploe", 600.0, 600.0, 2),
    ("thin_bone", 1100.0, 1100.0, 2),
    ("dense_bone", 1900.0, 1900.0, 2),
    ("tooth", 2200.0, 2200.0, 2),
    ("marrow", 300.0, 320.0, 2),
    ("csf", 8.0, 8.0, 4),
    ("grey", 38.0, 42.0, 3),
    ("white", 27.0, 29.0, 3),
    ("deep_grey", 36.0, 40.0, 3),
    ("sinus", 45.0, 300.0, 5),
    ("artery", 42.0, 350.0, 5),
    ("eye", 10.0, 12.0, 1),
    ("lens", 90.0, 92.0, 1),
    ("orbital_fat", -90.0, -88.0, 1),
    ("disc", 80.0, 90.0, 1),
    ("cord", 32.0, 34.0, 3),
    ("table_shell", 300.0, 300.0, 0),
    ("foam", -850.0, -850.0, 0),
    ("cerebellum", 36.0, 40.0, 3),
    ("vert_cortex", 700.0, 700.0, 2),
)
M = {name: i for i, (name, *_rest) in enumerate(MATERIALS)}
LABEL_OF = np.array([m[3] for m in MATERIALS], dtype=np.uint8)


def material_hu(*, contrast: bool, cortical_hu: float = 1500.0) -> FloatArray:
    """HU of every material code (index = code) for a plain or a contrast CT."""
    hu = np.array([m[2] if contrast else m[1] for m in MATERIALS], dtype=np.float64)
    hu[M["cortical"]] = cortical_hu
    return hu


# ---------------------------------------------------------------------------------------
# parameters


@dataclass(frozen=True)
class HeadParams:
    """One infant head.

    Attributes
    ----------
    length_mm : glabella-opisthocranion length, 120-150 mm.
    scalp_mm : mean scalp thickness over the vault (skin + fat + galea), mm.
    bone_mm : mean vault bone thickness, mm (varies 0.5x-1.5x by direction, >= 1.2).
    csf_mm : mean subarachnoid CSF thickness, mm (varies 1-4 mm by direction).
    fontanelle_mm : anterior fontanelle width, mm (0 = closed).
    suture_mm : open suture width, mm (0 = closed).
    neck_mm : neck length below the skull base inside the scan, mm.
    neck_cut : True when the neck continues out of the scan (cut by the scan edge).
    ventricle_scale : size factor of the ventricles.
    """

    length_mm: float = 135.0
    scalp_mm: float = 4.5
    bone_mm: float = 2.6
    csf_mm: float = 2.2
    fontanelle_mm: float = 20.0
    suture_mm: float = 2.0
    neck_mm: float = 45.0
    neck_cut: bool = True
    ventricle_scale: float = 1.0


UnionKind = Literal["vertical", "angular"]
Completeness = Literal["partial", "total"]


@dataclass(frozen=True)
class UnionParams:
    """How the two heads are joined.

    Attributes
    ----------
    kind : "vertical" (crowns joined, axes in line) or "angular".
    completeness : "partial" (own cavities, bony septum) or "total" (shared cavity,
        brains touching, circular shared sinus).
    rotation_deg : spin of head B about the junction line (0 = faces the same way).
    tilt_deg : angular unions: junction site tilted from the vertex (each head), deg;
        axis angle = 180 - 2 * tilt for coplanar tilts.
    site_deg : azimuth of the tilt: 0 frontal, 90 lateral (right), 180 occipital.
    overlap_mm : how deep the two outer skull surfaces interpenetrate, mm.
    fillet_mm : smooth-union radius of the skull/scalp bridge, mm.
    contact_mm : total unions: radius of the brain-brain contact disc, mm.
    septum_mm : partial unions: thickness of the bony septum between the cavities, mm.
    flip : turn the whole pair upside down (head B becomes the lower one).
    """

    kind: UnionKind = "vertical"
    completeness: Completeness = "total"
    rotation_deg: float = 0.0
    tilt_deg: float = 30.0
    site_deg: float = 180.0
    overlap_mm: float = 30.0
    fillet_mm: float = 10.0
    contact_mm: float = 18.0
    septum_mm: float = 4.0
    flip: bool = False


@dataclass(frozen=True)
class CtParams:
    """CT rendering.

    Attributes
    ----------
    contrast : contrast-enhanced (CTA/CTV) or plain CT.
    noise_hu : Gaussian noise sigma, HU.
    noise_corr_vox : Gaussian correlation length of the noise in voxels (0 = white).
    psf_fwhm_mm : full width at half maximum of the Gaussian PSF, mm (0 = none).
    supersample : sub-samples per voxel axis for partial volume (1 = none).
    table : put a patient table and mattress under the heads.
    fov_radius_mm : radius of the circular reconstruction field, mm (None = none).
    pad_hu : value outside the reconstruction field.
    cupping_hu : HU lost at the centre of each cranium (beam hardening), >= 0.
    intercept : NIfTI scl_inter: 0 (HU on disk) or -1024 (CT number + 1024 on disk).
    cortical_hu : HU of cortical bone tables (infant: 1200-1800).
    """

    contrast: bool = True
    noise_hu: float = 15.0
    noise_corr_vox: float = 0.0
    psf_fwhm_mm: float = 1.0
    supersample: int = 3
    table: bool = True
    fov_radius_mm: float | None = None
    pad_hu: float = -3024.0
    cupping_hu: float = 4.0
    intercept: float = 0.0
    cortical_hu: float = 1500.0


Orientation = Literal["RAS", "LPS", "sagittal", "oblique20"]


@dataclass(frozen=True)
class GridParams:
    """Sampling grid.

    Attributes
    ----------
    shape : voxels per grid axis (i, j, k); None = from ``spacing_mm`` and the extent.
    spacing_mm : voxel size per grid axis, mm; None = the smallest isotropic spacing that
        covers the pair with ``shape``.
    orientation : storage order of the voxel axes: "RAS" (i->R, j->A, k->S), "LPS",
        "sagittal" (i->A, j->S, k->L: sagittal slices), "oblique20" (RAS turned 20 deg
        about the world x axis and 10 deg about z).
    margin_mm : air margin around the pair (and table), mm.
    """

    shape: tuple[int, int, int] | None = (96, 96, 96)
    spacing_mm: tuple[float, float, float] | None = None
    orientation: Orientation = "RAS"
    margin_mm: float = 6.0


@dataclass(frozen=True)
class Case:
    """One phantom configuration (everything that determines the output)."""

    name: str
    union: UnionParams = field(default_factory=UnionParams)
    ct: CtParams = field(default_factory=CtParams)
    grid: GridParams = field(default_factory=GridParams)
    head_a: HeadParams = field(default_factory=HeadParams)
    head_b: HeadParams = field(default_factory=lambda: HeadParams(length_mm=130.0))
    seed: int = 0


@dataclass(frozen=True)
class Phantom3:
    """A rendered case.

    Attributes
    ----------
    ct_hu : (I, J, K) float32 CT in HU (before int16 storage).
    labels : (I, J, K) uint8 truth tissue labels 0-5.
    twins : (I, J, K) uint8 truth twin map (1 = twin A by the DESIGN rule).
    affine : 4x4 voxel -> world RAS mm.
    truth : JSON-ready dict of the construction (fusion type, angles, plane, ...).
    materials : (I, J, K) int16 material code at each voxel centre (index into
        ``MATERIALS``, then into an overlay's own materials; see ``Overlay``).
    """

    ct_hu: npt.NDArray[np.float32]
    labels: npt.NDArray[np.uint8]
    twins: npt.NDArray[np.uint8]
    affine: FloatArray
    truth: dict[str, object]
    materials: npt.NDArray[np.int16] | None = None


class Overlay(Protocol):
    """Objects added to a case at render time (``tests/blind/clinical.py``).

    Overlay materials have the codes ``len(MATERIALS)`` onward. ``attach`` sees the pair
    before the grid is chosen (it may widen ``pair.box``); ``apply`` overrides the
    material (and owner) at world points; ``near`` marks voxel centres whose voxel may
    hold a thin overlay object (they get partial volume); ``after_psf`` and
    ``after_noise`` change the CT (artefacts, the scanner's value range).
    """

    def attach(self, pair: _Pair) -> None: ...

    def extra_hu(self, *, contrast: bool) -> FloatArray: ...

    def extra_labels(self) -> npt.NDArray[np.uint8]: ...

    def apply(
        self, p: FloatArray, mat: npt.NDArray[np.int16], owner: npt.NDArray[np.int8]
    ) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int8]]: ...

    def near(self, p: FloatArray, spacing_mm: float) -> BoolArray: ...

    def after_psf(
        self, hu: FloatArray, mat: npt.NDArray[np.int16], world: FloatArray
    ) -> FloatArray: ...

    def after_noise(self, hu: FloatArray) -> FloatArray: ...


# ---------------------------------------------------------------------------------------
# small geometry helpers


def _rot(axis: npt.ArrayLike, angle_deg: float) -> FloatArray:
    """Rotation matrix about ``axis`` by ``angle_deg`` (right hand)."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    t = math.radians(angle_deg)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(t) * k + (1 - math.cos(t)) * (k @ k)


def _rot_between(u: FloatArray, v: FloatArray) -> FloatArray:
    """Smallest rotation taking unit vector ``u`` to unit vector ``v``."""
    c = float(np.clip(u @ v, -1.0, 1.0))
    axis = np.cross(u, v)
    if np.linalg.norm(axis) < 1e-9:
        if c > 0:
            return np.eye(3)
        perp = np.array([1.0, 0, 0]) if abs(u[0]) < 0.9 else np.array([0, 1.0, 0])
        return _rot(np.cross(u, perp), 180.0)
    return _rot(axis, math.degrees(math.acos(c)))


def _smin(a: FloatArray, b: FloatArray, k: float) -> FloatArray:
    """Polynomial smooth minimum (fillet radius about ``k``)."""
    if k <= 0:
        return np.minimum(a, b)
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b * (1 - h) + a * h - k * h * (1 - h)


def _first_wins(n: int) -> tuple[npt.NDArray[np.int16], Callable[[BoolArray, str], None]]:
    """Material codes of ``n`` points, all unset (-1), and ``put(cond, name)``, which gives
    the material ``name`` (``M``) to the points where ``cond`` holds that are still unset:
    the first rule to claim a point wins."""
    mat = np.full(n, -1, dtype=np.int16)

    def put(cond: BoolArray, code: str) -> None:
        sel = (mat < 0) & cond
        mat[sel] = M[code]

    return mat, put


def metal_streaks(
    hu: FloatArray, metal: BoolArray, world: FloatArray, amplitude_hu: float
) -> FloatArray:
    """``hu`` with streaks through each connected piece of ``metal``, in its axial slices.

    In the slab of world z the piece spans (2 mm more each way), every voxel more than
    4 mm from the piece's axial centre gets ``-amplitude_hu * pattern * 10 / (r + 10)``
    (``r``: in-slice distance, mm; ``pattern``: a dark and a fainter bright pair of lines,
    turned 0.3 rad per piece). ``world``: each voxel centre's world mm, one row per voxel
    in ``hu``'s order. Without metal, ``hu`` itself.
    """
    if not metal.any():
        return hu
    comp, n = ndimage.label(metal)
    wz = world[:, 2].reshape(hu.shape)
    wx = world[:, 0].reshape(hu.shape)
    wy = world[:, 1].reshape(hu.shape)
    out = hu.copy()
    for k in range(1, n + 1):
        m = comp == k
        zc = float(wz[m].mean())
        half = float(np.ptp(wz[m])) / 2.0 + 2.0
        xc, yc = float(wx[m].mean()), float(wy[m].mean())
        slab = np.abs(wz - zc) < half
        dx, dy = wx[slab] - xc, wy[slab] - yc
        rr = np.hypot(dx, dy)
        th = np.arctan2(dy, dx) - 0.3 * k
        pattern = np.cos(th) ** 40 - 0.6 * np.sin(th) ** 40
        out[slab] += np.where(rr > 4.0, -amplitude_hu * pattern * 10.0 / (rr + 10.0), 0.0)
    return out


def clip_hu(hu: FloatArray, max_hu: float | None) -> FloatArray:
    """``hu`` clipped to the top of a scanner's CT-number range (unchanged for None)."""
    if max_hu is None:
        return hu
    return np.minimum(hu, max_hu)


def _bbox_sel(
    q: FloatArray, lo: FloatArray, hi: FloatArray, margin: float
) -> npt.NDArray[np.intp] | None:
    """Indices of the points inside the box [lo - margin, hi + margin] (None = all)."""
    a, b = lo - margin, hi + margin
    inside = (q[:, 0] > a[0]) & (q[:, 0] < b[0])
    inside &= (q[:, 1] > a[1]) & (q[:, 1] < b[1])
    inside &= (q[:, 2] > a[2]) & (q[:, 2] < b[2])
    if inside.all():
        return None
    return np.nonzero(inside)[0]


_FAR = 1.0e4  # distance reported for points outside a primitive's box + margin


def _far_outside(val: FloatArray, sel: npt.NDArray[np.intp] | None, n: int) -> FloatArray:
    """``n`` distances: ``val`` at the points ``sel`` (a :func:`_bbox_sel` answer; None =
    all, ``val`` itself), ``_FAR`` at the rest."""
    if sel is None:
        return val
    out = np.full(n, _FAR)
    out[sel] = val
    return out


def _ell(
    q: FloatArray,
    c: tuple[float, float, float],
    r: tuple[float, float, float],
    margin: float = 8.0,
) -> FloatArray:
    """Approximate signed distance (mm, negative inside) to an axis-aligned ellipsoid.

    Exact within ``margin`` of the ellipsoid's box; ``_FAR`` beyond it.
    """
    ca, ra = np.asarray(c, dtype=np.float64), np.asarray(r, dtype=np.float64)
    sel = _bbox_sel(q, ca - ra, ca + ra, margin)
    qq = q if sel is None else q[sel]
    d = (qq - ca) / ra
    val = (np.sqrt(np.einsum("ij,ij->i", d, d)) - 1.0) * float(ra.min())
    return _far_outside(val, sel, len(q))


def _seg_dist(q: FloatArray, a: FloatArray, b: FloatArray, margin: float = 10.0) -> FloatArray:
    """Distance from points to the segment a-b (``_FAR`` beyond ``margin`` of its box)."""
    sel = _bbox_sel(q, np.minimum(a, b), np.maximum(a, b), margin)
    qq = q if sel is None else q[sel]
    ab = b - a
    t = np.clip(((qq - a) @ ab) / max(float(ab @ ab), 1e-12), 0.0, 1.0)
    p = a + t[:, None] * ab
    val = np.sqrt(np.einsum("ij,ij->i", qq - p, qq - p))
    return _far_outside(val, sel, len(q))


def _poly_dist(q: FloatArray, pts: FloatArray, margin: float = 10.0) -> FloatArray:
    """Distance from points to a polyline (``_FAR`` beyond ``margin`` of its box)."""
    sel = _bbox_sel(q, pts.min(axis=0), pts.max(axis=0), margin)
    qq = q if sel is None else q[sel]
    d = np.full(len(qq), _FAR)
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        d = np.minimum(d, _seg_dist(qq, a, b, margin))
    return _far_outside(d, sel, len(q))


def _sig(x: FloatArray) -> FloatArray:
    return 0.5 * (1.0 + np.tanh(x))


# ---------------------------------------------------------------------------------------
# one head


class _Head:
    """Implicit infant head in its local frame (see module docstring)."""

    def __init__(self, p: HeadParams, rng: np.random.Generator) -> None:
        self.p = p
        self.s = p.length_mm / TEMPLATE_LENGTH_MM
        # smooth random direction functions: (unit vectors, phases, weights)
        self._dirs = [
            (rng.normal(size=(5, 3)), rng.uniform(0, 2 * np.pi, 5), rng.normal(size=5))
            for _ in range(3)
        ]
        self._sulci = (rng.normal(size=(3, 3)), rng.uniform(0, 2 * np.pi, 3))
        self._table: FloatArray | None = None

    # -- direction-dependent thicknesses ------------------------------------------------
    def _field_exact(self, n: FloatArray, which: int) -> FloatArray:
        w, ph, a = self._dirs[which]
        w = w / np.linalg.norm(w, axis=1, keepdims=True)
        v = np.cos(1.6 * (n @ w.T) + ph) @ a
        return np.clip(v / (np.abs(a).sum() * 0.6), -1.0, 1.0)

    def _fields3(self, n: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Three smooth random functions of direction (-1..1), 1-degree lookup table."""
        if self._table is None:
            zz = np.linspace(-1.0, 1.0, 181)
            ph = np.radians(np.arange(361.0))
            zg, pg = np.meshgrid(zz, ph, indexing="ij")
            rr = np.sqrt(1.0 - zg * zg)
            nn = np.stack([rr * np.cos(pg), rr * np.sin(pg), zg], -1).reshape(-1, 3)
            self._table = np.stack([self._field_exact(nn, k).reshape(181, 361) for k in range(3)])
        zi = np.rint((np.clip(n[:, 2], -1, 1) + 1.0) * 90.0).astype(np.intp)
        pi = np.rint(np.degrees(np.arctan2(n[:, 1], n[:, 0])) % 360.0).astype(np.intp)
        flat = zi * 361 + pi
        tab = self._table.reshape(3, -1)
        return tab[0][flat], tab[1][flat], tab[2][flat]

    def thicknesses(self, q: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Scalp, bone and CSF thickness (mm) in the direction of each point."""
        n = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-6)
        p = self.p
        f0, f1, f2 = self._fields3(n)
        scalp = p.scalp_mm * (1 + 0.25 * f0)
        # temporal squama thin, occipital thick
        temporal = np.exp(-(((np.abs(n[:, 0]) - 0.9) / 0.15) ** 2)) * _sig((0.1 - n[:, 2]) / 0.2)
        occipital = np.clip(-n[:, 1], 0, 1) * _sig(-n[:, 2] / 0.3)
        bone = p.bone_mm * (1 + 0.3 * f1 - 0.45 * temporal + 0.35 * occipital)
        bone = np.maximum(bone, 1.2)
        csf = np.clip(p.csf_mm * (1 + 0.6 * f2), 1.0, 4.0)
        return scalp, bone, csf

    # -- skull -------------------------------------------------------------------------
    def skull_distance(self, q: FloatArray) -> FloatArray:
        """Approximate signed distance (mm) to the outer skull surface (egg shape)."""
        t = q / self.s
        x, y, z = t[:, 0], t[:, 1], t[:, 2]
        ax = 56.0 * (1 - 0.05 * np.clip(y, -70, 70) / 67.0)
        ay = np.where(y > 0, 64.0, 70.0)
        az = np.where(z > 0, 56.0, 60.0)
        gx, gy, gz = x / ax, y / ay, z / az
        rho = np.sqrt(gx * gx + gy * gy + gz * gz)
        g = np.sqrt((gx / ax) ** 2 + (gy / ay) ** 2 + (gz / az) ** 2) / np.maximum(rho, 1e-6)
        g = np.maximum(g, 1.0 / 70.0)
        return (rho - 1.0) / g * self.s

    def floor_z(self, q: FloatArray) -> FloatArray:
        """Height (local mm) of the endocranial floor under each point (skull base)."""
        t = q / self.s
        x, y = t[:, 0], t[:, 1]
        s1 = _sig((y - 18.0) / 4.0)
        s2 = _sig((-16.0 - y) / 4.0)
        mid = -28.0 + 6.0 * np.exp(-((x / 10.0) ** 2))
        return (s1 * -6.0 + s2 * -38.0 + (1 - s1 - s2) * mid) * self.s

    def tent_z(self, q: FloatArray) -> FloatArray:
        """Height of the tentorium (local mm)."""
        y = q[:, 1] / self.s
        return (-16.0 + 0.38 * (y + 62.0)) * self.s

    # -- envelope ----------------------------------------------------------------------
    def envelope(self, q: FloatArray, d_skin: FloatArray) -> FloatArray:
        """Signed distance (mm) to the skin surface of face + neck + ears, smooth-joined
        with ``d_skin`` (the scalp surface, possibly already joined with the other head)."""
        s = self.s
        t = q / s
        face = _ell(t, (0, 36, -42), (44, 36, 34), 30.0) * s
        chin = _ell(t, (0, 34, -62), (30, 30, 16), 20.0) * s
        nose = _ell(t, (0, 60, -38), (9, 9, 11), 12.0) * s
        neck_len = self.p.neck_mm / s + (300.0 if self.p.neck_cut else 0.0)
        rxy = np.sqrt((t[:, 0] / 34.0) ** 2 + ((t[:, 1] + 6.0) / 30.0) ** 2)
        neck_side = (rxy - 1.0) * 30.0
        ztop, zbot = -40.0, -40.0 - neck_len
        neck_cap = np.maximum(t[:, 2] - ztop, zbot - t[:, 2])
        neck = np.maximum(neck_side, neck_cap) * s
        ears = (
            np.minimum(
                _ell(t, (56.5, -4, -30), (3.5, 12, 18)), _ell(t, (-56.5, -4, -30), (3.5, 12, 18))
            )
            * s
        )
        e = _smin(d_skin, face, 10 * s)
        e = _smin(e, chin, 6 * s)
        e = _smin(e, nose, 4 * s)
        e = _smin(e, neck, 14 * s)
        return np.minimum(e, ears)

    # -- sinuses and arteries ----------------------------------------------------------
    def venous_polylines(self) -> list[tuple[FloatArray, float]]:
        """Transverse-sigmoid-jugular and straight sinus centre lines, local mm, radius."""
        s = self.s
        out: list[tuple[FloatArray, float]] = []
        for sx in (-1.0, 1.0):
            pts = np.array(
                [
                    (0, -58, -17),
                    (sx * 22, -55, -19),
                    (sx * 40, -40, -22),
                    (sx * 45, -22, -27),
                    (sx * 38, -14, -38),
                    (sx * 28, -12, -46),
                    (sx * 22, -4, -60),
                    (sx * 20, 0, -400),
                ],
                dtype=np.float64,
            )
            out.append((pts * s, 3.2 * s))
        out.append(
            (np.array([(0, -14, 6), (0, -40, -2), (0, -58, -17)], dtype=np.float64) * s, 2.3 * s)
        )
        return out

    def artery_polylines(self) -> list[tuple[FloatArray, float]]:
        """Carotid, circle of Willis, MCA, ACA, vertebral/basilar centre lines, local mm."""
        s = self.s
        lines: list[tuple[FloatArray, float]] = []
        for sx in (-1.0, 1.0):
            ica = np.array(
                [
                    (sx * 16, 10, -400),
                    (sx * 15, 8, -60),
                    (sx * 14, 4, -40),
                    (sx * 12, 6, -30),
                    (sx * 11, 8, -22),
                ],
                dtype=np.float64,
            )
            lines.append((ica * s, 2.0 * s))
            mca = np.array(
                [(sx * 11, 8, -22), (sx * 30, 6, -20), (sx * 42, 0, -8), (sx * 46, -12, 4)],
                dtype=np.float64,
            )
            lines.append((mca * s, 1.3 * s))
            aca = np.array(
                [
                    (sx * 11, 8, -22),
                    (sx * 2.5, 18, -16),
                    (sx * 2.5, 38, 4),
                    (sx * 2.5, 34, 26),
                    (sx * 2.5, 10, 36),
                ],
                dtype=np.float64,
            )
            lines.append((aca * s, 1.1 * s))
            pca = np.array(
                [(0, -6, -24), (sx * 10, -8, -22), (sx * 22, -22, -14), (sx * 20, -44, -6)],
                dtype=np.float64,
            )
            lines.append((pca * s, 1.1 * s))
            va = np.array(
                [(sx * 12, -16, -400), (sx * 12, -16, -52), (sx * 4, -10, -40), (0, -8, -36)],
                dtype=np.float64,
            )
            lines.append((va * s, 1.4 * s))
        lines.append((np.array([(0, -8, -36), (0, -6, -24)], dtype=np.float64) * s, 1.5 * s))
        return lines

    # -- the material at each point ----------------------------------------------------
    def materials(
        self,
        q: FloatArray,
        env: FloatArray,
        d_out: FloatArray,
        cav: FloatArray,
        brain: FloatArray,
        bone_t: FloatArray,
        *,
        plane_dist: FloatArray,
        junction: dict[str, object],
        contrast_vessels: bool,
    ) -> npt.NDArray[np.int16]:
        """Material code of each point (``q`` local mm of this head, which owns them).

        ``env``: distance to the (joined) skin surface; ``d_out``: to the (joined) outer
        skull surface; ``cav``: to the cranial cavity wall (inner table); ``brain``: to the
        brain surface; ``bone_t``: local bone thickness; ``plane_dist``: distance from the
        twin boundary plane (this head's side positive).
        """
        del contrast_vessels  # vessels exist either way; only their HU changes
        s = self.s
        n = len(q)
        mat, put = _first_wins(n)
        t = q / s
        z = t[:, 2]

        put(env > 0, "air")
        put(env > -1.2, "skin")
        fat_t = 1.5 + 2.5 * _sig(-(z + 20.0) / 6.0)
        put(env > -1.2 - fat_t, "fat")

        zf = self.floor_z(q) / s
        base_t = 5.0
        # dense petrous ridges (they project into the middle fossa)
        for sx in (-1.0, 1.0):
            pr = _seg_dist(t, np.array([sx * 40, -12, -31.0]), np.array([sx * 12, 2, -30.0]))
            put(pr < 5.0, "dense_bone")
        # ear canals (air) through the petrous bone
        for sx in (-1.0, 1.0):
            ec = _seg_dist(t, np.array([sx * 58, -4, -33.0]), np.array([sx * 42, -4, -34.0]))
            put(ec < 2.8, "air")

        in_skull = (d_out < 0) & (z > zf - base_t)
        in_cav = (cav < 0) & (z > zf)
        # --- cranial cavity --------------------------------------------------------
        cavity = (mat < 0) & in_cav
        if cavity.any():
            idx = np.nonzero(cavity)[0]
            mat[idx] = self._intracranial(
                t[idx],
                cav[idx],
                brain[idx],
                zf[idx],
                plane_dist[idx],
                {k: np.asarray(v)[idx] for k, v in junction.items()},
            )
        # --- skull (vault shell, shared bone, base) -------------------------------
        shell = (mat < 0) & in_skull
        if shell.any():
            idx = np.nonzero(shell)[0]
            mat[idx] = self._bone(
                t[idx], d_out[idx], cav[idx], bone_t[idx], zf[idx], plane_dist[idx]
            )
        # --- face and neck (below the skull base) ---------------------------------
        rest = mat < 0
        if rest.any():
            idx = np.nonzero(rest)[0]
            mat[idx] = self._face_neck(t[idx])
        return mat

    def _intracranial(
        self,
        t: FloatArray,
        cav: FloatArray,
        brain: FloatArray,
        zf: FloatArray,
        plane_dist: FloatArray,
        junction: dict[str, object],
    ) -> npt.NDArray[np.int16]:
        s = self.s
        n = len(t)
        mat, put = _first_wins(n)
        x, y, z = t[:, 0], t[:, 1], t[:, 2]

        depth = -cav  # mm below the inner table
        # superior sagittal sinus: triangular section under the inner table, midline
        w = (2.2 + 1.6 * np.clip((30.0 - y) / 90.0, 0, 1)) * s
        sss = (np.abs(x * s) < w * (1 - depth / (6.0 * s))) & (depth < 6.0 * s)
        sss &= (z > -16.0) & (y < 52.0)
        put(sss, "sinus")
        # circular shared sinus of a total union (in the owner's half near the plane)
        ring = junction.get("ring")
        if ring is not None:
            put(np.asarray(ring, dtype=bool), "sinus")
        # confluence and transverse/sigmoid/straight sinuses
        put(_ell(t, (0, -57, -17), (6, 4.5, 6)) < 0, "sinus")
        for pts, r in self.venous_polylines():
            put(_poly_dist(t * s, pts) < r, "sinus")
        for pts, r in self.artery_polylines():
            put(_poly_dist(t * s, pts) < r, "artery")
        # the brain: cerebrum, cerebellum, brainstem
        stem = _seg_dist(t, np.array([0, -8, -4.0]), np.array([0, -20, -44.0])) < 7.5
        in_brain = (brain < 0) & (z > zf + 2.5)
        tz = self.tent_z(t * s) / s
        below_tent = (y < -14.0) & (z < tz)
        put(in_brain & below_tent & (np.abs(z - tz) < 0.9) & ~stem, "csf")
        # interhemispheric fissure down to the corpus callosum (supratentorial)
        fiss = (np.abs(x) * s < 0.9) & (z > 10.0) & ~below_tent
        put(in_brain & fiss, "csf")
        # CSF sheet between the two brains outside the contact disc (total unions)
        sheet = junction.get("sheet")
        if sheet is not None:
            put(in_brain & np.asarray(sheet, dtype=bool), "csf")
        # ventricles
        vs = self.p.ventricle_scale
        vent = np.full(n, np.inf)
        for sx in (-1.0, 1.0):
            for c, r in (
                ((sx * 8, -4, 14), (3.5, 22, 4.0)),
                ((sx * 10, 18, 9), (3.5, 8, 5.0)),
                ((sx * 15, -28, 4), (3.5, 10, 5.0)),
                ((sx * 25, -6, -12), (2.5, 11, 3.0)),
            ):
                vent = np.minimum(vent, _ell(t, c, tuple(v * vs for v in r)))
        vent = np.minimum(vent, _ell(t, (0, 2, 0), (1.5 * vs, 11, 7)))
        vent = np.minimum(vent, _ell(t, (0, -30, -30), (3 * vs, 3.5, 5)))
        put(in_brain & (vent < 0), "csf")
        put(in_brain & below_tent & ~stem, "cerebellum")
        put(in_brain & stem, "white")
        deep = np.minimum(_ell(t, (11, 0, 0), (8, 12, 8)), _ell(t, (-11, 0, 0), (8, 12, 8)))
        put(in_brain & (deep < 0), "deep_grey")
        # sulci: thin CSF sheets reaching 6 mm into the cortex
        wv, ph = self._sulci
        wv = wv / np.linalg.norm(wv, axis=1, keepdims=True)
        g = np.sin((t * s) @ wv.T * (2 * np.pi / 28.0) + ph).sum(axis=1)
        put(in_brain & (brain > -6.0) & (np.abs(g) < 0.22) & (z > -10.0), "csf")
        put(in_brain & (brain > -3.0), "grey")
        put(in_brain, "white")
        put(np.ones(n, dtype=bool), "csf")
        return mat

    def _bone(
        self,
        t: FloatArray,
        d_out: FloatArray,
        cav: FloatArray,
        bone_t: FloatArray,
        zf: FloatArray,
        plane_dist: FloatArray,
    ) -> npt.NDArray[np.int16]:
        s = self.s
        n = len(t)
        mat, put = _first_wins(n)
        x, y, z = t[:, 0], t[:, 1], t[:, 2]

        # foramen magnum (the cord and CSF pass) and carotid canals
        fm = (x**2 + (y + 21.0) ** 2 < 10.0**2) & (z < zf + 1.0)
        put(fm & (x**2 + (y + 21.0) ** 2 < 4.0**2), "cord")
        put(fm, "csf")
        for pts, r in self.artery_polylines()[:1] + self.artery_polylines()[5:6]:
            put(_poly_dist(t * s, pts) < r, "artery")
        for pts, r in self.venous_polylines()[:2]:
            put(_poly_dist(t * s, pts) < r, "sinus")
        # sutures and fontanelle in the vault, away from the junction
        p = self.p
        vault = (z > zf + 4.0) & (plane_dist > 15.0)
        if p.suture_mm > 0:
            hw = 0.5 * p.suture_mm / s
            sag = (np.abs(x) < hw) & (y > -44.0) & (y < 26.0) & (z > 20.0)
            cor_n = np.array([0.0, 1.0, -0.25]) / math.hypot(1.0, 0.25)
            cor = np.abs((t - np.array([0.0, 24.0, 52.0])) @ cor_n) < hw
            lam_n = np.array([0.0, 1.0, 0.45]) / math.hypot(1.0, 0.45)
            lam = np.abs((t - np.array([0.0, -46.0, 44.0])) @ lam_n) < hw
            lam &= z > -14.0
            put(vault & (sag | cor | lam), "membrane")
        if p.fontanelle_mm > 0:
            half = 0.5 * p.fontanelle_mm / s
            font = (np.abs(x) / half + np.abs(y - 20.0) / (1.4 * half) < 1.0) & (z > 30.0)
            put(vault & font, "membrane")
        # tables and diploe by depth below the outer surface
        depth = -d_out
        thick = bone_t > 2.4
        base = z < zf + 0.5
        put(base & ((z < zf - 4.0) | (z > zf - 1.0)), "cortical")
        put(base, "diploe")
        put(thick & ((depth < 0.8) | (cav > -0.8)), "cortical")
        put(thick, "diploe")
        put(np.ones(n, dtype=bool), "thin_bone")
        return mat

    def _face_neck(self, t: FloatArray) -> npt.NDArray[np.int16]:
        s = self.s
        n = len(t)
        mat, put = _first_wins(n)
        x, y, z = t[:, 0], t[:, 1], t[:, 2]

        # orbits
        for sx in (-1.0, 1.0):
            orb = _ell(t, (sx * 18, 44, -22), (12, 14, 11))
            globe = _ell(t, (sx * 18, 46, -22), (9, 9, 9))
            lens = _ell(t, (sx * 18, 54, -22), (3.5, 1.6, 3.5))
            put(lens < 0, "lens")
            put(globe < 0, "eye")
            put(orb < 0, "orbital_fat")
            put((orb < 1.5) & (y < 52.0), "thin_bone")
        # nasal cavity and septum, maxillary sinuses
        nasal = _ell(t, (0, 40, -40), (8, 16, 12))
        put((nasal < 0) & (np.abs(x) < 0.8), "membrane")
        put(nasal < 0, "air")
        for sx in (-1.0, 1.0):
            mx = _ell(t, (sx * 17, 36, -42), (6, 8, 6))
            put(mx < 0, "air")
            put(mx < 1.2, "thin_bone")
        put((nasal < 1.2) & (z > -52.0), "thin_bone")
        # teeth buds, palate, mandible
        for zc, (ax_, ay_, yc) in ((-58.0, (20.0, 26.0, 24.0)), (-66.0, (23.0, 29.0, 22.0))):
            for ang in np.radians([-70, -45, -22, 0, 22, 45, 70]):
                cx, cy = ax_ * math.sin(ang), yc + ay_ * math.cos(ang)
                put(_ell(t, (cx, cy, zc), (2.8, 2.8, 3.2)) < 0, "tooth")
        palate = (np.abs(x) < 20.0) & (y > 12.0) & (y < 50.0) & (z > -55.0) & (z < -51.5)
        put(palate & (((x / 22.0) ** 2 + ((y - 24.0) / 28.0) ** 2) < 1.0), "thin_bone")
        re = np.sqrt((x / 24.0) ** 2 + ((y - 22.0) / 30.0) ** 2)
        body = (np.abs(re - 1.0) * 27.0 < 4.5) & (y > 16.0) & (z > -76.0) & (z < -60.0)
        rami = np.minimum(
            _seg_dist(t, np.array([24.0, 18, -68]), np.array([26.0, -2, -40])),
            _seg_dist(t, np.array([-24.0, 18, -68]), np.array([-26.0, -2, -40])),
        )
        mand = body | (rami < 4.0)
        core = (np.abs(re - 1.0) * 27.0 < 2.8) & (z > -74.5) & (z < -61.5)
        put(mand & core & (rami >= 2.5), "marrow")
        put(mand, "cortical")
        put((re < 0.85) & (z > -60.0) & (z < -58.6) & (y > 16.0), "air")  # mouth slit
        # airway
        air = np.minimum(
            _seg_dist(t, np.array([0, 24.0, -42]), np.array([0, 10.0, -52])),
            _seg_dist(t, np.array([0, 10.0, -52]), np.array([0, 8.0, -400])),
        )
        put(air < 5.0, "air")
        # neck vessels (below the skull base)
        for pts, r in self.venous_polylines()[:2]:
            put(_poly_dist(t * s, pts) < r, "sinus")
        for pts, r in self.artery_polylines():
            put(_poly_dist(t * s, pts) < r, "artery")
        # cervical spine: cord, canal, bodies, arches
        zs = z.copy()
        canal_r = np.sqrt(x**2 + (y + 24.0) ** 2)
        spine = zs < -42.0
        put(spine & (canal_r < 3.5), "cord")
        put(spine & (canal_r < 6.0), "csf")
        level = np.round((zs + 56.0) / 10.0)
        zc = -56.0 + 10.0 * level
        in_level = np.abs(zs - zc) < 3.5
        body_r = np.sqrt(x**2 + (y + 8.0) ** 2)
        vb = spine & (zs < -52.0) & (body_r < 8.0)
        put(vb & in_level & ((body_r > 7.0) | (np.abs(zs - zc) > 2.6)), "vert_cortex")
        put(vb & in_level, "marrow")
        put(vb, "disc")
        arch = spine & (canal_r > 6.0) & (canal_r < 9.0) & (np.abs(zs - zc) < 3.0) & (y < -14.0)
        put(arch, "vert_cortex")
        put(np.ones(n, dtype=bool), "muscle")
        return mat


# ---------------------------------------------------------------------------------------
# the pair


@dataclass(frozen=True)
class _Pose:
    rot: FloatArray  # local -> world (columns: world directions of local x, y, z)
    centre: FloatArray  # world mm


def _junction_dir(tilt_deg: float, site_deg: float) -> FloatArray:
    t, a = math.radians(tilt_deg), math.radians(site_deg)
    return np.array([math.sin(t) * math.sin(a), math.sin(t) * math.cos(a), math.cos(t)])


def _ray_extent(head: _Head, u: FloatArray, field_fn: str = "skull") -> float:
    """Distance from a head's centre to its outer skull surface along local unit ``u``."""
    lo, hi = 0.0, 200.0
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        d = head.skull_distance((u * mid)[None, :])[0]
        lo, hi = (mid, hi) if d < 0 else (lo, mid)
    return 0.5 * (lo + hi)


class _Pair:
    """Two heads, their world poses, the union fields and the boundary plane."""

    def __init__(self, case: Case) -> None:
        rng = np.random.default_rng(case.seed)
        self.case = case
        u = case.union
        self.heads = (_Head(case.head_a, rng), _Head(case.head_b, rng))
        tilt = 0.0 if u.kind == "vertical" else u.tilt_deg
        ja = _junction_dir(tilt, u.site_deg)
        jb = _junction_dir(tilt, u.site_deg)
        ra = _ray_extent(self.heads[0], ja)
        rb = _ray_extent(self.heads[1], jb)
        # pair frame: junction plane z = 0, A below, B above
        ta = _rot_between(ja, np.array([0.0, 0, 1]))  # A local -> pair
        # half turn about the tilt's own direction in the junction plane: maps +z to -z and
        # keeps the tilt, so rotation 0 gives coplanar tilts (axis angle 180 - 2 tilt); for
        # the default occipital/frontal azimuth it is the half turn about +y (faces alike)
        site = math.radians(u.site_deg)
        flip_b = _rot(np.array([math.sin(site), math.cos(site), 0.0]), 180.0)
        tb = (
            _rot(np.array([0.0, 0, 1]), u.rotation_deg)
            @ flip_b
            @ _rot_between(jb, np.array([0.0, 0, 1]))
        )
        half = 0.5 * u.overlap_mm
        ca = np.array([0.0, 0, -(ra - half)])
        cb = np.array([0.0, 0, rb - half])
        # pair -> world: angular unions lie with both long axes in the table plane (x-z)
        g = np.eye(3)
        if u.kind == "angular":
            ua, ub = ta @ np.array([0.0, 0, 1]), tb @ np.array([0.0, 0, 1])
            nrm = np.cross(ua, ub)
            if np.linalg.norm(nrm) > 1e-6:
                g = _rot_between(nrm / np.linalg.norm(nrm), np.array([0.0, 1, 0]))
                # keep the junction line vertical-ish in the x-z plane: no further turn
        if u.flip:
            g = _rot(np.array([1.0, 0, 0]), 180.0) @ g
        self.poses = (_Pose(g @ ta, g @ ca), _Pose(g @ tb, g @ cb))
        self.plane_normal = g @ np.array([0.0, 0, 1])  # from head 0 toward head 1
        self.plane_point = np.zeros(3)
        self.tilt_deg = tilt
        self._ring_cache: FloatArray | None = None
        self.box: tuple[FloatArray, FloatArray] | None = None

    # -- frames ------------------------------------------------------------------------
    def local(self, h: int, p: FloatArray) -> FloatArray:
        pose = self.poses[h]
        return (p - pose.centre) @ pose.rot

    def vertex_dir(self, h: int) -> FloatArray:
        return self.poses[h].rot @ np.array([0.0, 0, 1])

    def face_dir(self, h: int) -> FloatArray:
        return self.poses[h].rot @ np.array([0.0, 1, 0])

    # -- fields of the union -----------------------------------------------------------
    def fields(self, p: FloatArray) -> dict[str, FloatArray]:
        """Per-head and joined implicit fields at world points ``p`` (N, 3)."""
        u = self.case.union
        out: dict[str, FloatArray] = {}
        for h, head in enumerate(self.heads):
            q = self.local(h, p)
            scalp, bone, csf = head.thicknesses(q)
            d = head.skull_distance(q)
            out[f"q{h}"] = q
            out[f"d{h}"] = d
            out[f"scalp{h}"] = scalp
            out[f"bone{h}"] = bone
            out[f"cav{h}"] = d + bone
            out[f"brain{h}"] = d + bone + csf
        k = u.fillet_mm
        out["d_out"] = _smin(out["d0"], out["d1"], k)
        out["skin"] = _smin(out["d0"] - out["scalp0"], out["d1"] - out["scalp1"], 2.0 * k)
        if u.completeness == "total":
            out["cav"] = _smin(out["cav0"], out["cav1"], k)
            out["brain"] = _smin(out["brain0"], out["brain1"], k)
        out["plane"] = (p - self.plane_point) @ self.plane_normal
        if u.completeness != "total":
            # partial: each cavity stops septum/2 short of the plane (a bony septum),
            # each brain another 1.5 mm short (its own CSF)
            half = 0.5 * u.septum_mm
            side = (-out["plane"], out["plane"])
            for h in (0, 1):
                out[f"cav{h}"] = np.maximum(out[f"cav{h}"], half - side[h])
                out[f"brain{h}"] = np.maximum(out[f"brain{h}"], half + 1.5 - side[h])
            out["cav"] = np.minimum(out["cav0"], out["cav1"])
            out["brain"] = np.minimum(out["brain0"], out["brain1"])
        return out

    def ring_radius(self) -> FloatArray:
        """Radius (mm) of the joined cavity wall in the boundary plane, 72 directions."""
        if self._ring_cache is not None:
            return self._ring_cache
        e1 = np.cross(self.plane_normal, [1.0, 0, 0])
        if np.linalg.norm(e1) < 0.1:
            e1 = np.cross(self.plane_normal, [0, 1.0, 0])
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(self.plane_normal, e1)
        ang = np.radians(np.arange(72) * 5.0)
        dirs = np.cos(ang)[:, None] * e1 + np.sin(ang)[:, None] * e2
        lo, hi = np.zeros(72), np.full(72, 150.0)
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            c = self.fields(self.plane_point + dirs * mid[:, None])["cav"]
            inside = c < 0
            lo = np.where(inside, mid, lo)
            hi = np.where(inside, hi, mid)
        self._ring_cache = 0.5 * (lo + hi)
        self._e = (e1, e2)
        return self._ring_cache

    def materials(
        self, p: FloatArray, *, contrast: bool
    ) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int8]]:
        """Material code and owner head (0/1, -1 outside) at world points ``p``."""
        f = self.fields(p)
        u = self.case.union
        owner = (f["plane"] > 0).astype(np.int8)
        mat = np.empty(len(p), dtype=np.int16)
        for h, head in enumerate(self.heads):
            sel = np.nonzero(owner == h)[0]
            if len(sel) == 0:
                continue
            q = f[f"q{h}"][sel]
            env = head.envelope(q, f["skin"][sel])
            pd = f["plane"][sel] * (1.0 if h == 1 else -1.0)
            junction: dict[str, object] = {}
            if u.completeness == "total":
                rr = self.ring_radius()
                e1, e2 = self._e
                rel = p[sel] - self.plane_point
                a1, a2 = rel @ e1, rel @ e2
                rho = np.hypot(a1, a2)
                ang = np.degrees(np.arctan2(a2, a1)) % 360.0
                rc = np.interp(ang, np.arange(73) * 5.0, np.append(rr, rr[0])) - 4.5
                junction["ring"] = np.hypot(rho - rc, pd) < 3.5
                junction["sheet"] = (pd < 0.75) & (rho > u.contact_mm)
            mat[sel] = head.materials(
                q,
                env,
                f["d_out"][sel],
                f["cav"][sel],
                f["brain"][sel],
                f[f"bone{h}"][sel],
                plane_dist=pd,
                junction=junction,
                contrast_vessels=contrast,
            )
        owner[LABEL_OF[mat] == 0] = -1
        return mat, owner

    def cupping(self, p: FloatArray) -> FloatArray:
        """Smooth HU offset (<= 0) inside each cranium: beam-hardening cupping."""
        out = np.zeros(len(p))
        for h, head in enumerate(self.heads):
            q = self.local(h, p)
            r = np.linalg.norm(q, axis=1) / (60.0 * head.s)
            out -= np.clip(1.0 - r * r, 0.0, 1.0)
        return out * self.case.ct.cupping_hu


# ---------------------------------------------------------------------------------------
# grid and rendering

_ORIENT: dict[str, FloatArray] = {
    "RAS": np.eye(3),
    "LPS": np.diag([-1.0, -1.0, 1.0]),
    # columns: world direction of voxel axes i, j, k
    "sagittal": np.array([[0.0, 0, -1], [1.0, 0, 0], [0.0, 1, 0]]),
    "oblique20": _rot([0, 0, 1.0], 10.0) @ _rot([1.0, 0, 0], 20.0),
}


def _tissue_box(pair: _Pair) -> tuple[FloatArray, FloatArray]:
    """World bounding box of the pair's tissue (coarse 4 mm sampling, cached)."""
    if pair.box is not None:
        return pair.box
    reach = 1.3 * max(hd.p.length_mm + hd.p.neck_mm for hd in pair.heads)
    lo = np.min([pose.centre for pose in pair.poses], axis=0) - reach
    hi = np.max([pose.centre for pose in pair.poses], axis=0) + reach
    h = 4.0
    axes = [np.arange(lo[i], hi[i], h) for i in range(3)]
    found_lo = np.full(3, np.inf)
    found_hi = np.full(3, -np.inf)
    # uncut geometry only: evaluate the cheap envelope of each head
    for zi in range(0, len(axes[2]), 8):
        zz = axes[2][zi : zi + 8]
        g = np.stack(np.meshgrid(axes[0], axes[1], zz, indexing="ij"), -1).reshape(-1, 3)
        f = pair.fields(g)
        inside = np.zeros(len(g), dtype=bool)
        for hh, head in enumerate(pair.heads):
            q = f[f"q{hh}"]
            cut = head.p.neck_cut
            local_neck = q[:, 2] / head.s < -40.0 - head.p.neck_mm / head.s
            env = head.envelope(q, f["skin"])
            inside |= (env < 0) & ~(cut & local_neck)
        if inside.any():
            found_lo = np.minimum(found_lo, g[inside].min(axis=0))
            found_hi = np.maximum(found_hi, g[inside].max(axis=0))
    pair.box = (found_lo - h, found_hi + h)
    return pair.box


def make_grid(pair: _Pair, grid: GridParams) -> tuple[tuple[int, int, int], FloatArray]:
    """Shape and affine covering the pair (and the table) for ``grid``."""
    lo, hi = _tissue_box(pair)
    if pair.case.ct.table:
        lo = lo.copy()
        lo[1] -= 32.0  # mattress + table under the heads
    lo -= grid.margin_mm
    hi += grid.margin_mm
    d = _ORIENT[grid.orientation]
    corners = np.array(
        [[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1]) for c in (lo[2], hi[2])]
    )
    centre = 0.5 * (lo + hi)
    ext = np.ptp((corners - centre) @ d, axis=0)  # extent along each grid axis
    if grid.spacing_mm is None:
        assert grid.shape is not None
        sp = float(np.max(ext / np.asarray(grid.shape)))
        spacing = np.array([sp, sp, sp])
        shape = tuple(int(v) for v in grid.shape)
    else:
        spacing = np.asarray(grid.spacing_mm, dtype=np.float64)
        shape = (
            tuple(int(v) for v in grid.shape)
            if grid.shape is not None
            else tuple(int(math.ceil(e / s)) for e, s in zip(ext, spacing, strict=True))
        )
    aff = np.eye(4)
    aff[:3, :3] = d * spacing[None, :]
    aff[:3, 3] = centre - aff[:3, :3] @ ((np.asarray(shape) - 1) / 2.0)
    return (int(shape[0]), int(shape[1]), int(shape[2])), aff


def _table(pair: _Pair, p: FloatArray, lo_y: float) -> npt.NDArray[np.int16]:
    """Table (-1 where none): foam mattress then a curved carbon shell with foam core."""
    out = np.full(len(p), -1, dtype=np.int16)
    y = p[:, 1] - lo_y + 0.0004 * p[:, 0] ** 2
    inx = np.abs(p[:, 0]) < 400
    mattress = inx & (y < 0.0) & (y > -14.0)
    shell = inx & (y <= -14.0) & (y > -24.0)
    out[mattress] = M["foam"]
    out[shell] = M["foam"]
    out[shell & ((y > -15.5) | (y < -22.5))] = M["table_shell"]
    return out


def _render(case: Case, overlay: Overlay | None = None) -> Phantom3:
    pair = _Pair(case)
    if overlay is not None:
        overlay.attach(pair)
    shape, aff = make_grid(pair, case.grid)
    ct = case.ct
    hu_table = material_hu(contrast=ct.contrast, cortical_hu=ct.cortical_hu)
    label_of = LABEL_OF
    if overlay is not None:
        hu_table = np.concatenate([hu_table, overlay.extra_hu(contrast=ct.contrast)])
        label_of = np.concatenate([LABEL_OF, overlay.extra_labels()])
    lo, _hi = _tissue_box(pair)
    table_y = float(lo[1]) + 1.0  # mattress top just under the lowest skin

    # pass 1: voxel centres, slab by slab
    nvox = int(np.prod(shape))
    centre_mat = np.empty(nvox, dtype=np.int16)
    centre_owner = np.empty(nvox, dtype=np.int8)
    vox = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), -1).reshape(-1, 3)
    world = vox @ aff[:3, :3].T + aff[:3, 3]
    chunk = 400_000
    for s0 in range(0, nvox, chunk):
        pw = world[s0 : s0 + chunk]
        m, o = pair.materials(pw, contrast=ct.contrast)
        tb = _table(pair, pw, table_y) if ct.table else np.full(len(pw), -1, np.int16)
        m = np.where((m == M["air"]) & (tb >= 0), tb, m)
        if overlay is not None:
            m, o = overlay.apply(pw, m, o)
        centre_mat[s0 : s0 + chunk] = m
        centre_owner[s0 : s0 + chunk] = o
    cm = centre_mat.reshape(shape)
    labels = label_of[cm]
    # pass 2: partial volume where the 3x3x3 neighbourhood is not uniform
    hu = hu_table[cm].astype(np.float64)
    ns = int(ct.supersample)
    if ns > 1:
        mx = ndimage.maximum_filter(cm, size=3, mode="nearest")
        mn = ndimage.minimum_filter(cm, size=3, mode="nearest")
        edge = (mx != mn).ravel()
        if overlay is not None:
            sp_max = float(np.linalg.norm(aff[:3, :3], axis=0).max())
            for s0 in range(0, nvox, chunk):
                edge[s0 : s0 + chunk] |= overlay.near(world[s0 : s0 + chunk], sp_max)
        idx = np.nonzero(edge)[0]
        offs = (np.arange(ns) + 0.5) / ns - 0.5
        sub = np.stack(np.meshgrid(offs, offs, offs, indexing="ij"), -1).reshape(-1, 3)
        acc = np.zeros(len(idx))
        step = max(1, chunk // len(sub))
        for s0 in range(0, len(idx), step):
            sel = idx[s0 : s0 + step]
            pv = (vox[sel][:, None, :] + sub[None, :, :]).reshape(-1, 3)
            pw = pv @ aff[:3, :3].T + aff[:3, 3]
            m, _o = pair.materials(pw, contrast=ct.contrast)
            if ct.table:
                tb = _table(pair, pw, table_y)
                m = np.where((m == M["air"]) & (tb >= 0), tb, m)
            if overlay is not None:
                m, _o = overlay.apply(pw, m, _o)
            acc[s0 : s0 + len(sel)] = hu_table[m].reshape(len(sel), -1).mean(axis=1)
        flat = hu.ravel()
        flat[idx] = acc
        hu = flat.reshape(shape)
    if ct.cupping_hu > 0:
        cup = np.zeros(nvox)
        for s0 in range(0, nvox, chunk):
            cup[s0 : s0 + chunk] = pair.cupping(world[s0 : s0 + chunk])
        hu = hu + cup.reshape(shape) * (labels > 0)
    spacing = np.linalg.norm(aff[:3, :3], axis=0)
    if ct.psf_fwhm_mm > 0:
        sig = ct.psf_fwhm_mm / 2.3548 / spacing
        hu = ndimage.gaussian_filter(hu, sig, mode="nearest")
    if overlay is not None:
        hu = overlay.after_psf(hu, cm, world)
    rng = np.random.default_rng(case.seed + 7919)
    if ct.noise_hu > 0:
        noise = _storage_free_noise(rng, shape, aff)
        if ct.noise_corr_vox > 0:
            noise = ndimage.gaussian_filter(noise, ct.noise_corr_vox, mode="wrap")
            noise /= noise.std()
        hu = hu + ct.noise_hu * noise
    if overlay is not None:
        hu = overlay.after_noise(hu)
    if ct.fov_radius_mm is not None:
        cx, cy, _cz = aff[:3, :3] @ ((np.asarray(shape) - 1) / 2.0) + aff[:3, 3]
        r = np.hypot(world[:, 0] - cx, world[:, 1] - cy).reshape(shape)
        hu = np.where(r > ct.fov_radius_mm, ct.pad_hu, hu)
    # twins: DESIGN rule on the truth tissue centroids
    own = centre_owner.reshape(shape)
    tissue = labels > 0
    cents = []
    for h in (0, 1):
        m = (own == h) & tissue
        cents.append(world[m.ravel()].mean(axis=0))
    diff = cents[1] - cents[0]
    axis = int(np.argmax(np.abs(diff)))
    a_head = 0 if cents[0][axis] < cents[1][axis] else 1
    twins = np.zeros(shape, dtype=np.uint8)
    twins[tissue & (own == a_head)] = 1
    twins[tissue & (own == 1 - a_head)] = 2
    truth = _truth(pair, case, aff, shape, labels, own, a_head, cents, axis)
    return Phantom3(
        ct_hu=hu.astype(np.float32),
        labels=labels,
        twins=twins,
        affine=aff,
        truth=truth,
        materials=cm,
    )


def _storage_free_noise(
    rng: np.random.Generator, shape: tuple[int, int, int], aff: FloatArray
) -> FloatArray:
    """Unit Gaussian noise drawn in world-axis order, so that grids that differ only by
    storage order (RAS, LPS, permuted) get the same noise at the same world point."""
    d = aff[:3, :3] / np.linalg.norm(aff[:3, :3], axis=0)
    world_axis = np.argmax(np.abs(d), axis=0)
    if not np.allclose(np.abs(d).max(axis=0), 1.0) or len(set(world_axis)) != 3:
        return rng.normal(0.0, 1.0, size=shape)  # oblique grid: no storage twin
    world_shape = [0, 0, 0]
    for g in range(3):
        world_shape[int(world_axis[g])] = shape[g]
    w = rng.normal(0.0, 1.0, size=tuple(world_shape))
    a = np.transpose(w, [int(v) for v in world_axis])
    for g in range(3):
        if d[int(world_axis[g]), g] < 0:
            a = np.flip(a, axis=g)
    return np.ascontiguousarray(a)


def _angle(u: FloatArray, v: FloatArray) -> float:
    return math.degrees(
        math.acos(float(np.clip(u @ v / np.linalg.norm(u) / np.linalg.norm(v), -1, 1)))
    )


def _truth(
    pair: _Pair,
    case: Case,
    aff: FloatArray,
    shape: tuple[int, int, int],
    labels: npt.NDArray[np.uint8],
    own: npt.NDArray[np.int8],
    a_head: int,
    cents: list[FloatArray],
    axis: int,
) -> dict[str, object]:
    u = case.union
    axis_angle = _angle(pair.vertex_dir(0), pair.vertex_dir(1))
    nrm = pair.plane_normal
    fa = pair.face_dir(0) - (pair.face_dir(0) @ nrm) * nrm
    fb = pair.face_dir(1) - (pair.face_dir(1) @ nrm) * nrm
    rotation = _angle(fa, fb)
    # plane normal pointing from twin A (DESIGN) to twin B
    n_ab = nrm if a_head == 0 else -nrm
    # tissue of one head found beyond the plane (should be none outside the bridge):
    # a voxel whose own head says 'outside' but that lies > 15 mm from the plane
    vox = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), -1).reshape(-1, 3)
    world = vox @ aff[:3, :3].T + aff[:3, 3]
    tissue = (labels > 0).ravel()
    pw = world[tissue]
    cross = 0
    for h in (0, 1):
        mine = own.ravel()[tissue] == h
        if mine.any():
            pts = pw[mine]
            inside = []
            for hh in (h, 1 - h):
                head = pair.heads[hh]
                q = pair.local(hh, pts)
                env = head.envelope(q, head.skull_distance(q) - head.thicknesses(q)[0])
                inside.append(env)
            cross += int(((inside[0] > 2.0) & (inside[1] < -2.0)).sum())
    vox_ml = float(abs(np.linalg.det(aff[:3, :3]))) / 1000.0
    return {
        "name": case.name,
        "generator": "tests/blind/phantom3.py",
        "type": "vertical" if axis_angle >= 140.0 else "angular",
        "kind": u.kind,
        "completeness": u.completeness,
        "shared_sinus": u.completeness == "total",
        "axis_angle_deg": round(axis_angle, 3),
        "rotation_deg": round(rotation, 3),
        "contrast": case.ct.contrast,
        "vessel_voxels_scored": case.ct.contrast,
        "plane_point_mm": [float(v) for v in pair.plane_point],
        "plane_normal_a_to_b": [float(v) for v in n_ab],
        "twin_a_head": "head_a" if a_head == 0 else "head_b",
        "twin_a_centroid_mm": [float(v) for v in cents[a_head]],
        "twin_b_centroid_mm": [float(v) for v in cents[1 - a_head]],
        "twin_rule_axis": "xyz"[axis],
        "vertex_dir": {
            "A": list(map(float, pair.vertex_dir(a_head))),
            "B": list(map(float, pair.vertex_dir(1 - a_head))),
        },
        "face_dir": {
            "A": list(map(float, pair.face_dir(a_head))),
            "B": list(map(float, pair.face_dir(1 - a_head))),
        },
        "cross_plane_voxels": cross,
        "shape": list(shape),
        "spacing_mm": [float(v) for v in np.linalg.norm(aff[:3, :3], axis=0)],
        "orientation": case.grid.orientation,
        "tissue_ml": {str(k): round(float((labels == k).sum()) * vox_ml, 3) for k in range(1, 6)},
        "case": _jsonable(asdict(case)),
        "definitions": {
            "axis_angle_deg": "angle between the two heads' neck->vertex directions (180 = in line)",
            "rotation_deg": "angle between the face directions projected on the boundary plane (0 = same way)",
            "twin boundary": "the bisecting plane (plane_point_mm, plane_normal_a_to_b)",
            "truth labels": "tissue at each voxel centre",
        },
    }


def _jsonable(v: object) -> object:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def make_case(case: Case, *, overlay: Overlay | None = None) -> Phantom3:
    """Render ``case``: CT in HU, truth labels, truth twin map, affine and truth facts.

    Parameters
    ----------
    case : the configuration (deterministic for a given ``case.seed``).
    overlay : objects added at render time (None: the anatomy alone, as before).

    Returns
    -------
    Phantom3
    """
    if case.ct.supersample < 1:
        raise ValueError(f"supersample must be >= 1, got {case.ct.supersample}")
    return _render(case, overlay)


def write_case(ph: Phantom3, out_dir: Path, *, intercept: float | None = None) -> dict[str, Path]:
    """Write ``ct.nii.gz`` (int16), ``labels.nii.gz``, ``twins.nii.gz`` and ``truth.json``.

    Parameters
    ----------
    ph : the rendered phantom.
    out_dir : folder to create (or reuse).
    intercept : scl_inter of the CT (0: HU on disk; -1024: CT number + 1024 on disk);
        None = the case's ``ct.intercept``.
    """
    import nibabel as nib

    out_dir.mkdir(parents=True, exist_ok=True)
    inter = float(intercept if intercept is not None else ph.truth["case"]["ct"]["intercept"])  # type: ignore[index]
    raw = np.clip(np.rint(ph.ct_hu - inter), -32768, 32767).astype(np.int16)
    img = nib.Nifti1Image(raw, ph.affine)
    img.header.set_xyzt_units("mm")
    img.header.set_slope_inter(1.0, inter)
    img.set_qform(ph.affine, code=1)
    img.set_sform(ph.affine, code=1)
    paths = {
        "ct": out_dir / "ct.nii.gz",
        "labels": out_dir / "labels.nii.gz",
        "twins": out_dir / "twins.nii.gz",
        "truth": out_dir / "truth.json",
    }
    nib.save(img, paths["ct"])
    for key, arr in (("labels", ph.labels), ("twins", ph.twins)):
        im = nib.Nifti1Image(arr.astype(np.uint8), ph.affine)
        im.header.set_xyzt_units("mm")
        im.set_qform(ph.affine, code=1)
        im.set_sform(ph.affine, code=1)
        nib.save(im, paths[key])
    paths["truth"].write_text(json.dumps(ph.truth, indent=1) + "\n")
    return paths


def with_(case: Case, **kw: object) -> Case:
    """``dataclasses.replace`` for the nested parameters: ``with_(c, ct__noise_hu=30)``."""
    top: dict[str, object] = {}
    nested: dict[str, dict[str, object]] = {}
    for k, v in kw.items():
        if "__" in k:
            part, name = k.split("__", 1)
            nested.setdefault(part, {})[name] = v
        else:
            top[k] = v
    for part, vals in nested.items():
        top[part] = replace(getattr(case, part), **vals)
    return replace(case, **top)
