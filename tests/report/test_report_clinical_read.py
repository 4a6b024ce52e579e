"""The report as its clinical users read it: the shared sinus, the bodies, the warnings.

Found in a read-through of eight CLI plans (docs/DECISIONS.md, "Report read by its five
users"); each test fails on the template before that read-through.
"""

from __future__ import annotations

import copy
import re
from importlib import resources
from typing import Any

from test_report import _plan, _Spans
from test_report_read_through import _staged_plan, _table, _text

from twinsep.report.render import (
    WARNING_GROUPS,
    get_path,
    render_report,
    shared_sinus_words,
    tissue_words,
    warning_groups,
)


def _summary(page: str) -> str:
    return _text(page[page.index('<section id="summary">') : page.index("</section>")])


def _card(page: str, card_id: str) -> str:
    start = page.index(f'id="{card_id}"')
    return _text(page[start : page.index('<div class="card"', start + 1)])


# -- warnings ---------------------------------------------------------------------------
_WARNINGS = [
    "modality guessed as CT from the value range -1145..3071 (looks like Hounsfield units)",
    "segment: metal in the CT (0.05 mL: implant, clip or filling) streaks 3 slices",
    "reconstruct: bone defect of twin A (4279 mm²) is larger than 900 mm²",
    "ventricles: twin A's ventricles are enlarged",
    "separate: the cut passes through 105 mm² of one twin's brain",
    "reconstruct: bone defect of twin B (4657 mm²) is larger than 900 mm²",
    "MR: the MR was registered with a low similarity",
    "foo: a prefix that names no stage",
]


def test_warnings_are_grouped_under_plain_headings_without_stage_names() -> None:
    groups = warning_groups(_WARNINGS)
    titles = [t for t, _ in groups]
    order = [t for _, t in WARNING_GROUPS]
    # in the page's order: the scan, then the stages as the pipeline runs them
    assert titles == sorted(titles, key=order.index)
    as_dict = dict(groups)
    assert as_dict["Scalp and bone reconstruction"] == [
        "Bone defect of twin A (4,279 mm²) is larger than 900 mm²",
        "Bone defect of twin B (4,657 mm²) is larger than 900 mm²",
    ]
    assert as_dict["The MR scan"] == ["The MR was registered with a low similarity"]
    # a prefix that is no stage's name is not dropped: it stays with the scan's warnings
    assert as_dict["The scan"][1] == "Foo: a prefix that names no stage"
    assert sum(len(t) for _, t in groups) == len(_WARNINGS)  # none lost, none doubled

    plan = _plan()
    plan["warnings"] = list(_WARNINGS)
    page = render_report(plan, {})
    box = page[page.index('id="warnings"') : page.index("</section>")]
    # before: one flat list of 'segment: ...', 'reconstruct: ...' in pipeline order
    assert "<h4>Scalp and bone reconstruction</h4>" in box and "<h4>Ventricles</h4>" in box
    for prefix in ("segment:", "reconstruct:", "separate:", "ventricles:", "MR:"):
        assert prefix not in box, prefix
    assert f"Warnings ({len(_WARNINGS)})" in page


# -- the shared sinus -------------------------------------------------------------------
def test_a_ct_without_contrast_does_not_say_there_is_no_shared_sinus() -> None:
    plan = _plan()
    plan["shared"]["shared_sinus"] = False
    plan["shared"]["sinus_ml"] = 0.0
    plan["fusion"]["completeness_evidence"] = "inferred from brain contact without contrast"
    card = _card(render_report(plan, {}), "card-shared")
    # before: "shared sinus: no" beside "total: inferred ... without contrast" and a
    # warning that a shared sinus can be neither seen nor excluded
    assert not re.search(r"shared sinus: no\b", card)
    assert "shared sinus: not seen, not excluded" in card and "venogram" in card
    plan["fusion"]["completeness_evidence"] = "sinus crossing unresolved: total assumed"
    assert shared_sinus_words(plan)[0] == "not seen, not excluded"
    # a contrast scan that shows no shared sinus says no
    plan["fusion"]["completeness_evidence"] = "no shared sinus"
    assert re.search(r"shared sinus: no\b", _card(render_report(plan, {}), "card-shared"))


