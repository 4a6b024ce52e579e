"""Twin assignment (stage ``twins``): owner of every tissue voxel, twin A/B rule."""

from __future__ import annotations

from twinsep.twins.assign import assign_twins
from twinsep.twins.params import TwinParams
from twinsep.twins.result import TwinAssignment

__all__ = ["TwinAssignment", "TwinParams", "assign_twins"]
