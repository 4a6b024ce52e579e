"""What a surgeon reads in the report: the wording next to the plan's numbers.

Found in a read-through of CLI plans (docs/DECISIONS.md, "Report wording"): each test
fails on the template before that read-through.
"""

from __future__ import annotations

import html
import re
from typing import Any

import numpy as np
from test_report import _plan

from twinsep.report.figures import stage_colours
from twinsep.report.render import crossing_stage, ink_on, render_report, tissue_words


def _text(page: str) -> str:
    """The page as plain text (tags dropped, entities decoded, spaces squeezed)."""
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(page).replace("\xa0", " "))


def _table(page: str, table_id: str) -> list[str]:
    """Rows (as text) of the table with this id, header first."""
    start = page.index(f'<table id="{table_id}">')
    body = page[start : page.index("</table>", start)]
    return [_text(r).strip() for r in body.split("<tr>")[1:]]


def _staged_plan() -> dict[str, Any]:
    """A plan like the CLI writes: a preparatory stage, crossings named by the stages."""
    plan = _plan()
    sep = plan["separation"]
    sep["vessel_crossings"] = [
        {"id": "vessel-1", "position_mm": [1.0, 2.0, 3.0], "diameter_mm": 1.9},
        {"id": "vessel-2", "position_mm": [4.0, 5.0, 6.0], "diameter_mm": 3.1},
    ]
    sep["stages"] = [
        {
            "number": 1,
            "name": "Scalp tissue expander insertion",
            "kind": "preparatory",
            "structures": ["scalp"],
            "rationale": "grow scalp",
            "area_mm2": 0.0,
        },
        {
            "number": 2,
            "name": "Staged division 1",
            "kind": "separation",
            "structures": ["vessel-2"],
            "rationale": "first sector",
            "area_mm2": 1500.0,
        },
        {
            "number": 3,
            "name": "Final separation",
            "kind": "separation",
            "structures": ["vessel-1", "remaining bridge"],
            "rationale": "the rest",
            "area_mm2": 1546.5,
        },
    ]
    plan["models"] = [
        {
            "file": "models/A_skin.stl",
            "twin": "A",
            "structure": "skin",
            "faces": 10,
            "watertight": True,
            "volume_ml": 812.3,
        },
        {
            "file": "models/separation_stage2.stl",
            "twin": None,
            "structure": "separation",
            "faces": 12,
            "watertight": True,
            "volume_ml": 30.0,
        },
    ]
    plan["skin"]["expanders"][0]["realised_gain_mm2"] = 1900.0
    plan["ventricles"] = {
        "A": {"volume_ml": 41.0, "evans_index": 0.469, "fohr": 0.47, "enlarged": True, "note": ""},
        "B": {
            "volume_ml": None,
            "evans_index": None,
            "fohr": None,
            "enlarged": None,
            "note": "metal streaks: not measured",
        },
    }
    return plan


def test_a_crossing_shows_the_stage_that_names_it() -> None:
    plan = _staged_plan()
    rows = _table(render_report(plan, {}), "crossings")
    # the stage column was '—' for every crossing: the plan names them in stages' structures
    assert rows[1].endswith(" 3") and rows[2].endswith(" 2"), rows
    assert crossing_stage(plan, {"id": "vessel-9"}) == "—"
    assert crossing_stage(plan, {"id": None, "stage": 4}) == "4"


def test_a_preparatory_stage_divides_nothing_and_has_no_cut_area() -> None:
    rows = _table(render_report(_staged_plan(), {}), "stages")
    prep, div = rows[1], rows[2]
    # before: 'scalp' under 'structures divided' and a cut area of 0 mm2
    assert "preparatory operation (scalp)" in prep and " none " in prep and " 0 " not in prep
    assert "division" in div and "1,500" in div


def test_the_expander_row_shows_the_gain_that_counts_beside_the_geometric_one() -> None:
    page = render_report(_staged_plan(), {})
    rows = _table(page, "expanders")
    # a geometric gain of 5,000 mm2 alone reads as more scalp than the counted 1,900 mm2
    assert "geometric" in rows[0] and "counted" in rows[0]
    assert "5,000" in rows[1] and "1,900" in rows[1]
    assert 'data-key="skin.expanders.0.realised_gain_mm2" data-value="1900.0"' in page
    assert "2 over 2 weeks" in rows[1]  # two fills, the last in week 2


def test_models_without_a_twin_say_so_without_none() -> None:
    rows = _table(render_report(_staged_plan(), {}), "models")
    assert "None" not in " ".join(rows)
    assert rows[2].startswith("models/separation_stage2.stl — separation")


def test_the_summary_names_expanders_ventricles_and_the_kinds_of_stages() -> None:
    page = render_report(_staged_plan(), {})
    summary = _text(page[page.index('<section id="summary">') : page.index("</section>")])
    assert "1 preparatory operation, then 2 division steps" in summary
    assert "all division steps in one operation" in summary  # what the schedule does
    assert "New tissue expanders: twin A 1 (250 mL); twin B none." in summary
    assert "Ventricles: twin A enlarged (Evans' index 0.47 ); twin B not measured." in summary


