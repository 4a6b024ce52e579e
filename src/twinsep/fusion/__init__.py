"""Fusion analysis: craniopagus classification, bridge geometry and shared structures.

``analyse_fusion(labels, twins, params=FusionParams()) -> FusionAnalysis``; the plan
stage is ``twinsep.fusion.stage.STAGE``. See ``docs/separation.md``.
"""

from twinsep.fusion.analysis import Bridge, FusionAnalysis, analyse_fusion
from twinsep.fusion.axes import TwinFrame, twin_frame
from twinsep.fusion.params import FusionParams
from twinsep.fusion.shared import SharedInventory, SinusCrossing
from twinsep.fusion.surface import InterfaceMesh, interface_area_mm2, interface_mesh

__all__ = [
    "Bridge",
    "FusionAnalysis",
    "FusionParams",
    "InterfaceMesh",
    "SharedInventory",
    "SinusCrossing",
    "TwinFrame",
    "analyse_fusion",
    "interface_area_mm2",
    "interface_mesh",
    "twin_frame",
]
