"""Render ``report.html`` from the plan document and figures (a pure function).

The report is one self-contained HTML file: figures are embedded as data URIs, the Gantt
chart as inline SVG, the style sheet inline; it opens offline. Every number shown on the
first page carries ``data-key`` (its path in ``plan.json``) and ``data-value`` (the exact
value) so that tests, and a sceptical reader, can check it against the plan.
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from importlib import resources
from typing import Any

from jinja2 import ChainableUndefined, Environment, select_autoescape
from markupsafe import Markup

from twinsep.labels import TISSUE_COLOURS, TISSUE_NAMES
from twinsep.readout import vessel_width_text

#: Tissue name -> colour for tissue charts.
TISSUE_HEX = {TISSUE_NAMES[k]: v for k, v in TISSUE_COLOURS.items()}


def get_path(plan: Mapping[str, Any], path: str) -> Any:
    """Value at a dotted path of the plan (``"fusion.bridge_area_mm2"``); None if absent."""
    node: Any = plan
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, Sequence) and not isinstance(node, str) and part.isdigit():
            i = int(part)
            node = node[i] if i < len(node) else None
        else:
            return None
    return node


def format_number(value: Any, digits: int = 0) -> str:
    """Format a number for the page (thousands separator, fixed decimals)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return "—"
        return f"{value:,.{digits}f}"
    return str(value)


def _hours(minutes: Any) -> str:
    """Minutes as hours to one decimal (``"—"`` when not a number)."""
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)):
        return "—"
    return format_number(minutes / 60.0, 1)


def ink_on(hex_colour: str) -> str:
    """Black or white text, whichever reads better on ``hex_colour`` (``#RRGGBB``).

    WCAG relative luminance; white when its contrast ratio beats black's. A case's own
    code colours (``--colour-a/-b``) decide the badge text, not the defaults' (a purple
    twin B got the dark text meant for orange).
    """
    rgb = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255.0 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "#FFFFFF" if (1.05 / (lum + 0.05)) >= ((lum + 0.05) / 0.05) else "#1D1D1F"


#: Words for the tissue keys whose name alone is an engineer's (``separation.area_mm2``).
_TISSUE_WORDS = {
    "csf": "CSF",
    # the cut along the contact of the two brains where no dural plane was seen
    "brain_interface": "brain against brain (no dura seen)",
}


def tissue_words(key: str) -> str:
    """Words for a tissue key of ``plan.json`` (``"soft_tissue"`` -> ``"soft tissue"``,
    ``"csf"`` -> ``"CSF"``, ``"brain_interface"`` -> ``"brain against brain (no dura
    seen)"``)."""
    return _TISSUE_WORDS.get(key, key.replace("_", " "))


#: Plain headings of the warnings by the stage that wrote them (``plan.json`` prefixes
#: each warning with the stage's name, ``"segment: ..."``), in the order of the page;
#: warnings without a known prefix (the scan's loading) come first.
WARNING_GROUPS: tuple[tuple[str, str], ...] = (
    # a re-run after an update that kept the plan's results (plan.KEPT_PREFIX): first,
    # since it qualifies every number below
    ("re-run", "Results kept from the twinsep that made this plan"),
    ("", "The scan"),
    ("MR", "The MR scan"),
    ("segment", "Tissues, metal and contrast on the scan"),
    ("twins", "Which twin owns what: bodies, expanders already in place"),
    ("fusion", "The fusion and what the twins share"),
    ("separate", "The cut and its stages"),
    ("reconstruct", "Scalp and bone reconstruction"),
    ("blood", "Blood volume and blood loss"),
    ("ventricles", "Ventricles"),
    ("models", "3D models and prints"),
    ("schedule", "Operating-room schedule"),
    ("export", "Exported files"),
    ("report", "This report"),
)


#: A number of four or more digits before a unit (``24134 mm²``, ``1504 min``,
#: ``1418.3 mm²``): the stages write them bare, the report's tables with a thousands
#: separator. Coordinates, HU ranges and counts without a unit are left alone.
_BARE_NUMBER = re.compile(r"(?<![\d.,\-])(\d{4,})(\.\d+)?(?=\s(?:mm²|mm³|mm|mL|min)(?![A-Za-z]))")