def test_the_summary_says_what_the_cut_does_with_the_shared_sinus() -> None:
    plan = _staged_plan()  # a shared sinus; vessel-1 divided in stage 3, vessel-2 in 2
    card = _card(render_report(plan, {}), "card-shared")
    assert "shared sinus: yes (" in card and "2.4 mL)" in card
    # widths in whole mm, as every output writes them (twinsep.readout): 3.1 -> 3, 1.9 -> 2
    assert "the cut divides 2 vessels across the boundary in stage 2, 3, the widest 3 mm" in card
    one = _staged_plan()
    one["separation"]["vessel_crossings"] = one["separation"]["vessel_crossings"][:1]
    card = _card(render_report(one, {}), "card-shared")
    # vt-c15-full: a 21 mL circular sinus and one 2.8 mm vessel divided: its width says
    # whether the vessel can be the sinus
    assert "the cut divides 1 vessel across the boundary in stage 3, 2 mm across" in card
    # vt0-c15-all: a 15.2 mL circular sinus, no vessel crossing: the page said nothing
    # of who keeps the sinus
    plan["separation"]["vessel_crossings"] = []
    card = _card(render_report(plan, {}), "card-shared")
    assert "which twin keeps the sinus is not known" in card and "venogram" in card
    plan["separation"]["shared_sinus_left_to"] = "B"
    card = _card(render_report(plan, {}), "card-shared")
    assert "leaves it to twin B" in card
    # with each twin's share measured on the sinus's voxels (separation.shared_sinus_ml)
    plan["separation"]["shared_sinus_ml"] = {"A": 0.0, "B": 8.04}
    card = _card(render_report(plan, {}), "card-shared")
    assert "leaves it to twin B (all 8.0 mL of its labelled lumen)" in card
    # its pieces on both sides: both shares, no owner
    plan["separation"]["shared_sinus_left_to"] = None
    plan["separation"]["shared_sinus_ml"] = {"A": 5.12, "B": 3.04}
    card = _card(render_report(plan, {}), "card-shared")
    assert "divided between them (5.1 mL twin A / 3.0 mL twin B)" in card
    assert "not known" not in card and "venogram" in card
    del plan["separation"]
    assert shared_sinus_words(plan) == ("yes", "")


def test_the_shared_card_gives_both_shares_of_the_sinus_beside_the_divided_vessels() -> None:
    plan = _staged_plan()  # vessel-1 divided in stage 3, vessel-2 in stage 2
    sep = plan["separation"]
    vessels = "the cut divides 2 vessels across the boundary in stage 2, 3, the widest 3 mm"
    # blind at130-occ-c15-fov: the shared sinus divided 8.53 / 0.06 mL, i.e. at its tip;
    # before, the card spoke only of the divided vessels
    sep["shared_sinus_ml"] = {"A": 8.53, "B": 0.06}
    sep["shared_sinus_division"] = "edge"
    card = _card(render_report(plan, {}), "card-shared")
    assert (
        "the cut divides the shared sinus only at its edge: twin A keeps 8.5 mL, twin B "
        "0.1 mL, so twin A keeps the sinus" in card
    )
    assert vessels in card and "venogram" in card
    # a one-voxel sliver does not read as "0.0 mL"
    sep["shared_sinus_ml"] = {"A": 0.03, "B": 6.2}
    card = _card(render_report(plan, {}), "card-shared")
    assert "twin A keeps under 0.1 mL, twin B 6.2 mL, so twin B keeps the sinus" in card
    # bodies vt-c15-full: a 2.8 mm vessel divided while the 21.1 mL sinus goes to twin A
    sep["shared_sinus_ml"] = {"A": 21.1, "B": 0.0}
    sep["shared_sinus_division"] = "none"
    card = _card(render_report(plan, {}), "card-shared")
    assert vessels in card
    assert "the shared sinus is not among them: twin A keeps all 21.1 mL of it, twin B none" in card
    sep["shared_sinus_ml"] = {"A": 5.12, "B": 3.04}  # its pieces in both twins
    card = _card(render_report(plan, {}), "card-shared")
    assert "its pieces go 5.1 mL to twin A and 3.0 mL to twin B" in card
    # a sinus the cut divides in earnest
    sep["shared_sinus_division"] = "divided"
    card = _card(render_report(plan, {}), "card-shared")
    assert "the shared sinus is divided: twin A keeps 5.1 mL, twin B 3.0 mL" in card
    assert "only at its edge" not in card
    # a plan written before the division was said: the shares only
    del sep["shared_sinus_division"]
    card = _card(render_report(plan, {}), "card-shared")
    assert "the shared sinus after the cut: twin A keeps 5.1 mL, twin B 3.0 mL" in card


