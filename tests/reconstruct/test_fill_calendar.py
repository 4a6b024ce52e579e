"""The report's fill-calendar figure shows every expander of both twins."""

from __future__ import annotations

import io

import numpy as np

from twinsep.report import figures as fg


def _expander(twin: str, label: str) -> dict:
    fills = [{"week": 0.0, "total_ml": 25.0}] + [
        {"week": 1.0 + k, "total_ml": 25.0 + 37.5 * (k + 1)} for k in range(6)
    ]
    return {"twin": twin, "label": label, "code": "R60x120", "shape": "rectangular", "fills": fills}


def _pixels_near(png: bytes, hex_colour: str, tol: float = 0.06) -> int:
    import matplotlib.image as mpimg

    img = mpimg.imread(io.BytesIO(png))[..., :3]
    rgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return int(np.count_nonzero(np.all(np.abs(img - rgb) < tol, axis=-1)))


def test_same_size_expanders_of_both_twins_are_both_visible() -> None:
    # identical schedules in twin A and twin B: drawn on one axis, the later line
    # covered the earlier one completely
    exps = [_expander("A", "A1"), _expander("B", "B1"), _expander("B", "B2")]
    purple, orange = "#7B3FA0", "#F28C28"
    png = fg.fill_calendar_figure(exps, colour_a=purple, colour_b=orange, params=fg.FigureParams())
    only_a = fg.fill_calendar_figure(
        exps[:1], colour_a=purple, colour_b=orange, params=fg.FigureParams()
    )
    # both twin colours are drawn (lines, markers, titles), each in a visible amount
    n_a, n_b = _pixels_near(png, purple), _pixels_near(png, orange)
    assert n_a > 200 and n_b > 200, (n_a, n_b)
    # twin A's line is as visible with B present as alone (not painted over): its
    # pixel count does not drop by more than the title/legend layout change
    assert n_a > 0.6 * _pixels_near(only_a, purple)
