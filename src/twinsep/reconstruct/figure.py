"""The ``skin_plan`` figure: each twin's scalp unrolled in its own frame, with expanders.

Rendering is a pure function returning SVG text; the stage writes it. Each twin gets a
map of its skin seen from its brain centre: azimuth from the facial direction on the
horizontal axis (0 = face, +-180 = back of the head, positive toward the twin's right),
elevation above the plane perpendicular to the long axis on the vertical axis (the
vertex and the wound on top, the neck below). Skin regions (available scalp in the
light twin colour; wound margin, face, ears, neck and skin off the vault in greys), the
wound outline, expander footprints (twin colour, labelled ``A1``...) and fill valves
are drawn. Colour is never the only cue: every element has a text label or legend
entry. Without a known facial direction the azimuth origin is arbitrary and the title
says so.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import numpy as np

from twinsep.labels import shade
from twinsep.reconstruct.defects import TwinDefects
from twinsep.reconstruct.expanders import TwinSkinPlan

logger = logging.getLogger(__name__)

_MAX_POINTS = 15000

#: Size of the fill-valve marker on the map and in its legend, points.
_VALVE_MARKER_PT = 6.0

#: Grey level and legend text of the excluded regions (region code -> (colour, text)).
_REGION_STYLE: dict[int, tuple[str, str]] = {
    1: ("#8C8C8C", "wound margin"),
    2: ("#C8C8C8", "face"),
    3: ("#5E5E5E", "ears"),
    4: ("#A8A8A8", "neck"),
    5: ("#E2E2E2", "off the vault"),
}


def _frame(d: TwinDefects) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(axis, face, right) unit vectors of the map; face arbitrary when unknown."""
    axis = d.head_axis / np.linalg.norm(d.head_axis)
    if d.face_dir is not None:
        face = d.face_dir - (d.face_dir @ axis) * axis
    else:
        ref = np.eye(3)[int(np.argmin(np.abs(axis)))]
        face = ref - (ref @ axis) * axis
    face = face / np.linalg.norm(face)
    return axis, face, np.cross(face, axis)


def map_coords_deg(d: TwinDefects, points_mm: np.ndarray) -> np.ndarray:
    """(N, 2) signed azimuth (+ toward the twin's right) and elevation, deg."""
    axis, face, right = _frame(d)
    rel = np.asarray(points_mm, dtype=np.float64) - d.brain_centre_mm
    r = np.maximum(np.linalg.norm(rel, axis=1), 1e-9)
    elev = np.degrees(np.arcsin(np.clip(rel @ axis / r, -1.0, 1.0)))
    az = np.degrees(np.arctan2(rel @ right, rel @ face))
    return np.stack([az, elev], axis=1)


def skin_title(plan: TwinSkinPlan) -> str:
    """Plain title of one twin's skin map, in mm² only, with the counted gain.

    The counted (realised) skin gain is what covers the defect, not the geometric dome
    surface nor the healthy scalp that could be expanded; the title says ``short by``
    or ``covered`` (vertical-II 128's twin A showed "available scalp 151 cm²" beside a
    "defect 125 cm²" while 7,739 mm² of it were not covered).
    """
    n = len(plan.expanders)
    head = (
        f"Twin {plan.twin}: scalp defect {plan.defect_area_mm2:,.0f} mm²; skin gain counted "
        f"{plan.provided_mm2:,.0f} mm² ({n} new expander{'s' if n != 1 else ''})"
    )
    if plan.defect_area_mm2 <= 0:
        return f"Twin {plan.twin}: no scalp defect"
    if plan.shortfall_mm2 > 0 or not plan.provided_mm2:
        short = plan.shortfall_mm2 if plan.shortfall_mm2 > 0 else plan.defect_area_mm2
        return f"{head}: short by {short:,.0f} mm²"
    over = 100.0 * plan.margin
    aimed = 100.0 * (plan.required_mm2 / plan.defect_area_mm2 - 1.0) if plan.defect_area_mm2 else 0
    if over + 0.5 < aimed:
        return f"{head}: covered, {over:.0f} % over-expansion of the {aimed:.0f} % aimed at"
    return f"{head}: covered, {over:.0f} % over-expansion"


def label_alignment(x_deg: float, edge_deg: float = 140.0) -> str:
    """Horizontal alignment of an expander's label so that it stays inside the map.

    A label centred on an expander behind the head (azimuth near +-180 deg) would run
    half off the plot; there it extends inwards from the expander's centre instead.

    Parameters
    ----------
    x_deg : float
        The label's anchor, azimuth in degrees (-180..180).
    edge_deg : float
        Beyond this azimuth (either side) the label is aligned inwards; a label of
        about 12 characters at font size 8 spans ~40 deg of the map.

    Returns
    -------
    str
        "right" near +180, "left" near -180, else "center".
    """
    if x_deg > edge_deg:
        return "right"
    if x_deg < -edge_deg:
        return "left"
    return "center"


def _split_wrap(xy: np.ndarray) -> list[np.ndarray]:
    """Pieces of a polyline cut where it jumps across azimuth +-180."""
    if len(xy) < 2:
        return [xy]
    jumps = np.flatnonzero(np.abs(np.diff(xy[:, 0])) > 180.0) + 1
    return [p for p in np.split(xy, jumps) if len(p) > 1]


