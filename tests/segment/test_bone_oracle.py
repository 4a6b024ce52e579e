"""The oracle bounds of ``benchmarks/bench_bone_oracle.py`` on cases with a known answer."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_bone_oracle.py"


@pytest.fixture(scope="module")
def oracle() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_bone_oracle", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_single_threshold_finds_the_separating_value(oracle: ModuleType) -> None:
    rng = np.random.default_rng(0)
    v = rng.uniform(0.0, 1000.0, 5000)
    truth = v >= 420.0
    d, t = oracle.single_threshold_dice(v, truth)
    assert d == pytest.approx(1.0)
    assert 420.0 <= t < 420.0 + 1.0  # the smallest bone value, within the sample gaps


def test_single_threshold_dice_of_overlapping_classes(oracle: ModuleType) -> None:
    """Two uniform classes overlapping on a known interval: the best Dice is analytic."""
    # bone uniform on [400, 1000], soft uniform on [0, 600], n voxels each. A threshold
    # t in [400, 600] keeps all bone above t, (1000 - t) n / 600, and (600 - t) n / 600
    # soft voxels: Dice(t) = 2 (1000 - t) / (2200 - 2 t), which falls with t, so the
    # best is t = 400 (all bone, a third of the soft): 6/7. Below 400 only soft is added.
    n = 60_000
    v = np.concatenate([np.linspace(400, 1000, n), np.linspace(0, 600, n)])
    truth = np.arange(2 * n) < n
    d, t = oracle.single_threshold_dice(v, truth)
    assert d == pytest.approx(6 / 7, abs=1e-3)
    assert t == pytest.approx(400.0, abs=0.5)


def test_halfmax_recovers_the_fraction_of_the_truth(oracle: ModuleType) -> None:
    rng = np.random.default_rng(1)
    soft = 40.0
    peak = rng.uniform(300.0, 1500.0, 20_000)
    v = soft + rng.uniform(0.0, 1.0, peak.size) * (peak - soft)
    truth = (v - soft) >= 0.62 * (peak - soft)
    d, f = oracle.halfmax_dice(v, peak, truth, soft, soft + 110.0)
    assert f == pytest.approx(0.62, abs=0.006)
    assert d > 0.99
    # the floor is obeyed: a truth cut at the floor is matched exactly only if the rule
    # never takes a voxel under it
    floored = ((v - soft) >= 0.35 * (peak - soft)) & (v >= soft + 300.0)
    d_floor, f_floor = oracle.halfmax_dice(v, peak, floored, soft, soft + 300.0)
    assert f_floor == pytest.approx(0.35, abs=0.006)
    assert d_floor > 0.995
    d_no_floor, _ = oracle.halfmax_dice(v, peak, floored, soft, soft)
    assert d_no_floor < d_floor - 0.01


def test_pair_oracle_bounds_the_rules_of_its_family(oracle: ModuleType) -> None:
    rng = np.random.default_rng(2)
    soft = 40.0
    peak = rng.uniform(300.0, 1500.0, 30_000)
    v = soft + rng.uniform(0.0, 1.0, peak.size) * (peak - soft) + rng.normal(0, 30, peak.size)
    truth = (v - soft) >= 0.5 * (peak - soft) + rng.normal(0, 40, peak.size)
    pair = oracle.pair_oracle_dice(v, peak, truth)
    single, _ = oracle.single_threshold_dice(v, truth)
    half, _ = oracle.halfmax_dice(v, peak, truth, soft, soft + 110.0)
    assert pair >= half - 0.01  # bins of 20 x 50 HU quantise the half-max line slightly
    assert pair >= single
    assert pair < 1.0  # the truth has noise no rule on (v, peak) can see