def group_digits(text: str) -> str:
    """``text`` with each number of a quantity in mm, mm², mm³, mL or min grouped as the
    report's tables write it (``"24134 mm²"`` -> ``"24,134 mm²"``)."""
    return _BARE_NUMBER.sub(lambda m: f"{int(m.group(1)):,}{m.group(2) or ''}", text)


def warning_groups(warnings: Sequence[str]) -> list[tuple[str, list[str]]]:
    """The plan's warnings under plain headings, without the stage-name prefix.

    Parameters
    ----------
    warnings : sequence of str
        ``plan.json`` warnings (``"reconstruct: bone defect of twin A ..."``).

    Returns
    -------
    list of (heading, texts)
        Non-empty groups in the order of :data:`WARNING_GROUPS`; each text starts with a
        capital, groups the digits of its quantities (:func:`group_digits`) and keeps its
        order within the group. A prefix that is no stage's name
        stays in the text (the group of the scan).
    """
    known = {prefix for prefix, _ in WARNING_GROUPS if prefix}
    by_prefix: dict[str, list[str]] = {prefix: [] for prefix, _ in WARNING_GROUPS}
    for w in warnings:
        head, sep, rest = str(w).partition(": ")
        prefix, text = (head, rest) if sep and head in known else ("", str(w))
        # numbers grouped as in the tables beside them ("24134 mm²" beside "24,134")
        by_prefix[prefix].append(group_digits(text[:1].upper() + text[1:]))
    return [(title, by_prefix[prefix]) for prefix, title in WARNING_GROUPS if by_prefix[prefix]]


def shared_sinus_words(plan: Mapping[str, Any]) -> tuple[str, str]:
    """The summary's answer on the shared sinus, and what the cut does with it.

    Returns
    -------
    (answer, detail) : tuple of str
        ``answer`` is ``"yes"``, ``"no"`` or ``"not seen, not excluded"`` (a scan that
        shows no venous sinuses, or a crossing too thin to resolve: ``shared_sinus`` is
        false there, but the fusion's completeness is inferred, not seen); ``detail`` says
        why, or for a shared sinus whether the cut divides it, leaves it to one twin
        (``separation.shared_sinus_left_to``, with its mL from
        ``separation.shared_sinus_ml``), leaves its pieces to both twins (each twin's mL)
        or divides no labelled vessel ("" when the plan has no separation). When the cut
        divides vessels it says beside them what it does with the sinus
        (``separation.shared_sinus_division``: only at its edge, divided, or not among
        them) with both twins' shares of it.
    """
    shared = plan.get("shared") or {}
    fusion = plan.get("fusion") or {}
    evidence = str(fusion.get("completeness_evidence") or "")
    if not shared.get("shared_sinus"):
        if "without contrast" in evidence or "total assumed" in evidence:
            return (
                "not seen, not excluded",
                "the scan shows no venous sinuses; a CT or MR venogram must tell",
            )
        if "unresolved" in evidence:
            return (
                "not seen, not excluded",
                "the two twins' sinuses meet across a section about one voxel across",
            )
        return "no", ""
    sep = plan.get("separation")
    if not sep:
        return "yes", ""
    crossings = sep.get("vessel_crossings") or []
    if crossings:
        stages = sorted({crossing_stage(plan, c) for c in crossings} - {"—"})
        n = len(crossings)
        where = f" in stage {', '.join(stages)}" if stages else ""
        # the widest section, so that a 3 mm vein is not read as the sinus divided
        # (vt-c15-full: a 21 mL circular sinus; the cut divides one 2.8 mm vessel)
        widths = [c.get("diameter_mm") for c in crossings]
        widest = max((w for w in widths if isinstance(w, int | float)), default=None)
        size = (
            f", {'the widest ' if n > 1 else ''}{vessel_width_text(widest)} across"
            if widest is not None
            else ""
        )
        vessels = (
            f"the cut divides {n} vessel{'s' if n != 1 else ''} across the boundary{where}"
            f"{size} (see Vessel crossings)"
        )
        return "yes", _sinus_with_crossings(sep, vessels)
    owner = sep.get("shared_sinus_left_to")
    share = sep.get("shared_sinus_ml") or {}
    a_ml, b_ml = share.get("A"), share.get("B")
    if owner in ("A", "B"):
        ml = a_ml if owner == "A" else b_ml
        size = f" (all {ml:.1f} mL of its labelled lumen)" if isinstance(ml, int | float) else ""
        return "yes", (
            f"the cut divides no labelled vessel: it runs along the sinus and leaves it to "
            f"twin {owner}{size}; check on a venogram where the cut meets it"
        )
    if isinstance(a_ml, int | float) and isinstance(b_ml, int | float) and a_ml > 0 and b_ml > 0:
        return "yes", (
            f"the cut divides no labelled vessel: the sinus's pieces are divided between "
            f"them ({a_ml:.1f} mL twin A / {b_ml:.1f} mL twin B); check on a venogram where "
            "the cut meets it"
        )
    return "yes", (
        "the cut divides no labelled vessel and which twin keeps the sinus is not known: "
        "check on a venogram where the cut meets it"
    )


