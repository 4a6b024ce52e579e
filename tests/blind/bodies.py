"""bodies: the twins' necks, shoulders, chests and arms in a longer scan - phantom3 plus bodies.

A layer over ``phantom3`` (written, like it and ``clinical.py``, without reading twinsep's
sources): every phantom3 case holds two heads whose necks end at the scan edge, but a
craniopagus planning CT is often longer. The infants lie together on the table and a CT
angiogram/venogram, or a CT that covers the neck for the airway, takes in each twin's neck,
shoulders and upper chest: lungs (air inside the body), heart and great vessels (blood pools
of tens of mL, 300-500 HU with contrast, far larger than any sinus), clavicles, ribs and the
thoracic spine, the arms beside the body or lying over the heads, and ECG electrodes with
their leads on the chests. The bodies point away from the union: end to end (opposite ways)
for a vertical union, at the union's angle for an angular one (they follow each head's
neck axis, the head frame's -z).

Each part is switchable (``BodyParams``): ``torso`` (the neck extended into shoulders and
thorax, with the spine, ribs, clavicles, scapulae, lungs, airway, heart and great vessels,
and the liver dome under the diaphragm), ``arms`` (beside the body, or one twin's right arm
raised along its own head and lying over the other twin's head), ``great_vessels`` (the
heart chambers and great vessels as blood; off = mediastinal soft tissue), ``ecg`` (three
electrodes with snaps and leads on each chest), and ``scan_below_shoulder_mm`` (how far the
scan runs below each twin's shoulders; the body continues beyond the scan edge, cut by it).

Sizes (real millimetres, not scaled with the head; ``INFANT_SIZES``, newborn / 6 months /
12 months; phantom3's default 135 mm head length is a 6-month head)
------------------------------------------------------------------------------------------
*Chest.* Chest circumference at birth 31-33 cm (Azevedo et al., BMC Pediatrics 2019;19:341,
full-term newborns; the chest is about 2 cm smaller than the head at birth), 42-45 cm at 6
months and 45-48 cm at 1 year (growth tables, newborncry.com "infant chest circumference").
The infant chest is round: with a depth/width ratio of 0.8 (my estimate) an ellipse of
114 x 92, 152 x 122 and 164 x 132 mm has the perimeters 33, 43 and 46.5 cm.
*Lungs.* Infant lung CT attenuation is far above the adult -860 HU: as high as -380 HU in
neonates, about -650 HU by 2 years (PMC5116406, quantitative CT of pediatric lung
development, 42 normal chest CTs aged 3 days to 7 years; lung volume 0.10 L in neonates);
at resting end-expiration -616 - 41 x age in years (Long et al., Pediatr Radiol
2005;35:677, sedated children). I use -450 / -550 / -600 HU. Truth label 0 (air inside
the body is background, as phantom3's airway and sinuses).
*Aorta.* Ascending aorta 6.3 mm (750-1249 g) to 10.6 mm (4250-4750 g birth weight) in
neonates by M-mode echocardiography (summarised at droracle.ai, "normal diameter of the
ascending aorta"); aortic size grows with the square root of body surface area (Snider et
al., Am J Cardiol 1984;53:218). I use 9 / 11 / 12 mm ascending, 0.75 of that descending;
the superior vena cava 0.7 of the ascending aorta, the pulmonary trunk 0.9 (my estimates).
*Heart.* Infants' cardiothoracic ratio is up to about 0.6 (the usual radiographic limit in
infancy, against 0.5 in adults); the heart is an ellipsoid 0.42 x 0.39 x 0.37 of the chest
width (64 x 48 x 56 mm at 6 months, about 90 mL) whose inner 0.78 (in each radius) is blood:
about 42 mL of chamber blood at 6 months, 23 mL at birth, 54 mL at 1 year (infant
ventricular end-diastolic volumes of 20-25 mL each at 6 months; my estimate), split by an
oblique septum into the left (arterial) and right (venous) heart.
*Arms.* Mid-upper-arm circumference about 11 cm at birth and 14-15 cm from 6 to 12 months
(WHO arm-circumference-for-age standards start at 3 months with a median near 14 cm):
upper-arm radius 17.5 / 22 / 24 mm, forearm 0.8 of it; upper arm 70 / 85 / 95 mm, forearm
60 / 70 / 80 mm, hand 45 / 55 / 60 mm (my estimates from infant segment proportions).
*Neck and thorax.* Neck below phantom3's skull base to the top of the shoulders 30 / 35 /
40 mm (infants' short necks: the chin nearly rests on the chest); top of the shoulders to
the diaphragm dome 70 / 85 / 95 mm; ribs every 10 mm at the vertebral levels, 5 mm thick,
falling 18 mm from back to front, with costal cartilage (soft tissue) in the front 25 mm;
clavicles 7 mm thick; subcutaneous fat 5 / 6 / 7 mm (infants' fat layer; my estimate).

Values and truth labels (DESIGN is silent on everything below the head; my choices, as a
clinical engineer)
-------------------------------------------------------------------------------------
* Skin, subcutaneous fat, muscle, mediastinum, myocardium, costal cartilage, liver and the
  rest of the abdomen are **soft tissue (1)**; ribs, clavicles, scapulae, humeri and
  forearm bones are **bone (2)**, like phantom3's infant vertebrae; lungs, trachea and
  bronchi are **background (0)** (air inside the body, as phantom3's airway).
* Heart-chamber blood and the lumen of the aorta, its arch branches, the superior vena
  cava, the brachiocephalic veins and the pulmonary arteries are **vessel (5)**: DESIGN's
  label 5 is "contrast-filled vessels"; these lumens hold the same contrast blood as the
  carotids and jugulars that phantom3 already labels 5 in the neck, and a lumen of the
  aortic root cannot be told from the ventricle it leaves. On plain CT they stay 5 in the
  truth and, as for phantom3, ``vessel_voxels_scored`` is False (left out of every Dice).
  HU: plain blood +45; with contrast the right heart and veins 330 HU, the left heart and
  aorta 380 HU (inside the brief's 300-500 HU), myocardium 110 HU (45 plain).
* ECG electrodes (hydrogel pad, metal snap) and leads are **background (0) and don't
  care** (outside the patients, like phantom3's table and clinical.py's tubes): snaps are
  metal (8000 HU, clipped at the scanner's 3071 HU like clinical.py's ports), leads are
  2 mm cables whose copper core and PVC insulation average 2500 HU (my estimate: PVC about
  450 HU, copper far above the scale over a tenth of the section).
* Ownership: a body belongs to the twin whose head it carries, wherever it lies (the arm
  over the other twin's head is its own twin's, beyond the bisecting plane). The truth
  ``twins`` map follows, and phantom3's DESIGN rule for twin A is applied to the tissue
  centroids *with* the bodies (DESIGN: "the twin whose centroid ..."; the twin includes
  its body).

``truth["bodies"]`` lists the parameters, the sizes, each twin's body volumes (per label,
per part: heart blood, lungs, arm over the head ...) and the shoulder level; ``region``
(in ``materials``' grid, written as ``region.nii.gz``) is 1 for the head-and-neck part that
a phantom3 case without bodies holds and 2 for the body (below the shoulders, the arms, the
leads), so that a scorer can compare the head part with the same case without bodies.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from blind.phantom3 import (
    LABEL_OF,
    MATERIALS,
    Case,
    M,
    Phantom3,
    _bbox_sel,
    _ell,
    _Pair,
    _poly_dist,
    _seg_dist,
    _smin,
    _tissue_box,
    clip_hu,
    make_case,
    metal_streaks,
    write_case,
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# ---------------------------------------------------------------------------------------
# sizes


@dataclass(frozen=True)
class BodySize:
    """One infant's body, real millimetres (module docstring for the sources).

    Attributes
    ----------
    name : age label.
    chest_width_mm, chest_depth_mm : outer chest width and depth at the nipples, mm.
    neck_mm : from phantom3's skull-base line (template z = -40) to the shoulder top, mm.
    thorax_mm : from the shoulder top to the diaphragm dome, mm.
    fat_mm : subcutaneous fat of the trunk, mm.
    upper_arm_mm, forearm_mm, hand_mm : segment lengths, mm.
    arm_radius_mm : upper-arm radius, mm (forearm 0.8 of it).
    aorta_mm : ascending aorta diameter, mm.
    lung_hu : lung parenchyma, HU.
    """

    name: str
    chest_width_mm: float
    chest_depth_mm: float
    neck_mm: float
    thorax_mm: float
    fat_mm: float
    upper_arm_mm: float
    forearm_mm: float
    hand_mm: float
    arm_radius_mm: float
    aorta_mm: float
    lung_hu: float


INFANT_SIZES: dict[str, BodySize] = {
    "newborn": BodySize(
        "newborn", 114.0, 92.0, 30.0, 70.0, 5.0, 70.0, 60.0, 45.0, 17.5, 9.0, -450.0
    ),
    "6mo": BodySize("6mo", 152.0, 122.0, 35.0, 85.0, 6.0, 85.0, 70.0, 55.0, 22.0, 11.0, -550.0),
    "12mo": BodySize("12mo", 164.0, 132.0, 40.0, 95.0, 7.0, 95.0, 80.0, 60.0, 24.0, 12.0, -600.0),
}

ArmPose = Literal["none", "sides", "over_head"]


@dataclass(frozen=True)
class BodyParams:
    """Which body parts to add (each switchable).

    Attributes
    ----------
    torso : each twin's neck continued into shoulders, thorax and upper abdomen.
    arms : "none", "sides" (both arms of both twins along the trunk), or "over_head"
        (as "sides", but head ``over_head_twin``'s right arm is raised along its own head
        and its forearm and hand lie over the other twin's head).
    over_head_twin : the head (0 = ``case.head_a``, 1 = ``case.head_b``) whose arm is raised.
    great_vessels : heart chambers and great vessels as blood (off: mediastinal tissue).
    ecg : three ECG electrodes (pad, snap) with leads on each chest.
    scan_below_shoulder_mm : how far the scan runs below each twin's shoulder top, mm
        (the body continues beyond the scan edge).
    size : body size of both twins (a key of ``INFANT_SIZES``).
    streaks : dark/bright lines through each ECG snap in its axial slices (as clinical.py).
    max_hu : top of the scanner's CT-number range (None = not clipped).
    """

    torso: bool = True
    arms: ArmPose = "sides"
    over_head_twin: int = 0
    great_vessels: bool = True
    ecg: bool = False
    scan_below_shoulder_mm: float = 110.0
    size: str = "6mo"
    streaks: bool = True
    max_hu: float | None = 3071.0


@dataclass(frozen=True)
class BodiesCase:
    """A phantom3 case plus the twins' bodies."""

    name: str
    base: Case
    bodies: BodyParams = field(default_factory=BodyParams)


# ---------------------------------------------------------------------------------------
# materials: (name, plain HU, contrast HU, truth label, don't care); lung HU is per size

BODY_MATERIALS: tuple[tuple[str, float, float, int, bool], ...] = (
    ("b_skin", 40.0, 55.0, 1, False),
    ("b_fat", -100.0, -95.0, 1, False),
    ("b_muscle", 50.0, 62.0, 1, False),
    ("mediastinum", 40.0, 55.0, 1, False),
    ("myocardium", 45.0, 110.0, 1, False),
    ("blood_right", 45.0, 330.0, 5, False),
    ("blood_left", 45.0, 380.0, 5, False),
    ("lung", -550.0, -550.0, 0, False),
    ("airway", -1000.0, -1000.0, 0, False),
    ("rib", 600.0, 600.0, 2, False),
    ("clavicle", 800.0, 800.0, 2, False),
    ("scapula", 600.0, 600.0, 2, False),
    ("long_bone", 900.0, 900.0, 2, False),
    ("cartilage", 110.0, 115.0, 1, False),
    ("liver", 55.0, 100.0, 1, False),
    ("abdomen", 30.0, 45.0, 1, False),
    ("ecg_pad", 10.0, 10.0, 0, True),
    ("ecg_snap", 8000.0, 8000.0, 0, True),
    ("ecg_lead", 2500.0, 2500.0, 0, True),
)
BASE = len(MATERIALS)
B = {name: BASE + i for i, (name, *_r) in enumerate(BODY_MATERIALS)}
DONT_CARE_CODES = tuple(BASE + i for i, m in enumerate(BODY_MATERIALS) if m[4])
METAL_CODES = (B["ecg_snap"],)
#: material groups reported by a scorer: name -> codes
GROUPS: dict[str, tuple[int, ...]] = {
    "heart_blood": (B["blood_right"], B["blood_left"]),
    "myocardium": (B["myocardium"],),
    "lung": (B["lung"],),
    "airway": (B["airway"],),
    "rib_clavicle_scapula": (B["rib"], B["clavicle"], B["scapula"]),
    "arm_bone": (B["long_bone"],),
    "ecg": (B["ecg_pad"], B["ecg_snap"], B["ecg_lead"]),
    "liver": (B["liver"],),
}
# phantom3 codes of the spine column kept inside the thorax
_SPINE = (M["cord"], M["csf"], M["vert_cortex"], M["marrow"], M["disc"])


# ---------------------------------------------------------------------------------------
# geometry helpers


def _unit(v: npt.ArrayLike) -> FloatArray:
    a = np.asarray(v, dtype=np.float64)
    return a / np.linalg.norm(a)


def _ell2(x: FloatArray, y: FloatArray, a: float, b: float) -> FloatArray:
    """Approximate signed distance (mm) to the ellipse x^2/a^2 + y^2/b^2 = 1."""
    rho = np.sqrt((x / a) ** 2 + (y / b) ** 2)
    g = np.sqrt((x / a**2) ** 2 + (y / b**2) ** 2) / np.maximum(rho, 1e-9)
    g = np.maximum(g, 1.0 / max(a, b))
    return (rho - 1.0) / g


@dataclass
class _Limb:
    """A tube of varying radius along a polyline (per segment), with a bone rod inside."""

    pts: FloatArray  # (n, 3) local mm of the body's head
    radii: tuple[float, ...]  # per segment, mm
    bone_r: tuple[float, ...]  # per segment, mm (0 = no bone)
    hand_c: FloatArray | None  # hand ellipsoid (None: the last segment is the hand)
    hand_r: FloatArray | None
    name: str


@dataclass
class _Body:
    """One twin's body in its head's local frame (x right, y anterior, z superior, mm)."""

    head: int
    size: BodySize
    s: float
    z_sh: float  # shoulder top
    z_inlet: float  # thoracic inlet: below it the body's own model governs
    z_diaph: float  # diaphragm dome
    yc: float  # trunk centre (y)
    a: float  # trunk half width
    b: float  # trunk half depth
    heart_c: FloatArray
    heart_r: FloatArray
    vessels: list[tuple[str, FloatArray, float]] = field(default_factory=list)
    limbs: list[_Limb] = field(default_factory=list)
    pads: list[tuple[FloatArray, FloatArray]] = field(default_factory=list)  # centre, normal
    leads: list[FloatArray] = field(default_factory=list)
    z_scan_end: float = 0.0

    # -- surfaces ------------------------------------------------------------------------
    def trunk(self, q: FloatArray) -> FloatArray:
        """Signed distance (mm) to the skin of the trunk + shoulders + neck."""
        s, a, b = self.s, self.a, self.b
        x, y, z = q[:, 0], q[:, 1], q[:, 2]
        r_sh = 0.3 * a  # shoulder rounding, 0.3 of the half width
        side = _ell2(x, y - self.yc, a, b)
        trunk = np.maximum(side, z - (self.z_sh - r_sh))
        ysh = self.yc - 0.15 * b
        xs = a - r_sh * 0.6
        sh = (
            _seg_dist(
                q,
                np.array([-xs, ysh, self.z_sh - r_sh]),
                np.array([xs, ysh, self.z_sh - r_sh]),
                60.0,
            )
            - r_sh
        )
        rxy = np.sqrt((x / (34.0 * s)) ** 2 + ((y + 6.0 * s) / (30.0 * s)) ** 2)
        neck = np.maximum((rxy - 1.0) * 30.0 * s, z - (-40.0 * s))
        body = _smin(trunk, sh, 15.0)
        return _smin(body, neck, 12.0)

    def depth(self, q: FloatArray, tr: FloatArray) -> FloatArray:
        """Depth (mm) under the skin of trunk points (``tr``: ``trunk(q)``). Below the
        shoulder rounding the nearest skin is the chest's side wall (the union's flat top
        cap would make points under the shoulders look shallow)."""
        r_sh = 0.3 * self.a
        side = _ell2(q[:, 0], q[:, 1] - self.yc, self.a, self.b)
        return np.where(q[:, 2] < self.z_sh - r_sh, -side, -tr)

    def limbs_dist(self, q: FloatArray) -> tuple[FloatArray, FloatArray, npt.NDArray[np.intp]]:
        """Per point: signed distance to the nearest limb's skin, to its bone, limb index."""
        d = np.full(len(q), 1.0e4)
        bone = np.full(len(q), 1.0e4)
        which = np.full(len(q), -1, dtype=np.intp)
        for k, lb in enumerate(self.limbs):
            dk = np.full(len(q), 1.0e4)
            bk = np.full(len(q), 1.0e4)
            for i in range(len(lb.pts) - 1):
                sd = _seg_dist(q, lb.pts[i], lb.pts[i + 1], lb.radii[i] + 4.0)
                dk = np.minimum(dk, sd - lb.radii[i])
                if lb.bone_r[i] > 0:
                    # the bone stops short of the joints (infant epiphyses are cartilage)
                    a0 = lb.pts[i] + 0.12 * (lb.pts[i + 1] - lb.pts[i])
                    a1 = lb.pts[i] + 0.88 * (lb.pts[i + 1] - lb.pts[i])
                    bk = np.minimum(bk, _seg_dist(q, a0, a1, lb.bone_r[i] + 4.0) - lb.bone_r[i])
            if lb.hand_c is not None and lb.hand_r is not None:
                hand = _ell(q, tuple(lb.hand_c), tuple(lb.hand_r), 6.0)
                dk = _smin(dk, hand, 6.0)
            better = dk < d
            d = np.where(better, dk, d)
            bone = np.where(better, bk, bone)
            which = np.where(better, k, which)
        return d, bone, which

    # -- materials ------------------------------------------------------------------------
    def thorax(
        self, q: FloatArray, depth: FloatArray, base: npt.NDArray[np.int16], great: bool
    ) -> npt.NDArray[np.int16]:
        """Material of trunk points below the thoracic inlet (``depth``: mm under the
        body's skin; ``base``: phantom3's material)."""
        n = len(q)
        mat = np.full(n, -1, dtype=np.int16)
        x, y, z = q[:, 0], q[:, 1], q[:, 2]
        s, a, b, sz = self.s, self.a, self.b, self.size

        def put(cond: BoolArray, code: int) -> None:
            sel = (mat < 0) & cond
            mat[sel] = code

        # the spine column of phantom3's neck continues down the trunk
        canal_r = np.sqrt(x**2 + (y + 24.0 * s) ** 2)
        body_r = np.sqrt(x**2 + (y + 8.0 * s) ** 2)
        keep = np.isin(base, _SPINE) & ((canal_r < 9.5 * s) | (body_r < 8.5 * s))
        mat[keep] = base[keep]
        put(depth < 1.2, B["b_skin"])
        put(depth < 1.2 + sz.fat_mm, B["b_fat"])
        wall = 1.2 + sz.fat_mm + 11.0
        # ribs: hoops in the chest wall at each vertebral level, falling toward the front
        theta = np.arctan2((y - self.yc) / b, x / a)  # -pi/2 at the back, +pi/2 front
        front = np.clip((np.sin(theta) + 1.0) / 2.0, 0.0, 1.0)  # 0 back, 1 front
        zr = z + 18.0 * front
        pitch = 10.0 * s
        lev = np.round((zr + 56.0 * s) / pitch)
        dz = zr - (-56.0 * s + lev * pitch)
        rib_depth = 1.2 + sz.fat_mm + 5.5
        in_ribs = (z < self.z_inlet - 4.0) & (z > self.z_diaph - 30.0)
        rib = in_ribs & (np.hypot(dz, depth - rib_depth) < 2.5)
        front_arc = np.abs(x) < 25.0 * (2 * a / 152.0)
        put(rib & front_arc & (y > self.yc), B["cartilage"])
        put(rib, B["rib"])
        put(depth < wall - 4.0, B["b_muscle"])
        # scapulae: plates in the back muscles
        scap = (
            (depth > 1.2 + sz.fat_mm + 0.5)
            & (depth < 1.2 + sz.fat_mm + 2.5)
            & (y < self.yc - 0.4 * b)
            & (np.abs(x) > 0.15 * a)
            & (np.abs(x) < 0.75 * a)
            & (z < self.z_sh - 12.0)
            & (z > self.z_sh - 12.0 - 0.6 * sz.thorax_mm)
        )
        put(scap, B["scapula"])
        put(depth < wall, B["b_muscle"])
        # diaphragm domes and what lies below them
        zd = np.full(n, -1.0e4)
        for sx, lift in ((1.0, 4.0), (-1.0, 0.0)):
            r2 = ((x - sx * 0.4 * a) / (0.6 * a)) ** 2 + ((y - self.yc) / b) ** 2
            zd = np.maximum(zd, self.z_diaph + lift - 12.0 * np.clip(r2, 0.0, 1.6))
        below = z < zd
        put(below & (x > -0.3 * a) & (z > zd - 80.0), B["liver"])
        put(below, B["abdomen"])
        # airway: trachea to the carina, then the main bronchi
        z_car = self.z_sh - 0.4 * sz.thorax_mm
        tr_r = 0.25 * sz.aorta_mm + 0.5
        y_tr = 8.0 * s
        tr = _seg_dist(
            q, np.array([0.0, y_tr, self.z_inlet + 20.0]), np.array([0.0, y_tr, z_car]), 8.0
        )
        for sx in (1.0, -1.0):
            tr = np.minimum(
                tr,
                _seg_dist(
                    q,
                    np.array([0.0, y_tr, z_car]),
                    np.array([sx * 0.3 * a, y_tr - 4.0, z_car - 14.0]),
                    8.0,
                ),
            )
        put(tr < tr_r, B["airway"])
        put(tr < tr_r + 1.2, B["mediastinum"])
        # great vessels and heart
        if great:
            for kind, pts, r in self.vessels:
                code = B["blood_left"] if kind == "left" else B["blood_right"]
                put(_poly_dist(q, pts, r + 4.0) < r, code)
        hd = (q - self.heart_c) / self.heart_r
        hrho = np.sqrt(np.einsum("ij,ij->i", hd, hd))
        heart = hrho < 1.0
        if great:
            inner = hrho < 0.78
            nrm = _unit([-0.55, -0.6, 0.2])
            side = (q - self.heart_c) @ nrm
            f = 2 * a / 152.0
            put(inner & (np.abs(side) < 2.0 * f), B["myocardium"])
            put(inner & (side > 0), B["blood_left"])
            put(inner, B["blood_right"])
        put(heart, B["myocardium"])
        # mediastinum, then the lungs
        med = (np.abs(x) < 0.16 * 2 * a) & (y > -2.0 * s)
        med |= (np.abs(x) < 0.13 * 2 * a) & (y <= -2.0 * s)
        cav = (depth > wall) & (z < self.z_inlet + 8.0)
        put(cav & ~med, B["lung"])
        put(np.ones(n, dtype=bool), B["mediastinum"])
        return mat


def _frame_point(pair: _Pair, h: int, q: FloatArray) -> FloatArray:
    """Local mm of head ``h`` -> world mm."""
    pose = pair.poses[h]
    return q @ pose.rot.T + pose.centre


def _outside_skin(pair: _Pair, w: FloatArray) -> FloatArray:
    """Smallest signed distance (mm) of world points to either head's skin (face, neck)."""
    f = pair.fields(w)
    d = f["skin"].copy()
    for k, head in enumerate(pair.heads):
        qk = pair.local(k, w)
        d = np.minimum(d, head.envelope(qk, f["skin"]))
    return d


def _push_out(
    pair: _Pair, h: int, origin: FloatArray, direction: FloatArray, clear_mm: float
) -> FloatArray:
    """The first point (head ``h`` local mm) along ``origin + t direction`` (t >= 0, 1 mm
    steps) that lies ``clear_mm`` outside every skin surface."""
    t = np.arange(0.0, 220.0, 1.0)
    loc = origin[None, :] + t[:, None] * _unit(direction)[None, :]
    d = _outside_skin(pair, _frame_point(pair, h, loc))
    ok = np.nonzero(d > clear_mm)[0]
    if len(ok) == 0:
        raise ValueError("no room for the arm over the head")
    # the first clear point after the last blocked one (the arm lies on the outer surface)
    blocked = np.nonzero(d <= clear_mm)[0]
    k = int(blocked.max()) + 1 if len(blocked) else int(ok[0])
    return loc[min(k, len(t) - 1)]


# ---------------------------------------------------------------------------------------
# the overlay


class BodiesOverlay:
    """The bodies of ``BodyParams`` for one phantom3 case (a ``phantom3.Overlay``)."""

    def __init__(self, params: BodyParams) -> None:
        if params.size not in INFANT_SIZES:
            raise ValueError(f"size must be one of {sorted(INFANT_SIZES)}, got {params.size!r}")
        if params.arms not in ("none", "sides", "over_head"):
            raise ValueError(f"arms must be none, sides or over_head, got {params.arms!r}")
        self.params = params
        self.size = INFANT_SIZES[params.size]
        self.pair: _Pair | None = None
        self.bodies: list[_Body] = []
        self.facts: dict[str, Any] = {}

    # -- construction ------------------------------------------------------------------
    def attach(self, pair: _Pair) -> None:
        """Build both bodies in their heads' frames and widen the pair's box to the scan."""
        self.pair = pair
        p, sz = self.params, self.size
        if not (p.torso or p.arms != "none" or p.ecg):
            return  # nothing to add: the phantom3 case unchanged (same grid, same CT)
        for h, head in enumerate(pair.heads):
            s = head.s
            a, b = sz.chest_width_mm / 2.0, sz.chest_depth_mm / 2.0
            z_sh = -40.0 * s - sz.neck_mm
            y_back = -24.0 * s - 22.0
            yc = y_back + b
            f = sz.chest_width_mm / 152.0
            z_diaph = z_sh - sz.thorax_mm
            heart_r = np.array([32.0, 24.0, 28.0]) * f
            heart_c = np.array([-0.08 * 2 * a, 1.0 * s + heart_r[1], z_diaph + heart_r[2] + 3.0])
            body = _Body(
                head=h,
                size=sz,
                s=s,
                z_sh=z_sh,
                z_inlet=z_sh - 12.0,
                z_diaph=z_diaph,
                yc=yc,
                a=a,
                b=b,
                heart_c=heart_c,
                heart_r=heart_r,
                z_scan_end=z_sh - p.scan_below_shoulder_mm,
            )
            self._vessels(body)
            if p.arms != "none":
                self._arms(pair, body, raised=p.arms == "over_head" and h == p.over_head_twin)
            if p.ecg:
                self._ecg(body)
            self.bodies.append(body)
        lo, hi = _tissue_box(pair)
        lo, hi = lo.copy(), hi.copy()
        for body in self.bodies:
            r_arm = sz.arm_radius_mm if p.arms != "none" else 0.0
            xs = body.a + 2.0 * r_arm + 4.0
            ys = (body.yc - body.b - 4.0, body.yc + body.b + 8.0)
            zs = (body.z_scan_end, body.z_sh + 4.0)
            cs = np.array([[x, y, z] for x in (-xs, xs) for y in ys for z in zs])
            for lb in body.limbs:
                r = max(lb.radii)
                for off in np.array(
                    [[sx, sy, sz_] for sx in (-r, r) for sy in (-r, r) for sz_ in (-r, r)]
                ):
                    cs = np.concatenate([cs, lb.pts + off])
                if lb.hand_c is not None and lb.hand_r is not None:
                    cs = np.concatenate(
                        [cs, (lb.hand_c + lb.hand_r)[None], (lb.hand_c - lb.hand_r)[None]]
                    )
            # only what lies above the scan end in the body's own frame (the arms beside
            # the body reach further down; the scan cuts them with the trunk)
            cs[:, 2] = np.maximum(cs[:, 2], body.z_scan_end)
            w = _frame_point(pair, body.head, cs)
            lo = np.minimum(lo, w.min(axis=0))
            hi = np.maximum(hi, w.max(axis=0))
        pair.box = (lo, hi)

    def _vessels(self, body: _Body) -> None:
        s, sz, a = body.s, body.size, body.a
        f = sz.chest_width_mm / 152.0
        hc, hr = body.heart_c, body.heart_r
        z_arch = body.z_sh - 22.0 * f
        r_ao = sz.aorta_mm / 2.0
        root = hc + np.array([0.25 * hr[0], 0.0, 0.7 * hr[2]])
        a1 = np.array([6.0 * f, hc[1] - 4.0, z_arch])
        a2 = np.array([-3.0 * f, 2.0 * s, z_arch + 4.0])
        a3 = np.array([-13.0 * f, -10.0 * s, z_arch - 4.0])
        a4 = np.array([-13.0 * f, -10.0 * s, body.z_sh - 400.0])
        body.vessels.append(("left", np.array([root, a1, a2]), r_ao))
        body.vessels.append(("left", np.array([a2, a3, a4]), 0.75 * r_ao))
        top = body.z_inlet + 6.0
        for sx, start in ((1.0, a1), (-1.0, a2)):  # carotids into phantom3's neck carotids
            body.vessels.append(
                ("left", np.array([start, [sx * 16.0 * s, 10.0 * s, top]]), 2.0 * s)
            )
        # superior vena cava and brachiocephalic veins into phantom3's jugulars
        ra = hc + np.array([0.55 * hr[0], -0.1 * hr[1], 0.55 * hr[2]])
        v1 = np.array([13.0 * f, 4.0 * s, z_arch])
        body.vessels.append(("right", np.array([ra, v1]), 0.35 * sz.aorta_mm))
        for sx in (1.0, -1.0):
            body.vessels.append(
                ("right", np.array([v1, [sx * 20.0 * s, 0.0, top]]), 0.3 * sz.aorta_mm)
            )
        # pulmonary trunk and arteries
        rv = hc + np.array([-0.05 * hr[0], 0.55 * hr[1], 0.55 * hr[2]])
        p1 = np.array([-8.0 * f, hc[1], z_arch - 12.0 * f])
        body.vessels.append(("right", np.array([rv, p1]), 0.45 * sz.aorta_mm))
        for sx in (1.0, -1.0):
            body.vessels.append(
                (
                    "right",
                    np.array([p1, [sx * 0.45 * a, -4.0 * s, z_arch - 18.0 * f]]),
                    0.3 * sz.aorta_mm,
                )
            )

    def _arms(self, pair: _Pair, body: _Body, *, raised: bool) -> None:
        sz = body.size
        ru, rf = sz.arm_radius_mm, 0.8 * sz.arm_radius_mm
        bu, bf = 0.2 * ru, 0.22 * rf
        r_sh = 0.3 * body.a
        for sx in (1.0, -1.0):
            sh = np.array(
                [sx * (body.a - 0.6 * r_sh), body.yc - 0.1 * body.b, body.z_sh - 0.8 * r_sh]
            )
            if raised and sx > 0:
                limb = self._raised_arm(pair, body, sh)
            else:
                x = sx * (body.a + ru + 1.0)
                y = body.yc - 0.05 * body.b
                e = np.array([x, y, sh[2] - sz.upper_arm_mm])
                w = np.array([x, y + 4.0, e[2] - sz.forearm_mm])
                hc = np.array([x, y + 6.0, w[2] - 0.5 * sz.hand_mm])
                limb = _Limb(
                    np.array([sh, [x, y, sh[2] - 8.0], e, w]),
                    (ru, ru, rf),
                    (0.0, bu, bf),
                    hc,
                    np.array([0.55 * rf, 0.9 * rf, 0.5 * sz.hand_mm]),
                    f"arm{'R' if sx > 0 else 'L'}",
                )
            body.limbs.append(limb)

    def _raised_arm(self, pair: _Pair, body: _Body, sh: FloatArray) -> _Limb:
        """Right arm raised along the own head, forearm and hand over the other head."""
        sz = body.size
        h = body.head
        ru, rf = sz.arm_radius_mm, 0.8 * sz.arm_radius_mm
        # the junction line in this head's frame
        pose = pair.poses[h]
        c_loc = (pair.plane_point - pose.centre) @ pose.rot
        n_loc = pair.plane_normal @ pose.rot
        if n_loc @ (c_loc - np.zeros(3)) < 0:
            n_loc = -n_loc  # from this head toward the junction
        ez = _unit(n_loc)
        ex = _unit(np.array([1.0, 0.0, 0.0]) - ez[0] * ez)
        ey = np.cross(ez, ex)

        def on_surface(t_mm: float, az_deg: float, r: float) -> FloatArray:
            o = c_loc + t_mm * ez
            az = math.radians(az_deg)
            d = math.cos(az) * ex + math.sin(az) * ey
            return _push_out(pair, h, o, d, r + 0.8)

        # elbow beside the own head (lateral, a little forward), wrist and hand beyond the
        # junction on the other twin's head (anterolateral)
        t_head = float((np.zeros(3) - c_loc) @ ez)  # this head's centre along the line
        e = on_surface(t_head - 5.0, 15.0, ru)
        w = on_surface(15.0, 50.0, rf)
        tip = on_surface(15.0 + 0.8 * sz.hand_mm, 75.0, 0.5 * rf)
        pts = np.array([sh, e, w, tip])
        self.facts[f"raised_arm_head{h}"] = {
            "upper_arm_mm": round(float(np.linalg.norm(e - sh)), 1),
            "forearm_mm": round(float(np.linalg.norm(w - e)), 1),
            "hand_mm": round(float(np.linalg.norm(tip - w)), 1),
        }
        # the hand is the last segment (phantom3's ellipsoids are axis-aligned)
        return _Limb(pts, (ru, rf, 0.5 * rf), (0.2 * ru, 0.22 * rf, 0.0), None, None, "armR_raised")

    def _ecg(self, body: _Body) -> None:
        a, b, yc = body.a, body.b, body.yc
        for xf, z in (
            (0.45, body.z_inlet - 14.0),
            (-0.45, body.z_inlet - 14.0),
            (-0.5, body.z_sh - 0.85 * body.size.thorax_mm),
        ):
            x = xf * a
            y = yc + b * math.sqrt(1.0 - xf * xf)
            nrm = _unit([x / a**2, (y - yc) / b**2, 0.0])
            c = np.array([x, y, z]) + 0.8 * nrm
            body.pads.append((c, nrm))
            snap = c + 2.0 * nrm
            p1 = snap + 12.0 * nrm + np.array([0.0, 0.0, -6.0])
            p2 = np.array([p1[0] * 1.2, p1[1], body.z_sh - 400.0])
            body.leads.append(np.array([snap, p1, p2]))

    # -- the Overlay protocol -----------------------------------------------------------
    def extra_hu(self, *, contrast: bool) -> FloatArray:
        hu = np.array([m[2] if contrast else m[1] for m in BODY_MATERIALS], dtype=np.float64)
        hu[B["lung"] - BASE] = self.size.lung_hu
        return hu

    def extra_labels(self) -> npt.NDArray[np.uint8]:
        return np.array([m[3] for m in BODY_MATERIALS], dtype=np.uint8)

    def apply(
        self, p: FloatArray, mat: npt.NDArray[np.int16], owner: npt.NDArray[np.int8]
    ) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int8]]:
        """The bodies' materials (and owners) at world points ``p``."""
        assert self.pair is not None
        pair, par = self.pair, self.params
        mat = mat.copy()
        owner = owner.copy()
        labels = np.concatenate([LABEL_OF, self.extra_labels()])
        air_like = (mat == M["air"]) | (mat == M["foam"]) | (mat == M["table_shell"])
        for body in self.bodies:
            h = body.head
            q = pair.local(h, p)
            hi = np.array([body.a + 3.0 * self.size.arm_radius_mm + 30.0] * 2 + [body.z_sh + 30.0])
            lo = np.array([-hi[0], -hi[1], -1.0e4])
            sel = _bbox_sel(q, lo, hi, 0.0)
            idx = np.arange(len(q)) if sel is None else sel
            ql = q[idx]
            limb_sel = np.zeros(len(q), dtype=bool)
            if body.limbs:
                # the raised arm reaches beyond the box: evaluate limbs near their own boxes
                allp = np.concatenate(
                    [lb.pts for lb in body.limbs]
                    + [lb.hand_c[None] for lb in body.limbs if lb.hand_c is not None]
                )
                lsel = _bbox_sel(
                    q, allp.min(axis=0), allp.max(axis=0), 2.0 * self.size.arm_radius_mm + 10.0
                )
                limb_sel[np.arange(len(q)) if lsel is None else lsel] = True
            # trunk
            if par.torso and len(idx):
                env = pair.heads[h].envelope(ql, pair.fields(p[idx])["skin"])
                tr = body.trunk(ql)
                zl = ql[:, 2]
                # above the inlet: fill only air outside the head's own skin
                fill = (tr < 0) & (zl >= body.z_inlet) & (env > 0) & air_like[idx]
                dep = -tr[fill]
                code = np.where(
                    dep < 1.2,
                    B["b_skin"],
                    np.where(dep < 1.2 + self.size.fat_mm, B["b_fat"], B["b_muscle"]),
                ).astype(np.int16)
                # clavicles in the shoulder zone
                cl = self._clavicle(body, ql[fill])
                code[cl] = B["clavicle"]
                mat[idx[fill]] = code
                owner[idx[fill]] = h
                # phantom3's neck skin and fat buried in the shoulders become muscle
                buried = (
                    (tr < -(1.2 + self.size.fat_mm))
                    & (zl >= body.z_inlet)
                    & (zl < body.z_sh)
                    & np.isin(mat[idx], (M["skin"], M["fat"]))
                )
                mat[idx[buried]] = M["muscle"]
                inside = (tr < 0) & (zl < body.z_inlet)
                if inside.any():
                    ii = idx[inside]
                    dep_in = body.depth(ql[inside], tr[inside])
                    mat[ii] = body.thorax(ql[inside], dep_in, mat[ii], par.great_vessels)
                    owner[ii] = np.where(labels[mat[ii]] > 0, h, -1).astype(np.int8)
            # limbs: only where the scene is still air (they lie on skin, never in it)
            li = np.nonzero(limb_sel)[0]
            if body.limbs and len(li):
                ql2 = q[li]
                d, bone, _which = body.limbs_dist(ql2)
                free = (
                    (mat[li] == M["air"]) | (mat[li] == M["foam"]) | (mat[li] == M["table_shell"])
                )
                put = (d < 0) & free
                dep = -d
                code = np.where(
                    dep < 1.2,
                    B["b_skin"],
                    np.where(dep < 1.2 + 0.7 * self.size.fat_mm, B["b_fat"], B["b_muscle"]),
                ).astype(np.int16)
                code = np.where(bone < 0, B["long_bone"], code).astype(np.int16)
                mat[li[put]] = code[put]
                owner[li[put]] = h
            # ECG pads, snaps and leads on air only
            if body.pads:
                for c, nrm in body.pads:
                    rel = q - c
                    along = rel @ nrm
                    perp = np.linalg.norm(rel - along[:, None] * nrm, axis=1)
                    free = (mat == M["air"]) | (mat == B["b_skin"])
                    pad = (np.abs(along) < 0.75) & (perp < 11.0) & (mat == M["air"])
                    mat[pad] = B["ecg_pad"]
                    owner[pad] = -1
                    snap = (np.abs(along - 2.0) < 1.25) & (perp < 2.5) & free
                    mat[snap & (mat == M["air"])] = B["ecg_snap"]
                for pts in body.leads:
                    dl = _poly_dist(q, pts, 4.0)
                    lead = (dl < 1.0) & (mat == M["air"])
                    mat[lead] = B["ecg_lead"]
        return mat, owner

    def _clavicle(self, body: _Body, q: FloatArray) -> BoolArray:
        if len(q) == 0:
            return np.zeros(0, dtype=bool)
        f = body.size.chest_width_mm / 152.0
        out = np.zeros(len(q), dtype=bool)
        for sx in (1.0, -1.0):
            pts = np.array(
                [
                    [sx * 8.0 * f, body.yc + 0.75 * body.b, body.z_sh - 14.0],
                    [sx * 0.45 * body.a, body.yc + 0.6 * body.b, body.z_sh - 9.0],
                    [sx * 0.85 * body.a, body.yc, body.z_sh - 10.0],
                ]
            )
            out |= _poly_dist(q, pts, 6.0) < 3.5 * f
        return out

    def near(self, p: FloatArray, spacing_mm: float) -> BoolArray:
        """Voxel centres within a voxel of an ECG lead or snap (they get partial volume)."""
        assert self.pair is not None
        out = np.zeros(len(p), dtype=bool)
        pad = 0.9 * spacing_mm
        for body in self.bodies:
            if not body.leads:
                continue
            q = self.pair.local(body.head, p)
            for pts in body.leads:
                out |= _poly_dist(q, pts, 1.0 + pad + 2.0) < 1.0 + pad
            for c, _n in body.pads:
                out |= np.linalg.norm(q - c, axis=1) < 11.0 + pad
        return out

    def after_psf(
        self, hu: FloatArray, mat: npt.NDArray[np.int16], world: FloatArray
    ) -> FloatArray:
        """Streaks through each ECG snap in its axial slices (clinical.py's pattern, 150 HU)."""
        if not self.params.streaks:
            return hu
        return metal_streaks(hu, np.isin(mat, METAL_CODES), world, 150.0)

    def after_noise(self, hu: FloatArray) -> FloatArray:
        return clip_hu(hu, self.params.max_hu)


