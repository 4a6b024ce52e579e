"""Slices: orientation in world terms whatever the voxel order, window/level, overlay."""

from __future__ import annotations

import io
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from twinsep.errors import ConfigError
from twinsep.labels import hex_to_rgb
from twinsep.plan import SCHEMA
from twinsep.viewer.png import encode_png
from twinsep.viewer.slices import SliceParams, SliceStack
from twinsep.volume import apply_affine

#: A deliberately odd grid: i -> posterior (3 mm), j -> superior (2 mm), k -> left
#: (2.5 mm), with a different size on every axis.
ODD_AFFINE = np.array(
    [[0.0, 0.0, -2.5, 80.0], [-3.0, 0.0, 0.0, 90.0], [0.0, 2.0, 0.0, -60.0], [0, 0, 0, 1]]
)
ODD_SHAPE = (60, 64, 70)
PURPLE = "#7B3FA0"
ORANGE = "#F28C28"


def _decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _odd_plan(folder: Path, *, with_ct: bool) -> None:
    """Twin A fills the right-anterior-superior octant (x, y, z > 20 mm); twin B the
    left-posterior-inferior one (x, y, z < -20 mm). CT = 100 HU * x / 10 mm."""
    folder.mkdir()
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in ODD_SHAPE], indexing="ij"), axis=-1)
    xyz = apply_affine(ODD_AFFINE, ijk)
    twins = np.zeros(ODD_SHAPE, np.uint8)
    twins[np.all(xyz > 20, axis=-1)] = 1
    twins[np.all(xyz < -20, axis=-1)] = 2
    labels = (twins > 0).astype(np.uint8)
    for name, arr in (("twins", twins), ("labels", labels)):
        nib.save(nib.Nifti1Image(arr, ODD_AFFINE), str(folder / f"{name}.nii.gz"))
    plan = {"schema": SCHEMA, "colours": {"A": PURPLE, "B": ORANGE}, "input": {}}
    if with_ct:
        ct = np.rint(xyz[..., 0] * 10.0).astype(np.int16)
        nib.save(nib.Nifti1Image(ct, ODD_AFFINE), str(folder / "scan.nii.gz"))
        plan["input"] = {"path": "scan.nii.gz"}
    (folder / "plan.json").write_text(json.dumps(plan))


@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> SliceStack:
    folder = tmp_path_factory.mktemp("odd") / "plan"
    _odd_plan(folder, with_ct=True)
    stack = SliceStack(folder, json.loads((folder / "plan.json").read_text()))
    stack.load()
    return stack


def _centroid(img: np.ndarray, hex_colour: str, alpha: float) -> tuple[float, float]:
    # a voxel of that twin: the colour blended over grey; recognise it by the hue
    # direction of the blend (colour minus grey), which is the colour minus its mean
    c = np.asarray(hex_to_rgb(hex_colour), float)
    d = img - img.mean(axis=2, keepdims=True)
    target = (c - c.mean()) * alpha
    mask = np.all(np.abs(d - target) < 12, axis=2) & (np.abs(d).sum(axis=2) > 20)
    assert mask.sum() > 20, f"no {hex_colour} pixels"
    rows, cols = np.nonzero(mask)
    return rows.mean() / img.shape[0], cols.mean() / img.shape[1]


@pytest.mark.parametrize(
    ("axis", "index", "position_mm", "pixel_mm"),
    [
        # canonical index counts from the Left / Posterior / Inferior end
        ("axial", 50, 40.0, (2.5, 3.0)),  # z = -60 + 2 * 50
        ("coronal", 43, 42.0, (2.5, 2.0)),  # y = -87 + 3 * 43
        ("sagittal", 53, 40.0, (3.0, 2.0)),  # x = -92.5 + 2.5 * 53
    ],
)
def test_radiological_orientation(
    odd: SliceStack, axis: str, index: int, position_mm: float, pixel_mm: tuple
) -> None:
    img = odd.render(axis, index, overlay="twins", alpha=0.5)
    assert img.position_mm == pytest.approx(position_mm)
    assert img.pixel_mm == pytest.approx(pixel_mm)
    arr = _decode(img.png)
    row, col = _centroid(arr, PURPLE, 0.5)
    # twin A (right, anterior, superior) is at the top-left: axial A up / R left,
    # coronal S up / R left, sagittal S up / A left
    assert row < 0.4 and col < 0.4