#: Words for ``shared.sinus_kind`` (the fusion's reading of the shared sinus).
_SINUS_KIND_WORDS = {
    "circular": "circular (a ring around the union)",
    "superior_sagittal": "superior sagittal",
}


def sinus_kind_words(plan: Mapping[str, Any]) -> str:
    """Which sinus is shared, in words (``shared.sinus_kind``: ``"circular"`` -> "circular
    (a ring around the union)", ``"superior_sagittal"`` -> "superior sagittal"); "" when
    none is shared or the kind is not known (``"separate"``, absent)."""
    shared = plan.get("shared") or {}
    kind = shared.get("sinus_kind")
    if not shared.get("shared_sinus") or not isinstance(kind, str) or kind in ("", "separate"):
        return ""
    return _SINUS_KIND_WORDS.get(kind, kind.replace("_", " "))


def _ml_words(v: float) -> str:
    # a sliver of one or two voxels rounds to "0.0 mL", which reads as nothing at all
    return "under 0.1 mL" if 0 < v < 0.05 else f"{v:.1f} mL"


def _sinus_with_crossings(sep: Mapping[str, Any], vessels: str) -> str:
    """The Shared card's sentence when the cut divides vessels: what it does with the
    shared sinus (``separation.shared_sinus_division``) and both twins' shares of it
    (``separation.shared_sinus_ml``), beside ``vessels`` (the divided vessels' words)."""
    share = sep.get("shared_sinus_ml") or {}
    a_ml, b_ml = share.get("A"), share.get("B")
    if not (isinstance(a_ml, int | float) and isinstance(b_ml, int | float)):
        return vessels  # a plan written before the shares were measured
    shares = f"twin A keeps {_ml_words(a_ml)}, twin B {_ml_words(b_ml)}"
    division = sep.get("shared_sinus_division")
    if division == "edge":
        keeper = "A" if a_ml >= b_ml else "B"
        return (
            f"the cut divides the shared sinus only at its edge: {shares}, so twin {keeper} "
            f"keeps the sinus; {vessels}; check on a venogram where the cut meets it"
        )
    if division == "divided":
        return f"{vessels}; the shared sinus is divided: {shares}"
    if division == "none":
        if a_ml > 0 and b_ml > 0:
            return (
                f"{vessels}; the shared sinus is not among them: its pieces go "
                f"{_ml_words(a_ml)} to twin A and {_ml_words(b_ml)} to twin B"
            )
        keeper, ml = ("A", a_ml) if a_ml > 0 else ("B", b_ml)
        other = "B" if keeper == "A" else "A"
        return (
            f"{vessels}; the shared sinus is not among them: twin {keeper} keeps all "
            f"{_ml_words(ml)} of it, twin {other} none"
        )
    return f"{vessels}; the shared sinus after the cut: {shares}"


