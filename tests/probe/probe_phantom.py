"""Probe phantom: craniopagus CT scenes of a design of its own, for grading twinsep from outside.

Written for session 29's outside probe (helper IND) without ``twinsep.phantom``,
``tests/blind`` or ``tests/independent``: every shape and number here is this module's.

Scene
-----
Each head is a superellipsoid (semi-axes ``a, b, c`` mm across, front-back and
neck-vertex, exponent ``power``: 2 is an ellipsoid, larger is boxier) in its own frame
``u = R^T (p - centre)`` (x left-right, y back-front, z neck-vertex). A point's *depth*
in a head is its radial distance inside the surface along the ray from the centre,
``|u| (1/f(u) - 1)`` with ``f`` the superellipsoid's gauge. Layers by depth, outside in:

* scalp (``scalp_mm``: 1.2 mm of skin, fat at -90 HU under it, the galea), soft tissue;
* skull, its thickness a smooth function of direction between ``skull_mm`` (thin, infant
  calvaria) and ``skull_max_mm`` (thickest toward the skull base), cortical tables and a
  diploe when thick; sutures (sagittal, coronal) and the anterior fontanelle are gaps of
  membrane (soft tissue) through it; a foramen magnum opening at the base;
* extra-axial CSF (``csf_mm``), with the superior sagittal sinus (a tube along the midline
  under the vault) and the transverse sinuses at the back (vessel: contrast or plain blood);
* brain: cortex (grey, 3 mm) over white matter, sulci as CSF where a sum of three plane
  waves is near zero within ``sulcus_mm`` of the brain surface, the interhemispheric
  fissure, two lateral ventricles (CSF).

A neck (an elliptic cylinder of skin, fat and muscle with a vertebral column of bone and two carotids of vessel)
leaves the skull base along ``-z`` for ``neck_mm``. A nose marks the face (``+y``).

Two heads are joined by placing B's surface ``overlap_mm`` into A's along a contact
direction; every voxel belongs to the head in which it lies deeper (the owner truth),
and where both brains meet (depths within 1.5 mm) a CSF sheet stands between them.
The patient table (a board at ``table_hu`` on a foam pad, background by the contract)
lies under the scene's lowest tissue along world ``-y`` (supine).

Rendering: truth labels and owners at voxel centres; HU as the mean of 8 sub-voxel
samples (partial volume) wherever a voxel's 26 neighbours differ, a Gaussian PSF of ``psf_vox`` voxels, Gaussian noise of
``noise_hu``, then a scanner calibration ``hu * slope + water_hu`` (water read at
+``water_hu``). The grid may be anisotropic, turned (``grid_turn_deg`` about
``grid_turn_axis``) and stored with axes reversed (``flips``). All randomness comes from
one ``numpy.random.Generator`` seeded by the case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage as ndi

FloatArray = npt.NDArray[np.float64]

AIR, SOFT, BONE, BRAIN, CSF, VESSEL = 0, 1, 2, 3, 4, 5

# material codes (HU before calibration); several materials share a label
_HU = {
    "air": -1000.0,
    "fat": -90.0,
    "scalp": 45.0,
    "membrane": 35.0,
    "cortical": 1500.0,
    "diploe": 650.0,
    "csf": 7.0,
    "grey": 38.0,
    "white": 28.0,
    "muscle": 52.0,
    "vertebra": 800.0,
    "foam": -930.0,
}


def rotation(axis: tuple[float, float, float], angle_deg: float) -> FloatArray:
    """Rotation matrix about ``axis`` (any length) by ``angle_deg`` (right hand)."""
    k = np.asarray(axis, float)
    k = k / np.linalg.norm(k)
    t = np.radians(angle_deg)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(t) * kx + (1 - np.cos(t)) * kx @ kx


@dataclass(frozen=True)
class Head:
    """One head in world mm: centre, orientation (columns = its x, y, z in world) and shape."""

    centre_mm: tuple[float, float, float]
    frame: tuple[tuple[float, ...], ...]
    semi_mm: tuple[float, float, float] = (62.0, 74.0, 66.0)
    power: float = 2.4
    scalp_mm: float = 4.0
    skull_mm: float = 1.5
    skull_max_mm: float = 5.0
    csf_mm: float = 2.5
    sulcus_mm: float = 7.0
    sinus_mm: float = 3.5
    neck_mm: float = 80.0

    def local(self, p: FloatArray) -> FloatArray:
        """World points (..., 3) to this head's frame (..., 3)."""
        r = np.asarray(self.frame, float)
        return (p - np.asarray(self.centre_mm)) @ r

    def radius_along(self, direction: FloatArray) -> float:
        """Distance (mm) from the centre to the surface along a local unit direction."""
        return float(1.0 / _gauge(direction[None, :], self.semi_mm, self.power)[0])


