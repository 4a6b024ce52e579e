"""The report in real headless Chromium: non-blank, both code colours, prints to PDF."""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from test_report import ORANGE, PURPLE, _centre_affine, _plan, _two_heads

from twinsep.report import figures as fg
from twinsep.report.pdf import CHROMIUM_FLAGS, find_chromium, html_to_pdf
from twinsep.report.render import render_report

pytestmark = pytest.mark.browser

ARGS = [a for a in CHROMIUM_FLAGS if a != "--no-pdf-header-footer"]


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    labels, twins = _two_heads(_centre_affine(np.eye(3)))
    grid = fg.resample_to_ras({"labels": labels, "twins": twins}, spacing_mm=2.0)
    params = fg.FigureParams()
    figs = {
        "three_view_skin": fg.three_view_figure(
            grid, structure="skin", colour_a=PURPLE, colour_b=ORANGE, params=params
        )
    }
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_report(_plan(), figs), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    exe = find_chromium()
    if exe is None:
        pytest.skip("Debian chromium is not installed (make browser)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with tempfile.TemporaryDirectory() as profile, sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            profile,
            executable_path=exe,
            args=ARGS,
            headless=True,
            viewport={"width": 1100, "height": 1400},
        )
        yield ctx
        ctx.close()


def _share(rgb: np.ndarray, hexc: str) -> float:
    target = np.array([int(hexc[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    norm = rgb / np.maximum(rgb.sum(axis=2, keepdims=True), 1)
    return float((np.abs(norm - target / target.sum()).sum(axis=2) < 0.06).mean())


def test_report_screenshot_shows_both_colours(browser: Any, report_file: Path) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(report_file.as_uri())
    page.locator("#twins").scroll_into_view_if_needed()
    png = page.screenshot(full_page=True)
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(float)
    assert rgb.std() > 20, "blank page"
    assert _share(rgb, PURPLE) > 0.001 and _share(rgb, ORANGE) > 0.001
    assert page.locator("text=Twin A").count() > 0 and page.locator("text=Twin B").count() > 0
    assert not errors, errors
    page.close()


def test_report_prints_to_pdf(report_file: Path, tmp_path: Path) -> None:
    if find_chromium() is None:
        pytest.skip("Debian chromium is not installed (make browser)")
    pdf = tmp_path / "report.pdf"
    html_to_pdf(report_file, pdf)
    data = pdf.read_bytes()
    pages = re.findall(rb"/Type\s*/Page\b", data)
    assert data.startswith(b"%PDF") and len(pages) >= 3  # summary, twins, methods at least
    # ISO A4 (595.3 x 841.9 pt), not chromium's default US Letter (612 x 792)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([0-9.]+) ([0-9.]+)\s*\]", data)
    assert boxes, "no page size in the PDF"
    for w, h in boxes:
        assert abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2, (w, h)
