"""infant: a blind layer on phantom3 that turns its heads into infant brains of a given age.

Written without reading twinsep's segmentation or twin-assignment code (only the DESIGN
contracts and, to see what they do not cover, the docstrings of the other blind families
and docs/segmentation.md). phantom3's head is already an infant skull (open sutures, a
fontanelle, thin bone) but with one brain contrast: grey +38, white +27, CSF +8 HU, a
1-4 mm subarachnoid layer. Real infant CT differs in the ways that matter to a brain/CSF
intensity model, and those are what this layer adds.

What changes with age (sources; ranges, not one value)
-------------------------------------------------------
*Brain density.* Automated segmentation of 415 normal clinical head CTs from birth to 20
years: mean brain radiodensity about 24 HU at birth, rising through 3 years to about
30 HU (Cauley et al., AJNR 2021;42(2):382-388, https://www.ajnr.org/content/42/2/382).
Unmyelinated white matter holds more water and is the low-density part: normal neonates
show periventricular frontal and fronto-occipital low attenuation from incomplete
myelination (Estrada, Dyken, El Gammal, Arch Neurol 1980;37:754-756), white-matter CT
numbers rise fast in the first 8-12 weeks then slowly, frontal white matter the least
mature (Quencer, AJR 1982;139:561-568), and myelination runs central to peripheral and
posterior to anterior, grey-white contrast reversed on T1 for the first 4-6 months and
adult-like by 8-24 months (Ballesteros et al., Radiographics 1993;13:611-622). With
a mean of 24 HU at birth and grey matter a little under the adult 35-40 HU, the
unmyelinated white matter sits in the high teens to low 20s, within 10-15 HU of CSF
(0-10 HU). The ranges used (plain CT; ``AGE_HU``; a case draws inside each by
``hu_quantile``):

====== ============ ====================== ==================== =========
age    cortex grey  white, unmyelinated    white, myelinated    CSF
====== ============ ====================== ==================== =========
0 mo   28-34        14-21                  22-26 (stem, PLIC)   2-10
6 mo   30-36        18-24                  23-28                2-10
12 mo  32-38        21-26                  25-30                2-10
24 mo  34-40        24-28                  26-31                2-10
====== ============ ====================== ==================== =========

(linear in between). Deep grey nuclei and cerebellum sit 2 HU under the cortex. Contrast
adds +4 HU to grey, +2 to white, nothing to CSF. The myelinated share of the white matter
grows with age: a voxel is myelinated when its myelination score (distance from the brain
centre, plus a frontal penalty) is under an age threshold; the brainstem always is.

*Extra-axial CSF.* On 538 infant CTs the convexity subarachnoid width grows until 4-6
months, then falls to a stable range at 13-24 months (J Child Neurol 2021;36(6):447-452,
PMID 33331188); the widening is bifrontal, temporal and interhemispheric, most marked at
4-7 months and gone by 12-18 months (Neurol Med Chir 1981;21:155,
https://www.jstage.jst.go.jp/article/nmc1959/21/2/21_2_155/_article/-char/en); benign
enlargement of the subarachnoid spaces (BESS) is the commonest cause of macrocephaly and
resolves by 2 years (pediatricimaging.org; radiologykey.com "Benign enlargement of
subarachnoid spaces": a collection wider than about 6 mm over the convexity raises the
subdural question). Cases with ``extra_csf_mm`` > 0 widen phantom3's 1-4 mm layer by up to
that much (frontal and vertex widest, 30 % of it at the occiput and skull base) and widen
the interhemispheric fissure to ``fissure_mm``: total frontal widths of about 5-10 mm.

*Skull and scalp.* Skull thickness grows fast in the first year (Li et al., PMC4559077);
under 4 years the antero- and postero-lateral vault is under 3 mm in 85-92 % of children
(Domenech-Fernandez et al., Eur Spine J 2021;30:410). Anterior fontanelle surface area
about 770 mm2 at birth, 1020 mm2 at 2 months, then falling; closed in 16 % at 10 months,
53 % at 16, 88 % at 20 (Pindrik et al., Clin Pediatr 2014;53:1149); transverse width
about 20 mm at birth and 6 mm at 12 months. Sutures on CT: sagittal 4.9 mm, coronal
2.5 mm at birth, coronal 1.3 mm at 1 month and 0.85 mm at 12 months (Indian J Anat 2019,
doi 10.21088/ija.2320.0022.8419.5). The cases use phantom3's own bone and suture model
with mean vault bone 1.4-2.2 mm, sutures 1-4 mm, fontanelle 0-38 mm, scalp 2.5-3.5 mm, and
a cortical bone value of 1000-1400 HU (less mineralised than phantom3's 1500).

*Scanner.* Paediatric head CT is low dose (noise 10-30 HU in brain), thin (0.5-0.7 mm
in-plane reconstructions, slices 0.6-2.5 mm) and sharp-kernel (a PSF under 1 mm). Grids
here are 0.6-1.0 mm in-plane with 1.0-2.5 mm slices (finer slices would not run in the
benchmark's time; the in-plane sampling carries the thin-structure test).

Truth
-----
Labels are phantom3's: every white-matter voxel (myelinated or not) is brain (3), every
CSF voxel is CSF (4). The materials map splits them for the scorer: ``white_unmyel``,
``white_myel``, ``grey``, ``deep_grey``, ``cerebellum``, ``csf_extra`` (outside the brain
surface: the subarachnoid layer, widened or not) and ``csf_inner`` (ventricles, sulci,
fissure, cisterns, the sheet between two brains).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from blind.phantom3 import (
    LABEL_OF,
    MATERIALS,
    Case,
    FloatArray,
    M,
    Phantom3,
    _Pair,
    _seg_dist,
    _sig,
    _smin,
    make_case,
    write_case,
)

# (name, label); HU come from the case's age (``InfantParams.hu``)
INFANT_MATERIALS: tuple[tuple[str, int], ...] = (
    ("grey", 3),
    ("white_unmyel", 3),
    ("white_myel", 3),
    ("deep_grey", 3),
    ("cerebellum", 3),
    ("csf_extra", 4),
    ("csf_inner", 4),
)
CODE = {name: len(MATERIALS) + k for k, (name, _lab) in enumerate(INFANT_MATERIALS)}
"""Material code of each infant material (after phantom3's own codes)."""

# age (months) -> (grey lo, hi), (white unmyelinated lo, hi), (white myelinated lo, hi),
# (CSF lo, hi), plain CT HU; see the module docstring for the sources
AGE_HU: dict[str, tuple[tuple[float, float], ...]] = {
    # at 0, 6, 12 and 24 months (AGE_MONTHS)
    "grey": ((28.0, 34.0), (30.0, 36.0), (32.0, 38.0), (34.0, 40.0)),
    "white_unmyel": ((14.0, 21.0), (18.0, 24.0), (21.0, 26.0), (24.0, 28.0)),
    "white_myel": ((22.0, 26.0), (23.0, 28.0), (25.0, 30.0), (26.0, 31.0)),
    "csf": ((2.0, 10.0), (2.0, 10.0), (2.0, 10.0), (2.0, 10.0)),
}
AGE_MONTHS = (0.0, 6.0, 12.0, 24.0)


@dataclass(frozen=True)
class InfantParams:
    """The infant brain added to a phantom3 case.

    Attributes
    ----------
    age_months : age, 0-24 months (sets the HU ranges and the myelinated share).
    hu_quantile : where in each age range the case's HU lie, 0 (low end) to 1 (high end);
        one number for grey, white and CSF so the grey-white-CSF order is kept.
    csf_quantile : where in the CSF range, 0-1 (separate: CSF density does not follow
        the brain's).
    extra_csf_mm : extra-axial CSF added over phantom3's 1-4 mm layer at its widest
        (frontal and vertex), mm; 0 = none. BESS: 3-7.
    fissure_mm : width of the interhemispheric fissure, mm (phantom3: 1.8).
    """

    age_months: float = 6.0
    hu_quantile: float = 0.5
    csf_quantile: float = 0.5
    extra_csf_mm: float = 0.0
    fissure_mm: float = 1.8

    def hu(self) -> dict[str, float]:
        """Plain-CT HU of grey, white_unmyel, white_myel and CSF at this age."""
        out: dict[str, float] = {}
        for name, rows in AGE_HU.items():
            lo = float(np.interp(self.age_months, AGE_MONTHS, [r[0] for r in rows]))
            hi = float(np.interp(self.age_months, AGE_MONTHS, [r[1] for r in rows]))
            q = self.csf_quantile if name == "csf" else self.hu_quantile
            out[name] = round(lo + q * (hi - lo), 2)
        return out

    def myelin_threshold(self) -> float:
        """Myelination score under which white matter is myelinated (grows with age)."""
        return 0.25 + 0.04 * self.age_months


def _unit(q: FloatArray) -> FloatArray:
    return q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-6)