def test_an_operating_time_without_p50_renders_a_dash() -> None:
    plan = _plan()
    plan["schedule"]["p50_min"] = None
    page = render_report(plan, {})  # was a TypeError (None / 60) in the summary card
    card = _text(page[page.index('id="card-time"') :])
    assert card.startswith("Operating time P50 — (— h)") or "P50 — (— h)" in card[:80]


def test_tissue_words_capitalise_csf() -> None:
    assert tissue_words("csf") == "CSF" and tissue_words("soft_tissue") == "soft tissue"
    assert '<th class="n">CSF (mL)</th>' in render_report(_plan(), {})


def test_earlier_operations_are_listed_with_their_days() -> None:
    plan = _plan()
    plan["schedule"]["earlier_operations"] = [
        {
            "operation": "stage 1: Scalp tissue expander insertion",
            "days_before_separation": 112,
            "makespan_min": 320,
        }
    ]
    page = render_report(plan, {})
    text = _text(page[page.index('id="earlier-operations"') :])[:200]
    # before: the report named no earlier operation (the calendar put them on one day)
    assert "on its own day: stage 1: Scalp tissue expander insertion, 112 days" in text
    assert "before the separation (nominal), planned 320 min (5.3 h)." in text


def test_a_bone_template_not_made_says_so() -> None:
    plan = _plan()
    plan["bone"]["templates"] = [
        {
            "twin": "A",
            "file": None,
            "area_mm2": 0.0,
            "volume_ml": 0.0,
            "note": "bone defect of twin A (0 mm²) is within the 900 mm² that may close",
        }
    ]
    rows = _table(render_report(plan, {}), "templates")
    assert "None" not in rows[1] and "none made" in rows[1] and "Twin A" in rows[1]


def test_the_risk_score_says_it_is_relative_and_a_covered_scalp_says_so() -> None:
    plan = _plan()
    plan["skin"]["twins"] = {
        "A": {
            "covered": True,
            "defect_area_mm2": 6067.0,
            "realised_gain_mm2": 8494.0,
            "required_gain_mm2": 8494.0,
        },
        "B": {
            "covered": False,
            "defect_area_mm2": 12489.0,
            "realised_gain_mm2": 2736.0,
            "required_gain_mm2": 17485.0,
        },
    }
    summary = _text(render_report(plan, {}).split("</section>")[0])
    # a bare "risk score 3.8" reads as a scale or a percentage
    assert "relative risk score 3.8 (compares plans for these twins; not a probability)" in summary
    # only the shortfall was said; a covered twin said nothing
    assert "Twin A: covered, 8,494 mm² of skin gain counted for its 6,067 mm² defect." in summary
    assert "Twin B: covered" not in summary
    # covered by the defect but short of the over-expansion (the clinical blind case's 2 %)
    plan["skin"]["twins"]["A"]["realised_gain_mm2"] = 7798.0
    summary = _text(render_report(plan, {}).split("</section>")[0])
    assert (
        "Twin A: covered, 7,798 mm² of skin gain counted for its 6,067 mm² defect, less than "
        "the 8,494 mm² with the planned over-expansion ." in summary
    )


def test_the_stage_figure_colours_only_the_stages_on_the_cut() -> None:
    cut = np.zeros((4, 4, 4), dtype=np.uint8)
    cut[1, :, :2] = 3
    cut[1, :, 2:] = 4
    colours = stage_colours(cut, n_stages=4)
    # stages 1-2 are preparatory: their legend entries pointed at no part of the cut
    assert list(colours) == [3, 4] and colours[3] != colours[4]
    assert list(stage_colours(np.zeros_like(cut), n_stages=2)) == [1, 2]


def test_no_stage_colour_is_near_a_twin_code_colour() -> None:
    cut = np.arange(1, 5, dtype=np.uint8).reshape(1, 1, 4)
    for n in (1, 2, 4):
        for hex_colour in stage_colours(cut[..., :n], n_stages=n).values():
            rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
            for code in ((0x7B, 0x3F, 0xA0), (0xF2, 0x8C, 0x28)):
                # viridis' dark purple end (#46327E) lay 64 units from twin A's purple
                assert np.linalg.norm(rgb - np.array(code)) > 90, (n, hex_colour)


def test_a_case_with_its_own_colours_shows_no_default_colour() -> None:
    plan = _plan()
    green, purple = "#00A651", "#7B3FA0"  # a CHOP-style team: twin B purple
    plan["colours"] = {"A": green, "B": purple}
    page = render_report(plan, {})
    # the style sheet's own :root set --a/--b to purple/orange after the case's
    assert "#F28C28" not in page.upper()
    badges = re.findall(r'class="twin (A|B)" style="background: (#\w+); color: (#\w+)"', page)
    assert {(t, bg) for t, bg, _ in badges} == {("A", green), ("B", purple)}
    # text on the badge follows its colour: white on purple (was dark, meant for orange)
    assert {(t, ink) for t, _, ink in badges} == {("A", "#1D1D1F"), ("B", "#FFFFFF")}
    assert ink_on("#F28C28") == "#1D1D1F" and ink_on("#7B3FA0") == "#FFFFFF"


