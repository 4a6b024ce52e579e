"""Masks per twin x structure -> named, coloured meshes in world mm."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from twinsep.labels import BONE, BRAIN, CSF, TWIN_A, TWIN_B, VESSEL, shade
from twinsep.models.params import ModelParams
from twinsep.models.surface import Mesh, extract_surface
from twinsep.models.thickness import WallCheck, thicken
from twinsep.volume import Volume

logger = logging.getLogger(__name__)

__all__ = ["STRUCTURES", "PartMesh", "structure_mask", "twin_structure_meshes", "stage_meshes"]

#: Structures modelled per twin, in scene order.
STRUCTURES: tuple[str, ...] = ("skin", "bone", "brain", "vessel", "csf")

#: Colour factor per structure applied to the twin's code colour (labels.shade): vessels
#: darker (issue 7), CSF lighter so that the twin colour is still recognisable.
SHADE: dict[str, float] = {"skin": 1.0, "bone": 1.35, "brain": 1.15, "vessel": 0.55, "csf": 1.6}


@dataclass(frozen=True, eq=False)
class PartMesh:
    """A mesh and the facts of its label mask.

    Parameters
    ----------
    mesh : Mesh
        Surface in world RAS mm.
    label_volume_ml : float
        Volume of the voxels it was made from (before thickening), mL.
    wall : WallCheck or None
        Thickness check (None when not checked).
    """

    mesh: Mesh
    label_volume_ml: float
    wall: WallCheck | None


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill internal cavities (background not connected to the border)."""
    import cc3d

    padded = np.pad(~mask, 1, constant_values=True)
    comp = cc3d.connected_components(padded.astype(np.uint8), connectivity=6)
    outside = comp == comp[0, 0, 0]
    return ~outside[1:-1, 1:-1, 1:-1]


def structure_mask(labels: np.ndarray, twins: np.ndarray, twin: int, structure: str) -> np.ndarray:
    """Boolean mask of one twin's structure.

    ``skin`` is the twin's whole head (every tissue label, cavities filled): its surface
    is the skin. The others are the tissue labels of DESIGN.md.
    """
    own = twins == twin
    if structure == "skin":
        return _fill_holes(own & (labels > 0))
    code = {"bone": BONE, "brain": BRAIN, "vessel": VESSEL, "csf": CSF}[structure]
    return own & (labels == code)


def _crop_box(mask: np.ndarray, margin: int) -> tuple[slice, slice, slice] | None:
    objs = ndimage.find_objects(mask.astype(np.uint8))
    if not objs or objs[0] is None:
        return None
    box = objs[0]
    return tuple(
        slice(max(0, s.start - margin), min(n, s.stop + margin))
        for s, n in zip(box, mask.shape, strict=True)
    )  # type: ignore[return-value]


def _shift_affine(affine: np.ndarray, start: tuple[int, int, int]) -> np.ndarray:
    out = affine.copy()
    out[:3, 3] = affine[:3, :3] @ np.asarray(start, dtype=np.float64) + affine[:3, 3]
    return out


def mesh_part(
    mask: np.ndarray,
    volume: Volume,
    *,
    name: str,
    twin: str | None,
    structure: str,
    colour: str,
    face_budget: int,
    params: ModelParams,
    min_wall_mm: float | None,
) -> PartMesh | None:
    """Crop, optionally thicken, and mesh one mask (None when the mask is empty)."""
    spacing = volume.spacing_mm
    margin = 2 + (int(np.ceil((min_wall_mm or 0.0) / min(spacing))) if min_wall_mm else 0)
    box = _crop_box(mask, margin)
    if box is None:
        return None
    crop = np.asarray(mask[box], dtype=bool)
    label_ml = float(crop.sum()) * volume.voxel_volume_mm3 / 1000.0
    wall = None
    if min_wall_mm:
        crop, wall = thicken(crop, spacing, min_wall_mm)
    aff = _shift_affine(volume.affine, (box[0].start, box[1].start, box[2].start))
    v, f = extract_surface(crop, aff, face_budget=face_budget, params=params.mesh)
    mesh = Mesh(v, f, name=name, twin=twin, structure=structure, colour=colour)
    return PartMesh(mesh, label_ml, wall)


def twin_structure_meshes(
    labels: Volume,
    twins: Volume,
    *,
    colours: dict[str, str],
    params: ModelParams = ModelParams(),
    thicken_walls: bool = True,
) -> list[PartMesh]:
    """One mesh per twin x structure (empty structures are skipped).

    Parameters
    ----------
    labels, twins : Volume
        Tissue labels (0..5) and twin ownership (0..2) on the same grid.
    colours : dict
        ``{"A": "#RRGGBB", "B": "#RRGGBB"}``.
    params : ModelParams
        Budgets, smoothing, wall thickness.
    thicken_walls : bool
        Enforce ``params.print.min_wall_mm`` before meshing (print-ready meshes).
    """
    lab = np.asarray(labels.array)
    tw = np.asarray(twins.array)
    structures = [s for s in STRUCTURES if s != "csf" or params.include_csf]
    budgets = _scaled_budgets(params, structures)
    out: list[PartMesh] = []
    for twin_val in (TWIN_A, TWIN_B):
        tname = "A" if twin_val == TWIN_A else "B"
        for structure in structures:
            mask = structure_mask(lab, tw, twin_val, structure)
            part = mesh_part(
                mask,
                labels,
                name=f"{tname}/{structure}",
                twin=tname,
                structure=structure,
                colour=shade(colours[tname], SHADE[structure]),
                face_budget=budgets[structure],
                params=params,
                min_wall_mm=params.print.min_wall_mm if thicken_walls else None,
            )
            if part is not None and part.mesh.n_faces:
                out.append(part)
    return out


def _scaled_budgets(params: ModelParams, structures: list[str]) -> dict[str, int]:
    budgets = {s: int(params.face_budgets.get(s, 20_000)) for s in structures}
    total = 2 * sum(budgets.values())
    # keep room for separation meshes (up to 6 stages) and reconstruction parts
    room = params.scene_face_budget - 6 * params.separation_face_budget - 40_000
    if total > room > 0:
        k = room / total
        budgets = {s: max(1000, int(b * k)) for s, b in budgets.items()}
    return budgets


def stage_meshes(cut: Volume, *, params: ModelParams = ModelParams()) -> list[Mesh]:
    """One mesh per separation stage: the surface of the cut voxels of that stage.

    The cut is one or two voxels thick, so its mesh is a thin closed slab along the
    planned separation surface (shown grey-white, named ``separation/stageN``).
    """
    arr = np.asarray(cut.array)
    out: list[Mesh] = []
    for s in sorted(int(v) for v in np.unique(arr) if v > 0):
        mask = arr == s
        box = _crop_box(mask, 2)
        if box is None:
            continue
        aff = _shift_affine(cut.affine, (box[0].start, box[1].start, box[2].start))
        v, f = extract_surface(
            mask[box], aff, face_budget=params.separation_face_budget, params=params.mesh
        )
        if f.shape[0]:
            colour = shade("#E6E6E6", 1.0 - 0.08 * ((s - 1) % 5))
            out.append(
                Mesh(v, f, name=f"separation/stage{s}", structure="separation", colour=colour)
            )
    return out
