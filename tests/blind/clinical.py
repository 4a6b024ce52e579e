"""clinical: the planning CT as it really arrives - phantom3 plus the objects of months of care.

A layer over ``phantom3`` (written, like it, without reading twinsep's sources): it takes a
phantom3 ``Case`` and adds, each switchable and each with its own truth, what a craniopagus
planning CT holds months into the work-up: scalp tissue expanders with injection ports,
hydrocephalus with a ventricular shunt, endotracheal and nasogastric tubes, EEG electrodes and
a bone defect from a staged operation. Size discordance of the heads is a phantom3 parameter
(``HeadParams.length_mm``; ``discordant`` sets it). Objects are rendered with the anatomy
(same partial volume, PSF and noise; ``phantom3.Overlay``), not pasted on a finished CT.

Sources and values (all sizes are real millimetres, not scaled with the head)
-----------------------------------------------------------------------------
*Scalp expanders.* Silicone balloons filled with saline through a self-sealing port; in
craniopagus they are laid round the junction months before separation (UCLA 2002: two
eight-inch silicone expanders threaded round the heads, filled through a remote valve -
news.bio-medicine.org, UCLA Mattel Children's Hospital, 2002; UC Davis: custom expanders
four months before, NOTES.md). Fill volumes: scalp expanders for calvarial work are
filled to 250 mL (exploreplasticsurgery.com, "first stage scalp expander", 250 cc end fill;
13-15 cm round expanders), adult cranioplasty series average 434 mL (Dinis et al. 2022,
biomaterialdatabase.com/34723917); for infants I use 50-250 mL, footprints 50-90 mm. The
expander lies on the pericranium under the galea: here its base follows the outer skull
(0.3 mm above it) and the scalp over it is stretched to 3 mm (the original scalp under the
dome is pushed away). Shell: silicone elastomer 1 mm thick, **280 HU** (RTV silicone rubber
measured 287 HU on a CT simulator, ijmp.mums.ac.ir article 12778); saline **5 HU** (water).
*Ports.* A dome of silicone (15 mm across, 6 mm high, 280 HU) whose back is a metal needle
stop ("the tissue expander port has a metal back ... to halt the progress of the needle",
horizonplasticsurgery.com); remote ports sit under the scalp 15 deg beyond the expander's
rim, joined by a 3 mm silicone tube; integrated ports have the metal disc inside the dome.
Metal: a disc 12 mm across, 1 mm thick, **8000 HU** before the scanner's range: steel
"can have a density greater than the highest range (3095)" (radiology-tip.com, Hounsfield
scale); the CT is then clipped at **3071 HU**, the top of the usual 12-bit scale
(-1024..3071, radiologyweb.org physics notes). Optional streaks: dark/bright lines through
each metal piece in its axial slices (+-250 HU at 10 mm, falling as 1/r).
*Hydrocephalus.* Ventricular dilation: lateral ventricles over 15 mm wide are
hydrocephalus (childrens-prod.vercel.app, fetal hydrocephalus; the normal infant atrium is
at most 10 mm, Garrett et al., Radiology 1980). Each enlarged lateral ventricle is an
ellipsoid of 24 x 64 x 26 mm (template head), about 20 mL each, against phantom3's normal
set of about 7 mL in all; CSF (**8 HU**, label 4) wherever it replaces brain or normal CSF
(never a vessel).
*Shunt.* Ventricular catheter of barium-impregnated silicone, **2.8 mm outer, 1.5 mm inner
diameter** (Medtronic tubing, authorea yvm2020 article 522651), lumen CSF; wall **400 HU**
(silicone 287 HU plus the barium filler that makes it radiopaque; my estimate). It runs
from the frontal half of the enlarged ventricle through a 7 mm parietal burr hole (bone
replaced by soft tissue, label 1), under the scalp to a valve/reservoir behind the ear
(28 x 12 x 5 mm, 300 HU, with a 6 mm metal core as in programmable valves: Lollis et al.,
AJNR 2010) and on down the side of the neck under the skin.
*Intubation.* Oral endotracheal tube of PVC ("most endotracheal tubes ... are made of
polyvinylchloride", alpfmedical.info), uncuffed **3.5 mm inner** for infants
(lonwpuw/med.brown.edu ETT tables; droracle: 3.0 cuffed / 3.5 uncuffed under 1 year),
outer 4.9 mm, from 40 mm in front of the lips through the mouth into the airway; a
nasogastric tube of **8 Fr** (2.7 mm outer, 1 Fr = 1/3 mm; "infants: 8F", droracle;
CH6-CH8, MSF neonatal guide) through the nose and pharynx, down behind the airway. Wall
**450 HU**: plasticised PVC (about 35 % chlorine by mass, 1.23 g/mL) attenuates about 1.5
times water at 70 keV (my estimate from the composition; PVC tubes carry a radio-opaque
line because thin walls hardly show on radiographs, qyresearchgroups.com); lumens air.
*Electrodes.* EEG cup electrodes: metal discs 10 mm across, 1.5 mm thick on the skin.
*Bone defect.* A 20 deg cap of frontal vault bone removed (a staged craniectomy), replaced by
soft tissue (+40 HU).

Truth labels (DESIGN is silent on foreign objects; my choices, as a clinical engineer)
------------------------------------------------------------------------------------
* Expander saline and shell, port housing and tube, the shunt catheter and valve, and the
  metal inside the body are **don't care** for every Dice (their truth label is 1, soft
  tissue: they lie in the scalp layer and a model of the skin must contain them), but they
  must never be brain, CSF, vessel or bone: per-object shares in ``clinical_score``.
  Their twin is the twin whose scalp holds them.
* The stretched scalp over an expander, the burr-hole plug and the bone-defect fill are
  soft tissue (1) and scored: they are the patient's tissue.
* The enlarged ventricles are CSF (4) and scored (the ventricle CSF Dice).
* Tubes are background (0) by DESIGN ("tubes" are outside the patients' labels); their
  walls are don't care (a tube called soft tissue is harmless, bone or vessel is not); the
  air in their lumens is background and scored, like the airway.
* Electrodes are background (0), don't care.
``truth["clinical"]`` lists every object with its material codes, analytic volume and
the twin it belongs to; ``materials.nii.gz`` holds the code of each voxel centre.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.interpolate import RegularGridInterpolator

from blind.phantom3 import (
    LABEL_OF,
    MATERIALS,
    Case,
    HeadParams,
    Phantom3,
    _bbox_sel,
    _junction_dir,
    _Pair,
    _poly_dist,
    _tissue_box,
    clip_hu,
    make_case,
    metal_streaks,
    write_case,
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# ---------------------------------------------------------------------------------------
# materials of the objects: (name, plain HU, contrast HU, truth label, don't care)
CLINICAL_MATERIALS: tuple[tuple[str, float, float, int, bool], ...] = (
    ("expander_shell", 280.0, 280.0, 1, True),
    ("expander_saline", 5.0, 5.0, 1, True),
    ("port_housing", 280.0, 280.0, 1, True),
    ("port_metal", 8000.0, 8000.0, 1, True),
    ("port_tube", 280.0, 280.0, 1, True),
    ("scalp_cover", 45.0, 58.0, 1, False),
    ("ventricle_csf", 8.0, 8.0, 4, False),
    ("burr_fill", 35.0, 45.0, 1, False),
    ("shunt_wall", 400.0, 400.0, 1, True),
    ("shunt_lumen", 8.0, 8.0, 1, True),
    ("shunt_valve", 300.0, 300.0, 1, True),
    ("valve_metal", 8000.0, 8000.0, 1, True),
    ("et_wall", 450.0, 450.0, 0, True),
    ("et_lumen", -1000.0, -1000.0, 0, False),
    ("ng_wall", 450.0, 450.0, 0, True),
    ("ng_lumen", -1000.0, -1000.0, 0, False),
    ("electrode", 8000.0, 8000.0, 0, True),
    ("defect_fill", 40.0, 55.0, 1, False),
)
BASE = len(MATERIALS)
C = {name: BASE + i for i, (name, *_r) in enumerate(CLINICAL_MATERIALS)}
METAL_CODES = (C["port_metal"], C["valve_metal"], C["electrode"])
DONT_CARE_CODES = tuple(BASE + i for i, m in enumerate(CLINICAL_MATERIALS) if m[4])
# object groups scored by clinical_score: name -> material codes
GROUPS: dict[str, tuple[int, ...]] = {
    "expander_saline": (C["expander_saline"],),
    "expander_shell": (C["expander_shell"],),
    "port_metal": (C["port_metal"],),
    "port_other": (C["port_housing"], C["port_tube"]),
    "scalp_cover": (C["scalp_cover"],),
    "ventricle": (C["ventricle_csf"],),
    "burr_fill": (C["burr_fill"],),
    "shunt": (C["shunt_wall"], C["shunt_lumen"], C["shunt_valve"], C["valve_metal"]),
    "et_wall": (C["et_wall"],),
    "et_lumen": (C["et_lumen"],),
    "ng_tube": (C["ng_wall"], C["ng_lumen"]),
    "electrode": (C["electrode"],),
    "defect_fill": (C["defect_fill"],),
}

# which truth labels of the anatomy an object may replace
_SCALP = (0, 1, 2)  # a dome under the scalp pushes scalp and air away, may press bone
_AIR = (0,)
_BRAIN = (3, 4)
_ALL = (0, 1, 2, 3, 4, 5)


# ---------------------------------------------------------------------------------------
# parameters


@dataclass(frozen=True)
class ExpanderSpec:
    """One scalp tissue expander.

    Attributes
    ----------
    head : 0 = ``case.head_a``, 1 = ``case.head_b``.
    polar_deg : angle of the dome's centre from the head's junction direction, deg.
    azimuth_deg : direction round the junction axis (0 = toward the face, 90 = the head's
        right), deg.
    volume_ml : fill (shell included), mL.
    half_width_deg, half_length_deg : footprint semi-angles across (azimuthal) and along
        the polar direction, deg (seen from the head's centre).
    port : "remote" (its own dome 15 deg beyond the rim, joined by a tube), "integrated"
        or "none" (no port: to tell the metal's effects from the balloon's).
    """

    head: int
    polar_deg: float
    azimuth_deg: float
    volume_ml: float
    half_width_deg: float = 38.0
    half_length_deg: float = 24.0
    port: Literal["remote", "integrated", "none"] = "remote"


@dataclass(frozen=True)
class ClinicalParams:
    """Which objects to add (each switchable).

    Attributes
    ----------
    expanders : the scalp expanders (empty = none).
    hydrocephalus_head : head with enlarged lateral ventricles (None = none).
    shunt : a ventricular shunt in the hydrocephalic head.
    intubation : an oral endotracheal and a nasogastric tube in each head.
    electrodes : four EEG cup electrodes on each scalp.
    bone_defect_head : head with a 25 deg vault craniectomy (None = none).
    streaks : simple metal streak artefacts.
    max_hu : top of the scanner's CT-number range (None = not clipped).
    """

    expanders: tuple[ExpanderSpec, ...] = ()
    hydrocephalus_head: int | None = None
    shunt: bool = False
    intubation: bool = False
    electrodes: bool = False
    bone_defect_head: int | None = None
    streaks: bool = True
    max_hu: float | None = 3071.0


@dataclass(frozen=True)
class ClinicalCase:
    """A phantom3 case plus its clinical objects."""

    name: str
    base: Case
    clinical: ClinicalParams = field(default_factory=ClinicalParams)


def standard_expanders(sizes_ml: tuple[float, float, float, float]) -> tuple[ExpanderSpec, ...]:
    """Two expanders per head, on the right and left flanks of the junction.

    ``sizes_ml``: head A right, head A left, head B right, head B left. The right ones
    have remote ports, the left ones integrated ports.
    """
    a_r, a_l, b_r, b_l = sizes_ml
    return (
        ExpanderSpec(0, 78.0, 90.0, a_r, port="remote"),
        ExpanderSpec(0, 78.0, 270.0, a_l, port="integrated"),
        ExpanderSpec(1, 78.0, 90.0, b_r, port="remote"),
        ExpanderSpec(1, 78.0, 270.0, b_l, port="integrated"),
    )


def discordant(case: Case, ratio: float = 1.3, length_a_mm: float = 148.0) -> Case:
    """``case`` with head B ``ratio`` times shorter than head A (size discordance)."""
    return replace(
        case,
        head_a=replace(case.head_a, length_mm=length_a_mm),
        head_b=replace(case.head_b, length_mm=length_a_mm / ratio),
    )


# ---------------------------------------------------------------------------------------
# geometry of the objects (each in one head's local frame, mm)


def _unit(v: npt.ArrayLike) -> FloatArray:
    a = np.asarray(v, dtype=np.float64)
    return a / np.linalg.norm(a)


def _skull_radius(pair: _Pair, h: int, dirs: FloatArray) -> FloatArray:
    """Distance (mm) from head ``h``'s centre to its outer skull surface along ``dirs``."""
    head = pair.heads[h]
    lo = np.zeros(len(dirs))
    hi = np.full(len(dirs), 200.0)
    for _ in range(45):
        mid = 0.5 * (lo + hi)
        inside = head.skull_distance(dirs * mid[:, None]) < 0
        lo = np.where(inside, mid, lo)
        hi = np.where(inside, hi, mid)
    return 0.5 * (lo + hi)


def _skin_radius(pair: _Pair, h: int, dirs: FloatArray) -> FloatArray:
    """Distance (mm) from head ``h``'s centre to its scalp surface along ``dirs``."""
    head = pair.heads[h]
    lo = np.zeros(len(dirs))
    hi = np.full(len(dirs), 220.0)
    for _ in range(45):
        mid = 0.5 * (lo + hi)
        q = dirs * mid[:, None]
        inside = head.skull_distance(q) - head.thicknesses(q)[0] < 0
        lo = np.where(inside, mid, lo)
        hi = np.where(inside, hi, mid)
    return 0.5 * (lo + hi)


@dataclass
class _Dome:
    """A dome on the outer skull: base 0.3 mm above the bone, height ``H * sqrt(1 - rho^2)``.

    Directions are mapped to footprint angles ``x1 = atan(d.e1 / d.u)``,
    ``x2 = atan(d.e2 / d.u)`` (gnomonic); ``rho^2 = (x1/psi1)^2 + (x2/psi2)^2``.
    """

    name: str
    head: int
    u: FloatArray
    e1: FloatArray
    e2: FloatArray
    psi1: float
    psi2: float
    height_mm: float
    fill_code: int
    shell_code: int | None
    shell_mm: float
    cover_mm: float
    r_in: RegularGridInterpolator
    volume_ml: float = 0.0
    fill_ml: float = 0.0
    metal: tuple[float, float, float] | None = None  # (rho max, from mm, to mm) above r_in
    metal_code: int = 0
    box: tuple[FloatArray, FloatArray] | None = None

    def coords(self, q: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Per point: radius, rho, inner radius, outer radius (outer = inner off the dome)."""
        r = np.linalg.norm(q, axis=1)
        cu = q @ self.u
        ok = cu > 1e-6 * np.maximum(r, 1e-9)
        cu_s = np.where(ok, cu, 1.0)
        x1 = np.arctan((q @ self.e1) / cu_s)
        x2 = np.arctan((q @ self.e2) / cu_s)
        rho = np.sqrt((x1 / self.psi1) ** 2 + (x2 / self.psi2) ** 2)
        rho = np.where(ok, rho, np.inf)
        lim1, lim2 = 1.2 * self.psi1, 1.2 * self.psi2
        pts = np.stack([np.clip(x1, -lim1, lim1), np.clip(x2, -lim2, lim2)], axis=1)
        r_in = self.r_in(pts)
        w = np.sqrt(np.clip(1.0 - rho * rho, 0.0, 1.0))
        return r, rho, r_in, r_in + self.height_mm * w


def _make_dome(
    pair: _Pair,
    h: int,
    name: str,
    u: FloatArray,
    e1: FloatArray,
    psi1: float,
    psi2: float,
    *,
    volume_ml: float | None = None,
    height_mm: float | None = None,
    fill_code: int,
    shell_code: int | None,
    shell_mm: float = 1.0,
    cover_mm: float = 3.0,
    gap_mm: float = 0.3,
) -> _Dome:
    """A dome whose height is solved for ``volume_ml`` (or given as ``height_mm``)."""
    u = _unit(u)
    e1 = _unit(e1 - (e1 @ u) * u)
    e2 = np.cross(u, e1)
    n = 97
    g1 = np.linspace(-1.2 * psi1, 1.2 * psi1, n)
    g2 = np.linspace(-1.2 * psi2, 1.2 * psi2, n)
    t1, t2 = np.meshgrid(np.tan(g1), np.tan(g2), indexing="ij")
    dirs = u[None, :] + t1.reshape(-1, 1) * e1 + t2.reshape(-1, 1) * e2
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    table = _skull_radius(pair, h, dirs).reshape(n, n) + gap_mm
    interp = RegularGridInterpolator((g1, g2), table, bounds_error=False, fill_value=None)
    # quadrature over the footprint (midpoints), exact skull radii
    m = 161
    h1, h2 = 2 * psi1 / m, 2 * psi2 / m
    x1 = -psi1 + h1 * (np.arange(m) + 0.5)
    x2 = -psi2 + h2 * (np.arange(m) + 0.5)
    q1, q2 = np.meshgrid(x1, x2, indexing="ij")
    rho2 = (q1 / psi1) ** 2 + (q2 / psi2) ** 2
    inside = rho2 < 1.0
    a, b = np.tan(q1[inside]), np.tan(q2[inside])
    d_om = (1 + a * a) * (1 + b * b) / (1 + a * a + b * b) ** 1.5 * h1 * h2
    dq = u[None, :] + a[:, None] * e1 + b[:, None] * e2
    dq /= np.linalg.norm(dq, axis=1, keepdims=True)
    r0 = _skull_radius(pair, h, dq) + gap_mm
    w = np.sqrt(1.0 - rho2[inside])
    # V(H) = sum ((r0 + H w)^3 - r0^3) / 3 dOmega = A1 H + A2 H^2 + A3 H^3
    a1 = float(np.sum(r0 * r0 * w * d_om))
    a2 = float(np.sum(r0 * w * w * d_om))
    a3 = float(np.sum(w**3 * d_om) / 3.0)
    if height_mm is None:
        assert volume_ml is not None
        roots = np.roots([a3, a2, a1, -volume_ml * 1000.0])
        real = [float(r.real) for r in roots if abs(r.imag) < 1e-9 and r.real > 0]
        height_mm = min(real)
    hh = float(height_mm)
    vol = a1 * hh + a2 * hh**2 + a3 * hh**3
    r_out = r0 + hh * w
    if shell_code is not None:
        fill = np.clip((r_out - shell_mm) ** 3 - (r0 + shell_mm) ** 3, 0.0, None) / 3.0
        fill = np.where(r_out - r0 > 2 * shell_mm, fill, 0.0)
        fill_ml = float(np.sum(fill * d_om)) / 1000.0
    else:
        fill_ml = vol / 1000.0
    dome = _Dome(
        name=name,
        head=h,
        u=u,
        e1=e1,
        e2=e2,
        psi1=psi1,
        psi2=psi2,
        height_mm=hh,
        fill_code=fill_code,
        shell_code=shell_code,
        shell_mm=shell_mm,
        cover_mm=cover_mm,
        r_in=interp,
        volume_ml=vol / 1000.0,
        fill_ml=fill_ml,
    )
    # local bounding box of the dome and its cover (outer surface at the grid directions)
    ring = np.concatenate([dirs * (table.reshape(-1, 1) - 2.0)])
    top = dq * (r_out + cover_mm + 1.0)[:, None]
    allp = np.concatenate([ring, top])
    dome.box = (allp.min(axis=0), allp.max(axis=0))
    return dome


@dataclass
class _Tube:
    """A tube along a polyline: wall between ``r_in`` and ``r_out``, lumen inside."""

    name: str
    head: int
    pts: FloatArray
    r_out: float
    r_in: float
    wall_code: int
    lumen_code: int
    allowed: tuple[int, ...]
    length_mm: float = 0.0


@dataclass
class _Ellipsoid:
    name: str
    head: int
    centre: FloatArray
    radii: FloatArray
    code: int
    allowed: tuple[int, ...]

    @property
    def volume_ml(self) -> float:
        return 4.0 / 3.0 * math.pi * float(np.prod(self.radii)) / 1000.0


@dataclass
class _Cap:
    """Bone within ``psi`` of direction ``u`` replaced by ``code`` (bone defect, burr hole)."""

    name: str
    head: int
    u: FloatArray
    psi: float
    code: int
    radius_mm: float | None = None  # burr hole: a cylinder of this radius along u instead


@dataclass
class _Disc:
    """A flat disc on the skin (electrode)."""

    name: str
    head: int
    centre: FloatArray
    normal: FloatArray
    radius_mm: float
    half_thick_mm: float
    code: int


def _frame(pair: _Pair, h: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Junction direction j, face reference e1 (perpendicular to j), e2 = e1 x j (right)."""
    u = pair.case.union
    tilt = 0.0 if u.kind == "vertical" else u.tilt_deg
    j = _junction_dir(tilt, u.site_deg)
    face = np.array([0.0, 1.0, 0.0])
    e1 = face - (face @ j) * j
    if np.linalg.norm(e1) < 0.2:
        e1 = np.array([0.0, 0.0, -1.0]) - j[2] * j
    e1 = _unit(e1)
    return j, e1, np.cross(e1, j)


def _sph(j: FloatArray, e1: FloatArray, e2: FloatArray, polar: float, az: float) -> FloatArray:
    p, a = math.radians(polar), math.radians(az)
    return _unit(math.cos(p) * j + math.sin(p) * (math.cos(a) * e1 + math.sin(a) * e2))


def _subcutaneous(pair: _Pair, h: int, guide: FloatArray, depth_mm: float) -> FloatArray:
    """Points along a guide polyline (template mm) moved to ``depth_mm`` under the skin.

    Vault points (template z > -40) are moved along rays from the head's centre, neck
    points along horizontal rays from the neck's axis (x 0, y -6).
    """
    head = pair.heads[h]
    s = head.s
    pts = []
    for a, b in zip(guide[:-1], guide[1:], strict=True):
        n = max(2, int(np.linalg.norm(b - a) * s / 3.0))
        for t in np.linspace(0.0, 1.0, n, endpoint=False):
            pts.append(a + t * (b - a))
    pts.append(guide[-1])
    out = []
    for g in pts:
        if g[2] > -40.0:
            c = np.zeros(3)
        else:
            c = np.array([0.0, -6.0, g[2]])
        d = _unit(g - c)
        c_mm = c * s
        lo, hi = 0.0, 250.0
        for _ in range(45):
            mid = 0.5 * (lo + hi)
            q = (c_mm + d * mid)[None, :]
            env = head.envelope(q, head.skull_distance(q) - head.thicknesses(q)[0])[0]
            lo, hi = (mid, hi) if env < 0 else (lo, mid)
        out.append(c_mm + d * (0.5 * (lo + hi) - depth_mm))
    return np.array(out)


# ---------------------------------------------------------------------------------------
# the overlay


class ClinicalOverlay:
    """The objects of ``ClinicalParams`` for one phantom3 case (a ``phantom3.Overlay``)."""

    def __init__(self, params: ClinicalParams) -> None:
        self.params = params
        self.pair: _Pair | None = None
        self.domes: list[_Dome] = []
        self.tubes: list[_Tube] = []
        self.ellipsoids: list[_Ellipsoid] = []
        self.caps: list[_Cap] = []
        self.discs: list[_Disc] = []
        self.objects: list[dict[str, Any]] = []

    # -- construction ------------------------------------------------------------------
    def attach(self, pair: _Pair) -> None:
        """Build every object in its head's frame and widen the pair's box to hold them."""
        self.pair = pair
        p = self.params
        for k, ex in enumerate(p.expanders):
            self._expander(pair, k, ex)
        if p.hydrocephalus_head is not None:
            self._hydrocephalus(pair, p.hydrocephalus_head)
            if p.shunt:
                self._shunt(pair, p.hydrocephalus_head)
        if p.intubation:
            for h in (0, 1):
                self._intubation(pair, h)
        if p.electrodes:
            for h in (0, 1):
                self._electrodes(pair, h)
        if p.bone_defect_head is not None:
            h = p.bone_defect_head
            j, e1, e2 = _frame(pair, h)
            u = _sph(j, e1, e2, 70.0, 0.0)
            self.caps.append(_Cap("bone_defect", h, u, math.radians(20.0), C["defect_fill"]))
            self.objects.append({"name": "bone_defect", "head": h, "psi_deg": 20.0})
        lo, hi = _tissue_box(pair)
        lo, hi = lo.copy(), hi.copy()
        for dm in self.domes:
            assert dm.box is not None
            b0, b1 = dm.box
            cs = np.array(
                [[x, y, z] for x in (b0[0], b1[0]) for y in (b0[1], b1[1]) for z in (b0[2], b1[2])]
            )
            pose = pair.poses[dm.head]
            wc = cs @ pose.rot.T + pose.centre
            lo = np.minimum(lo, wc.min(axis=0))
            hi = np.maximum(hi, wc.max(axis=0))
        pair.box = (lo, hi)

    def _expander(self, pair: _Pair, k: int, ex: ExpanderSpec) -> None:
        h = ex.head
        j, e1, e2 = _frame(pair, h)
        u = _sph(j, e1, e2, ex.polar_deg, ex.azimuth_deg)
        az_dir = _sph(j, e1, e2, ex.polar_deg, ex.azimuth_deg + 90.0)  # across
        name = f"expander{k}"
        dome = _make_dome(
            pair,
            h,
            name,
            u,
            az_dir,
            math.radians(ex.half_width_deg),
            math.radians(ex.half_length_deg),
            volume_ml=ex.volume_ml,
            fill_code=C["expander_saline"],
            shell_code=C["expander_shell"],
        )
        obj: dict[str, Any] = {
            "name": name,
            "head": h,
            "volume_ml": round(dome.volume_ml, 3),
            "saline_ml": round(dome.fill_ml, 3),
            "height_mm": round(dome.height_mm, 2),
            "port": ex.port,
        }
        if ex.port == "integrated":
            # the needle stop: a 12 mm disc 1 mm thick, 6 mm under the dome's top
            top = dome.height_mm - 6.0
            r_top = float(_skull_radius(pair, h, u[None, :])[0]) + top
            rho_m = 6.0 / (r_top * min(dome.psi1, dome.psi2))
            dome.metal = (rho_m, top, top + 1.0)
            dome.metal_code = C["port_metal"]
        self.domes.append(dome)
        if ex.port == "remote":
            # 15 deg beyond the rim across the footprint (away from the other expander)
            az = ex.azimuth_deg + ex.half_width_deg + 15.0
            up = _sph(j, e1, e2, ex.polar_deg, az)
            r_skull = float(_skull_radius(pair, h, up[None, :])[0])
            psi = 7.5 / r_skull
            port = _make_dome(
                pair,
                h,
                f"{name}_port",
                up,
                _sph(j, e1, e2, ex.polar_deg, az + 90.0),
                psi,
                psi,
                height_mm=6.0,
                fill_code=C["port_housing"],
                shell_code=None,
            )
            port.metal = (0.8, 0.4, 1.4)
            port.metal_code = C["port_metal"]
            self.domes.append(port)
            # tube from the port to the expander's rim, on the skull under the scalp
            rim = _sph(j, e1, e2, ex.polar_deg, ex.azimuth_deg + 0.8 * ex.half_width_deg)
            dirs = np.array([_unit((1 - t) * up + t * rim) for t in np.linspace(0, 1, 12)])
            rr = _skull_radius(pair, h, dirs) + 1.8
            pts = dirs * rr[:, None]
            self.tubes.append(
                _Tube(f"{name}_tube", h, pts, 1.5, 0.0, C["port_tube"], C["port_tube"], _SCALP)
            )
            obj["port_position_local_mm"] = [round(float(v), 2) for v in up * r_skull]
        self.objects.append(obj)

    def _hydrocephalus(self, pair: _Pair, h: int) -> None:
        s = pair.heads[h].s
        for sx in (-1.0, 1.0):
            e = _Ellipsoid(
                f"ventricle_{'right' if sx > 0 else 'left'}",
                h,
                np.array([sx * 15.0, -2.0, 9.0]) * s,
                np.array([12.0, 32.0, 13.0]) * s,
                C["ventricle_csf"],
                _BRAIN,
            )
            self.ellipsoids.append(e)
            self.objects.append(
                {
                    "name": e.name,
                    "head": h,
                    "volume_ml": round(e.volume_ml, 3),
                    "centre_local_mm": e.centre.tolist(),
                    "radii_mm": e.radii.tolist(),
                }
            )

    def _shunt(self, pair: _Pair, h: int) -> None:
        head = pair.heads[h]
        s = head.s
        # burr hole: right parietal-occipital (Frazier/Keen region), 7 mm across
        d_b = _unit([0.45, -0.62, 0.64])
        r_b = float(_skull_radius(pair, h, d_b[None, :])[0])
        self.caps.append(_Cap("burr_hole", h, d_b, 0.0, C["burr_fill"], radius_mm=3.5))
        tip = np.array([15.0, 12.0, 10.0]) * s  # frontal half of the right ventricle
        burr = d_b * r_b
        # valve behind the right ear, on the skull
        d_v = _unit([0.62, -0.62, -0.28])
        r_v = float(_skull_radius(pair, h, d_v[None, :])[0])
        valve = _make_dome(
            pair,
            h,
            "shunt_valve",
            d_v,
            _unit(np.cross(d_v, [1.0, 0.0, 0.0])),
            6.0 / r_v,
            14.0 / r_v,
            height_mm=5.0,
            fill_code=C["shunt_valve"],
            shell_code=None,
        )
        valve.metal = (0.45, 1.5, 3.5)
        valve.metal_code = C["valve_metal"]
        self.domes.append(valve)
        # catheter: tip -> burr hole (straight), then under the scalp to the valve, then
        # down the side of the neck under the skin
        neck_end = -40.0 - 0.95 * head.p.neck_mm / s
        up_path = _subcutaneous(
            pair,
            h,
            np.array([burr / s * 1.02, d_v * r_v / s]),
            depth_mm=2.4,
        )
        down_path = _subcutaneous(
            pair,
            h,
            np.array([d_v * (r_v + 4.0) / s, [29.0, -16.0, -46.0], [29.0, -14.0, neck_end]]),
            depth_mm=3.0,
        )
        pts = np.concatenate([[tip, burr - 0.0 * d_b], up_path, down_path])
        tube = _Tube("shunt_catheter", h, pts, 1.4, 0.75, C["shunt_wall"], C["shunt_lumen"], _ALL)
        seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
        tube.length_mm = float(seg.sum())
        self.tubes.append(tube)
        self.objects.append(
            {
                "name": "shunt",
                "head": h,
                "catheter_length_mm": round(tube.length_mm, 1),
                "burr_local_mm": [round(float(v), 2) for v in burr],
                "valve_local_mm": [round(float(v), 2) for v in d_v * r_v],
            }
        )

    def _intubation(self, pair: _Pair, h: int) -> None:
        head = pair.heads[h]
        s = head.s
        low = -40.0 - 0.9 * head.p.neck_mm / s
        et = (
            np.array(
                [
                    (0.0, 110.0, -57.0),
                    (0.0, 66.0, -59.3),
                    (0.0, 30.0, -59.3),
                    (0.0, 14.0, -54.0),
                    (0.0, 9.0, -60.0),
                    (0.0, 8.3, low),
                ]
            )
            * s
        )
        ng = (
            np.array(
                [
                    (4.0, 100.0, -42.0),
                    (4.0, 64.0, -46.0),
                    (3.0, 40.0, -46.0),
                    (3.0, 20.0, -48.0),
                    (3.0, 6.0, -54.0),
                    (3.0, 1.5, -60.0),
                    (3.0, 1.5, low),
                ]
            )
            * s
        )
        for name, pts, ro, ri, wc, lc in (
            ("et_tube", et, 2.45, 1.75, C["et_wall"], C["et_lumen"]),
            ("ng_tube", ng, 1.35, 0.85, C["ng_wall"], C["ng_lumen"]),
        ):
            t = _Tube(f"{name}{h}", h, pts, ro, ri, wc, lc, _ALL)
            t.length_mm = float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
            self.tubes.append(t)
            self.objects.append({"name": t.name, "head": h, "outer_mm": 2 * ro, "inner_mm": 2 * ri})

    def _electrodes(self, pair: _Pair, h: int) -> None:
        j, e1, e2 = _frame(pair, h)
        for k, (pol, az) in enumerate(
            ((105.0, 0.0), (105.0, 180.0), (125.0, 40.0), (125.0, 320.0))
        ):
            d = _sph(j, e1, e2, pol, az)
            r = float(_skin_radius(pair, h, d[None, :])[0])
            self.discs.append(
                _Disc(f"electrode{h}_{k}", h, d * (r + 0.8), d, 5.0, 0.75, C["electrode"])
            )
        self.objects.append({"name": f"electrodes{h}", "head": h, "count": 4})

    # -- the Overlay protocol -------------------------------------------------------------
    def extra_hu(self, *, contrast: bool) -> FloatArray:
        return np.array([m[2] if contrast else m[1] for m in CLINICAL_MATERIALS], dtype=np.float64)

    def extra_labels(self) -> npt.NDArray[np.uint8]:
        return np.array([m[3] for m in CLINICAL_MATERIALS], dtype=np.uint8)

    def apply(
        self, p: FloatArray, mat: npt.NDArray[np.int16], owner: npt.NDArray[np.int8]
    ) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int8]]:
        """Override the anatomy's material with the objects' at world points ``p``."""
        assert self.pair is not None
        pair = self.pair
        mat = mat.copy()
        full_labels = np.concatenate([LABEL_OF, self.extra_labels()])
        base_label = full_labels[mat]

        def put(
            idx: npt.NDArray[np.intp], cond: BoolArray, code: int, allowed: tuple[int, ...]
        ) -> None:
            sel = idx[cond]
            if len(sel) == 0:
                return
            ok = np.isin(base_label[sel], allowed)
            mat[sel[ok]] = code

        side = ((p - pair.plane_point) @ pair.plane_normal > 0).astype(np.int8)
        for h in (0, 1):
            objs_d = [d for d in self.domes if d.head == h]
            objs_t = [t for t in self.tubes if t.head == h]
            objs_e = [e for e in self.ellipsoids if e.head == h]
            objs_c = [c for c in self.caps if c.head == h]
            objs_s = [d for d in self.discs if d.head == h]
            hidx = np.nonzero(side == h)[0]  # each head's objects stay on its side
            if not (objs_d or objs_t or objs_e or objs_c or objs_s) or len(hidx) == 0:
                continue
            q = pair.local(h, p[hidx])

            def put_h(
                idx: npt.NDArray[np.intp],
                cond: BoolArray,
                code: int,
                allowed: tuple[int, ...],
                hidx: npt.NDArray[np.intp] = hidx,
            ) -> None:
                put(hidx[idx], cond, code, allowed)

            for e in objs_e:
                sel = _bbox_sel(q, e.centre - e.radii, e.centre + e.radii, 0.5)
                idx = np.arange(len(q)) if sel is None else sel
                qq = q[idx]
                inside = np.sum(((qq - e.centre) / e.radii) ** 2, axis=1) < 1.0
                put_h(idx, inside, e.code, e.allowed)
            for c in objs_c:
                r = np.linalg.norm(q, axis=1)
                cosang = (q @ c.u) / np.maximum(r, 1e-9)
                if c.radius_mm is None:
                    cond = cosang > math.cos(c.psi)
                else:
                    along = q @ c.u
                    perp = np.linalg.norm(q - along[:, None] * c.u, axis=1)
                    cond = (perp < c.radius_mm) & (cosang > 0.5)
                idx = np.nonzero(cond)[0]
                put_h(idx, np.ones(len(idx), dtype=bool), c.code, (2,))
            for d in objs_d:
                assert d.box is not None
                sel = _bbox_sel(q, d.box[0], d.box[1], 1.0)
                idx = np.arange(len(q)) if sel is None else sel
                if len(idx) == 0:
                    continue
                r, rho, r_in, r_out = d.coords(q[idx])
                inside = (rho < 1.0) & (r >= r_in) & (r <= r_out)
                if d.shell_code is not None:
                    shell = inside & ((r - r_in < d.shell_mm) | (r_out - r < d.shell_mm))
                    put_h(idx, inside & ~shell, d.fill_code, _SCALP)
                    put_h(idx, shell, d.shell_code, _SCALP)
                else:
                    put_h(idx, inside, d.fill_code, _SCALP)
                if d.metal is not None:
                    rm, a0, a1 = d.metal
                    metal = (rho < rm) & (r >= r_in + a0) & (r <= r_in + a1)
                    put_h(idx, metal, d.metal_code, _SCALP)
                cover = (rho < 1.08) & ~inside & (r > np.where(rho < 1, r_out, r_in))
                cover &= r <= np.where(rho < 1, r_out, r_in) + d.cover_mm
                put_h(idx, cover, C["scalp_cover"], _AIR)
            for t in objs_t:
                dist = _poly_dist(q, t.pts, margin=t.r_out + 2.0)
                idx = np.nonzero(dist < t.r_out)[0]
                put_h(idx, dist[idx] >= t.r_in, t.wall_code, t.allowed)
                put_h(idx, dist[idx] < t.r_in, t.lumen_code, t.allowed)
            for dc in objs_s:
                rel = q - dc.centre
                along = rel @ dc.normal
                perp = np.linalg.norm(rel - along[:, None] * dc.normal, axis=1)
                cond = (np.abs(along) < dc.half_thick_mm) & (perp < dc.radius_mm)
                idx = np.nonzero(cond)[0]
                put_h(idx, np.ones(len(idx), dtype=bool), dc.code, _AIR)
        # owners of what the objects made tissue: the side of the boundary plane
        changed = mat >= BASE
        if changed.any():
            lab = full_labels[mat]
            owner = owner.copy()
            owner[changed] = np.where(lab[changed] > 0, side[changed], -1)
        return mat, owner

    def near(self, p: FloatArray, spacing_mm: float) -> BoolArray:
        """Voxel centres within a voxel of a thin object (they get partial volume)."""
        assert self.pair is not None
        out = np.zeros(len(p), dtype=bool)
        pad = 0.9 * spacing_mm
        for h in (0, 1):
            q = None
            for t in (t for t in self.tubes if t.head == h):
                q = self.pair.local(h, p) if q is None else q
                out |= _poly_dist(q, t.pts, margin=t.r_out + pad + 2.0) < t.r_out + pad
            for d in (d for d in self.domes if d.head == h):
                q = self.pair.local(h, p) if q is None else q
                assert d.box is not None
                sel = _bbox_sel(q, d.box[0], d.box[1], pad)
                idx = np.arange(len(q)) if sel is None else sel
                if len(idx) == 0:
                    continue
                r, rho, r_in, r_out = d.coords(q[idx])
                ang_pad = pad / np.maximum(r_in, 1.0) / min(d.psi1, d.psi2)
                cond = (rho < 1.08 + ang_pad) & (r > r_in - pad) & (r < r_out + d.cover_mm + pad)
                out[idx[cond]] = True
            for dc in (d for d in self.discs if d.head == h):
                q = self.pair.local(h, p) if q is None else q
                out |= np.linalg.norm(q - dc.centre, axis=1) < dc.radius_mm + pad
        return out

    def after_psf(
        self, hu: FloatArray, mat: npt.NDArray[np.int16], world: FloatArray
    ) -> FloatArray:
        """Metal streaks: in the axial slices of each metal piece, lines through it."""
        if not self.params.streaks:
            return hu
        return metal_streaks(hu, np.isin(mat, METAL_CODES), world, 250.0)

    def after_noise(self, hu: FloatArray) -> FloatArray:
        return clip_hu(hu, self.params.max_hu)