def _gauge(u: FloatArray, semi: tuple[float, float, float], p: float) -> FloatArray:
    s = (
        np.abs(u[..., 0] / semi[0]) ** p
        + np.abs(u[..., 1] / semi[1]) ** p
        + np.abs(u[..., 2] / semi[2]) ** p
    )
    return np.asarray(s ** (1.0 / p))


@dataclass(frozen=True)
class ProbeCase:
    """One probe scan: the scene, the scanner and the storage.

    ``kind``: ``"vertical"`` / ``"angular"`` twins joined at ``axis_deg`` between their
    neck-to-vertex axes (180 in line) with B twisted ``twist_deg`` about the junction;
    ``"single"`` one head; ``"apart"`` two heads ``gap_mm`` apart; ``"torso"`` a chest,
    no head.
    """

    name: str
    kind: Literal["vertical", "angular", "single", "apart", "torso"] = "vertical"
    axis_deg: float = 180.0
    twist_deg: float = 0.0
    overlap_mm: float = 16.0
    gap_mm: float = 20.0
    head: Head | None = None
    head_b_scale: float = 1.0
    spacing_mm: tuple[float, float, float] = (2.5, 2.5, 2.5)
    grid_turn_deg: float = 0.0
    grid_turn_axis: tuple[float, float, float] = (0.3, 1.0, 0.2)
    flips: tuple[int, ...] = ()
    scene_turn_deg: float = 0.0
    contrast: bool = True
    contrast_hu: float = 260.0
    noise_hu: float = 15.0
    psf_vox: float = 0.5
    water_hu: float = 0.0
    slope: float = 1.0
    table: bool = True
    table_hu: float = 180.0
    margin_mm: float = 12.0
    seed: int = 0
    tags: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Rendered:
    """A rendered probe scan: the CT (int16 HU), truth labels (0-5), owners (0/1/2 by
    head order, 1 = the first head) and the RAS affine; ``heads`` as placed."""

    ct: npt.NDArray[np.int16]
    labels: npt.NDArray[np.uint8]
    owner: npt.NDArray[np.uint8]
    affine: FloatArray
    heads: tuple[Head, ...]


def _base_head(case: ProbeCase) -> Head:
    if case.head is not None:
        return case.head
    return Head(centre_mm=(0.0, 0.0, 0.0), frame=tuple(map(tuple, np.eye(3))))