def crossing_stage(plan: Mapping[str, Any], crossing: Mapping[str, Any]) -> str:
    """The stage number(s) that divide a vessel crossing, as text (``"—"`` if none).

    The separation plan names a crossing by its ``id`` in the ``structures`` of the stage
    that divides it; an explicit ``stage`` on the crossing is used when no stage names it.
    """
    cid = crossing.get("id")
    stages = (plan.get("separation") or {}).get("stages") or []
    numbers = [str(s.get("number")) for s in stages if cid and cid in (s.get("structures") or [])]
    if numbers:
        return ", ".join(numbers)
    stage = crossing.get("stage")
    return "—" if stage is None else str(stage)


def crossing_number(crossing: Mapping[str, Any], index: int) -> str:
    """The number a vessel crossing goes by, as the viewer numbers it: its ``number``,
    else the digits that end its ``id`` (``vessel-2`` -> ``"2"``, as the stages and
    warnings name it), else ``index`` (its place in the list, from 1)."""
    number = crossing.get("number")
    if isinstance(number, int) and not isinstance(number, bool):
        return str(number)
    m = re.search(r"(\d+)\s*$", str(crossing.get("id") or ""))
    return str(int(m.group(1))) if m else str(index)


def division_stages(plan: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    """(index in ``separation.stages``, stage) of the division stages that say what they
    cut by tissue (``area_mm2_by_tissue``), when there are two or more; else ``[]``
    (one division stage cuts what the whole plan cuts)."""
    stages = (plan.get("separation") or {}).get("stages") or []
    out = [
        (i, s)
        for i, s in enumerate(stages)
        if s.get("kind") == "separation" and isinstance(s.get("area_mm2_by_tissue"), Mapping)
    ]
    return out if len(out) >= 2 else []


def equipment_at_once(plan: Mapping[str, Any]) -> list[tuple[str, int]]:
    """The most of each piece of equipment the separation operation uses at one time.

    From ``schedule.tasks[]`` (``equipment`` ``{name: count}`` over ``[start_min,
    end_min)``): what must be in the room, for the OR nursing lead. Sorted by count, then
    name; ``[]`` when the schedule uses none.
    """
    tasks = (plan.get("schedule") or {}).get("tasks") or []
    events: dict[str, list[tuple[float, float]]] = {}
    for t in tasks:
        eq, start, end = t.get("equipment"), t.get("start_min"), t.get("end_min")
        if not isinstance(eq, Mapping) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in (start, end)
        ):
            continue
        for name, n in eq.items():
            if isinstance(n, int | float) and not isinstance(n, bool) and n > 0 and end > start:
                events.setdefault(str(name), []).extend([(start, n), (end, -n)])
    out = []
    for name, ev in events.items():
        # a task ending at minute m frees its equipment for one starting at m
        ev.sort(key=lambda x: (x[0], x[1]))
        now = peak = 0.0
        for _, d in ev:
            now += d
            peak = max(peak, now)
        out.append((name, int(round(peak))))
    return sorted(out, key=lambda x: (-x[1], x[0]))


def _is_expander_stage(stage: Mapping[str, Any]) -> bool:
    action = stage.get("action")
    if action:
        return action == "tissue_expander"
    return "expander" in str(stage.get("name", "")).lower()


def _fill_day(fill: Mapping[str, Any]) -> int:
    """Day after insertion of a fill (``day``; plans that give only ``week``: x 7)."""
    day = fill.get("day")
    if isinstance(day, int | float):
        return int(day)
    week = fill.get("week")
    return int(round(7 * week)) if isinstance(week, int | float) else 0


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def fill_rule_ml_per_cm2(plan: Mapping[str, Any]) -> float | None:
    """The least planned fill per cm² of scalp defect the plan was made with, mL
    (``parameters.reconstruct.expanders.fill_ml_per_cm2``, 7 after Aya et al. 2014); None
    when the plan does not record it or the rule is off (0)."""
    rule = get_path(plan, "parameters.reconstruct.expanders.fill_ml_per_cm2")
    return float(rule) if _is_number(rule) and rule > 0 else None


