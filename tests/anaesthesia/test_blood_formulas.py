"""Blood volume and allowable blood loss per twin against hand-computed values."""

from __future__ import annotations

import math

import pytest

from twinsep.anaesthesia.blood import (
    AGE_BANDS,
    BloodParams,
    age_band,
    mabl_ml,
    twin_blood,
)


def test_infant_of_8_kg_and_10_months_by_hand() -> None:
    """8 kg at 10 months: the infant band 70-80 mL/kg (Roseff 2002), so EBV 560-640 mL,
    600 at the middle; Hct 35 -> 25 %: Gross 600 x 10 / 30 = 200 mL; over the band and
    the three forms: smallest 560 x 10 / 35 = 160, largest 640 x ln(1.4) = 215.34."""
    b = twin_blood("A", weight_kg=8.0, age_months=10.0, hct_start_pct=35.0)
    assert b.band is not None and b.band.ml_per_kg == (70.0, 80.0)
    assert b.ebv_ml == pytest.approx(600.0, abs=1e-9)
    assert b.ebv_ml_range == pytest.approx((560.0, 640.0), abs=1e-9)
    assert b.hct_min_pct == 25.0  # the documented default
    assert b.mabl_ml == pytest.approx(200.0, abs=1e-9)
    assert b.mabl_ml_range == pytest.approx((160.0, 640.0 * math.log(1.4)), abs=1e-9)
    assert b.missing == () and b.notes == ()


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("gross", 1000.0 * 10.0 / 30.0),  # 333.33: EBV x (Hs - Hm) / mean
        ("simple", 1000.0 * 10.0 / 35.0),  # 285.71: EBV x (Hs - Hm) / Hs
        ("log", 1000.0 * math.log(35.0 / 25.0)),  # 336.47: EBV x ln(Hs / Hm)
    ],
)
def test_mabl_forms_35_to_25(formula: str, expected: float) -> None:
    assert mabl_ml(1000.0, 35.0, 25.0, formula) == pytest.approx(expected, rel=1e-12)  # type: ignore[arg-type]


def test_mabl_is_zero_at_or_below_the_threshold_and_says_so() -> None:
    assert mabl_ml(600.0, 25.0, 25.0, "gross") == 0.0
    assert mabl_ml(600.0, 22.0, 25.0, "log") == 0.0
    b = twin_blood("B", weight_kg=8.0, age_months=10.0, hct_start_pct=24.0)
    assert b.mabl_ml == 0.0 and b.mabl_ml_range == (0.0, 0.0)
    assert any("at or below the threshold" in n for n in b.notes)


@pytest.mark.parametrize(
    ("age", "band_range"),
    [
        (0.0, (80.0, 90.0)),  # term newborn
        (0.99, (80.0, 90.0)),
        (1.0, (80.0, 105.0)),  # young infant: Goobie's peak of 105 at the first month's end
        (2.9, (80.0, 105.0)),
        (3.0, (70.0, 80.0)),  # infant 3-12 months
        (11.9, (70.0, 80.0)),
        (12.0, (70.0, 80.0)),  # 1-2 years
        (30.0, (70.0, 80.0)),  # child
        (144.0, (65.0, 75.0)),  # adolescent or adult (the Bijani sisters were 29)
        (348.0, (65.0, 75.0)),
    ],
)
def test_age_bands_at_their_edges(age: float, band_range: tuple[float, float]) -> None:
    assert age_band(age).ml_per_kg == band_range


def test_bands_cover_every_age_without_gaps() -> None:
    for lo, hi in zip(AGE_BANDS, AGE_BANDS[1:], strict=False):
        assert lo.to_months == hi.from_months
    assert AGE_BANDS[0].from_months == 0.0 and math.isinf(AGE_BANDS[-1].to_months)
    with pytest.raises(ValueError, match="postnatal"):
        age_band(-1.0)


def test_nothing_given_invents_nothing() -> None:
    b = twin_blood("A", weight_kg=None, age_months=None, hct_start_pct=None)
    assert (b.ebv_ml, b.ebv_ml_range, b.mabl_ml, b.mabl_ml_range, b.band) == (None,) * 5
    assert b.missing == ("--weight-kg", "--age-months", "--hct")


def test_weight_without_age_gives_no_volume_and_age_without_hct_no_loss() -> None:
    """The mL/kg spans 65-105 over the bands: without the age no EBV is guessed; without
    the starting haematocrit no allowable loss."""
    b = twin_blood("A", weight_kg=8.0, age_months=None, hct_start_pct=35.0)
    assert b.ebv_ml is None and b.mabl_ml is None and b.missing == ("--age-months",)
    c = twin_blood("A", weight_kg=8.0, age_months=10.0, hct_start_pct=None)
    assert c.ebv_ml == pytest.approx(600.0) and c.mabl_ml is None and c.missing == ("--hct",)


def test_threshold_given_and_young_infant_note() -> None:
    """--hct-min 21 (Hb 7 g/dL): Gross 600 x 14 / 28 = 300 mL; at 2 months the note of the
    higher threshold for acute loss under 4 months."""
    b = twin_blood("A", weight_kg=8.0, age_months=10.0, hct_start_pct=35.0, hct_min_pct=21.0)
    assert b.mabl_ml == pytest.approx(300.0, abs=1e-9)
    young = twin_blood("A", weight_kg=4.5, age_months=2.0, hct_start_pct=33.0)
    assert young.ebv_ml == pytest.approx(4.5 * 92.5, abs=1e-9)
    assert any("Hb 12" in n for n in young.notes)
    assert not twin_blood("A", weight_kg=8.0, age_months=5.0, hct_start_pct=35.0).notes


def test_params_formula_choice_is_used() -> None:
    b = twin_blood(
        "A",
        weight_kg=8.0,
        age_months=10.0,
        hct_start_pct=35.0,
        params=BloodParams(formula="simple"),
    )
    assert b.mabl_ml == pytest.approx(600.0 * 10.0 / 35.0, abs=1e-9)