def place_heads(case: ProbeCase) -> tuple[Head, ...]:
    """The scene's heads in world mm (before ``scene_turn_deg``), A's vertex toward +z."""
    base = _base_head(case)
    a = Head(
        **{**base.__dict__, "centre_mm": (0.0, 0.0, 0.0), "frame": tuple(map(tuple, np.eye(3)))}
    )
    if case.kind in ("single", "torso"):
        heads: tuple[Head, ...] = (a,)
    else:
        # B upside down (vertex to vertex), tilted about x by 180 - axis_deg, twisted
        # about its own neck-vertex axis by twist_deg
        flip = rotation((1.0, 0.0, 0.0), 180.0)
        tilt = rotation((1.0, 0.0, 0.0), 180.0 - case.axis_deg)
        twist = rotation((0.0, 0.0, 1.0), case.twist_deg)
        rb = tilt @ flip @ twist
        semi_b = tuple(s * case.head_b_scale for s in base.semi_mm)
        # contact direction from A: half the tilt off A's vertex (a symmetric union)
        d_a = rotation((1.0, 0.0, 0.0), -(180.0 - case.axis_deg) / 2.0) @ np.array([0.0, 0.0, 1.0])
        rho_a = a.radius_along(d_a)
        b0 = Head(**{**base.__dict__, "semi_mm": semi_b, "frame": tuple(map(tuple, rb))})
        rho_b = b0.radius_along(rb.T @ (-d_a))
        shift = -case.overlap_mm if case.kind != "apart" else case.gap_mm
        centre_b = d_a * (rho_a + rho_b + shift)
        heads = (a, Head(**{**b0.__dict__, "centre_mm": tuple(centre_b)}))
    if case.scene_turn_deg:
        turn = rotation((0.2, 1.0, 0.1), case.scene_turn_deg)
        heads = tuple(
            Head(
                **{
                    **h.__dict__,
                    "centre_mm": tuple(turn @ np.asarray(h.centre_mm)),
                    "frame": tuple(map(tuple, turn @ np.asarray(h.frame))),
                }
            )
            for h in heads
        )
    return heads


