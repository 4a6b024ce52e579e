"""Off-screen three-view picture of a rehearsal state (matplotlib Agg).

Each view is an orthographic projection of the remaining tissue surface onto a world
plane (front: x-z, side: y-z, top: x-y, RAS mm), nearest voxel wins; twin A and twin B
in their code colours, tissue still joining them in red, the cut made so far in grey.
A text legend names every colour (colour alone is not accessible).
"""

from __future__ import annotations

import io

import numpy as np
from scipy import ndimage

from twinsep.labels import TWIN_A, TWIN_B, hex_to_rgb
from twinsep.volume import apply_affine

__all__ = ["render_state_png"]

BRIDGE_COLOUR = "#D62728"
CUT_COLOUR = "#9A9A9A"

# (plane axes, depth axis, viewer at +depth?, horizontal axis reversed?, title): each
# view as an observer standing there sees it. From anterior the patient's right (+x)
# is on the viewer's left, so x runs right to left (drawn left to right, the front view
# was the view from behind); from the right anterior (+y) is on the viewer's right; from
# above, anterior up, the patient's right is on the viewer's right.
_VIEWS = (
    ((0, 2), 1, True, True, "front (x-z, from anterior)"),
    ((1, 2), 0, True, False, "side (y-z, from the right)"),
    ((0, 1), 2, True, False, "top (x-y, from superior)"),
)


def _surface(mask: np.ndarray) -> np.ndarray:
    return mask & ~ndimage.binary_erosion(mask)


def render_state_png(
    tissue: np.ndarray,
    twins: np.ndarray,
    cut_done: np.ndarray,
    bridge: np.ndarray,
    affine: np.ndarray,
    *,
    colours: dict[str, str],
    title: str,
    dpi: int = 90,
) -> bytes:
    """PNG bytes of the three views.

    Parameters
    ----------
    tissue, twins, cut_done, bridge : (I, J, K) arrays
        Remaining tissue (bool), ownership (0..2), voxels cut so far (bool), voxels still
        joining the twins (bool).
    affine : (4, 4) ndarray
        Voxel-to-world RAS mm.
    colours : dict
        ``{"A": hex, "B": hex}``.
    title : str
        Figure title.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    surf = _surface(tissue)
    layers = [
        (surf & (twins == TWIN_A), colours["A"]),
        (surf & (twins == TWIN_B), colours["B"]),
        (cut_done, CUT_COLOUR),
        (bridge, BRIDGE_COLOUR),
    ]
    pts_list, col_list = [], []
    for prio, (m, _hexc) in enumerate(layers):
        idx = np.argwhere(m)
        if not len(idx):
            continue
        pts_list.append(apply_affine(affine, idx))
        col_list.append(np.full(len(idx), prio))
    palette = np.array([hex_to_rgb(c) for _, c in layers], dtype=np.float64) / 255.0
    sp = float(min(np.linalg.norm(affine[:3, :3], axis=0)))
    fig = Figure(figsize=(12, 4.6), dpi=dpi)
    axes = fig.subplots(1, 3)
    if pts_list:
        pts = np.concatenate(pts_list)
        prio_all = np.concatenate(col_list)
        lo = pts.min(axis=0)
        for ax, (plane, depth_ax, front, mirror, name) in zip(axes, _VIEWS, strict=True):
            uv = np.floor((pts[:, plane] - lo[list(plane)]) / sp).astype(np.int64)
            w, h = uv.max(axis=0) + 1
            depth = pts[:, depth_ax] if front else -pts[:, depth_ax]
            # bridges and cuts are drawn over the surface so that they are never hidden
            key = depth + prio_all * 1e6 * (prio_all >= 2)
            pix = uv[:, 0] * h + uv[:, 1]
            order = np.lexsort((key, pix))
            last = np.r_[pix[order][1:] != pix[order][:-1], True]
            sel = order[last]
            img = np.ones((h * w, 3))
            shade_f = 0.55 + 0.45 * (depth[sel] - depth.min()) / max(np.ptp(depth), 1e-9)
            img[pix[sel]] = palette[prio_all[sel]] * shade_f[:, None]
            img = img.reshape(w, h, 3).transpose(1, 0, 2)
            extent = (lo[plane[0]], lo[plane[0]] + w * sp, lo[plane[1]], lo[plane[1]] + h * sp)
            ax.imshow(img, origin="lower", extent=extent, interpolation="nearest")
            if mirror:
                ax.invert_xaxis()
            ax.set_title(name, fontsize=9)
            ax.set_xlabel("xyz"[plane[0]] + " (mm)")
            ax.set_ylabel("xyz"[plane[1]] + " (mm)")
    else:
        for ax in axes:
            ax.text(0.5, 0.5, "no tissue", ha="center", va="center")
    handles = [
        Patch(color=colours["A"], label="twin A"),
        Patch(color=colours["B"], label="twin B"),
        Patch(color=CUT_COLOUR, label="cut so far"),
        Patch(color=BRIDGE_COLOUR, label="still joining the twins"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=9, frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.2, top=0.85, wspace=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
