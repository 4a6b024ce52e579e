"""Separation surface (graph min-cut) and staged separation plan.

``plan_separation(labels, twins, fusion, ...) -> SeparationPlan``; the plan stage is
``twinsep.separate.stage.STAGE``. See ``docs/separation.md``.
"""

from twinsep.separate.crossings import VesselCrossing, vessel_crossings
from twinsep.separate.mincut import CutResult, min_cut_twins, verify_separation
from twinsep.separate.params import CutCosts, CutParams, RiskParams, SeparateParams, StagingParams
from twinsep.separate.plan import SeparationPlan, plan_separation
from twinsep.separate.staging import PlannedStage, load_stage_file, propose_stages

__all__ = [
    "CutCosts",
    "CutParams",
    "CutResult",
    "PlannedStage",
    "RiskParams",
    "SeparateParams",
    "SeparationPlan",
    "StagingParams",
    "VesselCrossing",
    "load_stage_file",
    "min_cut_twins",
    "verify_separation",
    "plan_separation",
    "propose_stages",
    "vessel_crossings",
]
