"""The infant blind layer (``blind.infant``) renders what its docstring says: HU inside the
sourced ranges at each age, myelination growing with age, the widened extra-axial CSF taken
from the brain and nothing else. Tiny 3 mm grids without noise, blur or partial volume, so
every voxel holds exactly its material's value (about a second a render)."""

from __future__ import annotations

import numpy as np
import pytest

from blind.infant import (
    AGE_HU,
    AGE_MONTHS,
    CODE,
    InfantCase,
    InfantOverlay,
    InfantParams,
    make_infant,
)
from blind.infant_cases import infant_cases
from blind.phantom3 import (
    Case,
    CtParams,
    GridParams,
    HeadParams,
    Phantom3,
    UnionParams,
    _smin,
    make_case,
)

_CLEAN = CtParams(
    contrast=False, noise_hu=0.0, psf_fwhm_mm=0.0, supersample=1, cupping_hu=0.0, table=False
)


def _case(infant: InfantParams) -> InfantCase:
    head = HeadParams(length_mm=120.0, bone_mm=1.6, scalp_mm=3.0)
    base = Case(
        "t",
        UnionParams(kind="vertical", completeness="total", overlap_mm=16.0),
        _CLEAN,
        GridParams(shape=None, spacing_mm=(3.0, 3.0, 3.0)),
        head_a=head,
        head_b=head,
        seed=3,
    )
    return InfantCase("t", base, infant)


@pytest.mark.parametrize("age", [0.0, 3.0, 6.0, 12.0, 18.0, 24.0])
@pytest.mark.parametrize("q", [0.0, 0.5, 1.0])
def test_hu_inside_the_sourced_ranges(age: float, q: float) -> None:
    hu = InfantParams(age_months=age, hu_quantile=q, csf_quantile=q).hu()
    for name, rows in AGE_HU.items():
        lo = min(r[0] for r in rows)
        hi = max(r[1] for r in rows)
        assert lo <= hu[name] <= hi, (name, hu[name])
    # the order an infant CT keeps at every age: grey > white > CSF
    assert hu["grey"] > hu["white_myel"] >= hu["white_unmyel"] > hu["csf"]


def test_white_matter_darkens_toward_birth() -> None:
    ages = np.asarray(AGE_MONTHS)
    white = [InfantParams(age_months=float(a)).hu()["white_unmyel"] for a in ages]
    assert np.all(np.diff(white) > 0)
    # newborn mid-range unmyelinated white matter is within 15 HU of mid-range CSF
    h0 = InfantParams(age_months=0.0).hu()
    assert h0["white_unmyel"] - h0["csf"] < 15.0


def test_rendered_values_are_the_materials_values() -> None:
    inf = InfantParams(age_months=2.0, hu_quantile=0.3, csf_quantile=0.6)
    ph = make_infant(_case(inf))
    hu = inf.hu()
    assert ph.materials is not None
    for name, want in (
        ("white_unmyel", hu["white_unmyel"]),
        ("white_myel", hu["white_myel"]),
        ("grey", hu["grey"]),
        ("csf_extra", hu["csf"]),
        ("csf_inner", hu["csf"]),
    ):
        m = ph.materials == CODE[name]
        assert m.sum() > 20, name
        np.testing.assert_allclose(ph.ct_hu[m], want, atol=1e-3)
        want_label = 4 if name.startswith("csf") else 3
        assert np.all(ph.labels[m] == want_label)
    assert ph.truth["infant"]["hu_plain"] == hu  # type: ignore[index]


def test_myelination_grows_with_age() -> None:
    shares = []
    for age in (0.0, 12.0, 24.0):
        mats = make_infant(_case(InfantParams(age_months=age))).materials
        assert mats is not None
        u, m = int((mats == CODE["white_unmyel"]).sum()), int((mats == CODE["white_myel"]).sum())
        shares.append(m / (u + m))
    assert shares[0] < 0.2  # at birth: the brainstem and the deep core only
    assert shares[0] < shares[1] < shares[2]
    assert shares[2] > 0.9  # at two years nearly all


def _documented_width_mm(q: np.ndarray, extra_mm: float) -> np.ndarray:
    """The extra-axial widening the layer's docstring describes, in the direction of local
    points ``q`` of one head: ``extra_mm`` at the frontal convexity and vertex, 30 % of it
    at the occiput and skull base, a smooth step in between (front: y > -0.2, top:
    z > -0.1 of the unit direction)."""
    n = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-6)
    front = 0.5 * (1.0 + np.tanh((n[:, 1] + 0.2) / 0.25))
    top = 0.5 * (1.0 + np.tanh((n[:, 2] + 0.1) / 0.2))
    return extra_mm * (0.3 + 0.7 * front * top)