def test_the_model_volumes_say_why_they_can_exceed_the_tissue() -> None:
    # real-ct-vertical: A_bone.stl 467.1 mL beside 443.1 mL of bone under "The twins"
    page = render_report(_staged_plan(), {})
    note = _text(page[page.index('id="models-note"') :])[:260]
    assert "walls thinner than a printer can make are thickened" in note
    # and loose specks are left out of the print parts (models/pieces.py)
    assert "loose specks a segmentation leaves beside a structure are left out" in note


def test_a_plan_from_before_the_operation_days_lists_its_earlier_operations() -> None:
    plan = _plan()
    plan["schedule"]["earlier_operations"] = [
        {"operation": "stage 1: Scalp tissue expander insertion", "makespan_min": 320}
    ]
    page = render_report(plan, {})
    text = _text(page[page.index('id="earlier-operations"') :])[:200]
    assert "insertion, planned 320 min (5.3 h)." in text and "days before" not in text
    card = _text(page[page.index('id="card-time"') :])[:300]
    assert "the separation operation" in card
    # each earlier operation's length on the card (named by its operation without a stage)
    assert (
        "each on its own day: stage 1: Scalp tissue expander insertion 320 min (5.3 h) planned"
        in card
    )


def test_the_summary_says_which_twin_is_a() -> None:
    plan = _plan()
    rule = (
        "default: twin A is the twin whose centroid has the smaller world z "
        "(inferior-superior) coordinate (-54.5 mm vs 54.0 mm)"
    )
    plan["twin_assignment"] = {"rule": rule}
    page = render_report(plan, {})
    summary = _text(page[page.index('<section id="summary">') : page.index("</section>")])
    # the page never said which physical twin "A" is
    assert f"Twin A and Twin B in this plan: {rule}. Match them to the babies" in summary
    assert "Match them to the babies" not in _text(render_report(_plan(), {}))


def test_a_template_beside_a_smaller_bone_defect_is_explained() -> None:
    """real-angular: twin B's bone defect 0 mm², yet a 360 mm² template was made, under
    a column headed "area (mm²)" with no word on why; the made template's note (the
    defect may close by regrowth) was shown only when no template was made."""
    plan = _plan()
    plan["bone"]["defect_area_mm2"] = {"A": 62.0, "B": 0.0}
    note_b = "bone defect of twin B (0 mm²) is within the 900 mm² that may close by regrowth"
    plan["bone"]["templates"] = [
        {
            "twin": "B",
            "file": "models/B_cranioplasty_B.stl",
            "area_mm2": 360.0,
            "volume_ml": 2.6,
            "note": note_b,
        },
    ]
    page = render_report(plan, {})
    rows = _table(page, "templates")
    assert "template surface (mm²)" in rows[0]
    assert "models/B_cranioplasty_B.stl" in rows[1] and note_b in rows[1] and "360" in rows[1]
    note = _text(page[page.index('id="bone-note"') :])[:600]
    assert "opening the cut leaves in the twin's skull" in note
    assert "over that opening, bent to meet the twin's skull at its rim" in note
    assert "an overlap beyond its edge lying on the twin's own outer skull" in note
    assert "none is made where the cut opens no bone" in note
    plan["parameters"] = {"reconstruct": {"bone": {"overlap_mm": 5.0}}}
    note = _text(render_report(plan, {}))
    assert "and 5 mm beyond its edge lying on the twin's own outer skull" in note


def test_the_models_table_names_csf_in_words() -> None:
    """The models table showed the mesh's structure key ("csf") where every other table
    says "CSF"."""
    plan = _plan()
    plan["models"] = [
        {
            "file": "models/A_csf.stl",
            "twin": "A",
            "structure": "csf",
            "faces": 10,
            "watertight": True,
            "volume_ml": 278.9,
        },
        {
            "file": "models/scene.glb",
            "twin": None,
            "structure": "scene",
            "faces": 10,
            "watertight": None,
            "volume_ml": None,
        },
    ]
    rows = _table(render_report(plan, {}), "models")
    assert " CSF " in f" {rows[1]} " and " csf " not in f" {rows[1]} "
    assert "scene" in rows[2]


def test_the_expander_table_names_each_expander_as_the_map_and_calendar_do() -> None:
    """The skin map and the fill calendar label expanders "A1 R80x160"; the table, the
    only place with their volumes and gains, named neither the expander nor its size
    code, and no line said what R, O and C stand for."""
    plan = _staged_plan()
    plan["skin"]["expanders"][0].update(label="A1", code="R80x160")
    page = render_report(plan, {})
    rows = _table(page, "expanders")
    assert "expander" in rows[0]
    assert "A1 R80x160" in rows[1]
    note = _text(page[page.index('id="expander-gain-note"') :])[:700]
    assert "R rectangular, O round, C crescent" in note and "R80x160: 80 × 160 mm" in note