def test_other_twin_on_the_opposite_side(odd: SliceStack) -> None:
    arr = _decode(odd.render("axial", 10, overlay="twins", alpha=0.5).png)  # z = -40
    row, col = _centroid(arr, ORANGE, 0.5)
    assert row > 0.6 and col > 0.6


def test_window_level_maps_hu_to_grey(odd: SliceStack) -> None:
    # CT = 10 HU per mm of x; window 400 / level 0 maps -200..200 HU (x = -20..20 mm)
    img = _decode(odd.render("axial", 5, window_hu=400, level_hu=0, overlay="none").png)
    grey = img[img.shape[0] // 2, :, 0]
    # columns run from x = 80 (col 0) to x = -92.5 (col 69) in 2.5 mm steps
    x = 80.0 - 2.5 * np.arange(img.shape[1])
    expected = np.clip((np.rint(x * 10) + 200) * 255 / 400, 0, 255)
    assert np.max(np.abs(grey - expected)) <= 1.0  # rounding to 8 bits only
    assert img.shape == (ODD_SHAPE[0], ODD_SHAPE[2], 3)  # rows y (60), cols x (70)


def test_overlay_none_is_grey(odd: SliceStack) -> None:
    img = _decode(odd.render("axial", 50, overlay="none").png)
    assert np.all(img[..., 0] == img[..., 1]) and np.all(img[..., 1] == img[..., 2])


def test_labels_fallback_without_ct(tmp_path: Path) -> None:
    folder = tmp_path / "plan"
    _odd_plan(folder, with_ct=False)
    stack = SliceStack(folder, json.loads((folder / "plan.json").read_text()))
    info = stack.info()
    assert info["source"] == "labels" and "not found" in info["notes"][0]
    img = _decode(stack.render("axial", 50, overlay="none").png)
    grey = SliceParams().label_grey
    assert set(np.unique(img[..., 0]).tolist()) == {grey[0], grey[1]}


def test_bad_parameters(odd: SliceStack) -> None:
    with pytest.raises(ConfigError, match="index"):
        odd.render("axial", ODD_SHAPE[1])
    with pytest.raises(ConfigError, match="axis"):
        odd.render("transverse", 0)
    with pytest.raises(ConfigError, match="window_hu"):
        odd.render("axial", 0, window_hu=float("nan"))


def test_png_roundtrip() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(7, 11, 3), dtype=np.uint8)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(encode_png(rgb)))), rgb)
    grey = rgb[..., 0]
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(encode_png(grey)))), grey)
    with pytest.raises(ValueError):
        encode_png(rgb.astype(np.int16))


@pytest.mark.parametrize("centre", [(31.0, -12.5, 7.0), (-55.0, 40.0, -20.0)])
def test_focus_index_is_the_slice_through_the_bridge_centre(
    odd: SliceStack, centre: tuple[float, float, float]
) -> None:
    stack = SliceStack(odd.plan_dir, {**odd.plan, "fusion": {"bridge_centroid_mm": list(centre)}})
    focus = stack.info()["focus_index"]
    spacing = {"sagittal": 2.5, "coronal": 3.0, "axial": 2.0}  # x, y, z of ODD_AFFINE
    for axis, ax in (("sagittal", 0), ("coronal", 1), ("axial", 2)):
        pos = stack.render(axis, focus[axis], overlay="none").position_mm
        # the nearest slice: within half a voxel of the centre along its normal
        assert abs(pos - centre[ax]) <= spacing[axis] / 2 + 1e-6, (axis, pos)


def test_focus_index_absent_without_bridge(odd: SliceStack) -> None:
    assert odd.info()["focus_index"] is None
    broken = SliceStack(odd.plan_dir, {**odd.plan, "fusion": {"bridge_centroid_mm": ["x", 1]}})
    assert broken.info()["focus_index"] is None
