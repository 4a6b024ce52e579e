"""One expander-insertion day for the whole plan: the schedule's.

The ``reconstruct`` stage counts the insertion of new tissue expanders back from the
separation by its fills (last fill plus rest days, ``Reconstruction.expansion_days``:
the *latest* insertion the fills allow). The schedule dates the expander operation by
the stage order (:func:`twinsep.schedule.stage.operation_days`), which can put it
earlier (vertical-II: 105 days before the separation for a fill count of 70, a week
before the cranial distraction of stage 2); the fills then keep their schedule from
insertion and the expanders are held full until the separation.

Until session 29 plan.json's ``skin`` section, the report's dates and the fills' due
dates counted from the fills' 70 days while the calendar, the CSV and the Gantt put the
operation 105 days before: two dates for one event. The schedule's day is the plan's:
:func:`skin_on_schedule` re-dates the ``skin`` section from it and keeps the fills' own
count as ``latest_insertion_days_before_separation``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from twinsep.schedule.template import StageInput, preparatory_action

#: plan.json ``skin`` key of the fills' own count (the latest insertion they allow).
LATEST_KEY = "latest_insertion_days_before_separation"


def expander_operation_days(
    stages: Sequence[StageInput], days: Sequence[int]
) -> tuple[int, int] | None:
    """The expander-insertion operation among a schedule's earlier operations.

    Parameters
    ----------
    stages : sequence of StageInput
        The stage of each earlier operation (``ScheduleResult.earlier_stages``).
    days : sequence of int
        Days before the separation of each (``ScheduleResult.earlier_days``), aligned.

    Returns
    -------
    (int, int) or None
        ``(stage number, days before the separation)`` of the earliest preparatory
        operation that inserts tissue expanders; None when there is none.
    """
    found = [
        (int(d), s.number)
        for s, d in zip(stages, days, strict=False)
        if s.kind == "preparatory" and preparatory_action(s) == "tissue_expander"
    ]
    if not found:
        return None
    d, number = max(found)
    return number, d


def skin_on_schedule(skin: Mapping[str, Any] | None, days: int | None) -> dict[str, Any] | None:
    """plan.json's ``skin`` section dated from the schedule's expander operation.

    Parameters
    ----------
    skin : mapping or None
        The ``reconstruct`` stage's ``skin`` section: ``insertion_days_before_separation``
        (the fills' own count; None without new expanders), ``separation_date`` and
        ``insertion_date`` (ISO dates or None), ``expanders[].fills[]`` with ``day``
        (after insertion) and, when dated, ``due``.
    days : int or None
        Days before the separation of the schedule's expander operation
        (:func:`expander_operation_days`); None: the schedule has no such operation.

    Returns
    -------
    dict or None
        A copy of ``skin`` with ``insertion_days_before_separation`` = ``days``,
        ``latest_insertion_days_before_separation`` = the fills' own count (placed after
        it), and, with a separation date, ``insertion_date`` and each fill's ``due``
        counted from the schedule's day (fills keep their days after insertion). With no
        expander operation the count stays and is also the latest. None when there are
        no new expanders (nothing to date).
    """
    if not skin or skin.get("insertion_days_before_separation") is None:
        return None
    own = skin.get(LATEST_KEY, skin["insertion_days_before_separation"])
    plan_days = int(own if days is None else days)
    out: dict[str, Any] = {}
    for key, value in skin.items():
        if key == LATEST_KEY:
            continue
        out[key] = copy.deepcopy(value)
        if key == "insertion_days_before_separation":
            out[key] = plan_days
            out[LATEST_KEY] = own
    separation = skin.get("separation_date")
    if separation:
        insertion = date.fromisoformat(str(separation)) - timedelta(days=plan_days)
        out["insertion_date"] = insertion.isoformat()
        for e in out.get("expanders") or []:
            for f in e.get("fills") or []:
                if "due" in f:
                    day = f.get("day", round(7 * float(f.get("week", 0))))
                    f["due"] = (insertion + timedelta(days=int(day))).isoformat()
    return out
