"""The ``segment`` stage: CT (or MR) -> ``labels.nii.gz``."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twinsep.labels import VESSEL
from twinsep.segment.ct import segment_ct
from twinsep.segment.params import MRParams, SegmentParams
from twinsep.segment.result import TissueLabels
from twinsep.segment.thick import ThickSliceParams, thick_slice_warnings

#: gzip level of ``labels.nii.gz`` (1 fast .. 9 small); output stays byte-reproducible.
LABELS_GZIP_LEVEL = 3


@dataclass(frozen=True)
class SegmentStageParams:
    """Parameters of the ``segment`` stage (recorded in ``plan.json`` ``parameters``
    under ``segment``, and part of the stage's cache key).

    Attributes
    ----------
    tissues : SegmentParams
        The tissue rules of a CT, and the ones an MR alone shares with it.
    mr : MRParams
        MR alone, and the CT <-> MR registration and fusion of ``--mr``.
    thick : ThickSliceParams
        When a CT's grid is called too coarse (the stage's warnings only).
    """

    tissues: SegmentParams = field(default_factory=SegmentParams)
    mr: MRParams = field(default_factory=MRParams)
    thick: ThickSliceParams = field(default_factory=ThickSliceParams)


def _run(ctx: Any) -> TissueLabels:
    from twinsep.plan import names_patient, records_names, scan_display_name
    from twinsep.segment.mr import fuse_mr, segment_mr_t1

    stage_params: SegmentStageParams = ctx.params
    params = stage_params.tissues
    scan = ctx.scan
    vol = scan.volume
    name = scan_display_name(
        scan.info.path,
        names_patient=scan.info.path_names_patient or names_patient(ctx.mr, scan.info.path),
        keep_phi=records_names(ctx.options),
    )
    vol = type(vol)(vol.array, vol.affine, {**vol.meta, "source": name})
    if ctx.options.segmentation_path is not None:
        ctx.progress(0.05, "reading the user's segmentation")
        return _from_user(ctx, vol)
    ctx.progress(0.05, "tissues")
    if scan.info.modality == "MR":
        result = segment_mr_t1(vol, params=params, mr_params=stage_params.mr)
    else:
        result = segment_ct(vol, params=params)
        mr = ctx.mr
        if mr is not None:
            ctx.progress(0.6, "registering MR")
            mvol = mr.volume
            mr_name = scan_display_name(
                mr.info.path,
                names_patient=mr.info.path_names_patient or names_patient(scan, mr.info.path),
                keep_phi=records_names(ctx.options),
                what="MR",
            )
            mvol = type(mvol)(mvol.array, mvol.affine, {**mvol.meta, "source": mr_name})
            result = fuse_mr(result, vol, mvol, params=stage_params.mr)
    for w in result.warnings:
        ctx.warn(w)
    if scan.info.modality != "MR":
        thickness = vol.meta.get("slice_thickness_mm")  # DICOM SliceThickness, across k
        for w in thick_slice_warnings(
            vol.spacing_mm,
            contrast=result.contrast,
            slice_thickness_mm=None if thickness is None else float(thickness),
            params=stage_params.thick,
        ):
            ctx.warn(w)
    return result


def _from_user(ctx: Any, vol: Any) -> TissueLabels:
    """The user's tissue map as the stage's result (``--segmentation``): nothing is
    computed from the scan. Vessels count as visible (``contrast``) when the map holds
    any: the CT's own contrast call reads the sinuses inside the skull cavity, i.e. most
    of the segmentation, and a user who keeps or paints sinuses has seen them. No metal
    slices are known (their search is part of the segmentation)."""
    from twinsep.segment.ct import tissue_volumes_ml

    edited = ctx.edited
    labels = type(vol)(edited.labels, vol.affine.copy(), {"source": edited.files[0].name})
    for w in edited.warnings:
        ctx.warn(w)
    return TissueLabels(
        labels=labels,
        contrast=bool(np.any(edited.labels == VESSEL)),
        hu_thresholds={},
        modality=ctx.scan.info.modality,
        tissue_ml=tissue_volumes_ml(labels),
        source="user",
    )


def _write(result: TissueLabels, ctx: Any, out_dir: Path) -> dict[str, Any]:
    from twinsep.io import save_volume
    from twinsep.plan import defer_write

    # gzip level 3: 0.22 s instead of 0.57 s CPU on a 512x512x400 label map, 1.8 MB
    # instead of 1.1 MB (label maps are long runs; the higher levels buy little);
    # written on the plan's writer thread while the next stages run (1-2 s there)
    defer_write(
        ctx,
        functools.partial(
            save_volume,
            result.labels,
            out_dir / "labels.nii.gz",
            compress_level=LABELS_GZIP_LEVEL,
        ),
    )
    section: dict[str, Any] = {
        "modality": result.modality,
        "contrast": result.contrast,
        "thresholds": result.hu_thresholds,
        "tissue_ml": result.tissue_ml,
    }
    if result.registration_mi is not None:
        section["registration_mattes_mi"] = round(result.registration_mi, 4)
    if result.registration is not None:
        section["registration"] = result.registration
    if result.source == "user":
        # what the user's segmentation supplied (input.segmentation names the file)
        section["source"] = "user"
    return {"segmentation": section}


def build_stage(params: SegmentStageParams | None = None) -> Any:
    """The ``segment`` :class:`twinsep.plan.Stage`.

    Parameters
    ----------
    params : SegmentStageParams, optional
        The stage's parameters (default: every field's default).
    """
    from twinsep.plan import Stage

    return Stage(
        name="segment",
        run=_run,
        write=_write,
        depends=(),
        uses=("scan", "mr", "segmentation_path", "twin_map_path"),
        params=params or SegmentStageParams(),
    )