def skin_plan_svg(result: object, colours: dict[str, str]) -> str:
    """SVG text of the skin plan of both twins.

    Parameters
    ----------
    result : Reconstruction
        Result of :func:`twinsep.reconstruct.stage.reconstruct`.
    colours : dict
        ``{"A": "#RRGGBB", "B": "#RRGGBB"}`` twin code colours.
    """
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    fig = skin_plan_figure(result, colours)
    FigureCanvasSVG(fig)
    buf = io.StringIO()
    # reproducible bytes: no time stamp, element ids from a fixed salt (not random)
    with matplotlib.rc_context({"svg.hashsalt": "twinsep-skin-plan"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def _triangles_path(tri: np.ndarray) -> Any:
    """One compound ``Path`` of 2D triangles ``(N, 3, 2)``, all turned counter-clockwise.

    Filled with the non-zero rule it covers exactly the union of the triangles (the top
    and bottom of a closed mesh project with opposite turns and would otherwise cancel),
    drawn as one shape instead of one path object per triangle.
    """
    from matplotlib.path import Path

    e1 = tri[:, 1] - tri[:, 0]
    e2 = tri[:, 2] - tri[:, 0]
    cw = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0] < 0
    t = tri.copy()
    t[cw] = t[cw][:, ::-1]
    verts = np.concatenate([t, t[:, :1]], axis=1).reshape(-1, 2)
    codes = np.tile(
        np.array([Path.MOVETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY], dtype=Path.code_type),
        len(t),
    )
    return Path(verts, codes)


def skin_plan_figure(result: object, colours: dict[str, str]) -> Any:
    """The skin-plan matplotlib ``Figure`` (not attached to any GUI backend)."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import PathPatch

    defects = result.defects  # type: ignore[attr-defined]
    skin = result.skin  # type: ignore[attr-defined]
    names = sorted(defects)
    fig = Figure(figsize=(6.5, 3.6 * len(names)))
    rng = np.random.default_rng(0)
    for k, name in enumerate(names):
        ax = fig.add_subplot(len(names), 1, k + 1)
        d: TwinDefects = defects[name]
        col = colours.get(name, "#777777")
        idx = np.arange(len(d.skin.points_mm))
        if len(idx) > _MAX_POINTS:
            idx = np.sort(rng.choice(idx, _MAX_POINTS, replace=False))
        xy = map_coords_deg(d, d.skin.points_mm[idx])
        region = d.region[idx]
        for code, (grey, text) in _REGION_STYLE.items():
            m = region == code
            if m.any():
                ax.scatter(xy[m, 0], xy[m, 1], s=1, c=grey, rasterized=True, label=text)
        m = region == 0
        ax.scatter(
            xy[m, 0], xy[m, 1], s=1, c=shade(col, 1.6), rasterized=True, label="available scalp"
        )
        if len(d.scalp_outline_mm) > 2:
            loop = map_coords_deg(d, np.vstack([d.scalp_outline_mm, d.scalp_outline_mm[:1]]))
            for i, piece in enumerate(_split_wrap(loop)):
                ax.plot(
                    piece[:, 0],
                    piece[:, 1],
                    "-",
                    color="black",
                    lw=1.2,
                    label="wound edge" if i == 0 else None,
                )
        for e in skin[name].expanders:
            v = map_coords_deg(d, e.vertices_mm)
            tri = v[e.faces]
            # triangles across the +-180 seam are drawn on both sides
            span = np.ptp(tri[:, :, 0], axis=1) > 180.0
            ok = tri[~span]
            wrapped = tri[span].copy()
            wrapped[:, :, 0] = np.where(
                wrapped[:, :, 0] < 0, wrapped[:, :, 0] + 360.0, wrapped[:, :, 0]
            )
            polys = np.concatenate([ok, wrapped, wrapped - np.array([360.0, 0.0])])
            footprint = PathPatch(
                _triangles_path(polys), facecolor=col, edgecolor="none", alpha=0.8
            )
            footprint.set_rasterized(True)
            # add_artist: the axis limits are fixed below, and add_patch would walk all
            # segments of the compound path to update the data limits (seconds)
            ax.add_artist(footprint)
            c = map_coords_deg(d, e.centre_mm[None])[0]
            ax.annotate(
                f"{e.label} {e.code}",
                (c[0], c[1]),
                ha=label_alignment(float(c[0])),
                va="center",
                fontsize=8,
                color="white",
                fontweight="bold",
                bbox={"boxstyle": "round,pad=0.2", "fc": shade(col, 0.7), "ec": "none"},
            )
            w = map_coords_deg(d, e.valve_mm[None])[0]
            ax.plot(
                [w[0]],
                [w[1]],
                linestyle="none",
                marker="o",
                mfc="white",
                mec=col,
                ms=_VALVE_MARKER_PT,
                label="fill valve" if e is skin[name].expanders[0] else None,
            )
        plan = skin[name]
        face_note = "" if d.face_dir is not None else "\nfacial direction unknown"
        ax.set_title(f"{skin_title(plan)}{face_note}", fontsize=8, wrap=True)
        ax.set_xlim(-180, 180)
        ax.set_ylim(-90, 90)
        ax.set_xticks([-180, -90, 0, 90, 180], ["back", "left", "face", "right", "back"])
        ax.set_xlabel("azimuth around the long axis, from the face (°)")
        ax.set_ylabel("elevation from the brain centre (°)")
        leg = ax.legend(loc="lower right", fontsize=6, markerscale=5, framealpha=0.8, ncol=2)
        # markerscale enlarges the 1-point scalp dots to be seen in the legend; the valve
        # marker is already drawn at its size (5x it covered the legend's entries)
        for handle in leg.legend_handles:
            if isinstance(handle, Line2D):
                handle.set_markersize(_VALVE_MARKER_PT)
    fig.tight_layout()
    return fig
