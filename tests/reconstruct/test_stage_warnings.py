"""The reconstruct stage's warnings that speak for both twins: said once, each twin named.

A read-through of eight CLI plans (docs/DECISIONS.md, "The report read by its five
users") found the expander-loss and bone-regrowth warnings written once per twin, each
repeating the rate, the limit and the advice.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from twinsep.reconstruct.stage import (
    complication_warning,
    custom_size_warning,
    regrowth_warning,
)


def _skin(provided: float, defect: float, n_expanders: int) -> Any:
    return SimpleNamespace(
        provided_if_largest_fails_mm2=provided,
        defect_area_mm2=defect,
        expanders=[object()] * n_expanders,
    )


def _bone(defect: float, exceeds: bool) -> Any:
    return SimpleNamespace(defect_area_mm2=defect, exceeds_regrowth=exceeds)


def test_the_expander_loss_is_one_warning_naming_each_twin() -> None:
    # vt0-c15-all: A 5369 of 7025 mm2, B 3178 of 7025 mm2 (two warnings before); no
    # thousands separator, as the stage's other warnings
    skin = {"B": _skin(3178.0, 7025.0, 1), "A": _skin(5369.0, 7025.0, 2)}
    text = complication_warning(cast(dict, skin), 0.25)
    assert text == (
        "about 25 % of scalp expanders have a complication; if a twin's largest expander "
        "is lost, the others provide twin A 5369 mm² of the 7025 mm² needed; twin B "
        "3178 mm² of the 7025 mm² needed"
    )
    # a twin without a new expander is not named; none at all: no warning
    skin["A"] = _skin(0.0, 7025.0, 0)
    text = complication_warning(cast(dict, skin), 0.25)
    assert text is not None and "twin A" not in text and "twin B 3178 mm²" in text
    skin["B"] = _skin(0.0, 7025.0, 0)
    assert complication_warning(cast(dict, skin), 0.25) is None


def test_a_twin_with_one_expander_and_no_other_gain_is_said_to_have_none() -> None:
    # real-ct-angular: one 717 mL expander per twin, no expander in place: "the others
    # provide twin A 0 mm² ..." named others that do not exist
    skin = {"A": _skin(0.0, 5835.0, 1), "B": _skin(3178.0, 7025.0, 1)}
    assert complication_warning(cast(dict, skin), 0.25) == (
        "about 25 % of scalp expanders have a complication; if a twin's largest expander "
        "is lost, the others provide twin A nothing (it has no other expander) of the "
        "5835 mm² needed; twin B 3178 mm² of the 7025 mm² needed"
    )
    # two expanders whose smaller one adds nothing: still counted as 0 mm²
    skin = {"A": _skin(0.0, 5835.0, 2)}
    assert "twin A 0 mm² of the 5835 mm² needed" in str(
        complication_warning(cast(dict, skin), 0.25)
    )


def test_the_bone_regrowth_limit_is_one_warning_naming_each_twin() -> None:
    bone = {"A": _bone(4279.0, True), "B": _bone(4657.0, True)}
    assert regrowth_warning(cast(dict, bone), 900.0) == (
        "bone defect larger than 900 mm², which bone regrowth in infants rarely closes "
        "(twin A 4279 mm², twin B 4657 mm²): plan a cranioplasty for each twin"
    )
    bone["A"] = _bone(640.0, False)
    assert regrowth_warning(cast(dict, bone), 900.0) == (
        "bone defect larger than 900 mm², which bone regrowth in infants rarely closes "
        "(twin B 4657 mm²): plan a cranioplasty for twin B"
    )
    bone["B"] = _bone(880.0, False)
    assert regrowth_warning(cast(dict, bone), 900.0) is None


def test_counts_in_warnings_take_their_plural() -> None:
    from twinsep.twins.stage import expander_warning

    one = SimpleNamespace(
        twin="A", volume_ml=174.3, centroid_mm=(80.0, 0.0, -36.0), port_mm=(43.0, -54.0, -35.0)
    )
    text = expander_warning(cast(tuple, (one,)))
    # before: "the CT shows 1 saline-filled scalp tissue expander(s) already in place"
    assert text is not None and "shows 1 saline-filled scalp tissue expander already" in text
    text = expander_warning(cast(tuple, (one, SimpleNamespace(**{**vars(one), "twin": "B"}))))
    assert text is not None and "shows 2 saline-filled scalp tissue expanders already" in text


def test_custom_sizes_are_ordered_it_or_them_as_counted() -> None:
    assert custom_size_warning("A", []) is None
    assert custom_size_warning("A", ["A1 R80x160"]) == (
        "expander A1 R80x160 of twin A is a custom-made size; order it early"
    )
    assert custom_size_warning("B", ["B1 R80x160", "B2 C50"]) == (
        "expanders B1 R80x160, B2 C50 of twin B are custom-made sizes; order them early"
    )
