"""Masks per twin x structure -> named, coloured meshes in world mm."""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from twinsep.labels import BONE, BRAIN, CSF, TWIN_A, TWIN_B, VESSEL, shade
from twinsep.models.params import ModelParams
from twinsep.models.pieces import DroppedPieces, drop_loose_pieces
from twinsep.models.surface import Mesh, bounding_box, drop_small_pieces, extract_surface
from twinsep.models.thickness import WallCheck, thicken
from twinsep.volume import Volume

logger = logging.getLogger(__name__)

__all__ = [
    "STRUCTURES",
    "PartMesh",
    "bounding_box",
    "mesh_part",
    "structure_mask",
    "twin_structure_meshes",
    "stage_meshes",
]

#: Structures modelled per twin, in scene order.
STRUCTURES: tuple[str, ...] = ("skin", "bone", "brain", "vessel", "csf")
#: Order in which parts are meshed (not the scene order): the costliest first, as
#: measured on the 512x512x400 case of issue 10 (CSF and bone sheets, then skin, brain,
#: vessels).
_COST_RANK: dict[str, int] = {"csf": 0, "bone": 1, "skin": 2, "brain": 3, "vessel": 4}

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
    dropped : DroppedPieces
        Loose pieces left out (:func:`twinsep.models.pieces.drop_loose_pieces`).
    """

    mesh: Mesh
    label_volume_ml: float
    wall: WallCheck | None
    dropped: DroppedPieces = DroppedPieces()


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill internal cavities (background not connected to the border)."""
    from twinsep.segment.morph import label_components

    padded = np.pad(~mask, 1, constant_values=True)
    comp = label_components(padded.view(np.uint8), 6)[0]
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
    return own & (labels == _CODES[structure])


_CODES: dict[str, int] = {"bone": BONE, "brain": BRAIN, "vessel": VESSEL, "csf": CSF}


def _shift_affine(affine: np.ndarray, start: tuple[int, int, int]) -> np.ndarray:
    out = np.array(affine, dtype=np.float64, copy=True)
    out[:3, 3] = affine[:3, :3] @ np.asarray(start, dtype=np.float64) + affine[:3, 3]
    return out


def _starts(box: tuple[slice, slice, slice]) -> tuple[int, int, int]:
    return (int(box[0].start), int(box[1].start), int(box[2].start))


def _mesh_crop(
    crop: np.ndarray,
    affine: np.ndarray,
    spacing_mm: tuple[float, float, float],
    *,
    name: str,
    twin: str | None,
    structure: str,
    colour: str,
    face_budget: int,
    params: ModelParams,
    min_wall_mm: float | None,
) -> PartMesh:
    """Optionally thicken, then mesh one cropped mask (with its background margin)."""
    vox_ml = float(np.prod(spacing_mm)) / 1000.0
    label_ml = float(np.count_nonzero(crop)) * vox_ml
    wall = None
    if min_wall_mm:
        crop, wall = thicken(
            crop,
            spacing_mm,
            min_wall_mm,
            bump_tolerance_vx=params.print.bump_tolerance_vx,
            threads=params.threads,
        )
    mesh_params = params.mesh
    if structure in params.thin_structures:
        mesh_params = dataclasses.replace(
            mesh_params,
            smoothing_iterations=mesh_params.thin_smoothing_iterations,
            smoothing_passband=mesh_params.thin_smoothing_passband,
        )
    v, f = extract_surface(
        crop,
        affine,
        face_budget=face_budget,
        params=mesh_params,
        max_block_mm=params.print.min_wall_mm,
    )
    # pieces (and voids) smaller than a cube of the minimum wall cannot be printed: lone
    # voxels became octahedra of 0.06-0.3 mm^3 and decimation left tetrahedra of under
    # 1 mm^3 (real-vertical A_csf.stl: 26 of its 52 pieces), loose specks in a print
    v, f = drop_small_pieces(v, f, params.print.min_wall_mm**3, keep_voids=False)
    # and islands a segmentation leaves beside a structure, loose beads in the tray
    # (real-ct-angular A_brain.stl: 31 pieces of 2-350 mm^3); counted in the print report
    v, f, dropped = drop_loose_pieces(
        v, f, min_ml=params.print.min_piece_ml, min_fraction=params.print.min_piece_fraction
    )
    if dropped.count:
        logger.info(
            "%s: %d loose pieces (%.2f mL) left out", name, dropped.count, dropped.volume_ml
        )
    mesh = Mesh(v, f, name=name, twin=twin, structure=structure, colour=colour)
    return PartMesh(mesh, label_ml, wall, dropped)


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
    margin = _margin(spacing, min_wall_mm)
    box = bounding_box(mask, margin)
    if box is None:
        return None
    crop = np.asarray(mask[box], dtype=bool)
    aff = _shift_affine(volume.affine, _starts(box))
    return _mesh_crop(
        crop,
        aff,
        spacing,
        name=name,
        twin=twin,
        structure=structure,
        colour=colour,
        face_budget=face_budget,
        params=params,
        min_wall_mm=min_wall_mm,
    )


def _margin(spacing_mm: tuple[float, float, float], min_wall_mm: float | None) -> int:
    """Background voxels kept around a crop: room for the iso-surface and the thickening."""
    return 2 + (int(np.ceil((min_wall_mm or 0.0) / min(spacing_mm))) + 1 if min_wall_mm else 0)


