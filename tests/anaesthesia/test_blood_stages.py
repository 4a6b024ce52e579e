"""Bleeding-risk flag per stage from what each stage cuts, and the plan.json section."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from twinsep.anaesthesia.bleeding import SinusFacts, stage_bleeding
from twinsep.anaesthesia.blood import BloodParams
from twinsep.anaesthesia.stage import NOT_A_PROTOCOL, blood_plan, blood_section
from twinsep.plan_options import PlanOptions


@dataclass
class _Stage:
    number: int
    name: str
    kind: str
    structures: list[str]
    action: str = "divide"
    area_mm2_by_tissue: dict[str, float] = field(default_factory=dict)


@dataclass
class _Crossing:
    id: str
    diameter_mm: float
    on_sinus: bool = False


def _stages() -> list[_Stage]:
    return [
        _Stage(1, "Tissue expanders", "preparatory", ["scalp"], action="tissue_expander"),
        _Stage(2, "Cranial distraction", "preparatory", ["calvaria"], "cranial_distraction"),
        _Stage(
            3,
            "Venous division 1",
            "separation",
            ["vessel-1", "vessel-2"],
            area_mm2_by_tissue={"vessel": 5.0, "bone": 0.0},
        ),
        _Stage(
            4,
            "Venous division 2",
            "separation",
            ["vessel-3"],
            area_mm2_by_tissue={"vessel": 30.0, "bone": 120.0},
        ),
        _Stage(
            5,
            "Final separation",
            "separation",
            ["remaining bridge"],
            area_mm2_by_tissue={
                "bone": 900.0,
                "soft_tissue": 2000.0,
                "brain": 20.0,
                "brain_interface": 280.0,
            },
        ),
    ]


def _crossings(sinus: bool) -> list[_Crossing]:
    return [
        _Crossing("vessel-1", 1.2),
        _Crossing("vessel-2", 2.0),
        _Crossing("vessel-3", 6.5, on_sinus=sinus),
    ]


def test_flags_by_what_each_stage_cuts() -> None:
    flags = stage_bleeding(
        _stages(), _crossings(True), SinusFacts(shared=True), large_vessel_mm=3.0
    )
    assert [f.risk for f in flags] == ["low", "moderate", "moderate", "high", "moderate"]
    assert flags[0].reasons == ("scalp only (expander insertion)",)
    assert flags[1].reasons == ("osteotomies cut bone",)
    # widths as every output writes them: whole mm (twinsep.readout)
    assert flags[2].reasons == ("divides 2 smaller vessels (widest 2 mm)",)
    assert flags[2].widest_vessel_mm == 2.0 and flags[2].vessels == ("vessel-1", "vessel-2")
    assert (
        flags[3].sinus and flags[3].reasons[0] == "divides the shared sinus (vessel-3, 7 mm wide)"
    )
    assert "cuts 120 mm² of bone" in flags[3].reasons
    assert not flags[4].sinus  # the sinus is divided in stage 4, not again
    # brain cut through and the brains' contact the cut follows: two figures, not one sum
    assert flags[4].reasons == (
        "cuts 900 mm² of bone",
        "cuts 20 mm² of brain",
        "separates 280 mm² of brain against brain (no dura seen)",
    )


def test_large_vessel_off_the_sinus_is_high_at_its_threshold() -> None:
    crossings = [_Crossing("vessel-1", 1.2), _Crossing("vessel-2", 3.0), _Crossing("vessel-3", 2.4)]
    flags = stage_bleeding(_stages(), crossings, SinusFacts(), large_vessel_mm=3.0)
    assert flags[2].risk == "high" and "large vessel (vessel-2, 3 mm wide)" in flags[2].reasons[0]
    assert flags[3].risk == "moderate"  # 2.4 mm reads 2 mm: below the 3 mm judgement
    assert flags[3].reasons[0] == "divides 1 smaller vessel (widest 2 mm)"
    assert flags[4].risk == "moderate"  # no shared sinus: the final cut bleeds from bone


@pytest.mark.parametrize("diameter_mm", [2.5, 2.6, 2.96])
def test_a_vessel_that_reads_3_mm_is_not_a_smaller_vessel(diameter_mm: float) -> None:
    """Every output writes a vessel's width in whole mm; the report's legend says a vessel
    at least 3 mm wide makes a stage high. A 2.6 mm section read "divides 1 smaller
    vessel (widest 2.6 mm)" (moderate) before the widths were one rule; in whole mm it
    would read "3 mm" beside that legend: the flag compares the width as written."""
    crossings = [
        _Crossing("vessel-1", 1.2),
        _Crossing("vessel-2", 2.0),
        _Crossing("vessel-3", diameter_mm),
    ]
    flags = stage_bleeding(_stages(), crossings, SinusFacts(), large_vessel_mm=3.0)
    assert flags[3].risk == "high"
    assert flags[3].reasons[0] == "divides a large vessel (vessel-3, 3 mm wide)"


@pytest.mark.parametrize(
    ("facts", "words"),
    [
        (SinusFacts(shared=True, left_to="B"), "leaves to twin B"),
        (
            SinusFacts(assumed=True, evidence="undetermined without contrast: total assumed"),
            "a shared sinus is assumed",
        ),
        (SinusFacts(shared=True), "completes the separation of twins with a shared sinus"),
    ],
)
def test_shared_sinus_no_stage_divides_flags_the_last_division(
    facts: SinusFacts, words: str
) -> None:
    """A cut along the sinus (left to one twin) or a sinus not seen on a CT without
    contrast: the stage that completes the separation is high, whatever it cuts."""
    flags = stage_bleeding(_stages(), _crossings(False), facts, large_vessel_mm=10.0)
    assert [f.risk for f in flags] == ["low", "moderate", "moderate", "moderate", "high"]
    assert flags[4].sinus and words in flags[4].reasons[0]
    assert "cuts 900 mm² of bone" in flags[4].reasons  # its own reasons are kept


def test_section_without_inputs_says_not_given_and_has_no_figures() -> None:
    class _Plan:
        stages = _stages()
        vessel_crossings = _crossings(True)
        sinus_left_to = None

    class _Fusion:
        class shared:  # noqa: N801 - stands for SharedInventory
            shared_sinus = True

        completeness = "total"
        completeness_evidence = "shared sinus"

    options = PlanOptions(scan_path=Path("ct.nii.gz"))
    section = blood_section(blood_plan(options, _Plan(), _Fusion()), BloodParams())
    assert section["inputs"] == "not given" and section["note"] == NOT_A_PROTOCOL
    for twin in ("A", "B"):
        t: dict[str, Any] = section["twins"][twin]
        assert t["status"] == "not given"
        assert t["missing"] == ["--weight-kg", "--age-months", "--hct"]
        numbers = ("weight_kg", "age_months", "ebv_ml", "ebv_ml_range", "hct_start_pct")
        assert all(t[k] is None for k in (*numbers, "mabl_ml", "mabl_ml_range", "age_band"))
    assert section["high_risk_stages"] == [4]  # the stage flags need no weight
    assert section["hct_min_pct"] == 25.0 and section["hct_min_from"] == "default"


def test_section_with_inputs_and_partly_given() -> None:
    options = PlanOptions(
        scan_path=Path("ct.nii.gz"),
        weight_kg=(8.0, 7.0),
        age_months=(10.0, 10.0),
        hct_pct=(35.0, 33.0),
        hct_min_pct=21.0,
    )
    section = blood_section(blood_plan(options, None, None), BloodParams())
    a, b = section["twins"]["A"], section["twins"]["B"]
    assert section["inputs"] == "given" and section["hct_min_from"] == "--hct-min"
    assert a["ebv_ml"] == 600.0 and a["ebv_ml_range"] == [560.0, 640.0]
    assert a["mabl_ml"] == 300.0  # 600 x (35 - 21) / 28
    assert b["ebv_ml"] == 525.0 and b["mabl_ml"] == round(525.0 * 12.0 / 27.0)  # 233
    assert section["stages"] == [] and section["high_risk_stages"] == []
    part = PlanOptions(scan_path=Path("ct.nii.gz"), weight_kg=(8.0, 7.0))
    partly = blood_section(blood_plan(part, None, None), BloodParams())
    assert partly["inputs"] == "partly given"
    assert partly["twins"]["A"]["missing"] == ["--age-months", "--hct"]
    assert partly["twins"]["A"]["ebv_ml"] is None


def _separation(sinus: bool) -> Any:
    """What blood_plan reads of a separation plan: the five stages and three crossings."""
    return SimpleNamespace(stages=_stages(), vessel_crossings=_crossings(sinus), sinus_left_to=None)


def _weighed_section() -> dict[str, Any]:
    """The section of twins of 8 and 7 kg, 10 months, no Hct, a shared sinus divided in
    stage 4."""
    options = PlanOptions(
        scan_path=Path("ct.nii.gz"), weight_kg=(8.0, 7.0), age_months=(10.0, 10.0)
    )
    return blood_section(blood_plan(options, _separation(True), None), BloodParams())


def test_runsheet_lines_name_the_figures_the_high_stages_and_not_a_protocol() -> None:
    section = _weighed_section()
    a = section["runsheet"]["A"]
    assert a.startswith(
        "Twin A blood: estimated blood volume 600 mL (560-640 mL: 8 kg x 70-80 mL/kg, "
        "infant (3 to 12 months)); allowable loss not computed (--hct not given)."
    )
    assert "Bleeding risk high: stage 4: divides the shared sinus (vessel-3, 7 mm wide)." in a
    assert a.endswith(
        "Estimate, not a transfusion protocol: transfuse on measured "
        "haemoglobin/haematocrit and the patient."
    )
    none = blood_section(
        blood_plan(PlanOptions(scan_path=Path("ct.nii.gz")), None, None), BloodParams()
    )["runsheet"]["B"]
    assert none.startswith(
        "Twin B blood: not computed (--weight-kg, --age-months, --hct not given)."
    )
    assert "no stage divides the shared sinus or a large vessel" in none


def test_each_operations_line_names_its_own_risk() -> None:
    """plan.json ``blood.runsheet_operations``: one line per stage, for the run sheets of
    the day that stage is operated on. Until 2026-11-28 only ``blood.runsheet`` existed
    and every day's sheets said "Bleeding risk high: stage 4: divides the shared sinus",
    the expander insertion's (a scalp operation) included."""

    section = _weighed_section()
    ops = section["runsheet_operations"]
    assert [o["stage"] for o in ops] == [1, 2, 3, 4, 5]
    figures = "Twin B blood: estimated blood volume 525 mL (490-560 mL: 7 kg x 70-80 mL/kg"
    assert all(o["B"].startswith(figures) for o in ops)  # the same figures every day
    expected = {
        1: "This operation (stage 1): bleeding risk low: scalp only (expander insertion).",
        2: "This operation (stage 2): bleeding risk moderate: osteotomies cut bone.",
        3: "This operation (stage 3): bleeding risk moderate: divides 2 smaller vessels "
        "(widest 2 mm).",
        4: "This operation (stage 4): bleeding risk high: divides the shared sinus "
        "(vessel-3, 7 mm wide); cuts 120 mm² of bone.",
    }
    for o in ops:
        for twin in ("A", "B"):
            assert o[twin].startswith(f"Twin {twin} blood: ")
            assert o[twin].endswith(f" {NOT_A_PROTOCOL.capitalize()}.")
            if o["stage"] in expected:
                assert expected[o["stage"]] in o[twin], o[twin]
            # no day's line names another stage
            others = {f"stage {n}" for n in range(1, 6)} - {f"stage {o['stage']}"}
            assert not any(f"{s}:" in o[twin] or f"{s})" in o[twin] for s in others)


def test_a_day_without_visible_veins_says_so_where_it_cuts() -> None:
    """A CT without contrast: a moderate day (bone, brain) is not known to spare a vein;
    a scalp-only day needs no such words."""

    fusion = SimpleNamespace(completeness_cue=SimpleNamespace(venous_visible=False))
    plan = blood_plan(PlanOptions(scan_path=Path("ct.nii.gz")), _separation(False), fusion)
    ops = {o["stage"]: o["A"] for o in blood_section(plan, BloodParams())["runsheet_operations"]}
    assert "the scan shows no veins" not in ops[1]
    assert "osteotomies cut bone; the scan shows no veins (a CT without contrast)" in ops[2]
