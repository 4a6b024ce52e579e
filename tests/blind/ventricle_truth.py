"""Truth ventricle indices of a phantom3 / clinical head from the generator's own geometry.

Not blind (it applies twinsep's own definitions): the generator's implicit skull (the
cranial cavity is where ``skull_distance + bone thickness < 0``, phantom3's inner table)
and its ventricles (phantom3's lateral, third and fourth ventricle ellipsoids, as listed in
``phantom3._Head`` under "ventricles", scaled by ``ventricle_scale``, plus the clinical
layer's hydrocephalus ellipsoids of ``clinical.ClinicalOverlay._hydrocephalus``) are
sampled on a 0.5 mm grid of the head's local frame (x right, y front, z up) and measured
with :func:`twinsep.ventricles.measure.measure_twin` and the exact frame. What the plan
measures from the CT differs from this by the segmentation and the fusion's frame only.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from blind.phantom3 import _ell, _Pair
from twinsep.fusion.axes import TwinFrame
from twinsep.ventricles.measure import VentricleMeasure, VentricleParams, measure_twin
from twinsep.volume import Volume

# phantom3._Head's ventricle ellipsoids (template mm): (centre, radii); the lateral
# ones for each side sx = -1, +1, their x radii scaled by ventricle_scale
_LATERAL = (
    ((8.0, -4.0, 14.0), (3.5, 22.0, 4.0)),
    ((10.0, 18.0, 9.0), (3.5, 8.0, 5.0)),
    ((15.0, -28.0, 4.0), (3.5, 10.0, 5.0)),
    ((25.0, -6.0, -12.0), (2.5, 11.0, 3.0)),
)
# clinical hydrocephalus: centre (+-15, -2, 9), radii (12, 32, 13), times the head scale
_HYDRO = ((15.0, -2.0, 9.0), (12.0, 32.0, 13.0))


def head_truth(case: Any, head: int, *, hydro: bool, step_mm: float = 0.5) -> VentricleMeasure:
    """Ventricle measure of head ``head`` (0 or 1) of phantom3 ``case`` on exact geometry."""
    pair = _Pair(replace(case))
    h = pair.heads[head]
    s = h.s
    axes = [
        np.arange(-62 * s, 62 * s, step_mm),
        np.arange(-72 * s, 72 * s, step_mm),
        np.arange(-45 * s, 45 * s, step_mm),
    ]
    shape = tuple(len(a) for a in axes)
    g = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    _, bone, _ = h.thicknesses(g)
    cavity = (h.skull_distance(g) + bone) < 0
    t = g / s
    vs = h.p.ventricle_scale
    d = np.full(len(g), np.inf)
    for sx in (-1.0, 1.0):
        for (cx, cy, cz), r in _LATERAL:
            d = np.minimum(d, _ell(t, (sx * cx, cy, cz), tuple(v * vs for v in r)))
    d = np.minimum(d, _ell(t, (0, 2, 0), (1.5 * vs, 11, 7)))
    d = np.minimum(d, _ell(t, (0, -30, -30), (3 * vs, 3.5, 5)))
    vent = d < 0
    if hydro:
        (cx, cy, cz), r = _HYDRO
        for sx in (-1.0, 1.0):
            c = np.array([sx * cx, cy, cz]) * s
            vent |= (((g - c) / (np.array(r) * s)) ** 2).sum(1) < 1
    vent &= cavity
    affine = np.diag([step_mm, step_mm, step_mm, 1.0])
    affine[:3, 3] = [a[0] for a in axes]
    frame = TwinFrame(
        "A",
        np.zeros(3),
        np.array([0.0, 0.0, 1.0]),
        np.array([0.0, 1.0, 0.0]),
        np.zeros(3),
        np.zeros(3),
        1.0,
        1.0,
        1.0,
    )
    return measure_twin(
        "A",
        vent.reshape(shape),
        cavity.reshape(shape),
        np.zeros(shape, bool),
        Volume(np.zeros(shape, np.uint8), affine),
        frame,
        VentricleParams(),
    )
