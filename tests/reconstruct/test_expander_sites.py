"""The expander candidates of many sites measured together (``expander_sites``) against
the definition, one candidate at a time, and against footprints by hand.

The definition (module ``expander_search``, item 2): at each site, each size that fits
in each of its angles is valid when no forbidden point within its reach lies in its
footprint (slack = the least distance outside, > 0); a footprint containing one of the
same shape and angle that was not valid is not tried; a valid one's conflict cells are
the cells within ``dil`` of its footprint. Sites here are random points in the tangent
plane (no mesh): the batched code must give every slack bit for bit and every cell set.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from twinsep.reconstruct.catalogue import DEFAULT_CATALOGUE
from twinsep.reconstruct.expander_footprint import outside_mm, rotated_uv
from twinsep.reconstruct.expander_search import SizeOption
from twinsep.reconstruct.expander_sites import SitePoints, site_points, valid_candidates

ANGLES = (0.0, 30.0, 60.0, 90.0, 120.0, 150.0)
DIL_MM = 4.5  # gap 6 mm / 2 + cell 3 mm / 2, the defaults


def _sizes(model: str = "box") -> list[SizeOption]:
    return [SizeOption(c, c.base(model), 1.0) for c in DEFAULT_CATALOGUE]


def _reach(s: SizeOption) -> float:
    b = s.base
    return math.hypot(b.width_mm / 2, b.length_mm / 2) if b.is_box else b.length_mm / 2


def _one_at_a_time(fits, arcs, uv_f, uv_c, c_idx, sizes):
    """The definition, written plainly: every candidate tested on its own points."""
    found, cells = [], []
    for j in range(len(fits)):
        failed: dict = {}
        rad_f = np.linalg.norm(uv_f[j], axis=1)
        rad_c = np.linalg.norm(uv_c[j], axis=1)
        for k in np.flatnonzero(fits[j]):
            b = sizes[k].base
            near_f = uv_f[j][rad_f <= _reach(sizes[k])]
            in_c = rad_c <= _reach(sizes[k]) + DIL_MM
            for a in ANGLES if b.shape == "rectangular" else (0.0,):
                tried = failed.setdefault((b.shape, a), [])
                if b.shape != "crescent" and any(
                    w <= b.width_mm and ln <= b.length_mm for w, ln in tried
                ):
                    continue
                slack = (
                    float(outside_mm(b, arcs[j], rotated_uv(near_f, a)).min())
                    if len(near_f)
                    else math.inf
                )
                if slack <= 0.0:
                    tried.append((b.width_mm, b.length_mm))
                    continue
                o = outside_mm(b, arcs[j], rotated_uv(uv_c[j][in_c], a))
                found.append((j, int(k), a, slack))
                cells.append(np.sort(c_idx[j][in_c][o <= DIL_MM]))
    return found, cells


def _layout(fits, arcs, uv_f, uv_c, c_idx, sizes) -> SitePoints:
    reach = np.array([_reach(s) for s in sizes])
    return site_points(fits, arcs, uv_f, list(zip(uv_c, c_idx, strict=True)), reach, DIL_MM)


@pytest.mark.parametrize("model", ["box", "capsule"])
def test_sites_together_equal_one_at_a_time(model: str) -> None:
    """40 random sites: forbidden points 15-90 mm out (so that some sizes fit at a site
    and larger ones do not), cells on a 3 mm lattice, crescent radii 50-120 mm, a few
    sites with no forbidden point or no cell at all."""
    rng = np.random.default_rng(7)
    sizes = _sizes(model)
    fits, arcs, uv_f, uv_c, c_idx = [], [], [], [], []
    g = np.arange(-90.0, 90.1, 3.0)
    lattice = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)
    for j in range(40):
        n = 0 if j % 13 == 5 else int(rng.integers(1, 60))
        r = rng.uniform(15.0, 90.0, n)
        t = rng.uniform(0.0, 2 * math.pi, n)
        uv_f.append(np.column_stack([r * np.cos(t), r * np.sin(t)]))
        keep = rng.random(len(lattice)) < (0.0 if j % 17 == 3 else 0.5)
        uv_c.append(lattice[keep] + rng.normal(0.0, 0.3, (int(keep.sum()), 2)))
        c_idx.append(rng.permutation(5000)[: int(keep.sum())].astype(np.int64))
        fits.append(rng.random(len(sizes)) < 0.8)
        arcs.append(float(rng.uniform(50.0, 120.0)))
    want_found, want_cells = _one_at_a_time(fits, arcs, uv_f, uv_c, c_idx, sizes)
    sp = _layout(fits, arcs, uv_f, uv_c, c_idx, sizes)
    got_found, got_cells = valid_candidates(sp, sizes, ANGLES, DIL_MM)
    # some valid, some not, some skipped: the test covers every path
    assert 50 < len(want_found) < sum(int(np.sum(f)) for f in fits) * 2
    assert got_found == want_found  # the same candidates, order and slack bits
    for w, g_ in zip(want_cells, got_cells, strict=True):
        assert np.array_equal(w, np.sort(g_))


def test_slack_and_cells_by_hand() -> None:
    """One site, one rectangle of width W (box model): a forbidden point 3 mm beyond its
    long side gives a slack of exactly 3 mm; one 1 mm inside it leaves no candidate;
    of three cells, the centre and the one 4 mm outside are within the 4.5 mm dilation,
    the one 5 mm outside is not."""
    box = next(s for s in _sizes() if s.base.shape == "rectangular")
    sizes = [box]
    w2 = box.base.width_mm / 2
    uv_c = np.array([[w2 + 4.0, 0.0], [w2 + 5.0, 0.0], [0.0, 0.0]])
    c_idx = np.array([7, 8, 9], dtype=np.int64)
    fits = [np.array([True])]
    sp = _layout(fits, [100.0], [np.array([[w2 + 3.0, 0.0]])], [uv_c], [c_idx], sizes)
    found, cells = valid_candidates(sp, sizes, (0.0,), DIL_MM)
    assert found == [(0, 0, 0.0, 3.0)]
    assert sorted(cells[0].tolist()) == [7, 9]
    sp = _layout(fits, [100.0], [np.array([[w2 - 1.0, 0.0]])], [uv_c], [c_idx], sizes)
    assert valid_candidates(sp, sizes, (0.0,), DIL_MM) == ([], [])