def twin_structure_meshes(
    labels: Volume,
    twins: Volume,
    *,
    colours: dict[str, str],
    params: ModelParams = ModelParams(),
    thicken_walls: bool = True,
) -> list[PartMesh]:
    """One mesh per twin x structure (empty structures are skipped).

    Work is confined to each twin's bounding box and then to each structure's box.

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
    t0 = time.perf_counter()
    lab = np.asarray(labels.array)
    tw = np.asarray(twins.array)
    spacing = labels.spacing_mm
    structures = [s for s in STRUCTURES if s != "csf" or params.include_csf]
    budgets = _scaled_budgets(params, structures)
    min_wall = params.print.min_wall_mm if thicken_walls else None
    margin = _margin(spacing, min_wall)
    tbox = bounding_box(lab > 0, margin)
    if tbox is None:
        return []
    lab_t = lab[tbox]
    tw_t = tw[tbox]

    def twin_codes(twin_val: int) -> tuple[tuple[slice, slice, slice], np.ndarray] | None:
        """The twin's box in the label grid and its tissue labels there (0 elsewhere)."""
        sel = tw_t == twin_val
        sel &= lab_t > 0
        inner = bounding_box(sel, margin)
        del sel
        if inner is None:
            return None
        box = tuple(
            slice(t.start + b.start, t.start + b.stop) for t, b in zip(tbox, inner, strict=True)
        )
        codes = np.where(tw[box] == twin_val, lab[box], np.uint8(0)).astype(np.uint8, copy=False)
        return box, codes  # type: ignore[return-value]

    # The parts are independent and their work is mostly in C code that releases the GIL
    # (numpy, VTK filters, fast-simplification): two at a time on two cores (issue 10).
    # ``map`` keeps the scene order, and each part's result does not depend on the other.
    threads = max(1, int(params.threads))
    with ThreadPoolExecutor(max_workers=threads) as pool:
        run = map if threads == 1 else pool.map
        prepared = list(run(twin_codes, (TWIN_A, TWIN_B)))
        jobs: list[Callable[[], PartMesh | None]] = []
        kinds: list[str] = []
        for twin_val, prep in zip((TWIN_A, TWIN_B), prepared, strict=True):
            if prep is None:
                continue
            box, codes = prep
            tname = "A" if twin_val == TWIN_A else "B"
            for structure in structures:
                kinds.append(structure)
                jobs.append(
                    functools.partial(
                        _twin_part,
                        codes,
                        box,
                        labels.affine,
                        spacing,
                        tname=tname,
                        structure=structure,
                        colour=shade(colours[tname], SHADE[structure]),
                        face_budget=budgets[structure],
                        params=params,
                        min_wall_mm=min_wall,
                        margin=margin,
                    )
                )
        # Longest first (thin, convoluted sheets cost most to decimate), so that the two
        # workers finish together; the results go back to the scene order.
        order = sorted(
            range(len(jobs)), key=lambda i: (_COST_RANK.get(kinds[i], len(_COST_RANK)), i)
        )
        done = list(run(lambda i: jobs[i](), order))
        results: list[PartMesh | None] = [None] * len(jobs)
        for i, part in zip(order, done, strict=True):
            results[i] = part
    out = [p for p in results if p is not None and p.mesh.n_faces]
    logger.debug("twin x structure meshes in %.2f s", time.perf_counter() - t0)
    return out


def _twin_part(
    codes: np.ndarray,
    box: tuple[slice, slice, slice],
    affine: np.ndarray,
    spacing_mm: tuple[float, float, float],
    *,
    tname: str,
    structure: str,
    colour: str,
    face_budget: int,
    params: ModelParams,
    min_wall_mm: float | None,
    margin: int,
) -> PartMesh | None:
    """Mask, crop and mesh one structure of one twin (``codes``: the twin's tissue labels
    in its box ``box`` of the label grid, 0 elsewhere); None when the structure is empty."""
    if structure == "skin":
        mask = _fill_holes(codes > 0)
    else:
        mask = codes == _CODES[structure]
    sbox = bounding_box(mask, margin)
    if sbox is None:
        return None
    start = tuple(b.start + s.start for b, s in zip(box, sbox, strict=True))
    return _mesh_crop(
        mask[sbox],
        _shift_affine(affine, start),  # type: ignore[arg-type]
        spacing_mm,
        name=f"{tname}/{structure}",
        twin=tname,
        structure=structure,
        colour=colour,
        face_budget=face_budget,
        params=params,
        min_wall_mm=min_wall_mm,
    )


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
    outer = bounding_box(arr > 0, 2)
    if outer is None:
        return []
    sub = arr[outer]
    out: list[Mesh] = []
    boxes = ndimage.find_objects(sub)
    for s, sbox in enumerate(boxes, start=1):
        if sbox is None:
            continue
        box = tuple(
            slice(max(0, b.start - 2), min(n, b.stop + 2))
            for b, n in zip(sbox, sub.shape, strict=True)
        )
        mask = sub[box] == s
        start = tuple(o.start + b.start for o, b in zip(outer, box, strict=True))
        aff = _shift_affine(cut.affine, start)  # type: ignore[arg-type]
        v, f = extract_surface(
            mask, aff, face_budget=params.separation_face_budget, params=params.mesh
        )
        if f.shape[0]:
            colour = shade("#E6E6E6", 1.0 - 0.08 * ((s - 1) % 5))
            out.append(
                Mesh(v, f, name=f"separation/stage{s}", structure="separation", colour=colour)
            )
    return out