def _per_cm2_text(per_cm2: float, rule: float | None) -> str:
    """A fill per cm² to one decimal, or two where one would round a fill under the rule
    up to the rule ("7.0 mL per cm², under the 7")."""
    under = rule is not None and per_cm2 < rule * (1 - 1e-9)
    return (
        f"{per_cm2:.2f}"
        if under and rule is not None and round(per_cm2, 1) >= rule
        else f"{per_cm2:.1f}"
    )


def expander_fill_words(plan: Mapping[str, Any], twin: str) -> tuple[str, bool]:
    """What a twin's new expanders are filled to, per cm² of its scalp defect, in words.

    From ``skin.twins.<twin>.fill_ml_per_cm2`` (the planned fill of its new expanders per
    cm² of defect) and the planned fills (``skin.expanders[].volume_ml``) against the
    plan's fill rule (:func:`fill_rule_ml_per_cm2`). A plan whose counted gain covers the
    defect can still be filled under the rule: the report said "covered" and nothing
    of the fill, while ``skin.twins.<twin>.message`` said the fill was short.

    Returns
    -------
    (text, under) : tuple of (str, bool)
        ``text`` is "" when the twin has no new expander or the plan has no figure;
        ``under`` is True when the fill is under the rule.
    """
    per_cm2 = get_path(plan, f"skin.twins.{twin}.fill_ml_per_cm2")
    exps = [e for e in (get_path(plan, "skin.expanders") or []) if e.get("twin") == twin]
    fills = [e.get("volume_ml") for e in exps]
    if not exps or not _is_number(per_cm2) or not all(_is_number(v) for v in fills):
        return "", False
    rule = fill_rule_ml_per_cm2(plan)
    under = rule is not None and per_cm2 < rule * (1 - 1e-9)
    n = len(exps)
    text = (
        f"its new expander{'s are' if n != 1 else ' is'} filled to {sum(fills):,.0f} mL, "
        f"{_per_cm2_text(per_cm2, rule)} mL per cm² of defect"
    )
    if rule is None:
        return text, False
    if under:
        return (
            f"{text}: under the {rule:g} mL per cm² below which scalp expansions needed "
            "revision more often (Aya et al. 2014)",
            True,
        )
    return f"{text} (at least {rule:g} asked, Aya et al. 2014)", False


def expander_dates_note(plan: Mapping[str, Any]) -> str:
    """The new expanders' calendar dates, when the plan was given ``--separation-date``
    ("" otherwise, or without new expanders).

    From ``skin.separation_date``, ``skin.insertion_date`` and the fills' ``due`` dates
    (the page gave none of them: a plan made with a date read as one without). Where
    the schedule puts the expanders' operation on another day before the separation
    than the skin plan counts from (``schedule.earlier_operations[].days_before_separation``
    of the expander stage against ``skin.insertion_days_before_separation``), it says
    that the dates move with the operation, as the schedule's warning does (a plan
    written before session 29: since then the schedule dates ``skin`` from its own day
    and keeps the fills' count as ``skin.latest_insertion_days_before_separation``,
    said here when it differs).
    """
    skin = plan.get("skin") or {}
    separation, insertion = skin.get("separation_date"), skin.get("insertion_date")
    exps = skin.get("expanders") or []
    if not separation or not insertion or not exps:
        return ""
    dues = sorted(str(f["due"]) for e in exps for f in e.get("fills") or [] if f.get("due"))
    lead = skin.get("insertion_days_before_separation")
    latest = skin.get("latest_insertion_days_before_separation")
    when = f"{format_number(lead)} days before" if _is_number(lead) else ""
    if when and _is_number(latest) and latest != lead:
        when += (
            ", the day of the expanders' operation in the schedule; the fills alone allow "
            f"up to {format_number(latest)} days before"
        )
    text = (
        f"Dated from the separation on {separation} (--separation-date): the new expanders "
        f"go in on {insertion}" + (f" ({when})" if when else "")
    )
    if dues and dues[-1] != insertion:
        text += f", the last fill is due on {dues[-1]}"
    text += "; each fill's date is in plan.json (skin.expanders, fills, due)."
    stages = (plan.get("separation") or {}).get("stages") or []
    exp_stages = {s.get("number") for s in stages if _is_expander_stage(s)}
    ops = ((plan.get("schedule") or {}).get("earlier_operations")) or []
    op = next((o for o in ops if o.get("stage") in exp_stages), None)
    days = op.get("days_before_separation") if op else None
    if op is not None and _is_number(days) and _is_number(lead) and days != lead:
        text += (
            f" The schedule puts the expanders' operation (stage {op.get('stage')}) "
            f"{format_number(days)} days before the separation, not {format_number(lead)}: "
            "move these dates with it."
        )
    return text


