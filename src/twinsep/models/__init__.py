"""Colour-coded 3D models, print-ready parts and the split conjoined doll (issue 7).

Modules: :mod:`~twinsep.models.surface` (mask -> mesh), :mod:`~twinsep.models.thickness`
(minimum wall), :mod:`~twinsep.models.build` (twin x structure meshes),
:mod:`~twinsep.models.doll` (split doll, pins), :mod:`~twinsep.models.guide` (cutting guide),
:mod:`~twinsep.models.export` (STL/OBJ/PLY/3MF/GLB), :mod:`~twinsep.models.stage`
(the ``models`` plan stage).
"""

from __future__ import annotations

from twinsep.models.params import DollParams, MeshParams, ModelParams, PrintParams
from twinsep.models.stage import ModelSet, build_models, make_stage, print_report, write_models
from twinsep.models.surface import Mesh, extract_surface

__all__ = [
    "DollParams",
    "Mesh",
    "MeshParams",
    "ModelParams",
    "ModelSet",
    "PrintParams",
    "build_models",
    "extract_surface",
    "make_stage",
    "print_report",
    "write_models",
]
