"""The ``segment`` stage: CT (or MR) -> ``labels.nii.gz``."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from twinsep.segment.ct import segment_ct
from twinsep.segment.params import MRParams, SegmentParams
from twinsep.segment.result import TissueLabels
from twinsep.segment.thick import thick_slice_warnings

#: gzip level of ``labels.nii.gz`` (1 fast .. 9 small); output stays byte-reproducible.
LABELS_GZIP_LEVEL = 3


def _run(ctx: Any) -> TissueLabels:
    from twinsep.plan import scan_display_name
    from twinsep.segment.mr import fuse_mr, segment_mr_t1

    params: SegmentParams = ctx.params
    scan = ctx.scan
    vol = scan.volume
    name = scan_display_name(
        scan.info.path, names_patient=scan.info.path_names_patient, keep_phi=ctx.options.keep_phi
    )
    vol = type(vol)(vol.array, vol.affine, {**vol.meta, "source": name})
    ctx.progress(0.05, "tissues")
    if scan.info.modality == "MR":
        result = segment_mr_t1(vol, params=params, mr_params=MRParams())
    else:
        result = segment_ct(vol, params=params)
        mr = ctx.mr
        if mr is not None:
            ctx.progress(0.6, "registering MR")
            mvol = mr.volume
            mr_name = scan_display_name(
                mr.info.path,
                names_patient=mr.info.path_names_patient,
                keep_phi=ctx.options.keep_phi,
            )
            mvol = type(mvol)(mvol.array, mvol.affine, {**mvol.meta, "source": mr_name})
            result = fuse_mr(result, vol, mvol, params=MRParams())
    for w in result.warnings:
        ctx.warn(w)
    if scan.info.modality != "MR":
        for w in thick_slice_warnings(vol.spacing_mm, contrast=result.contrast):
            ctx.warn(w)
    return result


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
    return {"segmentation": section}


def build_stage() -> Any:
    """The ``segment`` :class:`twinsep.plan.Stage`."""
    from twinsep.plan import Stage

    return Stage(
        name="segment",
        run=_run,
        write=_write,
        depends=(),
        uses=("scan", "mr"),
        params=SegmentParams(),
    )