# ---------------------------------------------------------------------------------------
# rendering and writing


def make_clinical(case: ClinicalCase) -> tuple[Phantom3, ClinicalOverlay]:
    """Render ``case.base`` with ``case.clinical``'s objects; the phantom and the overlay.

    ``truth`` gains ``clinical``: the parameters, every object (head, analytic volume,
    ...), the material codes of each object group, the don't-care codes, and per group
    the voxel count of the truth at voxel centres.
    """
    overlay = ClinicalOverlay(case.clinical)
    base = replace(case.base, name=case.name)
    ph = make_case(base, overlay=overlay)
    assert ph.materials is not None
    vox_ml = float(abs(np.linalg.det(ph.affine[:3, :3]))) / 1000.0
    heads = ph.truth["twin_a_head"]
    a_head = 0 if heads == "head_a" else 1
    groups = {}
    for g, codes in GROUPS.items():
        n = int(np.isin(ph.materials, codes).sum())
        groups[g] = {"codes": list(codes), "voxels": n, "ml": round(n * vox_ml, 3)}
    objects = []
    for o in overlay.objects:
        o = dict(o)
        o["twin"] = "A" if o["head"] == a_head else "B"
        objects.append(o)
    truth = dict(ph.truth)
    truth["generator"] = "tests/blind/clinical.py over tests/blind/phantom3.py"
    truth["clinical"] = {
        "params": json.loads(json.dumps(asdict(case.clinical))),
        "objects": objects,
        "groups": groups,
        "dont_care_codes": list(DONT_CARE_CODES),
        "metal_codes": list(METAL_CODES),
        "materials": {
            name: {
                "code": C[name],
                "plain_hu": ph_,
                "contrast_hu": c_,
                "label": lab,
                "dont_care": dc,
            }
            for name, ph_, c_, lab, dc in CLINICAL_MATERIALS
        },
    }
    return replace(ph, truth=truth), overlay


def write_clinical(ph: Phantom3, out_dir: Path) -> dict[str, Path]:
    """``phantom3.write_case`` plus ``materials.nii.gz`` (int16 material code per voxel)."""
    import nibabel as nib

    paths = write_case(ph, out_dir)
    assert ph.materials is not None
    im = nib.Nifti1Image(ph.materials.astype(np.int16), ph.affine)
    im.set_qform(ph.affine, code=1)
    im.set_sform(ph.affine, code=1)
    paths["materials"] = out_dir / "materials.nii.gz"
    nib.save(im, paths["materials"])
    return paths


__all__ = [
    "C",
    "CLINICAL_MATERIALS",
    "DONT_CARE_CODES",
    "GROUPS",
    "METAL_CODES",
    "ClinicalCase",
    "ClinicalOverlay",
    "ClinicalParams",
    "ExpanderSpec",
    "HeadParams",
    "discordant",
    "make_clinical",
    "standard_expanders",
    "write_clinical",
]
