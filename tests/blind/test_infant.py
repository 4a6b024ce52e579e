"""The infant blind layer (``blind.infant``) renders what its docstring says: HU inside the
sourced ranges at each age, myelination growing with age, the widened extra-axial CSF taken
from the brain and nothing else. Tiny 3 mm grids without noise, blur or partial volume, so
every voxel holds exactly its material's value (about a second a render)."""

from __future__ import annotations

import numpy as np
import pytest

from blind.infant import AGE_HU, AGE_MONTHS, CODE, InfantCase, InfantParams, make_infant
from blind.infant_cases import infant_cases
from blind.phantom3 import Case, CtParams, GridParams, HeadParams, UnionParams

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


def test_wide_extra_axial_csf_is_taken_from_the_brain_only() -> None:
    counts = {}
    for extra in (0.0, 3.0, 6.0):
        ph = make_infant(_case(InfantParams(age_months=5.0, extra_csf_mm=extra)))
        assert ph.materials is not None
        counts[extra] = (
            int((ph.labels == 3).sum()),
            int((ph.labels == 4).sum()),
            int((ph.materials == CODE["csf_extra"]).sum()),
            int((ph.labels == 2).sum()),
        )
    for extra in (3.0, 6.0):
        # the cranial cavity does not move: brain + CSF and the bone are the same voxels
        assert sum(counts[extra][:2]) == sum(counts[0.0][:2])
        assert counts[extra][3] == counts[0.0][3]
    gain3 = counts[3.0][2] - counts[0.0][2]
    gain6 = counts[6.0][2] - counts[0.0][2]
    assert gain3 > 0
    # a shell of twice the width over a slightly smaller brain: 1.6-2.2x the CSF
    assert 1.6 < gain6 / gain3 < 2.2


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
