"""MR alone: a wide extra-axial CSF layer keeps its outer part
(``segment.mr_layer.inner_table_mm``).

Infants often have extra-axial CSF 4-10 mm wide (benign enlargement of the
subarachnoid spaces). The CSF layer over the brain was grown at most
``MRParams.csf_layer_mm`` (3 mm), and where the skull beyond 4.5 mm read as CSF - the
layer itself - it was not grown at all: the layer's outer part became bone. Generated
heads (``tests/t1_heads.py``: folded 3 mm cortex, 96^3 at 1.5 mm, 3 % Rician noise),
CSF layers 5 and 8 mm; measured before the change CSF Dice 0.376 (``csf5``) and 0.276
(``inf csf8``, newborn contrast), after 0.874 and 0.937.
"""

from __future__ import annotations

import numpy as np
import pytest

from t1_heads import DESIGNS, affine, make_head
from twinsep import labels as L
from twinsep.segment import mr as M
from twinsep.segment.mr_layer import inner_table_mm
from twinsep.volume import Volume


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / float(a.sum() + b.sum())


@pytest.mark.parametrize("name", ["csf5", "inf csf8"])
def test_wide_csf_layer_is_csf_up_to_the_inner_table(name: str) -> None:
    d = DESIGNS[name]
    t1, truth = make_head(d)
    out = M.segment_mr_t1(Volume(t1, affine(d), {"source": "t1.nii"})).labels.array
    centre = (np.indices(t1.shape).transpose(1, 2, 3, 0) + 0.5) * d.sp - d.n * d.sp / 2.0
    r = np.linalg.norm(centre, axis=-1)
    # the layer's outer half (from 54 - csf_mm / 2 to the inner table at 54 mm, less
    # the voxel against the table): measured 0.834 / 0.966 CSF (0.0 / 0.0 before; in
    # csf5 the sulci, 3 mm deep, put the layer's outer edge farther from the closed brain
    # than the reach read from the inner table, and some of it stays bone)
    outer = (truth == L.CSF) & (r >= 54.0 - d.csf_mm / 2.0) & (r < 52.5)
    assert float(np.mean(out[outer] == L.CSF)) >= 0.75
    assert _dice(out == L.CSF, truth == L.CSF) >= 0.8
    assert _dice(out == L.BRAIN, truth == L.BRAIN) >= 0.98
    # the inner table stays bone, not CSF: measured none of it CSF
    table = (truth == L.BONE) & (r < 55.5)
    assert float(np.mean(out[table] == L.CSF)) <= 0.02


def _ball(layer_mm: float, bone: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T1, distance from a 20 mm ball of brain, body): the brain 600, a CSF layer of
    140 ``layer_mm`` thick, ``bone`` to 32 mm; Gaussian noise 5; 1 mm voxels."""
    shape = (72, 72, 72)
    r = np.linalg.norm(np.indices(shape) - 35.5, axis=0)
    img = np.where(r < 20.0, 600.0, np.where(r < 20.0 + layer_mm, 140.0, bone))
    img = img + np.random.default_rng(1).normal(0.0, 5.0, shape)
    return img.astype(np.float32), np.maximum(r - 20.0, 0.0), r < 32.0


@pytest.mark.parametrize("layer_mm", [2.5, 5.0, 8.0])
def test_inner_table_is_where_the_shells_turn_darker_than_csf(layer_mm: float) -> None:
    img, dist, body = _ball(layer_mm, 30.0)
    got = inner_table_mm(img, dist, body, 120.0, 300.0, (1.0, 1.0, 1.0), 12.0)
    assert got is not None and abs(got - layer_mm) <= 1.0, got


def test_no_inner_table_where_bone_reads_as_csf_or_no_layer() -> None:
    # bone within the noise of CSF (an adult's compact bone): no dark band is seen
    img, dist, body = _ball(5.0, 135.0)
    assert inner_table_mm(img, dist, body, 120.0, 300.0, (1.0, 1.0, 1.0), 12.0) is None
    # no layer: bone right on the brain
    img, dist, body = _ball(0.0, 30.0)
    assert inner_table_mm(img, dist, body, 120.0, 300.0, (1.0, 1.0, 1.0), 12.0) is None
