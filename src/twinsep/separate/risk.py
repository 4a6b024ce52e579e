"""Relative risk score of a staged separation plan (formula in docs/separation.md).

``risk = sum_t w_t * A_t / 100  +  sum_c v * (d_c / d_ref)^2 * n_c``

* ``A_t``: cut area of tissue ``t`` in mm^2 (divided by 100: cm^2), ``w_t`` points per
  cm^2 (:class:`RiskParams.per_cm2`);
* for every divided venous segment ``c``: ``d_c`` its diameter (mm), ``d_ref`` the
  reference sinus diameter, ``v`` points per reference segment and ``n_c`` the number of
  venous segments divided in the same stage as ``c`` (dividing several at once removes
  more drainage at once, which staging avoids).

It compares plans for the same twins (more stages, a detour around a sinus); it is not a
probability of death or complication.
"""

from __future__ import annotations

from collections import Counter

from twinsep.separate.crossings import VesselCrossing
from twinsep.separate.params import RiskParams
from twinsep.separate.staging import PlannedStage


def risk_score(
    area_mm2_by_tissue: dict[str, float],
    crossings: list[VesselCrossing],
    stages: list[PlannedStage],
    *,
    params: RiskParams = RiskParams(),
) -> float:
    """Relative risk score (unitless, higher = riskier); see the module docstring."""
    tissue = sum(params.per_cm2.get(t, 0.0) * a / 100.0 for t, a in area_mm2_by_tissue.items())
    stage_of: dict[str, int] = {}
    for s in stages:
        if s.kind == "separation":
            for x in s.structures:
                stage_of[x] = s.number
    per_stage = Counter(stage_of.get(c.id, 0) for c in crossings)
    venous = 0.0
    for c in crossings:
        n_same = per_stage[stage_of.get(c.id, 0)]
        venous += (
            params.venous_per_segment * (c.diameter_mm / params.reference_diameter_mm) ** 2 * n_same
        )
    return round(tissue + venous, 2)