# -- bodies in the scan -----------------------------------------------------------------
def _with_bodies(plan: dict[str, Any]) -> dict[str, Any]:
    """vt-c15-full's twins: heads and necks 1311.2 / 1146.3 mL of 2972.5 / 2802.8 mL."""
    for twin, head, whole in (("A", 1311.188, 2972.515), ("B", 1146.251, 2802.845)):
        t = plan["twins"][twin]
        t["volume_ml"] = whole
        t["head_volume_ml"] = head
        t["body_volume_ml"] = round(whole - head, 3)
        t["head_tissue_ml"] = {
            "soft_tissue": 515.9,
            "bone": 141.8,
            "brain": 520.5,
            "csf": 114.1,
            "vessel": 18.8,
        }
    return plan


def test_the_heads_volumes_are_on_the_first_page_when_the_scan_holds_the_bodies() -> None:
    plan = _with_bodies(_plan())
    page = render_report(plan, {})
    summary = _summary(page)
    # before: only the warning's "head_volume_ml and head_tissue_ml count the head", and
    # a twins table of 2,972.5 mL per twin with no word of the body in it
    assert (
        "Head and neck above the shoulders: twin A 1,311 mL (with its body in the scan "
        "2,973 mL); twin B 1,146 mL (with its body in the scan 2,803 mL)." in summary
    )
    rows = _table(page, "twin-volumes")
    assert len(rows) == 5 and "part" in rows[0]
    assert rows[1].startswith("Twin A head and neck (above the shoulders) 1,311.2 515.9")
    assert rows[2].startswith("Twin A with its body in the scan 2,972.5")
    parser = _Spans()
    parser.feed(page)
    keys = {k for k, _, _ in parser.items}
    assert {"twins.A.head_volume_ml", "twins.B.head_tissue_ml.brain"} <= keys
    for key, value, _text_shown in parser.items:
        truth = get_path(plan, key)
        assert value == ("" if truth is None else str(truth)), key
    # no body in the scan: one row per twin, no word of bodies
    page = render_report(_plan(), {})
    assert len(_table(page, "twin-volumes")) == 3 and "summary-bodies" not in page
    plan = _plan()
    for twin in ("A", "B"):
        plan["twins"][twin]["body_volume_ml"] = 0.0
        plan["twins"][twin]["head_volume_ml"] = plan["twins"][twin]["volume_ml"]
    assert "summary-bodies" not in render_report(plan, {})


# -- words and units --------------------------------------------------------------------
def test_the_cut_along_two_brains_is_named_in_words() -> None:
    plan = _plan()
    plan["separation"]["area_mm2"]["brain_interface"] = 1418.3
    page = render_report(plan, {})
    rows = _table(page, "cut-area")
    # before: "brain interface", the engineer's key
    assert any(r.startswith("brain against brain (no dura seen) 1,418") for r in rows), rows
    assert "brain interface" not in _text(page)
    assert tissue_words("brain_interface") == "brain against brain (no dura seen)"


def test_a_degree_sign_follows_its_number_and_stages_are_counted_in_words() -> None:
    plan = _plan()
    page = render_report(plan, {})
    # before: "axial rotation 163 °" (a no-break space before the sign)
    for key, shown in (("fusion.rotation_deg", "163"), ("fusion.axis_angle_deg", "172")):
        assert re.search(rf'data-key="{key}"[^>]*>{shown}</span>°', page), key
    assert "&nbsp;°" not in page
    # before: "2 stage(s)"
    assert "2 stages" in _card(page, "card-stages")
    one = copy.deepcopy(plan)
    one["separation"]["stages"] = one["separation"]["stages"][:1]
    assert re.search(r">\s*1 stage\s*<", render_report(one, {}))