def _head_tissue(
    h: Head, u: FloatArray, contrast_hu: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(depth mm, label, HU) of local points ``u`` (N, 3) in head ``h`` (label 0 outside)."""
    r = np.linalg.norm(u, axis=-1)
    f = np.maximum(_gauge(u, h.semi_mm, h.power), 1e-9)
    depth = r * (1.0 / f - 1.0)
    n = u / np.maximum(r, 1e-9)[:, None]
    lab = np.zeros(len(u))
    hu = np.full(len(u), _HU["air"])
    # skull thickness by direction: thin vault, thick base, a smooth ripple
    ripple = 0.5 + 0.5 * np.sin(2.3 * n[:, 0] + 1.1) * np.cos(1.9 * n[:, 1] - 0.6)
    base = np.clip(-n[:, 2], 0.0, 1.0)
    t_skull = h.skull_mm + (h.skull_max_mm - h.skull_mm) * np.clip(
        0.6 * base + 0.4 * ripple * base + 0.15 * ripple, 0, 1
    )
    s0 = h.scalp_mm
    s1 = s0 + t_skull
    s2 = s1 + h.csf_mm
    inside = depth >= 0
    lab[inside] = SOFT
    # skin (1.2 mm) outermost, subcutaneous fat under it, then the galea
    fat_layer = (depth >= 1.2) & (depth < 1.2 + 0.4 * s0)
    hu[inside] = np.where(fat_layer[inside], _HU["fat"], _HU["scalp"])
    # skull with tables and diploe
    sk = inside & (depth >= s0) & (depth < s1)
    into = (depth - s0) / np.maximum(t_skull, 1e-9)
    table = (into < 0.3) | (into > 0.7) | (t_skull < 2.5)
    lab[sk] = BONE
    hu[sk] = np.where(table[sk], _HU["cortical"], _HU["diploe"])
    # sutures and fontanelle: gaps of membrane through the bone
    gap = 2.0  # mm wide
    sagittal = (np.abs(u[:, 0]) < gap / 2) & (n[:, 2] > 0.35) & (n[:, 1] > -0.6)
    coronal = (np.abs(u[:, 1] - 0.15 * h.semi_mm[1]) < gap / 2) & (n[:, 2] > 0.25)
    font_dir = np.array([0.0, 0.35, 0.94])
    font_dir /= np.linalg.norm(font_dir)
    fontanelle = (n @ font_dir) > np.cos(np.radians(9.0))
    magnum = n[:, 2] < -0.97
    gaps = sk & (sagittal | coronal | fontanelle | magnum)
    lab[gaps] = SOFT
    hu[gaps] = _HU["membrane"]
    # extra-axial CSF, sinuses
    ex = inside & (depth >= s1) & (depth < s2)
    lab[ex] = CSF
    hu[ex] = _HU["csf"]
    sin_band = inside & (depth >= s1) & (depth < s1 + 2 * h.sinus_mm)
    sss = sin_band & (np.abs(u[:, 0]) < h.sinus_mm) & (n[:, 2] > -0.1) & (n[:, 1] > -0.9)
    z_tr = -0.05 * h.semi_mm[2]
    transverse = sin_band & (np.abs(u[:, 2] - z_tr) < h.sinus_mm) & (n[:, 1] < -0.3)
    sinus = sss | transverse
    # brain: cortex, white matter, sulci, fissure, ventricles
    br = inside & (depth >= s2) & ~sinus
    bd = depth - s2
    lab[br] = BRAIN
    hu[br] = np.where(bd[br] < 3.0, _HU["grey"], _HU["white"])
    k = 2 * np.pi / 22.0
    waves = (
        np.sin(k * (0.8 * u[:, 0] + 0.6 * u[:, 1]))
        + np.sin(k * (0.7 * u[:, 1] - 0.71 * u[:, 2]) + 0.7)
        + np.sin(k * (0.6 * u[:, 2] + 0.8 * u[:, 0]) + 1.9)
    )
    sulci = br & (bd < h.sulcus_mm) & (np.abs(waves) < 0.45)
    fissure = br & (np.abs(u[:, 0]) < 1.5) & (n[:, 2] > -0.2) & (bd < 0.3 * h.semi_mm[2])
    vent = np.zeros(len(u), bool)
    for side in (-1.0, 1.0):
        c = np.array([side * 0.14 * h.semi_mm[0], 0.0, 0.12 * h.semi_mm[2]])
        e = (u - c) / np.array([0.09 * h.semi_mm[0], 0.32 * h.semi_mm[1], 0.12 * h.semi_mm[2]])
        vent |= np.sum(e * e, axis=-1) < 1.0
    fl = sulci | fissure | (br & vent)
    lab[fl] = CSF
    hu[fl] = _HU["csf"]
    lab[sinus] = VESSEL
    hu[sinus] = contrast_hu
    # neck below the skull base: muscle, a vertebral column, two carotids
    rx, ry = 0.42 * h.semi_mm[0], 0.42 * h.semi_mm[1]
    cy = -0.12 * h.semi_mm[1]
    z_top = -0.55 * h.semi_mm[2]
    ell = ((u[:, 0] / rx) ** 2 + ((u[:, 1] - cy) / ry) ** 2) < 1.0
    neck = ~inside & ell & (u[:, 2] < z_top) & (u[:, 2] > -h.semi_mm[2] - h.neck_mm)
    neck_depth = np.minimum(rx, ry) * (
        1 - np.sqrt((u[:, 0] / rx) ** 2 + ((u[:, 1] - cy) / ry) ** 2)
    )
    depth = np.where(neck, neck_depth, depth)
    lab[neck] = SOFT
    neck_fat = (neck_depth >= 1.2) & (neck_depth < 4.0)
    hu[neck] = np.where(neck_fat[neck], _HU["fat"], _HU["muscle"])
    spine = neck & ((u[:, 0] ** 2 + (u[:, 1] - (cy - 0.45 * ry)) ** 2) < 9.0**2)
    lab[spine] = BONE
    hu[spine] = _HU["vertebra"]
    for side in (-1.0, 1.0):
        car = neck & (
            ((u[:, 0] - side * 0.55 * rx) ** 2 + (u[:, 1] - (cy + 0.3 * ry)) ** 2) < 2.6**2
        )
        lab[car] = VESSEL
        hu[car] = contrast_hu
    # nose on the face
    nose = (
        ~inside
        & ~neck
        & (
            np.sum(
                (
                    (u - np.array([0.0, 0.93 * h.semi_mm[1], -0.2 * h.semi_mm[2]]))
                    / np.array([9.0, 14.0, 13.0])
                )
                ** 2,
                axis=-1,
            )
            < 1.0
        )
    )
    depth = np.where(nose, 1.0, depth)
    lab[nose] = SOFT
    hu[nose] = _HU["scalp"]
    depth = np.where(lab > 0, depth, -1.0)
    return depth, lab, hu


def _torso(p: FloatArray, contrast_hu: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """A chest (no head): elliptic body, lungs, spine, aorta, sternum."""
    x, y = p[:, 0], p[:, 1]
    body = (x / 140.0) ** 2 + (y / 95.0) ** 2 < 1.0
    lab = np.where(body, SOFT, AIR).astype(float)
    hu = np.where(body, _HU["muscle"], _HU["air"])
    for side in (-1.0, 1.0):
        lung = ((x - side * 65) / 50.0) ** 2 + ((y + 5) / 60.0) ** 2 < 1.0
        hu = np.where(lung, -820.0, hu)
    spine = x**2 + (y + 70) ** 2 < 16.0**2
    lab[spine] = BONE
    hu[spine] = _HU["vertebra"]
    aorta = (x + 20) ** 2 + (y + 35) ** 2 < 12.0**2
    lab[aorta] = VESSEL
    hu[aorta] = contrast_hu
    depth = np.where(body, 1.0, -1.0)
    return depth, lab, hu


def _grid(case: ProbeCase, heads: tuple[Head, ...]) -> tuple[FloatArray, tuple[int, int, int]]:
    """The scan's affine (RAS, before flips) and shape covering the scene and margin."""
    turn = rotation(case.grid_turn_axis, case.grid_turn_deg) if case.grid_turn_deg else np.eye(3)
    pts = []
    for h in heads:
        fr = np.asarray(h.frame)
        s = np.asarray(h.semi_mm)
        for cx in (-1, 1):
            for cy in (-1, 1):
                for cz in (-1, 1):
                    pts.append(np.asarray(h.centre_mm) + fr @ (s * np.array([cx, cy, cz])))
        # the neck as far as it goes
        pts.append(np.asarray(h.centre_mm) + fr @ np.array([0, 0, -s[2] - h.neck_mm]))
    if case.kind == "torso":
        pts = [np.array([x, y, z]) for x in (-150, 150) for y in (-130, 105) for z in (-120, 120)]
    if case.table:  # the foam pad and board under the lowest point (supine: world -y)
        y_low = min(float(q[1]) for q in pts) - 30.0
        pts += [np.array([q[0], y_low, q[2]]) for q in list(pts)]
    q = np.asarray(pts) @ turn  # in grid axes
    lo = q.min(axis=0) - case.margin_mm
    hi = q.max(axis=0) + case.margin_mm
    sp = np.asarray(case.spacing_mm)
    shape = tuple(int(np.ceil((hi[i] - lo[i]) / sp[i])) + 1 for i in range(3))
    aff = np.eye(4)
    aff[:3, :3] = turn * sp[None, :]
    aff[:3, 3] = turn @ lo
    return aff, (shape[0], shape[1], shape[2])


def _sample(
    case: ProbeCase, heads: tuple[Head, ...], p: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(label, owner, HU) at world points p (N, 3); HU without the table."""
    if case.kind == "torso":
        d, lab, hu = _torso(p, case.contrast_hu if case.contrast else 45.0)
        return lab, np.where(lab > 0, 1.0, 0.0), hu
    vessel_hu = case.contrast_hu if case.contrast else 55.0
    best_d = np.full(len(p), -np.inf)
    lab = np.zeros(len(p))
    hu = np.full(len(p), _HU["air"])
    owner = np.zeros(len(p))
    depths = []
    for i, h in enumerate(heads):
        d, li, hi = _head_tissue(h, h.local(p), vessel_hu)
        depths.append((d, li))
        take = (li > 0) & (d > best_d)
        best_d = np.where(take, d, best_d)
        lab = np.where(take, li, lab)
        hu = np.where(take, hi, hu)
        owner = np.where(take, i + 1.0, owner)
    if len(heads) == 2:
        (d0, l0), (d1, l1) = depths
        sheet = (l0 == BRAIN) & (l1 == BRAIN) & (np.abs(d0 - d1) < 1.5)
        lab[sheet] = CSF
        hu[sheet] = _HU["csf"]
    return lab, owner, hu


def render(case: ProbeCase) -> Rendered:
    """Render ``case``: CT (int16, calibrated HU), truth labels and owners, RAS affine."""
    rng = np.random.default_rng(case.seed)
    heads = place_heads(case)
    aff, shape = _grid(case, heads)
    idx = np.indices(shape, dtype=np.float64).reshape(3, -1).T
    centres = idx @ aff[:3, :3].T + aff[:3, 3]
    lab, owner, hu_c = _sample(case, heads, centres)
    # table under the lowest tissue (supine: along world -y)
    y_top = centres[lab > 0, 1].min() - 6.0 if case.table else -np.inf

    def with_table(q: FloatArray, hu: FloatArray) -> FloatArray:
        if not case.table:
            return hu
        foam = (q[:, 1] < y_top) & (q[:, 1] >= y_top - 10.0) & (hu <= -900)
        board = (q[:, 1] < y_top - 10.0) & (q[:, 1] >= y_top - 22.0)
        return np.where(board, case.table_hu, np.where(foam, _HU["foam"], hu))

    hu_c = with_table(centres, hu_c)
    # partial volume: 8 sub-voxel samples where the 26 neighbours' centres differ
    # (elsewhere the sub-samples, within a quarter voxel of the centre, agree with it)
    h3 = hu_c.reshape(shape)
    edge = np.flatnonzero(ndi.maximum_filter(h3, 3) != ndi.minimum_filter(h3, 3))
    hu_sum = np.zeros(len(edge))
    for ox in (-0.25, 0.25):
        for oy in (-0.25, 0.25):
            for oz in (-0.25, 0.25):
                q = centres[edge] + aff[:3, :3] @ np.array([ox, oy, oz])
                hu_sum += with_table(q, _sample(case, heads, q)[2])
    hu_all = hu_c.copy()
    hu_all[edge] = hu_sum / 8.0
    ct = hu_all.reshape(shape)
    if case.psf_vox > 0:
        ct = ndi.gaussian_filter(ct, case.psf_vox, mode="nearest")
    ct = ct + rng.normal(0.0, case.noise_hu, size=shape)
    ct = ct * case.slope + case.water_hu
    ct16 = np.clip(np.rint(ct), -1024 - abs(case.water_hu) - 50, 3071).astype(np.int16)
    labels = lab.reshape(shape).astype(np.uint8)
    own = owner.reshape(shape).astype(np.uint8)
    for ax in case.flips:
        ct16 = np.flip(ct16, axis=ax)
        labels = np.flip(labels, axis=ax)
        own = np.flip(own, axis=ax)
        aff = aff.copy()
        aff[:3, 3] += aff[:3, ax] * (shape[ax] - 1)
        aff[:3, ax] = -aff[:3, ax]
    return Rendered(
        np.ascontiguousarray(ct16),
        np.ascontiguousarray(labels),
        np.ascontiguousarray(own),
        aff,
        heads,
    )


def twin_a_by_rule(owner: npt.NDArray[np.uint8], affine: FloatArray) -> int:
    """DESIGN.md's twin A among owners 1 and 2: the smaller world coordinate along the
    world axis on which the two centroids differ most."""
    cents = []
    for k in (1, 2):
        ijk = np.argwhere(owner == k).mean(axis=0)
        cents.append(affine[:3, :3] @ ijk + affine[:3, 3])
    d = cents[1] - cents[0]
    ax = int(np.argmax(np.abs(d)))
    return 1 if cents[0][ax] < cents[1][ax] else 2


def face_rotation_deg(heads: tuple[Head, ...]) -> float:
    """The faces' rotation about the junction: the angle between the two heads' face
    directions (their frames' y) projected across the line joining their centres
    (0 = the faces turned the same way, 180 = opposite)."""
    a, b = heads
    j = np.asarray(b.centre_mm) - np.asarray(a.centre_mm)
    j = j / np.linalg.norm(j)
    fa, fb = (np.asarray(h.frame)[:, 1] for h in (a, b))
    pa, pb = fa - (fa @ j) * j, fb - (fb @ j) * j
    c = pa @ pb / (np.linalg.norm(pa) * np.linalg.norm(pb))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))
