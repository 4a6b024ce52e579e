"""Find the two heads of a craniopagus in a tissue label map."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twinsep import labels as L
from twinsep.errors import AnatomyError
from twinsep.segment import morph
from twinsep.twins.params import TwinParams

INTRACRANIAL = (L.BRAIN, L.CSF, L.VESSEL)


@dataclass(frozen=True)
class HeadCores:
    """Two deep cores of the cranial cavity, one per head, on a coarse grid.

    Attributes
    ----------
    core_a, core_b : ndarray of bool
        Core voxels of the first and second head (coarse grid).
    depth_mm : float
        Deepest point of the cavity (mm from its wall).
    fraction : float
        Fraction of ``depth_mm`` at which the cavity split into two cores.
    """

    core_a: np.ndarray
    core_b: np.ndarray
    depth_mm: float
    fraction: float


def check_touching(
    tissue_c: np.ndarray, ic_c: np.ndarray, vx_ml: float, params: TwinParams, src: str
) -> None:
    """Refuse two heads that do not touch (two separate bodies each with a cavity)."""
    lab, sizes = morph.component_sizes(tissue_c)
    heads = 0
    for i in np.argsort(sizes)[::-1][:4]:
        piece = lab == (i + 1)
        if float((ic_c & piece).sum()) * vx_ml >= params.min_head_ml:
            heads += 1
    if heads >= 2:
        raise AnatomyError(
            src,
            "shows two heads that do not touch: these are not craniopagus twins "
            "(nothing to separate); plan each child on its own",
        )


def find_head_cores(
    ic_c: np.ndarray, csp: morph.Spacing, params: TwinParams, src: str
) -> HeadCores:
    """Split the cranial cavity into two deep cores by thresholding its depth map.

    Raises
    ------
    AnatomyError
        If the cavity is one head (no second deep core) or is missing.
    """
    vx_ml = float(np.prod(csp)) / 1000.0
    if float(ic_c.sum()) * vx_ml < params.min_head_ml:
        raise AnatomyError(
            src,
            f"has no cranial cavity of at least {params.min_head_ml:.0f} mL: no head was found",
        )
    depth = morph.distance_mm(ic_c, csp)
    dmax = float(depth.max())
    for frac in params.core_fractions:
        cores = depth > frac * dmax
        lab, sizes = morph.component_sizes(cores)
        if sizes.size < 2:
            continue
        peak = np.zeros(sizes.size + 1, np.float32)
        np.maximum.at(peak, lab[cores], depth[cores])
        order = np.argsort(peak[1:])[::-1] + 1
        a, b = int(order[0]), int(order[1])
        if peak[b] < params.second_head_min_depth * peak[a]:
            continue
        ca = np.argwhere(lab == a).mean(axis=0) * np.asarray(csp)
        cb = np.argwhere(lab == b).mean(axis=0) * np.asarray(csp)
        if np.linalg.norm(ca - cb) < params.min_head_separation * dmax:
            continue
        return HeadCores(core_a=lab == a, core_b=lab == b, depth_mm=dmax, fraction=frac)
    raise AnatomyError(
        src,
        "shows a single head (one cranial cavity, no second head joined to it); "
        "twinsep plans craniopagus twins only",
    )