class InfantOverlay:
    """phantom3 ``Overlay`` that re-materials the brain and CSF of both heads by age."""

    def __init__(self, params: InfantParams) -> None:
        self.params = params
        self.pair: _Pair | None = None

    # -- the widened subarachnoid layer: the brain surface moves inward ----------------
    def _extra_mm(self, h: int, q: FloatArray) -> FloatArray:
        """Extra CSF width (mm) in the direction of local points ``q`` of head ``h``."""
        n = _unit(q)
        frontal_top = _sig((n[:, 1] + 0.2) / 0.25) * _sig((n[:, 2] + 0.1) / 0.2)
        return self.params.extra_csf_mm * (0.3 + 0.7 * frontal_top)

    def attach(self, pair: _Pair) -> None:
        self.pair = pair
        if self.params.extra_csf_mm <= 0:
            return
        base = pair.fields
        u = pair.case.union

        def widened(p: FloatArray) -> dict[str, FloatArray]:
            f = base(p)
            for h in (0, 1):
                f[f"brain{h}"] = f[f"brain{h}"] + self._extra_mm(h, f[f"q{h}"])
            if u.completeness == "total":
                f["brain"] = _smin(f["brain0"], f["brain1"], u.fillet_mm)
            else:
                f["brain"] = np.minimum(f["brain0"], f["brain1"])
            return f

        pair.fields = widened  # type: ignore[method-assign]

    def extra_hu(self, *, contrast: bool) -> FloatArray:
        hu = self.params.hu()
        g, wu, wm, c = hu["grey"], hu["white_unmyel"], hu["white_myel"], hu["csf"]
        eg, ew = (4.0, 2.0) if contrast else (0.0, 0.0)
        return np.array(
            [g + eg, wu + ew, wm + ew, g - 2.0 + eg, g - 2.0 + eg, c, c], dtype=np.float64
        )

    def extra_labels(self) -> npt.NDArray[np.uint8]:
        return np.array([lab for _n, lab in INFANT_MATERIALS], dtype=np.uint8)

    def apply(
        self, p: FloatArray, mat: npt.NDArray[np.int16], owner: npt.NDArray[np.int8]
    ) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int8]]:
        """Replace phantom3's brain and CSF materials by the infant ones at world ``p``."""
        assert self.pair is not None
        pair = self.pair
        mat = mat.copy()
        brainish = np.isin(mat, [M["grey"], M["white"], M["deep_grey"], M["cerebellum"], M["csf"]])
        idx = np.nonzero(brainish & (owner >= 0))[0]
        if len(idx) == 0:
            return mat, owner
        f = pair.fields(p[idx])
        m = mat[idx]
        out = m.copy()
        for h in (0, 1):
            sel = np.nonzero(owner[idx] == h)[0]
            if len(sel) == 0:
                continue
            head = pair.heads[h]
            s = head.s
            q = f[f"q{h}"][sel]
            t = q / s
            mm = m[sel]
            o = out[sel]
            # widened interhemispheric fissure (supratentorial, above the callosum)
            below_tent = (t[:, 1] < -14.0) & (t[:, 2] < head.tent_z(q) / s)
            fiss = (np.abs(q[:, 0]) < 0.5 * self.params.fissure_mm) & (t[:, 2] > 10.0)
            fiss &= ~below_tent & (mm != M["csf"])
            # myelination: central and posterior first; the brainstem always
            score = np.linalg.norm(t - np.array([0.0, -4.0, 4.0]), axis=1) / 55.0
            score = score + 0.25 * np.clip(t[:, 1] / 50.0, -1.0, 1.0)
            stem = _seg_dist(t, np.array([0, -8, -4.0]), np.array([0, -20, -44.0])) < 7.5
            myel = stem | (score < self.params.myelin_threshold())
            o[mm == M["grey"]] = CODE["grey"]
            o[mm == M["deep_grey"]] = CODE["deep_grey"]
            o[mm == M["cerebellum"]] = CODE["cerebellum"]
            white = mm == M["white"]
            o[white & myel] = CODE["white_myel"]
            o[white & ~myel] = CODE["white_unmyel"]
            csf = (mm == M["csf"]) | fiss
            outside = f["brain"][sel] >= 0.0
            o[csf & outside] = CODE["csf_extra"]
            o[csf & ~outside] = CODE["csf_inner"]
            out[sel] = o
        mat[idx] = out
        return mat, owner

    def near(self, p: FloatArray, spacing_mm: float) -> npt.NDArray[np.bool_]:
        del spacing_mm
        return np.zeros(len(p), dtype=bool)

    def after_psf(
        self, hu: FloatArray, mat: npt.NDArray[np.int16], world: FloatArray
    ) -> FloatArray:
        del mat, world
        return hu

    def after_noise(self, hu: FloatArray) -> FloatArray:
        return hu


