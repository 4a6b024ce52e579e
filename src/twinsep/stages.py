"""The pipeline: which stages run, in which order.

Each stage module exposes a function building its :class:`twinsep.plan.Stage`; this
list is the single place where the order is written down (DESIGN.md):
``segment -> twins -> fusion -> separate -> reconstruct -> models -> schedule -> report``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twinsep.plan import Stage


def pipeline() -> list[Stage]:
    """All stages in order (imports are local so that ``import twinsep`` stays light)."""
    stages: list[Stage] = []
    # segment and twins: first (everything else reads their labels)
    from twinsep.segment.stage import build_stage as segment_stage
    from twinsep.twins.stage import build_stage as twins_stage

    stages.append(segment_stage())
    stages.append(twins_stage())
    # fusion and separate: right after twins (they read segment + twins results)
    if "twins" in [s.name for s in stages]:
        from twinsep.fusion.stage import build_stage as fusion_stage
        from twinsep.separate.stage import build_stage as separate_stage

        stages.append(fusion_stage())
        stages.append(separate_stage())
    # reconstruct: after separate (expanders and bone templates from the refined twins)
    if "separate" in [s.name for s in stages]:
        from twinsep.reconstruct.stage import build_stage as reconstruct_stage

        stages.append(reconstruct_stage())
    # models: after reconstruct; needs segment and twins (separate/reconstruct optional)
    names = [s.name for s in stages]
    if "segment" in names and "twins" in names:
        from twinsep.models import make_stage as models_stage

        stages.append(models_stage(names))
    # schedule: after models; reads the separate stage's stage list when it ran
    from twinsep.schedule.stage import make_stage as schedule_stage

    stages.append(schedule_stage([s.name for s in stages]))
    return stages
