"""The blind benchmark's configurations (phantom3 cases), shared by the bench and the tests.

Kinds x contrast x noise x grid/orientation. Names say: union (vt vertical total, vp
vertical partial, at angular total, ap angular partial), rotation or axis angle, contrast
(c) or plain (p) with the noise sigma in HU, then the grid.
"""

from __future__ import annotations

from dataclasses import replace

from blind.phantom3 import Case, CtParams, GridParams, HeadParams, UnionParams

_N96 = GridParams(shape=(96, 96, 96))


def blind_cases() -> dict[str, Case]:
    """Every benchmark configuration by name (deterministic)."""
    vt = UnionParams(kind="vertical", completeness="total", overlap_mm=16.0)
    vp = UnionParams(kind="vertical", completeness="partial", overlap_mm=6.0)
    at = UnionParams(kind="angular", completeness="total", overlap_mm=16.0, site_deg=180.0)
    ap = UnionParams(kind="angular", completeness="partial", overlap_mm=6.0)
    c15 = CtParams(contrast=True, noise_hu=15.0)
    p15 = CtParams(contrast=False, noise_hu=15.0)
    cases = [
        Case("vt0-c15-ras", vt, c15, _N96, seed=1),
        Case("vt0-c5-ras", vt, CtParams(contrast=True, noise_hu=5.0), _N96, seed=1),
        Case(
            "vt90-p15-lps",
            UnionParams(kind="vertical", completeness="total", overlap_mm=16.0, rotation_deg=90.0),
            p15,
            GridParams(shape=(96, 96, 96), orientation="LPS"),
            seed=2,
        ),
        Case(
            "vt180-c30-sag",
            UnionParams(kind="vertical", completeness="total", overlap_mm=16.0, rotation_deg=180.0),
            CtParams(contrast=True, noise_hu=30.0, psf_fwhm_mm=1.5),
            GridParams(shape=(96, 96, 96), orientation="sagittal"),
            seed=3,
        ),
        Case("vp0-c15-ras", vp, c15, _N96, seed=4),
        Case(
            "vp90-p5-obl20",
            UnionParams(kind="vertical", completeness="partial", overlap_mm=6.0, rotation_deg=90.0),
            CtParams(contrast=False, noise_hu=5.0),
            GridParams(shape=(96, 96, 96), orientation="oblique20"),
            seed=5,
        ),
        Case("at120-occ-c15", replace(at, tilt_deg=30.0), c15, _N96, seed=6),
        Case("at120-occ-c15-ov20", replace(at, tilt_deg=30.0, overlap_mm=20.0), c15, _N96),
        Case(
            "at100-par-c15-lps",
            replace(at, tilt_deg=40.0, site_deg=90.0),
            c15,
            GridParams(shape=(96, 96, 96), orientation="LPS"),
            seed=7,
        ),
        Case(
            "ap110-front-p15",
            replace(ap, tilt_deg=35.0, site_deg=0.0),
            p15,
            _N96,
            seed=8,
        ),
        Case(
            "at130-occ-c30corr-fov",
            replace(at, tilt_deg=25.0),
            CtParams(
                contrast=True,
                noise_hu=30.0,
                noise_corr_vox=0.8,
                psf_fwhm_mm=1.5,
                fov_radius_mm=190.0,
                intercept=-1024.0,
            ),
            _N96,
            seed=9,
        ),
        Case(
            "at130-occ-c15-fov",
            replace(at, tilt_deg=25.0),
            CtParams(contrast=True, noise_hu=15.0, fov_radius_mm=190.0, intercept=-1024.0),
            _N96,
            seed=9,
        ),
        Case(
            "at120-occ-c15-neck80",
            replace(at, tilt_deg=30.0),
            c15,
            _N96,
            head_a=HeadParams(neck_mm=80.0, neck_cut=False),
            head_b=HeadParams(length_mm=130.0, neck_mm=80.0, neck_cut=False),
            seed=6,
        ),
        Case(
            "vt0-deep30-c15",
            UnionParams(kind="vertical", completeness="total", overlap_mm=30.0),
            c15,
            _N96,
            seed=10,
        ),
        Case(
            "vt0-flip-c5-nopsf-discordant",
            UnionParams(kind="vertical", completeness="total", overlap_mm=16.0, flip=True),
            CtParams(contrast=True, noise_hu=5.0, psf_fwhm_mm=0.0),
            _N96,
            head_a=HeadParams(length_mm=150.0),
            head_b=HeadParams(length_mm=120.0, neck_cut=False, neck_mm=60.0),
            seed=11,
        ),
        Case(
            "vt90-c15-aniso1.5x3",
            UnionParams(kind="vertical", completeness="total", overlap_mm=16.0, rotation_deg=90.0),
            c15,
            GridParams(shape=None, spacing_mm=(1.5, 1.5, 3.0)),
            seed=12,
        ),
        Case(
            "vt90-c15-1.2mm",
            UnionParams(kind="vertical", completeness="total", overlap_mm=16.0, rotation_deg=90.0),
            CtParams(contrast=True, noise_hu=15.0, supersample=2),
            GridParams(shape=None, spacing_mm=(1.2, 1.2, 1.2)),
            seed=13,
        ),
        Case(
            "at120-occ-c15-1.2mm",
            replace(at, tilt_deg=30.0),
            CtParams(contrast=True, noise_hu=15.0, supersample=2),
            GridParams(shape=None, spacing_mm=(1.2, 1.2, 1.2)),
            seed=14,
        ),
        # added after the first run (same generator and twinsep snapshot):
        Case("vt45-c15-ras", replace(vt, rotation_deg=45.0), c15, _N96, seed=1),
        Case("vt150-c15-ras", replace(vt, rotation_deg=150.0), c15, _N96, seed=1),
        Case("vt0-c15-notable", vt, replace(c15, table=False), _N96, seed=1),
        Case(
            "vt0-c15-neck80",
            vt,
            c15,
            _N96,
            head_a=HeadParams(neck_mm=80.0, neck_cut=False),
            head_b=HeadParams(length_mm=130.0, neck_mm=80.0, neck_cut=False),
            seed=1,
        ),
        Case(
            "at120-occ-c15-neck80cut",
            replace(at, tilt_deg=30.0),
            c15,
            _N96,
            head_a=HeadParams(neck_mm=80.0, neck_cut=True),
            head_b=HeadParams(length_mm=130.0, neck_mm=80.0, neck_cut=True),
            seed=6,
        ),
        Case(
            "ap110-front-c15",
            replace(ap, tilt_deg=35.0, site_deg=0.0),
            c15,
            _N96,
            seed=8,
        ),
    ]
    return {c.name: c for c in cases}