@pytest.fixture(scope="module")
def unwidened() -> tuple[Phantom3, dict[str, np.ndarray], float]:
    """The 5-month case without widening, its pair's fields at the voxel centres (world
    mm through the affine) and the union's fillet (mm)."""
    ov = InfantOverlay(InfantParams(age_months=5.0))
    ph0 = make_case(_case(InfantParams(age_months=5.0)).base, overlay=ov)
    assert ov.pair is not None
    ijk = np.indices(ph0.labels.shape).reshape(3, -1).T.astype(np.float64)
    fields = ov.pair.fields(ijk @ ph0.affine[:3, :3].T + ph0.affine[:3, 3])
    return ph0, fields, ov.pair.case.union.fillet_mm


@pytest.mark.parametrize("extra_mm", [3.0, 6.0])
def test_wide_extra_axial_csf_is_taken_from_the_brain_only(
    extra_mm: float, unwidened: tuple[Phantom3, dict[str, np.ndarray], float]
) -> None:
    """The widened layer is every brain (or inner CSF) voxel of the unwidened phantom that
    lies less than the documented width under its brain surface, and nothing else.

    Known answer from the phantom's own geometry: the unwidened pair's per-head brain
    distance fields at the voxel centres, each moved inward by the documented width and
    joined as a total union joins its brains (phantom3's fillet); a voxel turns to
    extra-axial CSF where it was brain or inner CSF and the moved surface leaves it
    outside. Computed with ``extra_mm`` 0.25 mm smaller and larger, the two sets must hold
    the layer between them: a layer 0.25 mm too narrow or wide at its widest (or with the
    wrong coverage, e.g. the full width at the base) breaks one of the two inclusions. At 3.0 / 6.0 mm the
    layer is 2,339 / 4,781 voxels of 27 mm3 (31.6 / 64.5 mL a head; a 1 mm narrower or
    wider layer: 1,569-3,127 / 3,943-5,556; the full width everywhere: 4,108 / 8,373)."""
    ph0, f, fillet_mm = unwidened
    ph = make_infant(_case(InfantParams(age_months=5.0, extra_csf_mm=extra_mm)))
    assert ph0.materials is not None and ph.materials is not None
    # the cranial cavity does not move: brain + CSF and the bone are the same voxels
    np.testing.assert_array_equal(np.isin(ph.labels, (3, 4)), np.isin(ph0.labels, (3, 4)))
    np.testing.assert_array_equal(ph.labels == 2, ph0.labels == 2)

    m0, m1 = ph0.materials.reshape(-1), ph.materials.reshape(-1)
    brain_names = ("grey", "white_unmyel", "white_myel", "deep_grey", "cerebellum", "csf_inner")
    takeable = np.isin(m0, [CODE[k] for k in brain_names])  # not the cord, sinuses, bone
    layer = (m1 == CODE["csf_extra"]) & (m0 != CODE["csf_extra"])

    def expected(width_mm: float) -> np.ndarray:
        moved = [f[f"brain{h}"] + _documented_width_mm(f[f"q{h}"], width_mm) for h in (0, 1)]
        return takeable & (_smin(moved[0], moved[1], fillet_mm) >= 0.0)

    narrow, wide = expected(extra_mm - 0.25), expected(extra_mm + 0.25)
    assert not (layer & ~wide).any(), int((layer & ~wide).sum())  # nothing deeper is taken
    assert not (narrow & ~layer).any(), int((narrow & ~layer).sum())  # all shallower is
    # the band is narrow: 374 / 391 voxels, 16 % / 8 % of the 3 / 6 mm layer
    assert wide.sum() - narrow.sum() < 0.2 * layer.sum()


def test_benchmark_cases_are_in_the_briefed_ranges() -> None:
    cases = infant_cases()
    assert 6 <= len(cases) <= 12
    for c in cases.values():
        sp = c.base.grid.spacing_mm
        assert sp is not None
        assert 0.6 <= min(sp[:2]) and max(sp[:2]) <= 1.0, c.name
        assert 0.6 <= sp[2] <= 2.5, c.name
        assert 10.0 <= c.base.ct.noise_hu <= 30.0, c.name
        assert 0.0 <= c.infant.age_months <= 24.0
        assert c.base.head_a.bone_mm <= 3.0
    assert any(c.infant.extra_csf_mm > 0 for c in cases.values())
    assert min(c.infant.age_months for c in cases.values()) == 0.0
