"""Virtual rehearsal of a plan: ``twinsep rehearse DIR`` (issue 7).

:func:`rehearse_plan` reads the plan folder, applies the stages (the plan's order, or a
user-edited stage file) to the label maps with :func:`~twinsep.rehearse.core.apply_stages`,
renders one picture per stage into ``PLAN/rehearsal/`` and writes ``rehearsal.json``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from twinsep.errors import InputError
from twinsep.labels import DEFAULT_COLOUR_A, DEFAULT_COLOUR_B, TWIN_A, TWIN_B
from twinsep.models.surface import bounding_box
from twinsep.rehearse.core import Bridge, Rehearsal, StepState, apply_stages, parse_stage_file
from twinsep.volume import Volume

logger = logging.getLogger(__name__)

__all__ = [
    "Bridge",
    "Rehearsal",
    "RehearsalResult",
    "StepState",
    "rehearse_plan",
    "read_label_volume",
]

#: The result type the CLI documents.
RehearsalResult = Rehearsal

REHEARSAL_DIR = "rehearsal"


def read_label_volume(path: Path) -> Volume:
    """Read a label map of the plan folder as a uint8 :class:`Volume`
    (:func:`twinsep.io.read_label_map`).

    Raises
    ------
    InputError
        Missing or unreadable file.
    """
    from twinsep.io import read_label_map

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "is missing from the plan folder; re-run 'twinsep plan'")
    return read_label_map(path)


def _stage_info(plan: dict[str, Any]) -> dict[int, dict[str, Any]]:
    stages = (plan.get("separation") or {}).get("stages") or []
    out: dict[int, dict[str, Any]] = {}
    for s in stages:
        if isinstance(s, dict) and isinstance(s.get("number"), int):
            out[int(s["number"])] = {
                "name": s.get("name") or ", ".join(s.get("structures") or []) or None,
                "kind": s.get("kind") or "separation",
            }
    return out


def _bridge_voxels(labels: np.ndarray, twins: np.ndarray) -> np.ndarray:
    """Voxels on either side of an A-B face contact."""
    t = labels > 0
    a = t & (twins == TWIN_A)
    b = t & (twins == TWIN_B)
    out = np.zeros(labels.shape, dtype=bool)
    for axis in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis] = slice(0, -1)
        hi[axis] = slice(1, None)
        pair = (a[tuple(lo)] & b[tuple(hi)]) | (b[tuple(lo)] & a[tuple(hi)])
        out[tuple(lo)] |= pair
        out[tuple(hi)] |= pair
    return out


def rehearse_plan(
    plan_dir: Path,
    *,
    stages_path: Path | None = None,
    render: bool = True,
) -> Rehearsal:
    """Rehearse a plan stage by stage; write pictures and ``rehearsal.json``.

    Parameters
    ----------
    plan_dir : Path
        Plan folder (``plan.json``, ``labels.nii.gz``, ``twins.nii.gz``,
        ``separation.nii.gz``). Its inputs are not modified; outputs go to
        ``plan_dir/rehearsal/`` (written atomically).
    stages_path : Path, optional
        Edited stage file (YAML list of stage numbers) to rehearse instead of the plan.
    render : bool
        Write the pictures (off for quick checks).

    Returns
    -------
    Rehearsal
        ``.separated``, ``.to_json()``, ``.describe()``.

    Raises
    ------
    InputError
        Not a plan folder, missing or mismatched label maps, a bad stage file.
    """
    from twinsep.io.atomic import atomic_write_bytes, atomic_write_text
    from twinsep.plan import read_plan
    from twinsep.rehearse.render import render_state_png

    plan_dir = Path(plan_dir)
    plan = read_plan(plan_dir)
    labels = read_label_volume(plan_dir / "labels.nii.gz")
    twins = read_label_volume(plan_dir / "twins.nii.gz")
    cut = read_label_volume(plan_dir / "separation.nii.gz")
    info = _stage_info(plan)
    if not info:
        info = {int(v): {} for v in np.unique(cut.array) if v > 0}
    planned = sorted(info)
    order = parse_stage_file(stages_path, planned) if stages_path is not None else planned
    result = apply_stages(labels, twins, cut, order, stage_info=info)
    if not render:
        return result
    colours = {
        "A": (plan.get("colours") or {}).get("A", DEFAULT_COLOUR_A),
        "B": (plan.get("colours") or {}).get("B", DEFAULT_COLOUR_B),
    }
    out = plan_dir / REHEARSAL_DIR
    out.mkdir(exist_ok=True)
    lab = np.asarray(labels.array)
    box = bounding_box(lab > 0)
    if box is None:
        raise InputError("labels.nii.gz", "holds no tissue")
    lab = lab[box]
    tw = np.asarray(twins.array)[box]
    cu = np.asarray(cut.array)[box]
    aff = labels.affine.copy()
    aff[:3, 3] = labels.world_coords(np.array([s.start for s in box], dtype=np.float64))
    current = np.array(lab, copy=True)
    done = np.zeros(lab.shape, dtype=bool)
    steps: list[StepState] = []
    for s in result.steps:
        sel = cu == s.number
        current[sel] = 0
        done |= sel & (lab > 0)
        title = f"after step {s.index}: stage {s.number} ({s.name}) - " + (
            "twins separated" if s.separated else "still connected"
        )
        png = render_state_png(
            current > 0, tw, done, _bridge_voxels(current, tw), aff, colours=colours, title=title
        )
        rel = f"{REHEARSAL_DIR}/step_{s.index:02d}_stage{s.number}.png"
        atomic_write_bytes(plan_dir / rel, png)
        steps.append(dataclasses.replace(s, picture=rel))
    result = dataclasses.replace(result, steps=steps)
    atomic_write_text(out / "rehearsal.json", json.dumps(result.to_json(), indent=2) + "\n")
    atomic_write_text(out / "rehearsal.txt", result.describe() + "\n")
    return result