def operation_date(plan: Mapping[str, Any], days_before: Any) -> str:
    """The calendar date (``YYYY-MM-DD``) of an operation ``days_before`` the separation,
    when the plan was given ``--separation-date`` (``options.separation_date``); ""
    otherwise. The same date as ``schedule.ics`` gives the operation (until 2026-11-28 the
    page gave the earlier operations' days before the separation only, the calendar
    their dates).
    """
    text = (plan.get("options") or {}).get("separation_date")
    if not text or not _is_number(days_before):
        return ""
    try:
        day = date.fromisoformat(str(text)) - timedelta(days=int(days_before))
    except ValueError:
        return ""
    return day.isoformat()


def expander_stage_note(plan: Mapping[str, Any], stage: Mapping[str, Any]) -> str:
    """What the plan's own skin plan says about an expander stage, in words ("" else).

    The stage's rationale is written before the expanders are planned; the fills (day 0
    at insertion, then weekly), the day of the operation and each twin's counted gain
    against its defect come from ``skin`` and ``schedule`` (vertical-II 128's rationale
    said "filled weekly for about 10-14 weeks ... grow skin to close both heads" while
    its fills ran 9 weeks and twin A was 7,739 mm² short).
    """
    skin = plan.get("skin") or {}
    if not _is_expander_stage(stage) or not skin:
        return ""
    exps = skin.get("expanders") or []
    parts: list[str] = []
    if exps:
        fill_days = [_fill_day(f) for e in exps for f in e.get("fills") or []]
        last_day = max(fill_days, default=0)
        n_fills = max(len(e.get("fills") or []) for e in exps)
        later = sorted(set(fill_days) - {0})
        when = (
            f"then weekly from day {later[0]} to day {last_day} (week {last_day / 7:.0f})"
            if later
            else "no later fill"
        )
        text = (
            f"This plan: {len(exps)} new expander{'s' if len(exps) != 1 else ''}, filled at "
            f"insertion and {when}, up to {n_fills} fills each"
        )
        ops = ((plan.get("schedule") or {}).get("earlier_operations")) or []
        op = next((o for o in ops if o.get("stage") == stage.get("number")), None)
        days = op.get("days_before_separation") if op else None
        if isinstance(days, int | float):
            text += (
                f"; inserted {days:.0f} days before the separation operation, the last fill "
                f"{days - last_day:.0f} days before it"
            )
        parts.append(text + ".")
    else:
        parts.append("This plan places no new expander.")
    twins = skin.get("twins") or {}
    cover = []
    for name in sorted(twins):
        t = twins[name]
        defect, got = t.get("defect_area_mm2"), t.get("realised_gain_mm2")
        if defect is None or got is None:
            continue
        short = t.get("shortfall_mm2") or 0
        head = (
            f"twin {name} {format_number(got)} mm² of skin gain counted for a "
            f"{format_number(defect)} mm² defect"
        )
        if short > 0:
            cover.append(f"{head}: short by {format_number(short)} mm²")
        elif got >= defect:
            # a cover whose fill is under the rule is not "covered" alone
            rule = fill_rule_ml_per_cm2(plan)
            if expander_fill_words(plan, name)[1] and rule is not None:
                cover.append(
                    f"{head}: covered by the gain, but filled to only "
                    f"{_per_cm2_text(t['fill_ml_per_cm2'], rule)} mL per cm² of defect, under the "
                    f"{rule:g} mL per cm² of the fill rule (Aya et al. 2014)"
                )
            else:
                cover.append(f"{head}: covered")
        else:
            cover.append(f"{head}: short by {format_number(defect - got)} mm²")
    if cover:
        parts.append("Skin: " + "; ".join(cover) + ".")
    return " ".join(parts)


