"""The ``models`` plan stage: meshes, print parts, the split doll and ``scene.glb``."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twinsep.errors import InputError
from twinsep.io.atomic import atomic_write_bytes, atomic_write_text
from twinsep.labels import shade
from twinsep.models.build import PartMesh, stage_meshes, twin_structure_meshes
from twinsep.models.doll import Doll, make_doll
from twinsep.models.export import convert_coords, threemf_bytes, write_mesh, write_scene
from twinsep.models.params import ModelParams, PrintParams
from twinsep.models.surface import Mesh, decimate
from twinsep.models.thickness import describe_method
from twinsep.volume import Volume

logger = logging.getLogger(__name__)

__all__ = [
    "ModelSet",
    "build_models",
    "fit_face_budget",
    "reconstruct_meshes",
    "make_stage",
    "print_report",
]

#: Shade of the twin's code colour per planned implant (labels.shade; the viewer's
#: STRUCTURE_SHADE in viewer/src/colours.js): expanders darker than the skin,
#: cranioplasty templates paler, so scene.glb shows whose implant each is.
_RECON_SHADE = {"expander": 0.7, "template": 1.75}
#: Colour of a reconstruction mesh that names no twin.
_RECON_NEUTRAL = "#CCCCCC"


@dataclass(frozen=True, eq=False)
class ModelSet:
    """Everything the ``models`` stage made (the cached result).

    Parameters
    ----------
    parts : list of PartMesh
        One per twin x structure, print-ready (walls thickened).
    separation : list of Mesh
        One per separation stage (``separation/stageN``).
    reconstruction : list of Mesh
        Expanders and cranioplasty templates handed over by ``reconstruct``.
    doll : Doll or None
        The split doll (None when a twin has no tissue).
    params : ModelParams
    """

    parts: list[PartMesh]
    separation: list[Mesh]
    reconstruction: list[Mesh]
    doll: Doll | None
    params: ModelParams

    def scene_meshes(self) -> list[Mesh]:
        """The meshes of ``scene.glb`` in order: twins, separation, reconstruction,
        fitted to ``params.scene_face_budget`` (issue 7: <= 400 k triangles).

        Print parts keep every face they need to stay closed; when that puts the scene
        over budget (thin sheets that quadric decimation cannot reduce without opening
        them), every mesh is reduced in proportion for the screen, where a mesh need not
        be closed.
        """
        meshes = [p.mesh for p in self.parts] + list(self.separation) + list(self.reconstruction)
        return fit_face_budget(meshes, self.params.scene_face_budget)


def fit_face_budget(meshes: Sequence[Mesh], budget: int) -> list[Mesh]:
    """``meshes`` with at most about ``budget`` triangles in total: each is decimated in
    proportion (closure not required) when the total is over budget."""
    total = sum(m.n_faces for m in meshes)
    if budget <= 0 or total <= budget:
        return list(meshes)
    k = 0.98 * budget / total  # decimation lands within about 1 % of its target
    out = []
    for m in meshes:
        target = max(200, int(m.n_faces * k))
        v, f = decimate(m.vertices, m.faces, target, keep_closed=False)
        out.append(m.with_geometry(v, f))
    logger.info("scene fitted to %d triangles (was %d)", sum(m.n_faces for m in out), total)
    return out


def _as_mesh(obj: Any, name: str, twin: str | None, kind: str, colour: str) -> Mesh | None:
    verts = getattr(obj, "vertices_mm", None)
    if verts is None:
        verts = getattr(obj, "vertices", None)
    faces = getattr(obj, "faces", None)
    if verts is None or faces is None:
        return None
    v = np.asarray(verts, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3 or not len(f):
        return None
    return Mesh(v, f, name=name, twin=twin, structure=kind, colour=colour)


def reconstruct_meshes(result: Any, *, colours: dict[str, str]) -> list[Mesh]:
    """Meshes (expanders, cranioplasty templates) found on a ``reconstruct`` result.

    The contract (docs/CONTRACTS.md) says only "meshes as vertices/faces arrays in world
    mm"; this accepts objects with ``vertices``/``vertices_mm`` and ``faces`` found in
    the result's ``meshes`` (list or dict), ``expanders`` and ``templates`` attributes.

    Parameters
    ----------
    result : object
        The ``reconstruct`` stage's result.
    colours : dict
        ``{"A": hex, "B": hex}``, the twins' code colours: a twin's expander is a darker
        and its template a paler shade of it (``_RECON_SHADE``); a mesh of no twin is grey.
    """
    out: list[Mesh] = []
    meshes = getattr(result, "meshes", None)
    items: list[tuple[str, Any]] = []
    if isinstance(meshes, dict):
        items += [(str(k), v) for k, v in meshes.items()]
    elif isinstance(meshes, (list, tuple)):
        items += [(str(getattr(m, "name", f"mesh{i}")), m) for i, m in enumerate(meshes)]
    for attr, kind in (("expanders", "expander"), ("templates", "template")):
        for i, obj in enumerate(getattr(result, attr, None) or []):
            target = getattr(obj, "mesh", None) or obj
            twin = getattr(obj, "twin", None)
            items.append((f"{twin or 'shared'}/{kind}{i + 1}", target))
    for name, obj in items:
        kind = (
            "expander"
            if "expander" in name
            else ("template" if "template" in name or "cranio" in name else "reconstruction")
        )
        twin = name.split("/")[0] if name[:2] in ("A/", "B/") else None
        colour = (
            shade(colours[twin], _RECON_SHADE.get(kind, 1.0)) if twin in colours else _RECON_NEUTRAL
        )
        m = _as_mesh(obj, name, twin, kind, colour)
        if m is not None:
            out.append(m)
    return out


def build_models(
    labels: Volume,
    twins: Volume,
    *,
    cut: Volume | None = None,
    reconstruction: Sequence[Mesh] = (),
    colours: dict[str, str],
    params: ModelParams = ModelParams(),
    with_doll: bool = True,
) -> ModelSet:
    """Build every model of a plan (pure: writes nothing, modifies nothing).

    Parameters
    ----------
    labels, twins : Volume
        Tissue labels and (refined) twin ownership on one grid.
    cut : Volume or None
        Stage number on the cut voxels (``separate``), or None.
    reconstruction : sequence of Mesh
        Meshes from ``reconstruct``.
    colours : dict
        ``{"A": hex, "B": hex}``.
    params : ModelParams
    with_doll : bool
        Also make the split doll and cutting guide.
    """
    if not labels.same_grid(twins):
        raise InputError(
            "twins", "is not on the grid of the tissue labels (shape or affine differ)"
        )
    # The doll does not depend on the part meshes: it is made in a side thread while
    # the parts are meshed (issue 10; its work is numpy/scipy/VTK code that releases
    # the GIL). Results do not depend on the overlap.
    with ThreadPoolExecutor(max_workers=1) as side:
        doll_job = (
            side.submit(_doll_or_none, labels, twins, colours=colours, params=params, cut=cut)
            if with_doll
            else None
        )
        parts = twin_structure_meshes(labels, twins, colours=colours, params=params)
        seps = stage_meshes(cut, params=params) if cut is not None else []
        doll = doll_job.result() if doll_job is not None else None
    return ModelSet(parts, seps, list(reconstruction), doll, params)


def _doll_or_none(
    labels: Volume,
    twins: Volume,
    *,
    colours: dict[str, str],
    params: ModelParams,
    cut: Volume | None,
) -> Doll | None:
    """:func:`make_doll`, or None (logged) when a twin has no tissue."""
    try:
        return make_doll(
            labels,
            twins,
            colours=colours,
            params=params.doll,
            mesh_params=params.mesh,
            cut=cut,
        )
    except ValueError as exc:
        logger.warning("no doll: %s", exc)
        return None


def _part_record(mesh: Mesh, file: str, scale: float = 1.0) -> dict[str, Any]:
    b = mesh.bounds_mm() * scale
    return {
        "file": file,
        "twin": mesh.twin,
        "structure": mesh.structure,
        "name": mesh.name,
        "faces": mesh.n_faces,
        "watertight": mesh.watertight,
        "volume_ml": round(mesh.volume_ml * scale**3, 3),
        "bbox_mm": [round(float(x), 2) for x in (b[1] - b[0])],
    }


def print_report(models: ModelSet) -> list[dict[str, Any]]:
    """One row per print part: volume mL, bounding box mm, faces, watertight, walls."""
    scale = models.params.print.scale
    rows: list[dict[str, Any]] = []
    for p in models.parts:
        r = _part_record(p.mesh, f"{p.mesh.name.replace('/', '_')}.stl", scale)
        r["label_volume_ml"] = round(p.label_volume_ml, 3)
        # loose pieces left out of the part (never silently)
        r["pieces_dropped"] = p.dropped.count
        r["dropped_ml"] = round(p.dropped.volume_ml * scale**3, 3)
        r["largest_dropped_ml"] = round(p.dropped.largest_ml * scale**3, 3)
        if p.wall is not None:
            r["min_wall_mm"] = p.wall.min_wall_mm
            r["thin_voxels"] = p.wall.thin_voxels
            r["thin_voxels_after"] = p.wall.thin_voxels_after
            r["thickened_ml"] = round(p.wall.added_ml, 3)
            r["wall_tolerance_mm"] = round(p.wall.tolerance_mm, 3)
            r["wall_check"] = describe_method(p.wall)
        rows.append(r)
    if models.doll is not None:
        for m, fname in ((models.doll.part_a, "doll_A.stl"), (models.doll.part_b, "doll_B.stl")):
            rows.append(_part_record(m, fname, scale))
        if models.doll.guide is not None:
            rows.append(_part_record(models.doll.guide, "cutting_guide.stl", scale))
        for m in models.doll.after_stage:
            rows.append(_part_record(m, f"{m.name.replace('/', '_')}.stl", scale))
    return rows


def _report_markdown(rows: list[dict[str, Any]], scale: float, params: PrintParams) -> str:
    lines = [
        f"# Print report (scale 1:{1 / scale:g})"
        if scale <= 1
        else f"# Print report (scale {scale:g}:1)",
        "",
        "| file | twin | volume mL | bounding box mm | faces | watertight | thin-wall voxels "
        "(after) | thickened mL | loose pieces left out (mL) |",
        "|---|---|---:|---|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        bb = " x ".join(f"{x:.1f}" for x in r["bbox_mm"])
        thin = f"{r['thin_voxels']} ({r['thin_voxels_after']})" if "thin_voxels" in r else "-"
        loose = f"{r['pieces_dropped']} ({r['dropped_ml']:.2f})" if "pieces_dropped" in r else "-"
        lines.append(
            f"| {r['file']} | {r['twin'] or '-'} | {r['volume_ml']:.1f} | {bb} | {r['faces']} | "
            f"{'yes' if r['watertight'] else 'NO'} | {thin} | {r.get('thickened_ml', 0.0):.2f} | "
            f"{loose} |"
        )
    methods = sorted({str(r["wall_check"]) for r in rows if "wall_check" in r})
    if methods:
        lines += ["", "Wall thickness: " + "; ".join(methods) + "."]
    lines += ["", _loose_sentence(rows, params, scale)]
    lines += [
        "",
        "Doll parts and the cutting guide are not wall-checked (solid parts and a strip of "
        "fixed thickness).",
    ]
    return "\n".join(lines) + "\n"


def _loose_sentence(rows: list[dict[str, Any]], params: PrintParams, scale: float) -> str:
    """What the loose-piece rule is and what it left out, in one paragraph."""
    if params.min_piece_ml <= 0:
        rule = "Every piece of a part is printed (min_piece_ml = 0)"
    else:
        rule = (
            f"Loose pieces: a piece of a part (a separate shell) is printed when it holds at "
            f"least {params.min_piece_ml * scale**3:g} mL at this scale or "
            f"{100 * params.min_piece_fraction:g} % of the part's largest piece; smaller "
            f"ones are segmentation islands that a print turns into loose beads and are "
            f"left out"
        )
    gone = [r for r in rows if r.get("pieces_dropped")]
    if not gone:
        return rule + "; none was left out."
    n = sum(int(r["pieces_dropped"]) for r in gone)
    ml = sum(float(r["dropped_ml"]) for r in gone)
    big = max(float(r["largest_dropped_ml"]) for r in gone)
    return (
        f"{rule}: {n} pieces, {ml:.2f} mL in all, the largest {big:.2f} mL "
        f"(set ModelParams.print.min_piece_ml to 0 to print every piece)."
    )


def _rounded(values: np.ndarray, digits: int) -> list[float]:
    """Plain floats rounded to ``digits`` decimals (``-0.0`` written as ``0.0``)."""
    return [round(float(v), digits) + 0.0 for v in values]


def write_models(models: ModelSet, out_dir: Path) -> list[dict[str, Any]]:
    """Write ``models/`` (STL/OBJ/PLY per part, 3MF, doll, guide, scene.glb, report).

    The files are independent: they are rendered and written two at a time (issue 10;
    trimesh/numpy/zlib work releases the GIL), each atomically and with the same bytes
    as one at a time. The records keep their order.
    """
    folder = Path(out_dir) / "models"
    folder.mkdir(parents=True, exist_ok=True)
    coords = models.params.coords
    scale = models.params.print.scale
    jobs: list[Callable[[], Any]] = []

    def mesh_file(m: Mesh, name: str, **kw: Any) -> None:
        jobs.append(functools.partial(write_mesh, m, folder / name, coords=coords, **kw))

    def blob_file(name: str, render: Callable[[], bytes]) -> None:
        jobs.append(lambda: atomic_write_bytes(folder / name, render()))

    records: list[dict[str, Any]] = []
    for p in models.parts:
        stem = p.mesh.name.replace("/", "_")
        mesh_file(p.mesh, f"{stem}.stl", scale=scale)
        mesh_file(p.mesh, f"{stem}.obj")
        mesh_file(p.mesh, f"{stem}.ply")
        records.append(_part_record(p.mesh, f"models/{stem}.stl"))
    for m in models.separation + models.reconstruction:
        stem = m.name.replace("/", "_")
        mesh_file(m, f"{stem}.stl")
        records.append(_part_record(m, f"models/{stem}.stl"))
    printable = [p.mesh for p in models.parts]
    if printable:
        blob_file(
            "print_parts.3mf",
            functools.partial(threemf_bytes, printable, coords=coords, scale=scale),
        )
    if models.doll is not None:
        d = models.doll
        doll_meshes = [d.part_a, d.part_b] + ([d.guide] if d.guide is not None else [])
        for m, fname in zip(
            doll_meshes, ("doll_A.stl", "doll_B.stl", "cutting_guide.stl"), strict=False
        ):
            mesh_file(m, fname, scale=scale)
            records.append(_part_record(m, f"models/{fname}"))
        blob_file(
            "doll.3mf", functools.partial(threemf_bytes, doll_meshes, coords=coords, scale=scale)
        )
        for m in d.after_stage:
            fname = f"{m.name.replace('/', '_')}.stl"
            mesh_file(m, fname, scale=scale)
            records.append(_part_record(m, f"models/{fname}"))
        # in the frame and at the scale of doll_A.stl / doll_B.stl (the pins were written
        # in RAS and life size under "coords": "LPS", beside parts in LPS at the print scale)
        pins = [
            {
                "centre_mm": _rounded(
                    convert_coords(np.asarray([p.centre_mm]), coords)[0] * scale, 2
                ),
                "axis": _rounded(convert_coords(np.asarray([p.axis]), coords)[0], 4),
                "depth_mm": round(p.depth_mm * scale, 2),
            }
            for p in d.pins
        ]
        doc = {"pins": pins, "overlap_ml": d.overlap_ml, "coords": coords, "scale": scale}
        atomic_write_text(folder / "doll.json", json.dumps(doc, indent=2) + "\n")

    def scene_file() -> int:
        scene = models.scene_meshes()
        write_scene(scene, folder / "scene.glb", coords=coords)
        return sum(m.n_faces for m in scene)

    # the scene (with its budget fitting) first: it is the longest job
    jobs.insert(0, scene_file)
    with ThreadPoolExecutor(max_workers=max(1, int(models.params.threads))) as pool:
        futures = [pool.submit(job) for job in jobs]
        rows = print_report(models)
        atomic_write_text(folder / "print_report.json", json.dumps(rows, indent=2) + "\n")
        atomic_write_text(
            folder / "print_report.md", _report_markdown(rows, scale, models.params.print)
        )
        done = [f.result() for f in futures]
    records.append(
        {
            "file": "models/scene.glb",
            "twin": None,
            "structure": "scene",
            "faces": int(done[0]),
            "watertight": None,
            "volume_ml": None,
        }
    )
    return records


def _grids(ctx: Any) -> tuple[Volume, Volume, Volume | None]:
    """Labels, twins (refined by ``separate`` when it ran) and the cut (or None)."""
    labels: Volume = ctx.result("segment").labels
    twins: Volume | None = None
    cut: Volume | None = None
    if ctx.has("separate"):
        sep = ctx.result("separate")
        twins = getattr(sep, "twins", None)
        cut = getattr(sep, "cut", None)
    if twins is None:
        twins = ctx.result("twins").twins
    return labels, twins, cut


def _early(ctx: Any, *, params: ModelParams) -> Any:
    """``Stage.early``: once ``twins`` has its result, queue the part meshes after the
    min-cut in its child process; the rest starts when ``separate`` has its result
    (:mod:`twinsep.models.early`; the reconstruction meshes are added later)."""
    from twinsep.models.early import follow_cut
    from twinsep.separate.early import EarlyCut

    cut_job = getattr(ctx, "early_jobs", {}).get("separate")
    colours = {"A": ctx.options.colour_a, "B": ctx.options.colour_b}
    return follow_cut(
        cut_job.job if isinstance(cut_job, EarlyCut) else None,
        ctx.result("segment").labels,
        colours=colours,
        params=params,
    )


def _run(ctx: Any) -> ModelSet:
    from twinsep.models.early import EarlyModels

    labels, twins, cut = _grids(ctx)
    colours = {"A": ctx.options.colour_a, "B": ctx.options.colour_b}
    recon: list[Mesh] = []
    if ctx.has("reconstruct"):
        recon = reconstruct_meshes(ctx.result("reconstruct"), colours=colours)
        if not recon:
            ctx.warn(
                "the reconstruct stage handed over no meshes; expanders and templates are not modelled"
            )
    params: ModelParams = ctx.params or ModelParams()
    ctx.progress(0.1, "meshes")
    early = getattr(ctx, "early_jobs", {}).pop("models", None)
    if isinstance(early, EarlyModels) and early.params == params and early.colours == colours:
        models = early.result(labels, twins, cut, recon)
    else:
        if early is not None:
            early.cancel()
        models = build_models(
            labels, twins, cut=cut, reconstruction=recon, colours=colours, params=params
        )
    for p in models.parts:
        if not p.mesh.watertight:
            ctx.warn(f"model {p.mesh.name} is not watertight; repair it before printing")
        if p.wall is not None and p.wall.added_ml > 0.05 * max(p.label_volume_ml, 1e-9):
            ctx.warn(
                f"model {p.mesh.name}: walls thinner than {p.wall.min_wall_mm} mm were thickened "
                f"(+{p.wall.added_ml:.1f} mL, {100 * p.wall.added_ml / p.label_volume_ml:.0f} % of its volume)"
            )
    sp = labels.spacing_mm
    if models.parts and min(sp) >= params.print.min_wall_mm:
        ctx.warn(
            f"print walls could not be checked: the scan's {min(sp):.2f} mm voxels are wider "
            f"than the {params.print.min_wall_mm:g} mm minimum wall (a finer scan shows thin bone)"
        )
    if models.doll is None:
        ctx.warn("no conjoined doll was made (a twin has no tissue)")
    elif models.doll.guide is None:
        ctx.warn("no cutting guide was made: the separation surface does not reach the skin")
    if models.doll is not None and not models.doll.pins:
        ctx.warn("the doll has no alignment pins: the separation surface is too close to the skin")
    return models


def _write(result: ModelSet, ctx: Any, out_dir: Path) -> dict[str, Any]:
    return {"models": write_models(result, out_dir)}


def make_stage(available: Sequence[str] = ("segment", "twins", "separate", "reconstruct")) -> Any:
    """The ``models`` :class:`twinsep.plan.Stage`; depends on those of ``segment``,
    ``twins``, ``separate`` and ``reconstruct`` that are in ``available``."""
    from twinsep.plan import Stage

    deps = tuple(d for d in ("segment", "twins", "separate", "reconstruct") if d in available)
    params = ModelParams()
    # the parts follow the min-cut, the rest overlaps the reconstruct stage
    early = "twins" in deps and "separate" in deps and "reconstruct" in deps
    return Stage(
        name="models",
        run=_run,
        write=_write,
        depends=deps,
        uses=("colour_a", "colour_b"),
        params=params,
        early=functools.partial(_early, params=params) if early else None,
        early_after="twins" if early else "",
    )
