"""Bone defect and cranioplasty template per twin, from the twin's own skull.

Method:

1. the outer skull surface of the twin (:class:`~twinsep.reconstruct.defects.TwinDefects`
   ``bone_outer``), minus the part near the wound and below the twin's equator (skull
   base), is the *intact calvarium*;
2. an ellipsoid (general quadric, least squares; a sphere when the quadric is not an
   ellipsoid) is fitted to it -- the smooth continuation of this twin's own vault over
   the defect, not a generic template;
3. the fitted surface is sampled by a geodesic sphere; a sample with no own skull
   within ``tolerance_mm`` is *missing bone* when it lies beyond the wound surface (on
   the other twin's side, within twice ``tolerance_mm`` of the wound) or nearer to the
   wound than to the twin's own bone; so is a sample whose direction from the fit
   centre lies inside the bone rim (the opening seen from the centre: a vault fitted
   inside a skull that flares toward the union meets the cut short of the rim). The
   patches over the opening or at its rim are the missing calvarium; a cut that opens
   no bone gets no template;
4. the patch is widened by ``overlap_mm`` (along the fitted surface) so that its edge
   lies over the twin's own bone around the opening, not at the opening's edge;
5. the patch's vertices move along their rays from the fit centre: off the opening onto
   the twin's measured outer skull, over it by the harmonic interpolation of those
   moves (:mod:`twinsep.reconstruct.bone_blend`): where the skull flares toward the
   union the edge lies on the skull, not inside it on the fitted vault;
6. the template is that patch thickened by the twin's skull thickness, closed along its
   rim: a watertight solid ready to print (area of the patch and volume reported). An
   *onlay* (``BoneParams.fit``, the default) is thickened outward: its inner face rests
   on the twin's outer skull over the ``overlap_mm`` band (fixed there by sutures or
   plates, as a mesh or sheet laid over a defect) and bridges the opening at the
   skull's outer contour, the contour raised by the thickness. An *inlay* is cut to the
   opening (no band) and thickened inward: its outer face is flush with the skull and
   its edge meets the bone rim, as patient-specific implants milled to a defect are
   (fixed by plates across the seam; Nout and Mommaerts, Oral Maxillofac Surg 2018,
   doi:10.1007/s10006-017-0668-4). Before, the band lay *in* the bone (its outer face on
   the skull, thickened inward): neither.

Defects larger than ``regrowth_limit_mm2`` are flagged: bone regrowth in infants is
unlikely to close them.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from twinsep.errors import InputError
from twinsep.reconstruct.bone_blend import blend_onto_skull
from twinsep.reconstruct.bone_edge import clip_patch, inside_rim, rim_signed_distance_mm
from twinsep.reconstruct.defects import TwinDefects

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BoneParams:
    """Tunable numbers of the bone plan.

    Attributes
    ----------
    regrowth_limit_mm2 : float
        Defects larger than this are flagged as unlikely to close by bone regrowth,
        mm^2 (900 = 9 cm^2). Source: Skolnick GB et al., Long-term characterization
        of cranial defects after surgical correction for single-suture
        craniosynostosis, Ann Plast Surg 2019;82(6):679-685 -- fewer than 10 % of
        defects above 9 cm^2 closed to 2.5 cm^2 or less. Lane JC, Black JS, J
        Craniofac Surg 2022;33(2):517 found no consensus: treat as a flag, not a rule.
    tolerance_mm : float
        A fitted-surface sample with own skull within this distance is intact, mm
        (5.0: fit residual of a smooth infant vault plus the working voxel).
    fit_margin_mm : float
        Skull within this distance of the wound is left out of the fit, mm (10.0:
        the bone there is distorted by the union).
    fit_below_centre_mm : float
        Skull lower than this below the brain centre (along the head axis) is left out
        of the fit, mm (20.0: the skull base and face are not part of the vault).
    sphere_subdivisions : int
        Subdivisions of the geodesic sphere sampling the fitted surface (5: about
        10 000 vertices, ~2.5 mm spacing on a 60 mm skull).
    min_thickness_mm, max_thickness_mm : float
        Clamp of the template thickness, mm (1.0, 8.0: infant calvarium is 1-5 mm;
        the mean thickness includes some skull base).
    overlap_mm : float
        How far the template reaches past the opening over the twin's own bone, mm,
        measured along the fitted surface (5.0: a planning choice, room for a ring of
        sutures or plates on bone around the whole edge; 0 = cut to the opening). Used
        by the onlay only.
    fit : str
        How the template meets the skull (module docstring, step 6): ``"onlay"`` (the
        default) rests on the twin's outer skull over the ``overlap_mm`` band and
        bridges the opening at the skull's outer contour, its thickness outward;
        ``"inlay"`` fills the opening, cut to the bone rim, its outer face flush with
        the skull, its thickness inward.
    """

    regrowth_limit_mm2: float = 900.0
    tolerance_mm: float = 5.0
    fit_margin_mm: float = 10.0
    fit_below_centre_mm: float = 20.0
    sphere_subdivisions: int = 5
    min_thickness_mm: float = 1.0
    max_thickness_mm: float = 8.0
    overlap_mm: float = 5.0
    fit: str = "onlay"

    def __post_init__(self) -> None:
        if self.fit not in ("onlay", "inlay"):
            raise InputError("bone.fit", f"{self.fit!r} is not 'onlay' or 'inlay'")
        if not (math.isfinite(self.overlap_mm) and self.overlap_mm >= 0):
            raise InputError("bone.overlap_mm", f"{self.overlap_mm} must be >= 0")
        for name in ("regrowth_limit_mm2", "tolerance_mm", "min_thickness_mm"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise InputError(f"bone.{name}", f"{v} must be > 0")
        if self.max_thickness_mm < self.min_thickness_mm:
            raise InputError("bone.max_thickness_mm", "must be >= min_thickness_mm")
        if not 1 <= self.sphere_subdivisions <= 7:
            raise InputError("bone.sphere_subdivisions", f"{self.sphere_subdivisions} not in 1..7")


@dataclass(frozen=True)
class EllipsoidFit:
    """Fitted calvarium: ``x = centre + axes.T @ (radii * s)`` for unit ``s``.

    Attributes
    ----------
    centre_mm : (3,) float64
    radii_mm : (3,) float64
    axes : (3, 3) float64
        Rows are the unit principal directions (world).
    rms_mm : float
        RMS radial residual of the intact skull points, mm.
    kind : str
        ``"ellipsoid"``, ``"sphere"`` (fallback) or ``"none"`` (nothing to fit).
    """

    centre_mm: np.ndarray
    radii_mm: np.ndarray
    axes: np.ndarray
    rms_mm: float
    kind: str


@dataclass(frozen=True)
class TwinBonePlan:
    """Bone reconstruction of one twin.

    Attributes
    ----------
    twin : str
    defect_area_mm2 : float
        Bone defect area measured on the cut (see defects), mm^2.
    missing_area_mm2 : float
        Outer area of the template, mm^2: the calvarium over the opening (the fitted
        vault, bent to meet the twin's skull at the rim) plus the ``overlap_mm`` band
        on the twin's own outer skull around it.
    template_volume_ml : float
        Volume of the template solid, mL.
    thickness_mm : float
        Template thickness, mm.
    fit : EllipsoidFit
    exceeds_regrowth : bool
        True when the defect is larger than ``regrowth_limit_mm2``.
    vertices_mm : (V, 3) float64
        Watertight template mesh (world mm); empty when nothing is missing.
    faces : (F, 3) int64
    watertight : bool
    note : str
        One plain sentence for the report.
    """

    twin: str
    defect_area_mm2: float
    missing_area_mm2: float
    template_volume_ml: float
    thickness_mm: float
    fit: EllipsoidFit
    exceeds_regrowth: bool
    vertices_mm: np.ndarray
    faces: np.ndarray
    watertight: bool
    note: str


def fit_ellipsoid(points_mm: np.ndarray) -> EllipsoidFit:
    """Least-squares ellipsoid through surface points (sphere if that fails).

    Fits ``x^T A x + b^T x = 1`` (9 unknowns, points centred first) and accepts it when
    ``A`` is positive definite; otherwise fits a sphere (4 unknowns).

    Raises
    ------
    InputError
        Fewer than 10 points.
    """
    p = np.asarray(points_mm, dtype=np.float64)
    if len(p) < 10:
        raise InputError("bone", f"only {len(p)} intact skull points; cannot fit the calvarium")
    m = p.mean(axis=0)
    q = p - m
    x, y, z = q.T
    design = np.column_stack([x * x, y * y, z * z, 2 * x * y, 2 * x * z, 2 * y * z, x, y, z])
    coef, *_ = np.linalg.lstsq(design, np.ones(len(q)), rcond=None)
    a = np.array(
        [[coef[0], coef[3], coef[4]], [coef[3], coef[1], coef[5]], [coef[4], coef[5], coef[2]]]
    )
    b = coef[6:]
    evals = np.linalg.eigvalsh(a)
    if np.all(evals > 0):
        c = -0.5 * np.linalg.solve(a, b)
        k = 1.0 + c @ a @ c
        if k > 0:
            w, v = np.linalg.eigh(a / k)
            radii = 1.0 / np.sqrt(w)
            centre = c + m
            axes = v.T
            local = (p - centre) @ axes.T / radii
            r = np.linalg.norm(local, axis=1)
            rms = float(
                np.sqrt(np.mean(((r - 1.0) * np.linalg.norm((p - centre), axis=1) / r) ** 2))
            )
            return EllipsoidFit(centre, radii, axes, rms, "ellipsoid")
    # sphere: |x|^2 = 2 c.x + (R^2 - |c|^2)
    design = np.column_stack([2 * q, np.ones(len(q))])
    sol, *_ = np.linalg.lstsq(design, (q * q).sum(axis=1), rcond=None)
    c = sol[:3]
    radius = float(np.sqrt(sol[3] + c @ c))
    rms = float(np.sqrt(np.mean((np.linalg.norm(q - c, axis=1) - radius) ** 2)))
    return EllipsoidFit(c + m, np.full(3, radius), np.eye(3), rms, "sphere")


def _shell(
    verts: np.ndarray, faces: np.ndarray, normals: np.ndarray, thickness: float
) -> tuple[np.ndarray, np.ndarray]:
    """Thicken an open, outward-oriented surface patch into a closed solid: the patch's
    vertices first, then the same moved ``thickness`` inward (outward when negative;
    the solid is then wound inside out, which the caller's volume check turns)."""
    used = np.unique(faces)
    remap = -np.ones(len(verts), dtype=np.int64)
    remap[used] = np.arange(len(used))
    f = remap[faces]
    outer = verts[used]
    inner = outer - thickness * normals[used]
    n = len(used)
    edges = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    key = np.sort(edges, axis=1)
    _, inv, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    bnd = edges[counts[inv.ravel()] == 1]
    a, b = bnd[:, 0], bnd[:, 1]
    walls = np.vstack([np.stack([b, a, a + n], 1), np.stack([b, a + n, b + n], 1)])
    all_faces = np.vstack([f, f[:, ::-1] + n, walls])
    return np.vstack([outer, inner]), all_faces.astype(np.int64)


def _manifold_patch(faces: np.ndarray, max_iter: int = 20) -> np.ndarray:
    """Drop faces around non-manifold vertices (two fans touching at a point).

    A thickened patch is closed only if every boundary vertex has exactly two boundary
    edges; faces at vertices with more are removed until that holds.
    """
    f = faces
    for _ in range(max_iter):
        if len(f) == 0:
            return f
        edges = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
        key = np.sort(edges, axis=1)
        _, inv, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
        bnd = key[counts[inv.ravel()] == 1]
        vids, vcount = np.unique(bnd, return_counts=True)
        bad = vids[vcount > 2]
        # faces hanging on one edge only (two boundary edges of three) are spurs
        per_face = (counts[inv.ravel()] == 1).reshape(3, -1).sum(axis=0)
        drop = np.isin(f, bad).any(axis=1) | (per_face >= 2)
        if not drop.any():
            return f
        f = f[~drop]
    return f


def _components_touching(sub: np.ndarray, touch: np.ndarray) -> np.ndarray:
    """The faces of ``sub`` in edge-connected patches holding a face where ``touch``."""
    n_f = len(sub)
    if n_f == 0 or not touch.any():
        return sub[:0]
    edges = np.sort(np.concatenate([sub[:, [0, 1]], sub[:, [1, 2]], sub[:, [2, 0]]]), axis=1)
    _, inv = np.unique(edges, axis=0, return_inverse=True)
    inc = sparse.csr_matrix(
        (np.ones(3 * n_f), (np.tile(np.arange(n_f), 3), inv.ravel())),
        shape=(n_f, int(inv.max()) + 1),
    )
    _, comp = connected_components(inc @ inc.T, directed=False)
    return sub[np.isin(comp, np.unique(comp[touch]))]


def _widen(verts: np.ndarray, faces: np.ndarray, seeds: np.ndarray, by_mm: float) -> np.ndarray:
    """Faces whose corners all lie within ``by_mm`` of a seed point (on the surface).

    Straight-line distance (the chord of 5 mm on a 50 mm vault is the arc to 0.1 %);
    half the median edge is added so that the kept edge lies at ``by_mm`` on average.
    """
    e = np.linalg.norm(verts[faces[:, 0]] - verts[faces[:, 1]], axis=1)
    near = cKDTree(seeds).query(verts, distance_upper_bound=by_mm + 0.5 * float(np.median(e)))[0]
    return faces[np.isfinite(near)[faces].all(axis=1)]


def _sample_spacing_mm(points_mm: np.ndarray) -> float:
    """Twice the median distance between neighbouring surface samples, mm."""
    if len(points_mm) < 2:
        return 0.0
    d = cKDTree(points_mm).query(points_mm, k=2)[0][:, 1]
    return 2.0 * float(np.median(d))


def plan_bone(defects: TwinDefects, *, params: BoneParams = BoneParams()) -> TwinBonePlan:
    """Missing calvarium and cranioplasty template of one twin.

    Parameters
    ----------
    defects : TwinDefects
        From :func:`twinsep.reconstruct.defects.measure_defects`.
    params : BoneParams

    Returns
    -------
    TwinBonePlan

    Too little intact skull (fewer than 10 surface samples) gives a plan without a
    template and a note saying so, rather than an error: the rest of the plan stands.
    """
    import trimesh

    d = defects
    pts = d.bone_outer.points_mm
    exceeds = d.bone_defect_area_mm2 > params.regrowth_limit_mm2
    wound_tree = cKDTree(d.wound.points_mm)
    # only "farther than fit_margin_mm" is asked: a search bounded just above the margin
    # is exact up to it and returns inf beyond without visiting the far wound
    bound = float(np.nextafter(params.fit_margin_mm, np.inf))
    d_wound = wound_tree.query(pts, distance_upper_bound=bound)[0] if len(pts) else np.zeros(0)
    height = (pts - d.brain_centre_mm) @ d.head_axis
    intact = (d_wound > params.fit_margin_mm) & (height > -params.fit_below_centre_mm)
    if intact.sum() < 10:
        intact = d_wound > params.fit_margin_mm
    if intact.sum() < 10:
        # no skull to continue (e.g. bone not labelled): say so, plan no template
        logger.info("twin %s: %d intact skull points, no template", d.twin, int(intact.sum()))
        return TwinBonePlan(
            twin=d.twin,
            defect_area_mm2=d.bone_defect_area_mm2,
            missing_area_mm2=0.0,
            template_volume_ml=0.0,
            thickness_mm=0.0,
            fit=EllipsoidFit(d.brain_centre_mm, np.zeros(3), np.eye(3), 0.0, "none"),
            exceeds_regrowth=bool(exceeds),
            vertices_mm=np.zeros((0, 3)),
            faces=np.zeros((0, 3), dtype=np.int64),
            watertight=False,
            note=(
                f"twin {d.twin} has too little intact skull (label 2) to estimate the missing "
                "calvarium; no cranioplasty template was made"
            ),
        )
    fit = fit_ellipsoid(pts[intact])
    sphere = trimesh.creation.icosphere(subdivisions=params.sphere_subdivisions)
    s = np.asarray(sphere.vertices, dtype=np.float64)
    faces = np.asarray(sphere.faces, dtype=np.int64)
    verts = fit.centre_mm + (s * fit.radii_mm) @ fit.axes
    # outward normals of the ellipsoid: gradient of sum((local / r)^2)
    local = (verts - fit.centre_mm) @ fit.axes.T
    normals = (local / fit.radii_mm**2) @ fit.axes
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    d_bone = cKDTree(pts).query(verts)[0]
    d_w, i_w = wound_tree.query(verts)
    # no own skull within the tolerance (a flattened skull at a contact is there) and
    # beyond the wound surface (on the other twin's side, near the wound) or nearer to
    # the wound than to the twin's bone
    beyond = np.einsum("ij,ij->i", verts - d.wound.points_mm[i_w], d.wound.normals[i_w]) > 0.0
    missing_v = (d_bone > params.tolerance_mm) & (
        (beyond & (d_w < 2.0 * params.tolerance_mm)) | (d_w < d_bone)
    )
    # the opening seen from the fit centre is missing whatever the fit's distance to the
    # cut (a vault fitted inside a flaring skull met the rim short of it)
    rim = d.bone_rim_mm
    over = inside_rim(verts, rim, fit.centre_mm)
    missing_v |= over
    if d.bone_defect_area_mm2 <= 0.0:
        missing_v[:] = False  # the cut opens no bone of this twin: nothing to cover
        over[:] = False
    thickness = float(
        np.clip(d.skull_thickness_mm, params.min_thickness_mm, params.max_thickness_mm)
    )
    empty = (np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64))
    v_out, f_out = empty
    area = vol = 0.0
    watertight = False
    sub = faces[missing_v[faces].all(axis=1)]
    reach = params.tolerance_mm + d.skull_thickness_mm
    if len(rim) >= 3:
        # patches over the bone opening or at its rim, not along a soft-tissue cut
        d_rim = cKDTree(rim).query(verts[sub].reshape(-1, 3))[0].reshape(-1, 3)
        touch = over[sub].any(axis=1) | (d_rim.min(axis=1) <= reach)
    else:
        touch = d_w[sub].min(axis=1) <= reach
    sub = _components_touching(sub, touch)
    if len(sub) or over.any() or len(rim):
        # from the patch, the opening and the rim itself on the fitted surface (a rim
        # narrower than a sample encloses none)
        on_fit = (rim - fit.centre_mm) @ fit.axes.T / fit.radii_mm
        on_fit /= np.maximum(np.linalg.norm(on_fit, axis=1, keepdims=True), 1e-12)
        seeds = np.vstack(
            [
                verts[np.union1d(np.unique(sub), np.flatnonzero(over))],
                fit.centre_mm + (on_fit * fit.radii_mm) @ fit.axes,
            ]
        )
        if params.fit == "onlay":
            by_mm = params.overlap_mm
        else:
            # an inlay is cut along the rim below: reach a sample past it first
            e = np.linalg.norm(verts[faces[:, 0]] - verts[faces[:, 1]], axis=1)
            by_mm = float(np.median(e)) if len(rim) >= 3 else 0.0
        sub = _widen(verts, faces, seeds, by_mm)
    sub = _manifold_patch(sub)
    if len(sub):
        # the edge onto the twin's own outer skull, the opening bridged smoothly
        # only the skull seen from the fit centre within the patch's cone (and a margin)
        # can lie under it
        ray = verts[np.unique(sub)] - fit.centre_mm
        ray /= np.linalg.norm(ray, axis=1, keepdims=True)
        axis = ray.mean(axis=0)
        axis /= np.linalg.norm(axis)
        cone = np.arccos(np.clip(ray @ axis, -1.0, 1.0)).max() + 0.2  # rad (11 deg more)
        rel = pts - fit.centre_mm
        seen = rel @ axis >= np.cos(min(cone, np.pi)) * np.linalg.norm(rel, axis=1)
        near = pts[seen]
        # the skull's samples at the cut are left out: the smoothing rounds the
        # cranium's corner there (0.3-0.9 mm inward on the analytic union)
        reach = _sample_spacing_mm(near)
        away = wound_tree.query(near, distance_upper_bound=reach)[0] > reach
        verts, normals, _ = blend_onto_skull(
            verts,
            sub,
            fit.centre_mm,
            over,
            near[away],
            d.bone_outer.normals[seen][away],
            reach_mm=reach,
        )
        if params.fit == "inlay" and len(rim) >= 3:
            # the edge along the rim itself, not at whole samples (bone_edge)
            g = rim_signed_distance_mm(verts, rim, fit.centre_mm)
            verts, sub, normals = clip_patch(verts, sub, g, normals)
            sub = _manifold_patch(sub)
        patch = trimesh.Trimesh(verts, sub, process=False)
        area = float(patch.area)
        # the first layer lies on the skull's outer contour; the second is the
        # thickness outward (an onlay, resting on the bone) or inward (an inlay)
        v_out, f_out = _shell(
            verts, sub, normals, -thickness if params.fit == "onlay" else thickness
        )
        tm = trimesh.Trimesh(v_out, f_out, process=True)
        watertight = bool(tm.is_watertight)
        vol = float(abs(tm.volume)) / 1000.0 if watertight else area * thickness / 1000.0
        if watertight and tm.volume < 0:
            f_out = f_out[:, ::-1]
    if d.bone_defect_area_mm2 <= 0.0:
        note = f"the cut opens no bone of twin {d.twin}: no cranioplasty template is needed"
    elif exceeds:
        note = (
            f"bone defect of twin {d.twin} ({d.bone_defect_area_mm2:.0f} mm²) is larger than "
            f"{params.regrowth_limit_mm2:.0f} mm², which bone regrowth in infants rarely closes: "
            "plan a cranioplasty"
        )
    else:
        note = (
            f"bone defect of twin {d.twin} ({d.bone_defect_area_mm2:.0f} mm²) is within the "
            f"{params.regrowth_limit_mm2:.0f} mm² that may close by regrowth in infants"
        )
    logger.debug(
        "twin %s: fit %s rms %.1f mm, missing %.0f mm2, template %.1f mL",
        d.twin,
        fit.kind,
        fit.rms_mm,
        area,
        vol,
    )
    return TwinBonePlan(
        twin=d.twin,
        defect_area_mm2=d.bone_defect_area_mm2,
        missing_area_mm2=area,
        template_volume_ml=vol,
        thickness_mm=thickness,
        fit=fit,
        exceeds_regrowth=bool(exceeds),
        vertices_mm=v_out,
        faces=f_out,
        watertight=watertight,
        note=note,
    )
