"""MR alone: the skull band stops under the scalp (``segment.mr_skull.scalp_edge``).

The skull band reaches ``MRParams.skull_band_mm`` (12 mm) from the cranial cavity; since
7b8445d the cavity reaches its true wall, and on a head whose dark/bright level lies near
the skin's value (generated design ``c4f0`` of ``tests/t1_heads.py``: level 407, skin
420) the band reached the skin's outer edge, partial volume of skin and air darker than
the level: measured before the change 11.3 k truth soft-tissue voxels and 2.7 k of air
labelled bone (soft tissue Dice 0.897), after 3 and 0 (0.966); every truth bone voxel
labelled as before (57.7 k bone).
"""

from __future__ import annotations

import numpy as np

from t1_heads import DESIGNS, affine, make_head
from twinsep import labels as L
from twinsep.segment import mr as M
from twinsep.segment.mr_skull import scalp_edge
from twinsep.volume import Volume


def test_skin_edge_is_not_bone_where_the_level_lies_near_the_skin() -> None:
    d = DESIGNS["c4f0"]
    t1, truth = make_head(d)
    res = M.segment_mr_t1(Volume(t1, affine(d), {"source": "t1.nii"}))
    out = res.labels.array
    assert 400.0 < res.hu_thresholds["dark_tissue"] < 420.0  # the design's point
    assert int(((truth == L.SOFT_TISSUE) & (out == L.BONE)).sum()) <= 500
    assert int(((truth == 0) & (out == L.BONE)).sum()) <= 100
    # the skull is kept: measured 0.963 of the truth bone labelled bone, as before
    assert float(np.mean(out[truth == L.BONE] == L.BONE)) >= 0.95


def test_scalp_edge_stops_at_bright_scalp() -> None:
    """A ball: bone (dark) under 3 mm of fat (bright) under 2 mm of skin whose outer
    voxel is dark. The skin's dark edge is reached from the air; the bone is not (the fat
    parts it from the edge). With no fat and a dark scalp the path goes on only as deep
    as a voxel and the blur."""
    shape = (60, 60, 60)
    r = np.linalg.norm(np.indices(shape) - 29.5, axis=0)
    head = r < 25.0
    skin_edge = head & (r >= 24.0)
    bone = (r >= 17.0) & (r < 20.0)
    dark = skin_edge | bone
    got = scalp_edge(head, dark, (1.0, 1.0, 1.0), 1.2)
    assert np.array_equal(got, skin_edge)
    # the whole scalp dark down to the bone: only the edge's depth is taken
    dark_all = head & (r >= 17.0)
    got = scalp_edge(head, dark_all, (1.0, 1.0, 1.0), 1.2)
    assert got[skin_edge].all() and not got[bone].any()
