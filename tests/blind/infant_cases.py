"""The infant benchmark's configurations (phantom3 pairs with ``infant`` brains).

Names: age (``nb0`` newborn, ``m4`` four months, ...), union (vt vertical total, vp
vertical partial, at angular total, ap angular partial, with the rotation or axis angle),
contrast (c) or plain (p) with the noise sigma in HU, ``bess<N>`` when the extra-axial
CSF is widened by up to N mm, storage order when not RAS, then the voxel size (in-plane x
slice, mm). Every head is an infant's: 115-145 mm long, thin scalp (2.5-3.5 mm), thin
vault (mean 1.4-2.2 mm), open sutures and a fontanelle that shrinks with age, a sharp
kernel (PSF 0.6-0.9 mm) and low-dose noise (10-30 HU). The HU of grey, white and CSF come
from ``infant.AGE_HU`` at the case's age and quantile.
"""

from __future__ import annotations

from dataclasses import replace

from blind.infant import InfantCase, InfantParams
from blind.phantom3 import Case, CtParams, GridParams, HeadParams, UnionParams


def _heads(
    length_a: float, length_b: float, bone: float, font: float, suture: float, scalp: float
) -> tuple[HeadParams, HeadParams]:
    common = {"bone_mm": bone, "fontanelle_mm": font, "suture_mm": suture, "scalp_mm": scalp}
    return HeadParams(length_mm=length_a, **common), HeadParams(length_mm=length_b, **common)  # type: ignore[arg-type]


def _ct(contrast: bool, noise: float, psf: float, cortical: float) -> CtParams:
    return CtParams(
        contrast=contrast, noise_hu=noise, psf_fwhm_mm=psf, supersample=2, cortical_hu=cortical
    )


def infant_cases() -> dict[str, InfantCase]:
    """Every configuration by name (deterministic)."""
    vt = UnionParams(kind="vertical", completeness="total", overlap_mm=16.0)
    vp = UnionParams(kind="vertical", completeness="partial", overlap_mm=6.0)
    cases: list[InfantCase] = []

    a, b = _heads(118.0, 115.0, 1.4, 30.0, 4.0, 2.5)
    cases.append(
        InfantCase(
            "nb0-vt0-p20-0.7x2.5",
            Case(
                "nb0",
                vt,
                _ct(False, 20.0, 0.7, 1000.0),
                GridParams(shape=None, spacing_mm=(0.7, 0.7, 2.5)),
                head_a=a,
                head_b=b,
                seed=21,
            ),
            InfantParams(age_months=0.0, hu_quantile=0.3, csf_quantile=0.7),
        )
    )
    a, b = _heads(122.0, 120.0, 1.5, 36.0, 3.0, 2.5)
    cases.append(
        InfantCase(
            "m1-at120-c25-0.8x2",
            Case(
                "m1",
                UnionParams(kind="angular", completeness="total", overlap_mm=16.0, tilt_deg=30.0),
                _ct(True, 25.0, 0.8, 1100.0),
                GridParams(shape=None, spacing_mm=(0.8, 0.8, 2.0)),
                head_a=a,
                head_b=b,
                seed=22,
            ),
            InfantParams(age_months=1.0, hu_quantile=0.5, csf_quantile=0.5),
        )
    )
    a, b = _heads(132.0, 128.0, 1.6, 30.0, 2.0, 3.0)
    cases.append(
        InfantCase(
            "m4-vt90-p15-bess6-0.9x1.5",
            Case(
                "m4",
                UnionParams(
                    kind="vertical", completeness="total", overlap_mm=16.0, rotation_deg=90.0
                ),
                _ct(False, 15.0, 0.8, 1100.0),
                GridParams(shape=None, spacing_mm=(0.9, 0.9, 1.5)),
                head_a=a,
                head_b=b,
                seed=23,
            ),
            InfantParams(
                age_months=4.0, hu_quantile=0.5, csf_quantile=0.4, extra_csf_mm=6.0, fissure_mm=4.0
            ),
        )
    )
    a, b = _heads(136.0, 134.0, 1.7, 26.0, 2.0, 3.0)
    cases.append(
        InfantCase(
            "m6-vp0-c20-bess5-1.0x1.25",
            Case(
                "m6",
                vp,
                _ct(True, 20.0, 0.9, 1200.0),
                GridParams(shape=None, spacing_mm=(1.0, 1.0, 1.25)),
                head_a=a,
                head_b=b,
                seed=24,
            ),
            InfantParams(
                age_months=6.0, hu_quantile=0.6, csf_quantile=0.3, extra_csf_mm=5.0, fissure_mm=3.5
            ),
        )
    )
    a, b = _heads(138.0, 136.0, 1.8, 18.0, 1.5, 3.0)
    cases.append(
        InfantCase(
            "m9-ap110-p30-notable-0.6x2.5",
            Case(
                "m9",
                UnionParams(
                    kind="angular",
                    completeness="partial",
                    overlap_mm=6.0,
                    tilt_deg=35.0,
                    site_deg=0.0,
                ),
                replace(_ct(False, 30.0, 0.6, 1200.0), table=False),
                GridParams(shape=None, spacing_mm=(0.6, 0.6, 2.5)),
                head_a=a,
                head_b=b,
                seed=25,
            ),
            InfantParams(age_months=9.0, hu_quantile=0.2, csf_quantile=0.8, extra_csf_mm=3.0),
        )
    )
    a, b = _heads(142.0, 138.0, 2.0, 12.0, 1.0, 3.5)
    cases.append(
        InfantCase(
            "m12-at100-c15-lps-bess3-0.8x2",
            Case(
                "m12",
                UnionParams(
                    kind="angular",
                    completeness="total",
                    overlap_mm=16.0,
                    tilt_deg=40.0,
                    site_deg=90.0,
                ),
                _ct(True, 15.0, 0.8, 1300.0),
                GridParams(shape=None, spacing_mm=(0.8, 0.8, 2.0), orientation="LPS"),
                head_a=a,
                head_b=b,
                seed=26,
            ),
            InfantParams(age_months=12.0, hu_quantile=0.4, csf_quantile=0.5, extra_csf_mm=3.0),
        )
    )
    a, b = _heads(145.0, 140.0, 2.1, 8.0, 1.0, 3.5)
    cases.append(
        InfantCase(
            "m18-vt0-p10-sag-0.9x2",
            Case(
                "m18",
                vt,
                _ct(False, 10.0, 0.9, 1300.0),
                GridParams(shape=None, spacing_mm=(0.9, 0.9, 2.0), orientation="sagittal"),
                head_a=a,
                head_b=b,
                seed=27,
            ),
            InfantParams(age_months=18.0, hu_quantile=0.5, csf_quantile=0.5),
        )
    )
    a, b = _heads(145.0, 145.0, 2.2, 0.0, 1.0, 3.5)
    cases.append(
        InfantCase(
            "m24-vt45-c15-1.0x2.5",
            Case(
                "m24",
                UnionParams(
                    kind="vertical", completeness="total", overlap_mm=16.0, rotation_deg=45.0
                ),
                _ct(True, 15.0, 0.9, 1400.0),
                GridParams(shape=None, spacing_mm=(1.0, 1.0, 2.5)),
                head_a=a,
                head_b=b,
                seed=28,
            ),
            InfantParams(age_months=24.0, hu_quantile=0.5, csf_quantile=0.5),
        )
    )
    return {c.name: c for c in cases}