@dataclass(frozen=True)
class InfantCase:
    """A phantom3 case (its heads, skull, grid and CT) and the infant brain added to it."""

    name: str
    base: Case
    infant: InfantParams


def make_infant(case: InfantCase) -> Phantom3:
    """Render ``case``: phantom3 with the infant overlay; the truth records the infant
    parameters and HU under ``truth["infant"]`` and the case name is ``case.name``."""
    ph = make_case(replace(case.base, name=case.name), overlay=InfantOverlay(case.infant))
    truth = dict(ph.truth)
    truth["generator"] = "tests/blind/infant.py on tests/blind/phantom3.py"
    truth["infant"] = {
        **asdict(case.infant),
        "hu_plain": case.infant.hu(),
        "materials": {name: CODE[name] for name, _lab in INFANT_MATERIALS},
    }
    return replace(ph, truth=truth)


def write_infant(ph: Phantom3, out_dir: Path) -> dict[str, Path]:
    """:func:`phantom3.write_case` plus ``materials.nii.gz`` (int16 codes) for the scorer."""
    import nibabel as nib

    paths = write_case(ph, out_dir)
    assert ph.materials is not None
    im = nib.Nifti1Image(ph.materials.astype(np.int16), ph.affine)
    im.set_qform(ph.affine, code=1)
    im.set_sform(ph.affine, code=1)
    paths["materials"] = out_dir / "materials.nii.gz"
    nib.save(im, paths["materials"])
    return paths


def full_labels() -> npt.NDArray[np.uint8]:
    """Truth label of every material code, phantom3's then the infant ones."""
    return np.concatenate([LABEL_OF, np.array([lab for _n, lab in INFANT_MATERIALS], np.uint8)])


def describe(case: InfantCase) -> dict[str, Any]:
    """A JSON-ready summary of what a case is (age, HU, widths, grid)."""
    b = case.base
    return {
        "age_months": case.infant.age_months,
        "hu_plain": case.infant.hu(),
        "extra_csf_mm": case.infant.extra_csf_mm,
        "bone_mm": b.head_a.bone_mm,
        "fontanelle_mm": b.head_a.fontanelle_mm,
        "noise_hu": b.ct.noise_hu,
        "spacing_mm": list(b.grid.spacing_mm) if b.grid.spacing_mm else None,
        "head_mm": [b.head_a.length_mm, b.head_b.length_mm],
        "grey_white_gap_hu": round(case.infant.hu()["grey"] - case.infant.hu()["white_unmyel"], 2),
        "white_csf_gap_hu": round(case.infant.hu()["white_unmyel"] - case.infant.hu()["csf"], 2),
        "myelin_threshold": round(case.infant.myelin_threshold(), 3),
    }
