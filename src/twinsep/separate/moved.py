"""Tissue that the separation surface moves from one twin to the other.

The ``twins`` stage gives every tissue voxel an owner; the ``separate`` stage then moves
the boundary inside the bridge onto the minimum-cost separation surface and writes the
refined map as ``twins.nii.gz``. The per-twin volumes in ``plan.json`` must describe that
final map (the models and the report are made from it), so the ``separate`` stage
corrects the ``twins`` stage's volumes by what the cut moved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twinsep import labels as L


@dataclass(frozen=True)
class MovedTissue:
    """What the separation surface moved between the twins.

    Attributes
    ----------
    net_ml : dict
        ``{"A": {tissue: mL}, "B": {...}}`` over the tissue names of
        :data:`twinsep.labels.TISSUE_NAMES`: the net change of each twin's volumes,
        positive where the twin gained tissue.
    a_to_b_ml, b_to_a_ml : float
        Tissue that went from twin A to twin B, and back, mL.
    """

    net_ml: dict[str, dict[str, float]]
    a_to_b_ml: float
    b_to_a_ml: float


def moved_tissue_ml(
    labels: np.ndarray, before: np.ndarray, after: np.ndarray, voxel_mm3: float
) -> MovedTissue:
    """What changed owner from ``before`` to ``after`` (unrounded mL).

    Parameters
    ----------
    labels : ndarray of uint8
        Tissue labels (``twinsep.labels``), the grid of both twin maps.
    before, after : ndarray of uint8
        Twin maps (0 background, 1 twin A, 2 twin B) before and after the cut.
    voxel_mm3 : float
        Volume of one voxel, mm^3.

    Returns
    -------
    MovedTissue
    """
    if labels.shape != before.shape or before.shape != after.shape:
        raise ValueError(f"grids differ: {labels.shape}, {before.shape}, {after.shape}")
    idx = np.flatnonzero(before != after)
    lab = labels.ravel()[idx]
    old = before.ravel()[idx]
    new = after.ravel()[idx]
    ml = float(voxel_mm3) / 1000.0
    tissue = lab != L.BACKGROUND
    net: dict[str, dict[str, float]] = {}
    for t, name in L.TWIN_NAMES.items():
        gained = np.bincount(lab[new == t], minlength=256)
        lost = np.bincount(lab[old == t], minlength=256)
        net[name] = {tn: float(gained[v] - lost[v]) * ml for v, tn in L.TISSUE_NAMES.items()}
    a_to_b = int(np.count_nonzero(tissue & (old == L.TWIN_A) & (new == L.TWIN_B)))
    b_to_a = int(np.count_nonzero(tissue & (old == L.TWIN_B) & (new == L.TWIN_A)))
    return MovedTissue(net_ml=net, a_to_b_ml=a_to_b * ml, b_to_a_ml=b_to_a * ml)


def corrected_twins_section(
    section: dict[str, dict], moved: dict[str, dict[str, float]]
) -> dict[str, dict]:
    """The ``twins`` section of ``plan.json`` with ``volume_ml`` and ``tissue_ml`` (and
    ``head_volume_ml`` / ``head_tissue_ml`` when present: the cut lies in the heads)
    moved by ``moved`` (:attr:`MovedTissue.net_ml`); other keys unchanged, values rounded
    to 0.001 mL.
    """
    out: dict[str, dict] = {}
    for name, entry in section.items():
        delta = moved.get(name, {})
        new = dict(entry)
        # the whole twin, and the head when it is reported apart (the cut runs through
        # the heads' bridge: what it moved is head tissue)
        for tissue_key, volume_key, always in (
            ("tissue_ml", "volume_ml", True),
            ("head_tissue_ml", "head_volume_ml", False),
        ):
            if not always and tissue_key not in entry:
                continue
            tissue = dict(entry.get(tissue_key) or {})
            for tn, d in delta.items():
                if tn in tissue:
                    tissue[tn] = round(max(float(tissue[tn]) + d, 0.0), 3)
            new[tissue_key] = tissue
            if volume_key in entry:
                gained = sum(d for tn, d in delta.items() if tn in tissue)
                new[volume_key] = round(float(entry[volume_key]) + gained, 3)
        out[name] = new
    return out
