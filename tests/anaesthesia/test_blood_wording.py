"""What the clinicians read (session 27 walkthrough): each figure next to its words, a
scan without visible veins said so wherever the stage flags are, each stage's flag in the
stage list, and a partial input named in the CLI summary."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from test_blood_stages import _crossings, _stages

from twinsep.anaesthesia.blood import BloodParams
from twinsep.anaesthesia.stage import VEINS_NOT_SEEN, blood_plan, blood_section
from twinsep.cli import _blood_lines
from twinsep.plan_options import PlanOptions
from twinsep.report.render import render_report


class _Cue:
    def __init__(self, visible: bool) -> None:
        self.venous_visible = visible


class _Shared:
    shared_sinus = False


class _Fusion:
    """A partial fusion (no shared sinus) whose scan does or does not show the veins."""

    shared = _Shared()
    completeness = "partial"

    def __init__(self, visible: bool) -> None:
        self.completeness_cue = _Cue(visible)
        self.completeness_evidence = (
            "no shared sinus"
            if visible
            else "inferred from separate cranial cavities without contrast"
        )


class _Separation:
    stages = _stages()[:1] + _stages()[4:]  # expanders, then the final separation
    vessel_crossings = _crossings(False)
    sinus_left_to = None


def _section(visible: bool, **given: Any) -> dict[str, Any]:
    options = PlanOptions(scan_path=Path("ct.nii.gz"), **given)
    return blood_section(blood_plan(options, _Separation(), _Fusion(visible)), BloodParams())


def _plan(section: dict[str, Any]) -> dict[str, Any]:
    stages = [
        {"number": s.number, "name": s.name, "kind": s.kind, "structures": s.structures}
        for s in _Separation.stages
    ]
    return {
        "schema": "twinsep.plan/1",
        "version": "0.1.0",
        "created": "2026-11-28T00:00:00+00:00",
        "input": {"sha256": "ab" * 32},
        "colours": {"A": "#7B3FA0", "B": "#F28C28"},
        "separation": {"stages": stages, "vessel_crossings": [], "area_mm2": {}},
        "timings_s": {},
        "peak_rss_mb": {},
        "parameters": {},
        "blood": section,
    }


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).replace("\xa0", " ")


def test_runsheet_puts_the_allowable_loss_next_to_its_words() -> None:
    """8 kg at 10 months: EBV 600 mL; 35 -> 25 %: Gross 600 x 10 / 30 = 200 mL, range
    560 x 10/35 = 160 to 640 x ln(35/25) = 215 mL. Was '... to 25 % 200 mL (...)'."""
    line = _section(True, weight_kg=(8.0, 7.0), age_months=(10.0, 10.0), hct_pct=(35.0, 33.0))[
        "runsheet"
    ]["A"]
    assert "; allowable loss 200 mL (160-215 mL) as Hct falls from 35 % to 25 %." in line
    assert not re.search(r"% \d", line)  # no percentage runs into a volume


def test_no_visible_veins_is_said_where_the_flags_are() -> None:
    """A CT without contrast: no stage is high, and the run sheet, plan.json, the card
    and the stage table say that the vessels the cuts divide are not known (was: 'no
    stage divides the shared sinus or a large vessel')."""
    seen, unseen = _section(True), _section(False)
    assert seen["high_risk_stages"] == unseen["high_risk_stages"] == []
    assert seen["vessels_visible"] is True and unseen["vessels_visible"] is False
    assert "no stage divides the shared sinus or a large vessel" in seen["runsheet"]["A"]
    for twin in ("A", "B"):
        line = unseen["runsheet"][twin]
        assert VEINS_NOT_SEEN in line and "no stage divides" not in line
    page_unseen = render_report(_plan(unseen), {})
    page_seen = render_report(_plan(seen), {})
    card = page_unseen[page_unseen.index('id="card-blood"') :]
    card = _text(card[: card.index("</div>\n</div>")])
    assert "bleeding risk high in no stage" in card and "shows no veins" in card
    assert "blood-veins-unseen-section" in page_unseen
    assert "shows no veins" not in page_seen and "blood-veins-unseen" not in page_seen


def test_stage_list_shows_each_stages_bleeding_risk() -> None:
    """The surgeons' stage table carries the blood flags by stage number: expanders low,
    the final separation (bone, brain) moderate; a shared sinus divided in it: high."""
    plan = _plan(_section(True))
    page = render_report(plan, {})
    table = page[page.index('id="stages"') : page.index("</table>", page.index('id="stages"'))]
    assert "<th>bleeding risk</th>" in table
    cells = re.findall(r'<td class="bleeding">(.*?)</td>', table)
    assert cells == ["low", "moderate"]
    plan["blood"]["stages"][1]["bleeding_risk"] = "high"
    page = render_report(plan, {})
    table = page[page.index('id="stages"') : page.index("</table>", page.index('id="stages"'))]
    assert re.findall(r'<td class="bleeding">(.*?)</td>', table) == ["low", "<b>high</b>"]
    del plan["blood"]
    assert "bleeding risk" not in render_report(plan, {}).split('id="stages"')[1][:400]


def test_cli_summary_names_what_a_partial_input_lacks() -> None:
    """Weights only: the summary says why there is no figure (was: no line at all);
    weight and age without Hct: the volume, and the loss not computed."""
    weights = _section(True, weight_kg=(8.0, 7.0))
    assert _blood_lines(weights) == [
        "blood, twin A: not computed (--age-months, --hct not given)",
        "blood, twin B: not computed (--age-months, --hct not given)",
    ]
    no_hct = _section(True, weight_kg=(8.0, 7.0), age_months=(10.0, 10.0))
    assert _blood_lines(no_hct)[0] == (
        "blood, twin A: estimated volume 600 mL, allowable loss not computed (--hct not "
        "given) (estimate, not a transfusion protocol)"
    )
    assert _blood_lines({"twins": {}, "high_risk_stages": [4]}) == ["bleeding risk high in stage 4"]


def test_card_names_the_missing_options_as_missing() -> None:
    """Weights only: the card read 'partly given (--age-months, --hct)', as if those were
    the inputs given; it names them as missing. Weight and age without Hct: the loss is
    'not computed (--hct not given)', as on the run sheet and in the CLI."""
    for given, words in (
        ({"weight_kg": (8.0, 7.0)}, "twin A: partly given (missing: --age-months, --hct)"),
        (
            {"weight_kg": (8.0, 7.0), "age_months": (10.0, 10.0)},
            "twin A: blood volume 600 mL (560–640 mL); allowable loss not computed (--hct "
            "not given)",
        ),
        ({}, "twin A: not given (missing: --weight-kg, --age-months, --hct)"),
    ):
        page = render_report(_plan(_section(True, **given)), {})
        card = page[page.index('id="card-blood"') :]
        assert words in _text(card[: card.index("</div>\n</div>")]), given


def test_card_points_to_a_twins_notes() -> None:
    """Twin B at 2 months: the Hb 12 g/dL note (Hct about 36 %, above the 25 % the
    card's figure goes to) was only in the section; the card now links to it. Twin A
    (10 months) has no note and no link."""
    page = render_report(
        _plan(_section(True, weight_kg=(8.0, 5.0), age_months=(10.0, 2.0), hct_pct=(35.0, 33.0))),
        {},
    )
    card = page[page.index('id="card-blood"') :]
    card = card[: card.index("</div>\n</div>")]
    row_a = card[card.index('id="blood-A"') : card.index('id="blood-B"')]
    row_b = card[card.index('id="blood-B"') :]
    assert "note below" not in row_a
    assert '<a href="#blood-notes-B">note below</a>' in row_b
    target = page[page.index('id="blood-notes-B"') :]
    assert target.startswith('id="blood-notes-B">Twin B: under 4 months') and "Hb 12" in target
