"""The pipeline: which stages run, in which order.

Each stage module exposes a function building its :class:`twinsep.plan.Stage`; this
list is the single place where the order is written down (DESIGN.md):

``segment -> twins -> fusion -> separate -> reconstruct -> blood -> models -> schedule
-> export -> ventricles -> report``

``blood`` estimates each twin's blood volume and allowable loss and flags the stages
that bleed (:mod:`twinsep.anaesthesia`); before ``schedule``, whose run sheets show it.

``export`` writes the Slicer segmentation, colour tables and DICOM-SEG; ``ventricles``
measures each twin's ventricles (it reads segment, fusion's head frames and the separate
stage's twin map, the one written as ``twins.nii.gz``; placed late so that the earlier
stages' positions stay as they were); ``report`` runs last because it shows every other
stage's result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twinsep.plan import Stage


def pipeline() -> list[Stage]:
    """All stages in order (imports are local so that ``import twinsep`` stays light)."""
    from twinsep.anaesthesia.stage import build_stage as blood_stage
    from twinsep.fusion.stage import build_stage as fusion_stage
    from twinsep.interop.stage import stage as export_stage
    from twinsep.models.stage import make_stage as models_stage
    from twinsep.reconstruct.stage import build_stage as reconstruct_stage
    from twinsep.report.stage import stage as report_stage
    from twinsep.schedule.stage import make_stage as schedule_stage
    from twinsep.segment.stage import build_stage as segment_stage
    from twinsep.separate.stage import build_stage as separate_stage
    from twinsep.twins.stage import build_stage as twins_stage
    from twinsep.ventricles.stage import build_stage as ventricles_stage

    before_models = ["segment", "twins", "fusion", "separate", "reconstruct"]
    return [
        segment_stage(),
        twins_stage(),
        fusion_stage(),
        separate_stage(),
        reconstruct_stage(),
        blood_stage(),
        models_stage(before_models),
        schedule_stage([*before_models, "models"]),
        export_stage(),
        ventricles_stage(),
        report_stage(),
    ]
