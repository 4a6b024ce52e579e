"""Virtual mock surgery: apply the plan's cut stage by stage and check what still connects.

The plan folder holds ``labels.nii.gz`` (tissue), ``twins.nii.gz`` (ownership) and
``separation.nii.gz`` (stage number on every voxel of the cut). After each stage the
voxels cut so far are removed from the tissue and the rest is examined:

* the **divided** structures are the tissue contacts between twin A and twin B that
  existed before the stage and are gone after it (area in mm^2, per tissue);
* the **remaining connections** are the A-B voxel faces still in contact (area per
  tissue, with where they are), and the connected components (``cc3d``, 6-connectivity:
  voxels touching only along an edge or a corner share no tissue) that hold voxels of
  both twins.

The twins are proven separated when no component holds both twins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twinsep.errors import ConfigError, InputError
from twinsep.labels import TISSUE_NAMES, TWIN_A, TWIN_B
from twinsep.models.surface import bounding_box
from twinsep.volume import Volume

logger = logging.getLogger(__name__)

__all__ = ["Bridge", "StepState", "Rehearsal", "contacts", "apply_stages"]


@dataclass(frozen=True)
class Bridge:
    """Tissue still joining the twins.

    Parameters
    ----------
    tissue : str
        ``bone``, ``vessel``... or ``bone+vessel`` when the two touching voxels differ.
    area_mm2 : float
        Area of A-B voxel faces in contact, mm^2.
    centre_mm : (x, y, z)
        Centroid of the contact faces, world RAS mm.
    """

    tissue: str
    area_mm2: float
    centre_mm: tuple[float, float, float]


@dataclass(frozen=True)
class StepState:
    """The state after one stage.

    Parameters
    ----------
    index : int
        1-based position in the rehearsed order.
    number : int
        Stage number of the plan.
    name : str
        Stage name.
    kind : str
        ``preparatory`` or ``separation``.
    cut_voxels : int
        Voxels of this stage's cut.
    divided_mm2 : dict
        Tissue contact area (mm^2) divided by this stage, per tissue.
    bridges : list of Bridge
        Connections left after this stage.
    joined_components : int
        Connected components holding tissue of both twins (0 = separated).
    separated : bool
        No component holds both twins.
    picture : str or None
        PNG of the state, relative to the plan folder.
    """

    index: int
    number: int
    name: str
    kind: str
    cut_voxels: int
    divided_mm2: dict[str, float]
    bridges: list[Bridge]
    joined_components: int
    separated: bool
    picture: str | None = None


@dataclass(frozen=True)
class Rehearsal:
    """Outcome of a rehearsal (also the return type of :func:`twinsep.rehearse.rehearse_plan`).

    Parameters
    ----------
    order : list of int
        Stage numbers in the order rehearsed.
    planned : list of int
        Stage numbers of the plan, in plan order.
    steps : list of StepState
    initial_bridges : list of Bridge
        Connections before any cut.
    problems : list of str
        Plain-words findings: stages missing, order changed, still connected at the end.
    """

    order: list[int]
    planned: list[int]
    steps: list[StepState]
    initial_bridges: list[Bridge]
    problems: list[str] = field(default_factory=list)

    @property
    def separated(self) -> bool:
        """True when the last stage leaves no tissue joining the twins."""
        if self.steps:
            return self.steps[-1].separated
        return not self.initial_bridges

    def to_json(self) -> dict[str, Any]:
        """JSON-ready summary (units in key names)."""

        def br(b: Bridge) -> dict[str, Any]:
            return {
                "tissue": b.tissue,
                "area_mm2": round(b.area_mm2, 2),
                "centre_mm": [round(c, 1) for c in b.centre_mm],
            }

        return {
            "separated": self.separated,
            "order": list(self.order),
            "planned": list(self.planned),
            "problems": list(self.problems),
            "initial_bridges": [br(b) for b in self.initial_bridges],
            "steps": [
                {
                    "index": s.index,
                    "number": s.number,
                    "name": s.name,
                    "kind": s.kind,
                    "cut_voxels": s.cut_voxels,
                    "divided_mm2": {k: round(v, 2) for k, v in s.divided_mm2.items()},
                    "remaining": [br(b) for b in s.bridges],
                    "remaining_area_mm2": round(sum(b.area_mm2 for b in s.bridges), 2),
                    "joined_components": s.joined_components,
                    "separated": s.separated,
                    "picture": s.picture,
                }
                for s in self.steps
            ],
        }

    def describe(self) -> str:
        """Human-readable account, one block per stage."""

        def fmt_bridges(bs: list[Bridge]) -> str:
            return ", ".join(
                f"{tissue_words(b.tissue)} {b.area_mm2:.0f} mm² at ({b.centre_mm[0]:.0f}, "
                f"{b.centre_mm[1]:.0f}, "
                f"{b.centre_mm[2]:.0f}) mm"
                for b in bs
            )

        lines = [f"Rehearsal of stages {', '.join(map(str, self.order)) or '(none)'}"]
        if self.initial_bridges:
            lines.append(f"  before: twins joined through {fmt_bridges(self.initial_bridges)}")
        for s in self.steps:
            div = (
                ", ".join(f"{tissue_words(k)} {v:.0f} mm²" for k, v in s.divided_mm2.items())
                or "nothing"
            )
            lines.append(f"  step {s.index}: stage {s.number} ({s.name}, {s.kind})")
            lines.append(f"    divided: {div}")
            if s.separated:
                lines.append("    twins fully separated")
            else:
                lines.append(
                    f"    still connected ({s.joined_components} joined component"
                    f"{'s' if s.joined_components != 1 else ''}): {fmt_bridges(s.bridges)}"
                )
            if s.picture:
                lines.append(f"    picture: {s.picture}")
        lines.append("SEPARATED" if self.separated else "NOT SEPARATED")
        lines.extend(f"  problem: {p}" for p in self.problems)
        return "\n".join(lines)


def tissue_words(key: str) -> str:
    """A contact's tissue key in words: ``soft_tissue+bone`` -> ``soft tissue against bone``.

    Parameters
    ----------
    key : str
        A key of :func:`contacts` (one tissue name, or two joined by ``+`` where twin A's
        tissue touches a different tissue of twin B's or the reverse).

    Returns
    -------
    str
        The words for the report and the rehearsal text (``csf`` as ``CSF``); the keys of
        ``rehearsal.json`` stay as they are.
    """
    names = ["CSF" if n == "csf" else n.replace("_", " ") for n in key.split("+")]
    return " against ".join(names)


def contacts(tissue_labels: np.ndarray, twins: np.ndarray, volume: Volume) -> list[Bridge]:
    """A-B voxel-face contacts per tissue (area mm^2, centroid mm), largest first.

    Parameters
    ----------
    tissue_labels : (I, J, K) uint8
        Tissue labels with removed voxels set to 0.
    twins : (I, J, K) uint8
        Ownership.
    volume : Volume
        Grid (spacing and affine).
    """
    sp = volume.spacing_mm
    face_area = (sp[1] * sp[2], sp[0] * sp[2], sp[0] * sp[1])
    area: dict[str, float] = {}
    centre: dict[str, np.ndarray] = {}
    tissue = tissue_labels > 0
    a = tissue & (twins == TWIN_A)
    b = tissue & (twins == TWIN_B)
    for axis in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis] = slice(0, -1)
        hi[axis] = slice(1, None)
        lo_t, hi_t = tuple(lo), tuple(hi)
        pair = (a[lo_t] & b[hi_t]) | (b[lo_t] & a[hi_t])
        idx = np.argwhere(pair)
        if not len(idx):
            continue
        l1 = tissue_labels[lo_t][pair]
        l2 = tissue_labels[hi_t][pair]
        mid = idx.astype(np.float64)
        mid[:, axis] += 0.5
        world = volume.world_coords(mid)
        lo_lab = np.minimum(l1, l2)
        hi_lab = np.maximum(l1, l2)
        for x, y in {(int(p), int(q)) for p, q in zip(lo_lab, hi_lab, strict=True)}:
            sel = (lo_lab == x) & (hi_lab == y)
            key = (
                TISSUE_NAMES.get(x, str(x))
                if x == y
                else (f"{TISSUE_NAMES.get(x, str(x))}+{TISSUE_NAMES.get(y, str(y))}")
            )
            n = int(sel.sum())
            area[key] = area.get(key, 0.0) + n * face_area[axis]
            centre[key] = centre.get(key, np.zeros(3)) + world[sel].sum(axis=0) * face_area[axis]
    out = [
        Bridge(k, v, tuple(float(c) for c in centre[k] / v))  # type: ignore[arg-type]
        for k, v in area.items()
    ]
    return sorted(out, key=lambda br: -br.area_mm2)


def joined_components(tissue: np.ndarray, twins: np.ndarray) -> int:
    """Number of 6-connected tissue components holding voxels of both twins."""
    from twinsep.segment.morph import label_components

    comp = label_components(tissue.astype(np.uint8), 6)[0]
    n = int(comp.max())
    if n == 0:
        return 0
    has_a = np.bincount(comp[tissue & (twins == TWIN_A)], minlength=n + 1) > 0
    has_b = np.bincount(comp[tissue & (twins == TWIN_B)], minlength=n + 1) > 0
    both = has_a & has_b
    both[0] = False
    return int(both.sum())


def _divided(before: list[Bridge], after: list[Bridge]) -> dict[str, float]:
    a = {b.tissue: b.area_mm2 for b in after}
    out = {}
    for b in before:
        d = b.area_mm2 - a.get(b.tissue, 0.0)
        if d > 1e-9:
            out[b.tissue] = d
    return out


def apply_stages(
    labels: Volume,
    twins: Volume,
    cut: Volume,
    order: list[int],
    *,
    stage_info: dict[int, dict[str, Any]] | None = None,
) -> Rehearsal:
    """Rehearse the stages ``order`` (stage numbers) on the label maps (pure).

    Parameters
    ----------
    labels, twins, cut : Volume
        Tissue labels, ownership and the stage number of each cut voxel (same grid).
    order : list of int
        Stage numbers in the order to apply.
    stage_info : dict, optional
        ``{number: {"name": ..., "kind": ...}}`` from the plan.

    Raises
    ------
    InputError
        If the three volumes are not on one grid.
    """
    for name, v in (("twins.nii.gz", twins), ("separation.nii.gz", cut)):
        if not labels.same_grid(v):
            raise InputError(name, "is not on the grid of labels.nii.gz (shape or affine differ)")
    info = stage_info or {}
    lab = np.asarray(labels.array)
    tw = np.asarray(twins.array)
    cu = np.asarray(cut.array)
    planned = sorted(info) if info else sorted(int(v) for v in np.unique(cu) if v > 0)
    # crop to the tissue (speed); geometry stays in world mm through a shifted affine
    box = bounding_box(lab > 0)
    if box is None:
        raise InputError("labels.nii.gz", "holds no tissue")
    lab = lab[box]
    tw = tw[box]
    cu = cu[box]
    aff = labels.affine.copy()
    aff[:3, 3] = labels.world_coords(np.array([s.start for s in box], dtype=np.float64))
    grid = Volume(np.zeros((1, 1, 1), np.uint8), aff)
    current = np.array(lab, copy=True)
    initial = contacts(current, tw, grid)
    before = initial
    steps: list[StepState] = []
    for i, number in enumerate(order, start=1):
        sel = cu == number
        current[sel] = 0
        after = contacts(current, tw, grid)
        joined = joined_components(current > 0, tw)
        meta = info.get(number, {})
        steps.append(
            StepState(
                index=i,
                number=int(number),
                name=str(meta.get("name") or f"stage {number}"),
                kind=str(meta.get("kind") or "separation"),
                cut_voxels=int(sel.sum()),
                divided_mm2=_divided(before, after),
                bridges=after,
                joined_components=joined,
                separated=joined == 0,
            )
        )
        before = after
    problems: list[str] = []
    missing = [n for n in planned if n not in order]
    for n in missing:
        nm = info.get(n, {}).get("name") or f"stage {n}"
        problems.append(f"stage {n} ({nm}) of the plan is missing from the rehearsed stages")
    in_plan = [n for n in order if n in planned]
    if in_plan != sorted(in_plan):
        problems.append(
            f"stages are rehearsed in the order {', '.join(map(str, order))}, "
            f"the plan's order is {', '.join(map(str, planned))}"
        )
    for s in steps[:-1]:
        if s.separated:
            problems.append(
                f"the twins are already separated after step {s.index} (stage {s.number}); "
                "later stages cut nothing that joins them"
            )
            break
    result = Rehearsal(list(order), planned, steps, initial, problems)
    if not result.separated:
        last = steps[-1].bridges if steps else initial
        where = (
            ", ".join(f"{tissue_words(b.tissue)} {b.area_mm2:.0f} mm²" for b in last) or "tissue"
        )
        problems.append(f"after the last stage the twins are still connected through {where}")
    return result


def parse_stage_file(path: Path, planned: list[int]) -> list[int]:
    """Stage numbers, in order, from a user-edited stage file (YAML).

    Accepted forms: a list of numbers; a list of mappings with ``number``; or a mapping
    with key ``stages`` holding either list.

    Raises
    ------
    ConfigError
        Unreadable YAML, an entry without a number, an unknown or repeated stage.
    """
    import yaml

    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(path, f"cannot be read as YAML ({' '.join(str(exc).split())})") from None
    if isinstance(raw, dict):
        raw = raw.get("stages")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(path, "must list the stages (a list of stage numbers or of {number: N})")
    order: list[int] = []
    for i, item in enumerate(raw, start=1):
        value = item.get("number") if isinstance(item, dict) else item
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, f"entry {i} ({item!r}) has no integer stage number")
        if value not in planned:
            raise ConfigError(
                path, f"entry {i}: stage {value} is not in the plan (stages {planned})"
            )
        if value in order:
            raise ConfigError(path, f"entry {i}: stage {value} is listed twice")
        order.append(value)
    return order
