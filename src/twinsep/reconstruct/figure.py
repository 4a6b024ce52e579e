"""The ``skin_plan`` figure: each twin's scalp seen from the wound, with its expanders.

Rendering is a pure function returning SVG text; the stage writes it. Orthographic view
along each twin's wound normal (world mm): the wound outline, the bone rim, available
scalp (light twin colour), excluded skin (grey), expander footprints (twin colour,
labelled ``A1``...) and fill valves. Colour is never the only cue: every element has a
text label or legend entry.
"""

from __future__ import annotations

import io
import logging

import numpy as np

from twinsep.labels import shade

logger = logging.getLogger(__name__)

_MAX_POINTS = 15000


def _basis(normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = normal / np.linalg.norm(normal)
    ref = np.array([0.0, 0.0, 1.0]) if abs(n[2]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(ref, n)
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(n, e1)


def skin_plan_svg(result: object, colours: dict[str, str]) -> str:
    """SVG text of the skin plan of both twins.

    Parameters
    ----------
    result : Reconstruction
        Result of :func:`twinsep.reconstruct.stage.reconstruct`.
    colours : dict
        ``{"A": "#RRGGBB", "B": "#RRGGBB"}`` twin code colours.
    """
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure

    defects = result.defects  # type: ignore[attr-defined]
    skin = result.skin  # type: ignore[attr-defined]
    names = sorted(defects)
    fig = Figure(figsize=(5.5 * len(names), 5.8))
    FigureCanvasSVG(fig)
    rng = np.random.default_rng(0)
    for k, name in enumerate(names):
        ax = fig.add_subplot(1, len(names), k + 1)
        d = defects[name]
        col = colours.get(name, "#777777")
        e1, e2 = _basis(d.defect_normal)
        c = d.defect_centroid_mm
        pts = d.skin.points_mm
        facing = (pts - d.brain_centre_mm) @ d.defect_normal > -10.0
        idx = np.flatnonzero(facing)
        if len(idx) > _MAX_POINTS:
            idx = np.sort(rng.choice(idx, _MAX_POINTS, replace=False))
        p = pts[idx] - c
        avail = d.available[idx]
        ax.scatter(
            p[~avail] @ e1,
            p[~avail] @ e2,
            s=1,
            c="#BBBBBB",
            rasterized=True,
            label="not expandable",
        )
        ax.scatter(
            p[avail] @ e1,
            p[avail] @ e2,
            s=1,
            c=shade(col, 1.6),
            rasterized=True,
            label="available scalp",
        )
        for loop, style, lab in (
            (d.scalp_outline_mm, "-", "scalp defect"),
            (d.bone_rim_mm, "--", "bone rim"),
        ):
            if len(loop) > 2:
                q = np.vstack([loop, loop[:1]]) - c
                ax.plot(q @ e1, q @ e2, style, color="black", lw=1.2, label=lab)
        for e in skin[name].expanders:
            v = e.vertices_mm - c
            xy = np.stack([v @ e1, v @ e2], axis=1)
            tris = PolyCollection(xy[e.faces], facecolors=col, edgecolors="none", alpha=0.8)
            tris.set_rasterized(True)
            ax.add_collection(tris)
            m = e.centre_mm - c
            ax.annotate(
                e.label,
                (m @ e1, m @ e2),
                ha="center",
                va="center",
                fontsize=9,
                color="white",
                fontweight="bold",
                bbox={"boxstyle": "round,pad=0.2", "fc": shade(col, 0.7), "ec": "none"},
            )
            w = e.valve_mm - c
            ax.plot([w @ e1], [w @ e2], marker="o", mfc="white", mec=col, ms=6)
        plan = skin[name]
        ax.set_title(
            f"Twin {name}: defect {plan.defect_area_mm2 / 100:.0f} cm², "
            f"{len(plan.expanders)} expander(s)\n{plan.message}",
            fontsize=8,
            wrap=True,
        )
        ax.set_xlabel("mm (view along the wound normal)")
        ax.set_ylabel("mm")
        ax.set_aspect("equal")
        ax.legend(loc="lower right", fontsize=7, markerscale=5, framealpha=0.8)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    return buf.getvalue()