def test_existing_expanders_speak_in_the_units_of_the_defects() -> None:
    # the read-through's vt0-c15-all: "98.4 cm² the closure needs" beside a scalp defect
    # of 7,025 mm² a few lines up; the page now says mm² throughout
    from test_report import _with_existing

    page = render_report(_with_existing(_plan()), {})
    # (a fill is said in mL per cm² of defect, as its source and plan.json give it)
    assert "cm²" not in page.replace("mL per cm²", "") and "7,668 mm² the closure needs" in page


def test_badges_do_not_wrap_and_numbers_do_not_break_inside() -> None:
    css = resources.files("twinsep.report").joinpath("templates/report.css").read_text("utf-8")
    twin_rule = re.search(r"\.twin \{[^}]*\}", css)
    assert twin_rule is not None
    # before: "Twin / A" on two lines in the ventricle and expander tables of the PDF
    assert "white-space: nowrap" in twin_rule.group(0)
    # before: word-break: break-all split "-76.7" after "-76." in the expanders' positions
    assert "break-all" not in css


def test_the_page_is_the_same_for_the_same_plan() -> None:
    plan = _with_bodies(_staged_plan())
    plan["warnings"] = list(_WARNINGS)
    assert render_report(plan, {}) == render_report(copy.deepcopy(plan), {})


def test_the_slice_figure_names_its_planes_and_tissues_in_words(monkeypatch: Any) -> None:
    import numpy as np
    from test_report import ORANGE, PURPLE, _centre_affine, _two_heads

    from twinsep.report import figures as fg

    labels, twins = _two_heads(_centre_affine(np.eye(3)))
    grid = fg.resample_to_ras({"labels": labels, "twins": twins}, spacing_mm=2.0)
    seen: dict[str, Any] = {}
    monkeypatch.setattr(fg, "_legend", lambda fig, items: seen.update(items=items))
    monkeypatch.setattr(
        fg, "_png", lambda fig: seen.update(titles=[a.get_title() for a in fig.axes]) or b""
    )
    fg.slices_figure(
        grid, [1.0, -2.0, 5.0], colour_a=PURPLE, colour_b=ORANGE, params=fg.FigureParams()
    )
    names = [name for name, _ in seen["items"]]
    # before: "csf" in the legend, and "axial at 5 mm" (at what?) over each slice
    assert "CSF" in names and "csf" not in names and "soft tissue" in names
    assert seen["titles"] == ["axial at z = 5 mm", "coronal at y = -2 mm", "sagittal at x = 1 mm"]


def test_the_scalp_summary_says_each_twin_once_a_before_b() -> None:
    plan = _plan()
    plan["skin"]["twins"] = {
        "A": {"covered": True, "defect_area_mm2": 7025.0, "realised_gain_mm2": 9836.0},
        "B": {"covered": False, "defect_area_mm2": 7025.0, "realised_gain_mm2": 4761.0},
    }
    plan["skin"]["shortfall_mm2"] = {"A": 0.0, "B": 2264.0}
    summary = _summary(render_report(plan, {}))
    # before (vt0-c15-all): "Shortfall, twin B: 2,264 mm². Twin A: covered, ..."
    a = summary.index("Twin A: covered, 9,836 mm² of skin gain counted for its 7,025 mm² defect.")
    b = summary.index("Twin B: short by 2,264 mm² ( 4,761 mm² of skin gain counted).")
    assert a < b and "Shortfall" not in summary


def test_the_models_table_starts_its_own_page_when_printed() -> None:
    page = render_report(_staged_plan(), {})
    # before: "3D models" and the table's header at the foot of the Gantt's page in
    # report.pdf (vt0-c15-all page 11), the rows on the next
    assert '<section id="models" class="page-break">' in page
    css = resources.files("twinsep.report").joinpath("templates/report.css").read_text("utf-8")
    printed = css[css.index("@media print") :]
    assert "tr, li { page-break-inside: avoid; }" in printed