def division_operations_note(plan: Mapping[str, Any]) -> str:
    """How the schedule places the division steps, in words ("" with one or none).

    With the earlier division operations of the schedule: which stages' divisions are
    operations of their own (by stage number) and how many days before the separation;
    a plan scheduled before they were (no ``kind`` on its earlier operations) put every
    division step in one operation.
    """
    stages = (plan.get("separation") or {}).get("stages") or []
    n_div = sum(1 for s in stages if s.get("kind") == "separation")
    schedule = plan.get("schedule")
    if n_div < 2 or not schedule:
        return ""
    ops = schedule.get("earlier_operations") or []
    divs = [o for o in ops if o.get("kind") == "division"]
    if not any("kind" in o for o in ops) and not divs:
        return "the schedule places all division steps in one operation"
    if not divs:
        return ""
    days = ", ".join(f"{format_number(o.get('days_before_separation'))}" for o in divs)
    numbers = [o.get("stage") for o in divs]
    last = max((s.get("number") for s in stages if s.get("kind") == "separation"), default=None)
    if all(isinstance(n, int) for n in numbers) and isinstance(last, int):
        # named by stage number, as the stage table, the calendar and the Gantt name them
        steps = f"the division of stage {numbers[0]}"
        if len(numbers) > 1:
            steps = (
                "the divisions of stages "
                + ", ".join(str(n) for n in numbers[:-1])
                + f" and {numbers[-1]}"
            )
        final = f"the last, stage {last}, is in the separation operation"
    else:  # a plan written before its earlier operations named their stage
        steps = "division step 1" if len(divs) == 1 else f"division steps 1-{len(divs)}"
        final = "the last is in the separation operation"
    return (
        f"{steps} {'is an operation' if len(divs) == 1 else 'are operations'} of "
        f"{'its' if len(divs) == 1 else 'their'} own, {days} days before the separation; "
        f"{final}"
    )


