"""shapes: unequal and deformed heads, unusual junction sites - phantom3 with head shapes.

A layer over ``phantom3`` (written, like it, ``clinical.py`` and ``bodies.py``, without
reading twinsep's sources): every phantom3 case joins two regular ovoid heads of nearly
the same size at the vertex or with the same tilt toward the occiput or the forehead.
Real craniopagus twins are rarely like that:

* **Growth discordance.** Conjoined twins share one chorion and often one placental
  circulation and are commonly discordant in size; one twin 10-30 % smaller is usual in
  case series, and one twin may be hydrocephalic. (Spencer R., "Anatomic description of
  conjoined twins: a plea for standardized terminology", J Pediatr Surg 1996;31:941;
  Spencer R., Conjoined Twins: Developmental Malformations and Clinical Implications,
  Johns Hopkins University Press 2003, the chapter on craniopagus.)
* **Hydrocephalus / macrocephaly.** Ventriculomegaly of one twin is reported in several
  craniopagus series (Walker M. & Browd S.R., "Craniopagus twins: embryology,
  classification, surgical anatomy and separation", Childs Nerv Syst 2004;20:554);
  a hydrocephalic infant head has large lateral ventricles under a thin cortical mantle
  (often 5-15 mm), a thin vault, wide sutures and a large fontanelle, and a head
  circumference well above the 97th centile.
* **Deformation.** Infants who lie in one position develop deformational
  plagiocephaly: seen from above the head is a parallelogram - one occiput flattened,
  the ear on that side displaced forward, the forehead on that side pushed forward
  (frontal bossing), the opposite occiput bulging (Argenta L., "Clinical classification
  of positional plagiocephaly", J Craniofac Surg 2004;15:368; Mulliken J.B. et al.,
  "Analysis of posterior plagiocephaly: deformational versus synostotic", Plast
  Reconstr Surg 1999;103:371). Positional brachycephaly flattens the whole back (cephalic
  index > 0.90); scaphocephaly (sagittal synostosis, or dolichocephaly of preterm
  infants nursed on their sides) makes the head long and narrow (cephalic index < 0.75).
  Craniopagus heads are also moulded by the union itself and by lying joined.
* **Sites and angles.** Stone J.L. & Goodrich J.T., "The craniopagus malformation:
  classification and implications for surgical separation", Brain 2006;129:1084:
  partial / total (shared dural venous sinus); angular when the long axes meet at
  < 140 deg, vertical otherwise; the union may be frontal, parietal, temporoparietal or
  occipital, and angular twins may meet with nearly perpendicular axes. O'Connell J.E.,
  "Craniopagus twins: surgical anatomy and embryology and their implications", J Neurol
  Neurosurg Psychiatry 1976;39:1: vertical types I-III by the axial rotation of one face
  relative to the other (I faces the same way, II opposite, III in between). Frontal
  unions may have the faces turned toward each other; in a lateral (parietal or
  temporoparietal) union the twins lie side by side.

What the layer does (``ShapeParams`` per head, ``ShapesCase`` per case)
--------------------------------------------------------------------------
*Size*: through phantom3's ``HeadParams.length_mm`` (the template scaled; layer
thicknesses stay real millimetres). *Deformation*: a whole-head warp of the local frame
(face, ears, brain, vault together): ``vault_scale`` (x, y, z) stretches the head (it
scales the face too - a simplification: a scaphocephalic face is nearer normal), and
``plagio_mm`` shears it, moving the right side (``x > 0``) forward by ``plagio_mm`` at the
widest point (negative: the left side); ``flat_mm`` then cuts the vault (and with it
scalp, bone, CSF and brain, which phantom3 derives from the skull's distance field) with
a smooth plane ``flat_mm`` deep at azimuth ``flat_az_deg`` (local, 0 = face, 90 = right,
135 = right-posterior, 180 = straight back). The shear keeps the midline of the face at
``x = 0`` and the nose pointing along local ``+y``, so the true face direction of a
plagiocephalic head stays its nose's direction while its skull's long axis turns (a
parallelogram's diagonal) - which is what a face direction measured from the skull's shape
would follow. Warped distances are scaled back to millimetres by the stretch along each
point's direction (layer thicknesses stay within about 10 % of phantom3's).
*Hydrocephalus*: ``hydro_mantle_mm`` > 0 turns the supratentorial brain parenchyma deeper
than that under the brain surface (and farther than that from the twin boundary plane)
into ventricular CSF (label 4), keeping a 2 mm midline septum, the deep grey nuclei, the
brainstem and the cerebellum; use it with a large ``length_mm`` and ``HYDRO_HEAD``'s thin
vault and wide fontanelle. *Junction*: phantom3's union (site, tilt, spin, overlap) with
an optional per-head tilt and site (``junction_a`` / ``junction_b``: one twin's vertex on
the other's parietal region); the pair's frame follows phantom3's conventions (pair
frame z = junction line, head A below; angular pairs lie with both long axes in the table
plane) so that a neutral ``ShapesCase`` places the heads exactly where phantom3 does.

Truth labels, twin truth (bisecting plane, DESIGN's twin A rule on tissue centroids),
axis angle and face rotation are phantom3's, computed from the shaped heads' poses
(face = the nose's direction). ``truth["shapes"]`` adds the parameters, each head's
measured skull length, width and cephalic index (from the implicit vault), and per twin
(A/B by DESIGN's rule) its truth tissue volume, CSF volume and which head it is.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from blind.phantom3 import (
    Case,
    HeadParams,
    M,
    Phantom3,
    _Head,
    _junction_dir,
    _Pair,
    _Pose,
    _ray_extent,
    _rot,
    _rot_between,
    _seg_dist,
    _smin,
    make_case,
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: a hydrocephalic macrocephalic infant head: head length about 160 mm (phantom3's
#: 135 mm is a 6-month head), a thin stretched vault, wide sutures, a large anterior
#: fontanelle and a compressed subarachnoid space
HYDRO_HEAD = HeadParams(
    length_mm=160.0, bone_mm=1.8, csf_mm=1.2, fontanelle_mm=35.0, suture_mm=4.0, scalp_mm=4.0
)


@dataclass(frozen=True)
class ShapeParams:
    """How one head departs from phantom3's regular ovoid (all zero/one = unchanged).

    Attributes
    ----------
    vault_scale : (x, y, z) stretch of the whole head in its local frame (x right,
        y face, z vertex); scaphocephaly about (0.88, 1.10, 1.0), brachycephaly about
        (1.04, 0.92, 1.03) with a flat back.
    plagio_mm : forward shift (mm) of the head's right side at its widest point relative
        to the midline (a shear in y proportional to x); negative = the left side forward.
    flat_mm : depth (mm) of a flattening cut into the vault (0 = none).
    flat_az_deg : azimuth of the flattening in the local horizontal plane: 0 face,
        90 right, 135 right-posterior, 180 straight back, -135 left-posterior.
    flat_k_mm : smoothing radius of the flattening's edge, mm.
    hydro_mantle_mm : hydrocephalus: cortical mantle thickness, mm (0 = none).
    face_follows : the stretch ``vault_scale`` moves the face, ears, skull base and brain
        features too (True) or only the vault and the layers phantom3 derives from it
        (False: a normal face under a long or short vault; the shear always moves all).
    """

    vault_scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    plagio_mm: float = 0.0
    flat_mm: float = 0.0
    flat_az_deg: float = 135.0
    flat_k_mm: float = 12.0
    hydro_mantle_mm: float = 0.0
    face_follows: bool = True

    @property
    def neutral(self) -> bool:
        return (
            self.vault_scale == (1.0, 1.0, 1.0)
            and self.plagio_mm == 0.0
            and self.flat_mm == 0.0
            and self.hydro_mantle_mm == 0.0
        )


#: right occiput flattened, right ear and forehead forward (Argenta type III-IV)
PLAGIO_RIGHT = ShapeParams(plagio_mm=9.0, flat_mm=10.0, flat_az_deg=135.0)
#: the mirror image
PLAGIO_LEFT = ShapeParams(plagio_mm=-9.0, flat_mm=10.0, flat_az_deg=-135.0)
SCAPHO = ShapeParams(vault_scale=(0.88, 1.10, 1.0))
#: the same long vault over a face of normal proportions
SCAPHO_VAULT = ShapeParams(vault_scale=(0.88, 1.10, 1.0), face_follows=False)
#: a milder long head (cephalic index about 0.74)
SCAPHO_MILD = ShapeParams(vault_scale=(0.94, 1.06, 1.0))
BRACHY = ShapeParams(vault_scale=(1.04, 0.92, 1.03), flat_mm=6.0, flat_az_deg=180.0)
HYDRO = ShapeParams(hydro_mantle_mm=10.0)
#: milder ventriculomegaly: a 20 mm mantle
HYDRO_MILD = ShapeParams(hydro_mantle_mm=20.0)


@dataclass(frozen=True)
class ShapesCase:
    """A phantom3 case with shaped heads and, optionally, per-head junction sites.

    Attributes
    ----------
    name : case name.
    base : the phantom3 case (union, CT, grid, head sizes through ``HeadParams``).
    shape_a, shape_b : deformation of phantom3's head_a / head_b.
    junction_a, junction_b : (tilt_deg, site_deg) of that head's junction (angular
        unions only; None = the union's ``tilt_deg`` and ``site_deg``).
    """

    name: str
    base: Case
    shape_a: ShapeParams = field(default_factory=ShapeParams)
    shape_b: ShapeParams = field(default_factory=ShapeParams)
    junction_a: tuple[float, float] | None = None
    junction_b: tuple[float, float] | None = None


# ---------------------------------------------------------------------------------------
# a shaped head


def _smax(a: FloatArray, b: FloatArray, k: float) -> FloatArray:
    return -_smin(-a, -b, k)


class _ShapedHead(_Head):
    """phantom3's head (same random fields) evaluated through a warp of its local frame."""

    def __init__(self, head: _Head, shape: ShapeParams) -> None:  # noqa: D107
        self.__dict__.update(head.__dict__)  # parameters, scale, random direction fields
        self.shape = shape
        sc = np.asarray(shape.vault_scale, dtype=np.float64)
        if np.any(sc <= 0.5) or np.any(sc >= 1.6):
            raise ValueError(f"vault_scale must lie in (0.5, 1.6), got {shape.vault_scale}")
        self._scale = sc
        # shear per mm of x so that the widest point (template half-width 56) moves by
        # plagio_mm: real y = template y + k x
        self._shear = shape.plagio_mm / (56.0 * self.s * float(sc[0]))
        self._flat_c: float | None = None
        az = math.radians(shape.flat_az_deg)
        self._flat_n = np.array([math.sin(az), math.cos(az), 0.0])

    # -- the warp ------------------------------------------------------------------------
    def warp(self, q: FloatArray) -> FloatArray:
        """Real local mm -> phantom3 template-head local mm (unshear, then unstretch)."""
        w = q.copy()
        w[:, 1] = w[:, 1] - self._shear * q[:, 0]
        return w / self._scale

    def _stretch(self, w: FloatArray) -> FloatArray:
        """Length factor of the stretch along each (template) point's direction."""
        n = w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-6)
        return np.asarray(np.linalg.norm(n * self._scale, axis=1))

    def _body_warp(self, q: FloatArray) -> FloatArray:
        """The warp of the face, ears and inner features (the shear only when the face
        does not follow the vault's stretch)."""
        if self.shape.face_follows:
            return self.warp(q)
        w = q.copy()
        w[:, 1] = w[:, 1] - self._shear * q[:, 0]
        return w

    def _vault(self, q: FloatArray) -> FloatArray:
        w = self.warp(q)
        return super().skull_distance(w) * self._stretch(w)

    def _flat_offset(self) -> float:
        """Plane offset of the flattening: the unflattened extent minus ``flat_mm``."""
        if self._flat_c is None:
            lo, hi = 0.0, 250.0
            for _ in range(50):
                mid = 0.5 * (lo + hi)
                d = self._vault((self._flat_n * mid)[None, :])[0]
                lo, hi = (mid, hi) if d < 0 else (lo, mid)
            self._flat_c = 0.5 * (lo + hi) - self.shape.flat_mm
        return self._flat_c

    # -- phantom3's entry points, through the warp -----------------------------------------
    def skull_distance(self, q: FloatArray) -> FloatArray:
        """Approximate signed distance (mm) to the shaped outer skull surface."""
        d = self._vault(q)
        if self.shape.flat_mm > 0:
            plane = q @ self._flat_n - self._flat_offset()
            d = _smax(d, plane, self.shape.flat_k_mm)
        return d

    def thicknesses(self, q: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        return super().thicknesses(self.warp(q))

    def envelope(self, q: FloatArray, d_skin: FloatArray) -> FloatArray:
        return super().envelope(self._body_warp(q), d_skin)

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
        return super().materials(
            self._body_warp(q),
            env,
            d_out,
            cav,
            brain,
            bone_t,
            plane_dist=plane_dist,
            junction=junction,
            contrast_vessels=contrast_vessels,
        )

    def _intracranial(
        self,
        t: FloatArray,
        cav: FloatArray,
        brain: FloatArray,
        zf: FloatArray,
        plane_dist: FloatArray,
        junction: dict[str, object],
    ) -> npt.NDArray[np.int16]:
        mat = super()._intracranial(t, cav, brain, zf, plane_dist, junction)
        m = self.shape.hydro_mantle_mm
        if m <= 0:
            return mat
        s = self.s
        x, y, z = t[:, 0], t[:, 1], t[:, 2]
        below_tent = (y < -14.0) & (z < self.tent_z(t * s) / s)
        stem = _seg_dist(t, np.array([0, -8, -4.0]), np.array([0, -20, -44.0])) < 9.0
        parenchyma = (mat == M["grey"]) | (mat == M["white"])
        hyd = parenchyma & (brain < -m) & (plane_dist > m) & ~below_tent & ~stem
        hyd &= (np.abs(x) * s > 1.0) & (z > zf + 8.0)
        mat[hyd] = M["csf"]
        return mat

    # -- measured shape ----------------------------------------------------------------
    def extent_mm(self, u: FloatArray) -> float:
        """Distance from the head's origin to its outer skull along local unit ``u``."""
        return _ray_extent(self, np.asarray(u, dtype=np.float64))


def _measure(head: _Head) -> dict[str, float]:
    """Maximum skull length (y) and width (x) of the vault in its horizontal plane (z = 0
    and the heights of the maximum), mm, from the implicit outer skull surface."""
    best_len, best_wid = 0.0, 0.0
    ang = np.radians(np.arange(0.0, 360.0, 2.0))
    for zz in (0.0, 10.0 * head.s, 20.0 * head.s):
        pts = []
        for a in ang:
            u = np.array([math.sin(a), math.cos(a), 0.0])
            lo, hi = 0.0, 250.0
            for _ in range(40):
                mid = 0.5 * (lo + hi)
                d = head.skull_distance(np.array([[u[0] * mid, u[1] * mid, zz]]))[0]
                lo, hi = (mid, hi) if d < 0 else (lo, mid)
            pts.append(u[:2] * 0.5 * (lo + hi))
        p = np.asarray(pts)
        best_len = max(best_len, float(np.ptp(p[:, 1])))
        best_wid = max(best_wid, float(np.ptp(p[:, 0])))
    return {
        "skull_length_mm": round(best_len, 2),
        "skull_width_mm": round(best_wid, 2),
        "cephalic_index": round(best_wid / best_len, 4),
    }


# ---------------------------------------------------------------------------------------
# the pair


def place_heads(
    pair: _Pair, junction_a: tuple[float, float] | None, junction_b: tuple[float, float] | None
) -> None:
    """Pose ``pair``'s (possibly shaped) heads as phantom3 does, with per-head sites.

    Each head's junction direction (vertex tilted by tilt toward azimuth site) is turned
    onto the pair frame's +z (head A) or -z (head B, by a half turn about its site's
    horizontal direction, then spun by ``rotation_deg`` about z); the heads' outer skulls
    interpenetrate by ``overlap_mm`` across the plane z = 0; angular pairs are turned so
    that both long axes lie in the table plane (world x-z); ``flip`` turns the pair over.
    """
    u = pair.case.union
    angular = u.kind == "angular"
    ja_t, ja_s = junction_a if (angular and junction_a) else (u.tilt_deg, u.site_deg)
    jb_t, jb_s = junction_b if (angular and junction_b) else (u.tilt_deg, u.site_deg)
    if not angular:
        ja_t = jb_t = 0.0
    ja, jb = _junction_dir(ja_t, ja_s), _junction_dir(jb_t, jb_s)
    ra, rb = _ray_extent(pair.heads[0], ja), _ray_extent(pair.heads[1], jb)
    zax = np.array([0.0, 0, 1])
    ta = _rot_between(ja, zax)
    site = math.radians(jb_s)
    flip_b = _rot(np.array([math.sin(site), math.cos(site), 0.0]), 180.0)
    tb = _rot(zax, u.rotation_deg) @ flip_b @ _rot_between(jb, zax)
    half = 0.5 * u.overlap_mm
    ca, cb = np.array([0.0, 0, -(ra - half)]), np.array([0.0, 0, rb - half])
    g = np.eye(3)
    if angular:
        nrm = np.cross(ta @ zax, tb @ zax)
        if np.linalg.norm(nrm) > 1e-6:
            g = _rot_between(nrm / np.linalg.norm(nrm), np.array([0.0, 1, 0]))
    if u.flip:
        g = _rot(np.array([1.0, 0, 0]), 180.0) @ g
    pair.poses = (_Pose(g @ ta, g @ ca), _Pose(g @ tb, g @ cb))
    pair.plane_normal = g @ zax
    pair.plane_point = np.zeros(3)
    pair.tilt_deg = 0.5 * (ja_t + jb_t)
    pair._ring_cache = None
    pair.box = None


class ShapesOverlay:
    """Shaped heads and per-head junctions for one case (a ``phantom3.Overlay`` that
    adds no material: ``attach`` replaces the pair's heads and poses)."""

    def __init__(self, case: ShapesCase) -> None:  # noqa: D107
        self.case = case
        self.pair: _Pair | None = None

    def attach(self, pair: _Pair) -> None:
        """Swap in the shaped heads (same random fields) and pose them."""
        self.pair = pair
        c = self.case
        if (
            c.shape_a.neutral
            and c.shape_b.neutral
            and c.junction_a is None
            and c.junction_b is None
        ):
            return  # phantom3 unchanged
        pair.heads = (_ShapedHead(pair.heads[0], c.shape_a), _ShapedHead(pair.heads[1], c.shape_b))
        place_heads(pair, c.junction_a, c.junction_b)

    def extra_hu(self, *, contrast: bool) -> FloatArray:
        del contrast
        return np.zeros(0)

    def extra_labels(self) -> npt.NDArray[np.uint8]:
        return np.zeros(0, dtype=np.uint8)

    def apply(
        self, p: FloatArray, mat: npt.NDArray[np.int16], owner: npt.NDArray[np.int8]
    ) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int8]]:
        del p
        return mat, owner

    def near(self, p: FloatArray, spacing_mm: float) -> BoolArray:
        del spacing_mm
        return np.zeros(len(p), dtype=bool)

    def after_psf(
        self, hu: FloatArray, mat: npt.NDArray[np.int16], world: FloatArray
    ) -> FloatArray:
        del mat, world
        return hu

    def after_noise(self, hu: FloatArray) -> FloatArray:
        return hu


