"""The real-CT craniopagus cases (two copies of Cranium.inv3, Debian invesalius-examples):
exact owner truth, real HU values, the holder of twin A kept, and a single real head
refused by ``twinsep plan``. Built at 3 mm (a few seconds); the benchmark uses 1 mm.

Skipped when the data is not installed (``make realdata``).
"""

from __future__ import annotations

import functools
from pathlib import Path

import cc3d
import numpy as np
import pytest
from scipy import ndimage as ndi
from typer.testing import CliRunner

from twinsep import labels as L
from twinsep.cli import app
from twinsep.errors import InputError
from twinsep.io import save_volume
from twinsep.realanatomy.invesalius import load_inv3
from twinsep.realanatomy.realct import (
    CONFIGS,
    RealCtParams,
    build_real_ct_case,
    inv3_path,
    prepare_head,
)
from twinsep.segment import segment_ct
from twinsep.volume import apply_affine, world_to_voxel

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(
        inv3_path() is None,
        reason="Cranium.inv3 (Debian invesalius-examples) not installed: make realdata",
    ),
]

SPACING_MM = 3.0


@pytest.fixture(scope="module")
def single():
    path = inv3_path()
    assert path is not None
    ct = load_inv3(path)
    return ct, prepare_head(ct)


@functools.lru_cache(maxsize=4)
def _build(name: str, clearance_mm: float = RealCtParams().holder_clearance_mm):
    """One build per (case, clearance) for the whole module (each takes seconds)."""
    params = RealCtParams(holder_clearance_mm=clearance_mm)
    return build_real_ct_case(name, spacing_mm=SPACING_MM, reference=False, params=params)


@pytest.fixture(scope="module", params=list(CONFIGS))
def case(request):
    return request.param, *_build(request.param)


def _contact_voxels(tw: np.ndarray) -> int:
    """Voxels of A with a 6-neighbour in B: how far the boundary's discretisation can
    move volume between the twins."""
    b_near = ndi.binary_dilation(tw == L.TWIN_B, ndi.generate_binary_structure(3, 1))
    return int(((tw == L.TWIN_A) & b_near).sum())


def test_owner_truth_one_piece_each_and_symmetric_volumes(case) -> None:
    name, fused, ct, facts = case
    tw = fused.twins.array
    for t in (L.TWIN_A, L.TWIN_B):
        _, n = cc3d.connected_components(tw == t, connectivity=26, return_N=True)
        assert n == 1, f"{name}: twin {t} is in {n} pieces"
    va, vb = int((tw == L.TWIN_A).sum()), int((tw == L.TWIN_B).sum())
    # both copies are the same head joined symmetrically (same contact on each, the
    # twist is about the contact axis): the volumes differ only by boundary voxels
    # (measured 79 and 152 voxels of ~118 600 at 3 mm; the contact layer is > 1000)
    assert abs(va - vb) <= _contact_voxels(tw)
    assert abs(va - vb) < 0.01 * va
    # an adult head cut at the skull base, twice, minus the overlap: 5-8.5 litres
    ml = (va + vb) * fused.twins.voxel_volume_mm3 / 1000
    assert 5000 < ml < 8500
    if name == "real-ct-vertical":
        assert facts["type"] == "vertical" and facts["axis_angle_deg"] == pytest.approx(180.0)
    else:
        assert facts["type"] == "angular" and facts["axis_angle_deg"] < 140


def test_the_plain_real_ct_is_called_plain(case) -> None:
    """Cranium.inv3 holds no contrast: no call, no vessel voxel, at 3 mm too, where the
    septa of its ethmoid cells and nasal cavity (bone and air in one voxel) put 9.4-9.8
    mL of tube-shaped band pieces in soft tissue and the neck cue called it enhanced
    before ``vessels.gas_walled`` (docs/segmentation.md, 2026-11-28, PLN). ~2 s per case
    (the builds are the module's)."""
    _, _, ct, _ = case
    res = segment_ct(ct)
    assert not res.contrast
    assert not (res.labels.array == L.VESSEL).any()


def test_owned_voxels_carry_their_copy_s_real_hu(case, single) -> None:
    """An owned voxel's HU is its own copy's CT, trilinear, at the same head point."""
    _, fused, ct, _ = case
    src, prep = single
    tw = fused.twins.array
    rng = np.random.default_rng(0)
    a_twin = L.TWIN_A if fused.b_copy_twin == L.TWIN_B else L.TWIN_B
    for twin, to_head in ((a_twin, np.eye(4)), (fused.b_copy_twin, fused.world_to_b_head)):
        idx = np.argwhere(tw == twin)
        idx = idx[rng.choice(len(idx), 300, replace=False)]
        world = apply_affine(ct.affine, idx)
        vox = world_to_voxel(src.affine, apply_affine(to_head, world))
        want = ndi.map_coordinates(src.array.astype(np.float32), vox.T, order=1, mode="nearest")
        got = ct.array[tuple(idx.T)].astype(np.float32)
        # rounding to int16 only
        assert np.abs(got - want).max() <= 0.5
        # and the copy's head mask holds every owned voxel
        assert ndi.map_coordinates(prep.head.view(np.uint8), vox.T, order=0).all()


def test_background_is_real_air_and_only_twin_a_holder(case, single) -> None:
    name, fused, ct, facts = case
    src, prep = single
    tw = fused.twins.array
    bg = ct.array[tw == 0]
    # air: the scan's own air values (median ~ -1000 HU, with the scan's noise and its
    # -1024 floor), not a constant
    assert -1030 < np.median(bg) < -970
    air = bg[bg < -900]
    assert air.std() > 2.0 and len(np.unique(air)) > 20
    # one head holder (twin A's), not two: dense background volume about that of the
    # single scan's holder (resampled at 3 mm: partial volume blurs it, 0.6-1.4x); no
    # dense voxel that no twin owns lies next to a twin (a tissue layer left unowned,
    # e.g. past a cut face, would)
    assert facts["holder_kept"], name
    dense = (ct.array > 300) & (tw == 0)
    dense_ml = dense.sum() * ct.voxel_volume_mm3 / 1000
    holder_ml = ((src.array > 300) & ~prep.head).sum() * src.voxel_volume_mm3 / 1000
    assert 0.6 * holder_ml < dense_ml < 1.4 * holder_ml
    near_twin = ndi.binary_dilation(tw > 0, iterations=2)
    assert (dense & near_twin).sum() == 0


def test_holder_too_close_to_twin_b_is_dropped_whole() -> None:
    """With a clearance beyond the holder's real distance to twin B (35 mm in the
    vertical union) the holder goes: no dense background, and nothing else changes."""
    kept = _build("real-ct-vertical")
    gone = _build("real-ct-vertical", 60.0)
    assert kept[2]["holder_kept"] and not gone[2]["holder_kept"]
    tw = gone[0].twins.array
    assert ((gone[1].array > 300) & (tw == 0)).sum() == 0
    owned = tw > 0
    assert np.array_equal(gone[1].array[owned], kept[1].array[owned])


def test_plan_refuses_the_single_real_ct_as_one_head(tmp_path: Path, single) -> None:
    src, _ = single
    scan = tmp_path / "single.nii.gz"
    save_volume(src, scan)
    out = tmp_path / "plan"
    result = CliRunner().invoke(app, ["plan", str(scan), "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1
    assert "single head" in lines[0] or "one head" in lines[0]
    assert not out.exists()


def test_unknown_case_is_an_input_error() -> None:
    with pytest.raises(InputError, match="real-ct-vertical"):
        build_real_ct_case("real-ct-sideways")
