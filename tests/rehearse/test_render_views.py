"""The rehearsal pictures show each view as an observer standing there sees it."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from twinsep.rehearse.render import render_state_png

PURPLE, ORANGE = "#7B3FA0", "#F28C28"


def _centre_col(rgb: np.ndarray, hexc: str) -> float:
    want = np.array([int(hexc[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    # shaded by depth (0.55-1.0 of the colour): compare chromaticity
    norm = rgb / np.maximum(rgb.sum(axis=2, keepdims=True), 1)
    hit = np.abs(norm - want / want.sum()).sum(axis=2) < 0.05
    hit &= rgb.sum(axis=2) < 700  # not the white background
    assert hit.sum() > 50, hexc
    return float(np.argwhere(hit)[:, 1].mean())


def test_front_view_puts_the_patients_right_on_the_viewers_left() -> None:
    """Twin A a block on the patient's right (+x), twin B on the left, side by side. Seen
    from the front (anterior) the patient's right is on the viewer's left; the front
    view drew x increasing to the right, the mirror image (the view from behind). The
    top view (from above, anterior up) has the patient's right on the viewer's right."""
    shape = (40, 20, 20)
    tissue = np.zeros(shape, bool)
    tissue[2:38, 4:16, 4:16] = True
    twins = np.zeros(shape, np.uint8)
    twins[20:][tissue[20:]] = 1  # +x half (i >= 20 with an identity affine): twin A
    twins[:20][tissue[:20]] = 2
    empty = np.zeros(shape, bool)
    png = render_state_png(
        tissue, twins, empty, empty, np.eye(4), colours={"A": PURPLE, "B": ORANGE}, title="t"
    )
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(float)
    third = rgb.shape[1] // 3
    front, top = rgb[:, :third], rgb[:, 2 * third :]
    assert _centre_col(front, PURPLE) < _centre_col(front, ORANGE)  # A (right) on the left
    assert _centre_col(top, PURPLE) > _centre_col(top, ORANGE)  # from above: A on the right