# ---------------------------------------------------------------------------------------
# rendering and writing


def body_region(ph: Phantom3, overlay: BodiesOverlay) -> npt.NDArray[np.uint8]:
    """The scorer's parts: 2 = body (everything below a twin's shoulder top on its side
    of the bisecting plane, with the lungs and the air beside the trunk, plus every body
    object: the arms, the ECG), 1 = the rest of the twins' tissue (the head-and-neck part
    that a phantom3 case without bodies holds), 0 = the rest of the background."""
    assert overlay.pair is not None and ph.materials is not None
    pair = overlay.pair
    shape = ph.labels.shape
    vox = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), -1).reshape(-1, 3)
    world = vox @ ph.affine[:3, :3].T + ph.affine[:3, 3]
    side = ((world - pair.plane_point) @ pair.plane_normal > 0).astype(np.int8)
    body = ph.materials.ravel() >= BASE
    for b in overlay.bodies:
        q = pair.local(b.head, world)
        body |= (side == b.head) & (q[:, 2] < b.z_sh)
    region = np.zeros(len(world), dtype=np.uint8)
    region[ph.labels.ravel() > 0] = 1
    region[body] = 2
    return region.reshape(shape)


def make_bodies(case: BodiesCase) -> tuple[Phantom3, BodiesOverlay, npt.NDArray[np.uint8]]:
    """Render ``case.base`` with both twins' bodies; the phantom, the overlay, the region.

    ``truth`` gains ``bodies``: parameters, sizes, the shoulder level (local mm), and per
    twin (DESIGN's A/B) the tissue volume by label in the head part and in the body, and
    the volume of each material group (heart blood, lungs, ...).
    """
    overlay = BodiesOverlay(case.bodies)
    base = replace(case.base, name=case.name)
    ph = make_case(base, overlay=overlay)
    assert ph.materials is not None
    region = body_region(ph, overlay)
    vox_ml = float(abs(np.linalg.det(ph.affine[:3, :3]))) / 1000.0
    per_twin: dict[str, Any] = {}
    for twin, code in (("A", 1), ("B", 2)):
        t = ph.twins == code
        per_twin[twin] = {
            part: {
                str(k): round(float((t & (ph.labels == k) & (region == r)).sum()) * vox_ml, 2)
                for k in range(1, 6)
            }
            for part, r in (("head", 1), ("body", 2))
        }
    groups = {}
    a_head = 0 if ph.truth["twin_a_head"] == "head_a" else 1
    for g, codes in GROUPS.items():
        m = np.isin(ph.materials, codes)
        groups[g] = {"codes": list(codes), "ml": round(float(m.sum()) * vox_ml, 2)}
    for body in overlay.bodies:
        twin = "A" if body.head == a_head else "B"
        for lb in body.limbs:
            if lb.name == "armR_raised":
                groups[f"raised_arm_{twin}"] = {"head": body.head}
    truth = dict(ph.truth)
    truth["generator"] = "tests/blind/bodies.py over tests/blind/phantom3.py"
    truth["bodies"] = {
        "params": json.loads(json.dumps(asdict(case.bodies))),
        "size": asdict(overlay.size),
        "shoulder_z_local_mm": [round(b.z_sh, 2) for b in overlay.bodies],
        "per_twin_ml": per_twin,
        "groups": groups,
        "facts": overlay.facts,
        "dont_care_codes": list(DONT_CARE_CODES),
        "metal_codes": list(METAL_CODES),
        "materials": {
            name: {
                "code": B[name],
                "plain_hu": pl,
                "contrast_hu": co,
                "label": lab,
                "dont_care": dc,
            }
            for name, pl, co, lab, dc in BODY_MATERIALS
        },
    }
    return replace(ph, truth=truth), overlay, region


def write_bodies(ph: Phantom3, region: npt.NDArray[np.uint8], out_dir: Path) -> dict[str, Path]:
    """``phantom3.write_case`` plus ``materials.nii.gz`` and ``region.nii.gz``."""
    import nibabel as nib

    paths = write_case(ph, out_dir)
    assert ph.materials is not None
    for key, arr in (
        ("materials", ph.materials.astype(np.int16)),
        ("region", region.astype(np.uint8)),
    ):
        im = nib.Nifti1Image(arr, ph.affine)
        im.set_qform(ph.affine, code=1)
        im.set_sform(ph.affine, code=1)
        paths[key] = out_dir / f"{key}.nii.gz"
        nib.save(im, paths[key])
    return paths


__all__ = [
    "B",
    "BODY_MATERIALS",
    "DONT_CARE_CODES",
    "GROUPS",
    "INFANT_SIZES",
    "METAL_CODES",
    "BodiesCase",
    "BodiesOverlay",
    "BodyParams",
    "BodySize",
    "body_region",
    "make_bodies",
    "write_bodies",
]
