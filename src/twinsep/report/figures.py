"""Figures of the case report, as PNG bytes (matplotlib, Agg backend).

Every picture is drawn in world orientation: volumes are first resampled onto a grid
aligned with the RAS axes (nearest neighbour for labels), so that "anterior view" means
the same thing whatever the scan's voxel order. Each figure that shows a twin uses the
case's code colours and a text legend.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from twinsep.labels import TISSUE_COLOURS, TISSUE_NAMES, hex_to_rgb
from twinsep.report.render import tissue_words
from twinsep.volume import Volume

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FigureParams:
    """Tunable numbers of the report figures."""

    #: Pixel size (mm) of the world-aligned grid the pictures are drawn from. 1.5 mm
    #: keeps a 512x512x400 CT under ~30 M voxels after resampling.
    grid_mm: float = 1.5
    #: Figure resolution in dots per inch (the HTML scales them to the page).
    dpi: int = 110
    #: Shading of the depth renders: fraction of brightness lost from front to back.
    depth_shading: float = 0.55


@dataclass(frozen=True)
class RasGrid:
    """Volumes resampled onto a grid aligned with world R, A, S (index 0, 1, 2)."""

    origin_mm: np.ndarray
    spacing_mm: float
    arrays: dict[str, np.ndarray]


def resample_to_ras(
    volumes: dict[str, Volume], *, spacing_mm: float, order: dict[str, int] | None = None
) -> RasGrid:
    """Resample volumes sharing one grid onto a world-aligned (RAS) grid.

    Parameters
    ----------
    volumes : dict of str to Volume
        Volumes on the same voxel grid (same shape and affine).
    spacing_mm : float
        Isotropic output spacing in mm.
    order : dict of str to int, optional
        Interpolation order per volume (0 nearest, default; 1 linear for CT).

    Returns
    -------
    RasGrid
        Arrays indexed ``[x, y, z]`` with x toward Right, y Anterior, z Superior.
    """
    first = next(iter(volumes.values()))
    shape = np.array(first.shape)
    corners = np.array(
        [
            [i, j, k]
            for i in (0, shape[0] - 1)
            for j in (0, shape[1] - 1)
            for k in (0, shape[2] - 1)
        ],
        dtype=float,
    )
    world = first.world_coords(corners)
    lo, hi = world.min(axis=0), world.max(axis=0)
    out_shape = tuple(int(np.ceil((hi[d] - lo[d]) / spacing_mm)) + 1 for d in range(3))
    # output index -> world -> input index
    out_to_world = np.eye(4)
    out_to_world[:3, :3] *= spacing_mm
    out_to_world[:3, 3] = lo
    m = np.linalg.inv(first.affine) @ out_to_world

    def one(vol: Volume, o: int) -> np.ndarray:
        cval = float(vol.array.min()) if o > 0 else 0.0
        return np.asarray(
            ndimage.affine_transform(
                vol.array,
                m[:3, :3],
                offset=m[:3, 3],
                output_shape=out_shape,
                order=o,
                mode="constant",
                cval=cval,
            )
        )

    # ndimage releases the GIL: the volumes are resampled two at a time (issue 10);
    # each result is independent of the others, so the output does not change.
    names = list(volumes)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda n: one(volumes[n], (order or {}).get(n, 0)), names))
    arrays: dict[str, np.ndarray] = dict(zip(names, results, strict=True))
    return RasGrid(origin_mm=lo, spacing_mm=spacing_mm, arrays=arrays)


def _rgb01(hex_colour: str) -> np.ndarray:
    return np.asarray(hex_to_rgb(hex_colour), dtype=float) / 255.0


#: View name -> (axis looked along, whether the viewer looks toward +axis,
#: (row axis, column axis) of the picture, flips of rows/cols) chosen so that each
#: picture is what an observer standing there sees: anterior view with superior up and
#: the patient's right on the viewer's left; right-lateral view with superior up and
#: anterior to the right; superior view (from above) with anterior up.
_VIEWS: dict[str, tuple[int, bool, tuple[int, int], tuple[bool, bool]]] = {
    "anterior": (1, False, (2, 0), (True, True)),
    "right lateral": (0, False, (2, 1), (True, False)),
    "superior": (2, False, (1, 0), (True, False)),
}


def depth_render(
    mask_owner: np.ndarray, view: str, colours: dict[int, str], shading: float
) -> np.ndarray:
    """Render the first non-zero voxel along a world axis, coloured by its value.

    Parameters
    ----------
    mask_owner : (X, Y, Z) ndarray of int
        0 for empty, otherwise a key of ``colours`` (e.g. twin 1 / 2).
    view : str
        One of ``"anterior"``, ``"right lateral"``, ``"superior"``.
    colours : dict of int to str
        Value -> ``#RRGGBB``.
    shading : float
        Brightness lost from the nearest to the farthest voxel (0..1).

    Returns
    -------
    (H, W, 3) ndarray of float in 0..1 (white background).
    """
    axis, toward_plus, (ra, ca), (flip_r, flip_c) = _VIEWS[view]
    arr = np.moveaxis(mask_owner, axis, 0)
    if not toward_plus:
        arr = arr[::-1]  # look from the + side (anterior/right/superior) toward -
    hit = arr > 0
    any_hit = hit.any(axis=0)
    first = np.argmax(hit, axis=0)
    owner = np.take_along_axis(arr, first[None], axis=0)[0]
    depth = first / max(arr.shape[0] - 1, 1)
    # add surface relief: gradient of depth gives a lit look
    gy, gx = np.gradient(depth.astype(float))
    relief = np.clip(1.0 - 6.0 * np.hypot(gx, gy), 0.35, 1.0)
    bright = (1.0 - shading * depth) * relief
    img = np.ones(owner.shape + (3,))
    for value, hexc in colours.items():
        sel = any_hit & (owner == value)
        img[sel] = _rgb01(hexc) * bright[sel, None]
    # remaining axes after moveaxis: original axes without `axis`, in order
    rest = [d for d in range(3) if d != axis]
    img = np.transpose(img, (rest.index(ra), rest.index(ca), 2))
    if flip_r:
        img = img[::-1]
    if flip_c:
        img = img[:, ::-1]
    return img


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def _figure(w: float, h: float, dpi: int) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(w, h), dpi=dpi)


def _legend(fig: Any, items: Sequence[tuple[str, str]]) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=c, edgecolor="black", label=t) for t, c in items]
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=len(handles),
        frameon=False,
        bbox_to_anchor=(0.5, -0.02),
    )


def three_view_figure(
    grid: RasGrid, *, structure: str, colour_a: str, colour_b: str, params: FigureParams
) -> bytes:
    """Anterior, right-lateral and superior renders of the twins, in their colours.

    ``structure`` is ``"skin"`` (every tissue) or ``"bone"`` (bone only).
    """
    twins = grid.arrays["twins"]
    labels = grid.arrays["labels"]
    owner = (
        np.where(labels > 0, twins, 0) if structure == "skin" else np.where(labels == 2, twins, 0)
    )
    fig = _figure(9.0, 3.4, params.dpi)
    for n, view in enumerate(_VIEWS):
        ax = fig.add_subplot(1, 3, n + 1)
        ax.imshow(
            depth_render(owner, view, {1: colour_a, 2: colour_b}, params.depth_shading),
            interpolation="nearest",
        )
        ax.set_title(f"{structure}: {view}", fontsize=9)
        ax.set_axis_off()
    _legend(fig, [("Twin A", colour_a), ("Twin B", colour_b)])
    return _png(fig)


def slices_figure(
    grid: RasGrid, centre_mm: Sequence[float], *, colour_a: str, colour_b: str, params: FigureParams
) -> bytes:
    """Axial, coronal and sagittal CT slices through ``centre_mm`` with overlays.

    Tissue labels are drawn as a translucent fill; the twin A/B boundary and each twin's
    outline in its code colour.
    """
    ct = grid.arrays.get("ct")
    labels = grid.arrays["labels"]
    twins = grid.arrays["twins"]
    idx = np.round((np.asarray(centre_mm) - grid.origin_mm) / grid.spacing_mm).astype(int)
    idx = np.clip(idx, 0, np.array(labels.shape) - 1)
    fig = _figure(9.0, 3.6, params.dpi)
    planes = [("axial", 2), ("coronal", 1), ("sagittal", 0)]
    for n, (name, axis) in enumerate(planes):
        lab = np.take(labels, int(idx[axis]), axis=axis).T[::-1]
        tw = np.take(twins, int(idx[axis]), axis=axis).T[::-1]
        base = (
            np.take(ct, int(idx[axis]), axis=axis).T[::-1]
            if ct is not None
            else (lab > 0).astype(float)
        )
        if name != "sagittal":
            lab, tw, base = lab[:, ::-1], tw[:, ::-1], base[:, ::-1]
        ax = fig.add_subplot(1, 3, n + 1)
        if ct is not None:
            ax.imshow(base, cmap="gray", vmin=-200, vmax=1200, interpolation="nearest")
        overlay = np.zeros(lab.shape + (4,))
        for value, hexc in TISSUE_COLOURS.items():
            overlay[lab == value, :3] = _rgb01(hexc)
            overlay[lab == value, 3] = 0.35
        ax.imshow(overlay, interpolation="nearest")
        for value, hexc in ((1, colour_a), (2, colour_b)):
            m = (tw == value).astype(float)
            if m.any() and m.min() < 1:
                ax.contour(m, levels=[0.5], colors=[hexc], linewidths=1.4)
        # the world coordinate the slice lies at (RAS: x right, y anterior, z superior)
        ax.set_title(f"{name} at {'xyz'[axis]} = {centre_mm[axis]:.0f} mm", fontsize=9)
        ax.set_axis_off()
    items = [("Twin A outline", colour_a), ("Twin B outline", colour_b)]
    items += [(tissue_words(TISSUE_NAMES[v]), c) for v, c in TISSUE_COLOURS.items()]
    _legend(fig, items)
    return _png(fig)


def stages_figure(
    grid: RasGrid, *, n_stages: int, colour_a: str, colour_b: str, params: FigureParams
) -> bytes:
    """The planned cut, coloured by stage, over pale silhouettes of the twins."""

    cut = grid.arrays["cut"]
    twins = grid.arrays["twins"]
    colours = stage_colours(cut, n_stages=n_stages)
    fig = _figure(9.0, 3.4, params.dpi)
    for n, view in enumerate(_VIEWS):
        ax = fig.add_subplot(1, 3, n + 1)
        pale = {1: _mix(colour_a, 0.25), 2: _mix(colour_b, 0.25)}
        back = depth_render(np.where(twins > 0, twins, 0), view, pale, 0.2)
        front = depth_render(cut.astype(np.int16), view, colours, 0.3)
        axis, _, _, _ = _VIEWS[view]
        has_cut: np.ndarray = np.asarray(cut.any(axis=axis))
        rest = [d for d in range(3) if d != axis]
        ra, _ = _VIEWS[view][2]
        has_cut = has_cut if rest.index(ra) == 0 else has_cut.T
        fr, fc = _VIEWS[view][3]
        has_cut = has_cut[::-1] if fr else has_cut
        has_cut = has_cut[:, ::-1] if fc else has_cut
        img = np.where(has_cut[..., None], front, back)
        ax.imshow(img, interpolation="nearest")
        ax.set_title(f"cut by stage: {view}", fontsize=9)
        ax.set_axis_off()
    _legend(fig, [(f"stage {s}", c) for s, c in colours.items()])
    return _png(fig)


def stage_colours(cut: np.ndarray, *, n_stages: int) -> dict[int, str]:
    """Colour (hex) of each stage that divides part of the cut, for the stage figure.

    Parameters
    ----------
    cut : ndarray of int
        Stage number of each voxel on the cut (0 elsewhere).
    n_stages : int
        Number of stages of the plan, used when the cut holds no stage number.

    Returns
    -------
    dict of int to str
        Stage number -> viridis colour, only for the stage numbers present on the cut
        (preparatory stages divide nothing and get no legend entry), spread over the
        teal-to-yellow part of the colour map in stage order (its dark purple end read
        as twin A's purple code colour).
    """
    import matplotlib

    present = [int(v) for v in np.unique(cut) if v > 0] or list(range(1, n_stages + 1))
    cmap = matplotlib.colormaps["viridis"]
    k = max(len(present) - 1, 1)
    return {
        s: str(matplotlib.colors.to_hex(cmap(0.4 + 0.5 * i / k))) for i, s in enumerate(present)
    }


def _mix(hex_colour: str, strength: float) -> str:
    rgb = _rgb01(hex_colour) * strength + (1 - strength)
    return "#{:02X}{:02X}{:02X}".format(*(int(round(v * 255)) for v in rgb))


def bar_figure(
    values: dict[str, float],
    *,
    title: str,
    unit: str,
    colours: dict[str, str],
    params: FigureParams,
) -> bytes:
    """A labelled horizontal bar chart (e.g. cut area by tissue in mm²)."""
    fig = _figure(6.0, 0.5 + 0.4 * max(len(values), 1), params.dpi)
    ax = fig.add_subplot(1, 1, 1)
    names = list(values)
    vals = [float(values[k]) for k in names]
    ax.barh(names, vals, color=[colours.get(k, "#888888") for k in names], edgecolor="black")
    for y, v in enumerate(vals):
        ax.text(v, y, f" {v:,.0f} {unit}", va="center", fontsize=8)
    ax.set_xlabel(unit)
    ax.set_title(title, fontsize=10)
    ax.invert_yaxis()
    ax.set_xlim(0, max(vals + [1.0]) * 1.3)
    return _png(fig)


def fill_calendar_figure(
    expanders: Sequence[dict[str, Any]], *, colour_a: str, colour_b: str, params: FigureParams
) -> bytes:
    """Cumulative fill volume (mL) of each expander by week, one panel per twin.

    Each twin gets its own panel (twin colour, "Twin A"/"Twin B" titles), so expanders of
    the same size in the two twins never hide each other; within a panel each expander
    has its own line style and marker, and identical schedules are shifted by a small
    fraction of a week so every line stays visible. Lines are labelled with the plan
    label, size and final volume (``A1 R60x120 250 mL``).
    """
    by_twin: dict[str, list[dict[str, Any]]] = {}
    for e in expanders:
        by_twin.setdefault(str(e.get("twin", "?")), []).append(e)
    twins = sorted(by_twin)
    fig = _figure(6.5, 2.4 * len(twins) + 0.4, params.dpi)
    axes = fig.subplots(len(twins), 1, sharex=True, squeeze=False)[:, 0]
    styles = ["-", "--", ":", "-."]
    markers = ["o", "s", "^", "D", "v", "P"]
    for ax, twin in zip(axes, twins, strict=True):
        colour = colour_a if twin == "A" else colour_b if twin == "B" else "#555555"
        seen: dict[tuple[tuple[float, float], ...], int] = {}
        for k, e in enumerate(by_twin[twin]):
            fills = e.get("fills") or []
            weeks = [0.0] + [float(f["week"]) for f in fills]
            total = [0.0] + [float(f["total_ml"]) for f in fills]
            key = tuple(zip(weeks, total, strict=True))
            shift = 0.08 * seen.get(key, 0)  # weeks; identical schedules side by side
            seen[key] = seen.get(key, 0) + 1
            name = str(e.get("label") or f"{twin}{k + 1}")
            size = str(e.get("code") or e.get("shape", ""))
            ax.step(
                [w + shift for w in weeks],
                total,
                where="post",
                color=colour,
                linestyle=styles[k % len(styles)],
                marker=markers[k % len(markers)],
                markersize=3,
                label=f"{name} {size} {total[-1]:.0f} mL",
            )
        ax.set_title(f"Twin {twin}", fontsize=9, color=colour, loc="left")
        ax.set_ylabel("fill (mL)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    axes[-1].set_xlabel("week after insertion")
    fig.suptitle("Tissue-expander fill calendar", fontsize=10)
    return _png(fig)