def make_shapes(case: ShapesCase) -> Phantom3:
    """Render ``case``; phantom3's truth plus ``truth["shapes"]`` (module docstring).

    Parameters
    ----------
    case : the configuration (deterministic for a given ``case.base.seed``).

    Returns
    -------
    Phantom3 (``truth["name"]`` is ``case.name``)
    """
    ov = ShapesOverlay(case)
    base = case.base
    ph = make_case(
        Case(case.name, base.union, base.ct, base.grid, base.head_a, base.head_b, base.seed),
        overlay=ov,
    )
    assert ov.pair is not None
    pair = ov.pair
    vox_ml = float(abs(np.linalg.det(ph.affine[:3, :3]))) / 1000.0
    a_head = 0 if ph.truth["twin_a_head"] == "head_a" else 1
    twins: dict[str, Any] = {}
    for t, h in (("A", a_head), ("B", 1 - a_head)):
        m = ph.twins == (1 if t == "A" else 2)
        head = pair.heads[h]
        twins[t] = {
            "head": "head_a" if h == 0 else "head_b",
            "length_param_mm": head.p.length_mm,
            "shape": asdict(case.shape_a if h == 0 else case.shape_b),
            "tissue_ml": round(float(m.sum()) * vox_ml, 2),
            "csf_ml": round(float((m & (ph.labels == 4)).sum()) * vox_ml, 2),
            "brain_ml": round(float((m & (ph.labels == 3)).sum()) * vox_ml, 2),
            **_measure(head),
        }
    small = "A" if twins["A"]["tissue_ml"] < twins["B"]["tissue_ml"] else "B"
    truth = dict(ph.truth)
    truth["generator"] = "tests/blind/shapes.py over tests/blind/phantom3.py"
    truth["shapes"] = {
        "junction_a": case.junction_a,
        "junction_b": case.junction_b,
        "twins": twins,
        "smaller_twin": small,
        "tissue_ratio_small_to_big": round(
            min(twins["A"]["tissue_ml"], twins["B"]["tissue_ml"])
            / max(twins["A"]["tissue_ml"], twins["B"]["tissue_ml"]),
            4,
        ),
    }
    return Phantom3(
        ct_hu=ph.ct_hu,
        labels=ph.labels,
        twins=ph.twins,
        affine=ph.affine,
        truth=truth,
        materials=ph.materials,
    )