def _parameter_text(value: Any) -> str:
    """A parameter's value in words and numbers, never a Python repr (``None`` ->
    ``"none"``, ``True`` -> ``"yes"``, 1/3 -> ``"0.333333"``, ``[-3.0, 12.0]`` ->
    ``"-3, 12"``, a mapping -> ``"key value · key value"``)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Mapping):
        return " · ".join(f"{k} {_parameter_text(v)}" for k, v in value.items()) or "none"
    if isinstance(value, (list, tuple)):
        parts = [
            f"({_parameter_text(v)})" if isinstance(v, (list, tuple)) else _parameter_text(v)
            for v in value
        ]
        return ", ".join(parts) or "none"
    return str(value)


def parameter_rows(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """One stage's ``plan.json`` parameters as (name, value) rows for the report.

    Nested settings are flattened to dotted names (``tissues.smooth_sigma_mm``), a list
    of settings (the expander catalogue) gives one row per entry (``catalogue[0]``), and
    every value is text from :func:`_parameter_text` (the Methods section showed nested
    settings as Python dict reprs, ``{'smooth_sigma_mm': 0.6, ...}``, with floats such
    as 0.333333333333333).
    """
    rows: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            rows += parameter_rows(value, f"{name}.")
        elif (
            isinstance(value, (list, tuple))
            and value
            and all(isinstance(v, Mapping) for v in value)
        ):
            rows += [(f"{name}[{i}]", _parameter_text(v)) for i, v in enumerate(value)]
        else:
            rows.append((name, _parameter_text(value)))
    return rows


def _make_env(plan: Mapping[str, Any]) -> Environment:
    env = Environment(
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def num(path: str, digits: int = 0, unit: str = "") -> Markup:
        value = get_path(plan, path)
        text = format_number(value, digits)
        raw = "" if value is None else html.escape(str(value), quote=True)
        # a degree sign follows its number ("12°"); other units after a no-break space
        gap = "" if unit == "°" else "&nbsp;"
        unit_html = f"{gap}{html.escape(unit)}" if unit and value is not None else ""
        return Markup(
            f'<span class="num" data-key="{html.escape(path)}" data-value="{raw}" '
            f'data-digits="{digits}">{html.escape(text)}</span>{unit_html}'
        )

    def width(path: str) -> Markup:
        # a vessel's width as every output writes it (whole mm, twinsep.readout); the
        # measured value (0.1 mm) stays in data-value
        value = get_path(plan, path)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        shown = vessel_width_text(value).removesuffix(" mm") if ok else "—"
        raw = "" if value is None else html.escape(str(value), quote=True)
        return Markup(
            f'<span class="num" data-key="{html.escape(path)}" data-value="{raw}">'
            f"{html.escape(shown)}</span>"
        )

    def text(path: str) -> Markup:
        value = get_path(plan, path)
        shown = format_number(value)
        raw = "" if value is None else html.escape(str(value), quote=True)
        return Markup(
            f'<span class="val" data-key="{html.escape(path)}" data-value="{raw}">'
            f"{html.escape(shown)}</span>"
        )

    env.globals.update(
        crossing_stage=lambda c: crossing_stage(plan, c),
        crossing_number=crossing_number,
        equipment_at_once=lambda: equipment_at_once(plan),
        division_stages=lambda: division_stages(plan),
        expander_note=lambda s: expander_stage_note(plan, s),
        fill_words=lambda twin: expander_fill_words(plan, twin),
        group_digits=group_digits,
        expander_dates=lambda: expander_dates_note(plan),
        op_date=lambda days: operation_date(plan, days),
        division_note=lambda: division_operations_note(plan),
        tissue_words=tissue_words,
        parameter_rows=parameter_rows,
        warning_groups=warning_groups,
        sinus_words=lambda: shared_sinus_words(plan),
        sinus_kind_words=lambda: sinus_kind_words(plan),
        hours=lambda path: _hours(get_path(plan, path)),
        ink=ink_on,
        num=num,
        width=width,
        text=text,
        get=lambda p: get_path(plan, p),
        fmt=format_number,
        tissue_hex=TISSUE_HEX,
    )
    return env


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for embedding a PNG."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def sanitize_svg(svg: str) -> str:
    """Drop the XML prolog/doctype and any script from an SVG before inlining it."""
    svg = re.sub(r"<\?xml[^>]*\?>", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>", "", svg, flags=re.IGNORECASE)
    svg = re.sub(r"<script\b.*?</script>", "", svg, flags=re.IGNORECASE | re.DOTALL)
    svg = re.sub(r"\son\w+\s*=\s*\"[^\"]*\"", "", svg)
    return svg.strip()


def render_report(
    plan: Mapping[str, Any],
    figures: Mapping[str, bytes],
    *,
    gantt_svg: str | None = None,
    skin_svg: str | None = None,
) -> str:
    """Render the report HTML.

    Parameters
    ----------
    plan : mapping
        The ``plan.json`` document (schema ``twinsep.plan/1``); sections that a plan does
        not have are shown as "not computed".
    figures : mapping of str to bytes
        PNG figures by name (``three_view_skin``, ``three_view_bone``, ``slices``,
        ``stages``, ``cut_area``, ``fill_calendar``); missing ones are left out.
    gantt_svg : str, optional
        The schedule's Gantt chart as SVG text.
    skin_svg : str, optional
        The reconstruct stage's expander placement map as SVG text.

    Returns
    -------
    str
        A complete, self-contained HTML document.
    """
    env = _make_env(plan)
    template = env.from_string(
        resources.files("twinsep.report").joinpath("templates/report.html.j2").read_text("utf-8")
    )
    css = resources.files("twinsep.report").joinpath("templates/report.css").read_text("utf-8")
    return template.render(
        plan=plan,
        css=Markup(css),
        figures={k: png_data_uri(v) for k, v in figures.items()},
        gantt_svg=Markup(sanitize_svg(gantt_svg)) if gantt_svg else None,
        skin_svg=Markup(sanitize_svg(skin_svg)) if skin_svg else None,
        colours=plan.get("colours", {}),
    )
