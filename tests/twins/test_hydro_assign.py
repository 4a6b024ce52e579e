"""A hydrocephalic twin keeps its own brain: wide CSF bodies are crossed at the brain's cost.

Blind shapes ``vt-c15-hydroB*`` (one twin with enlarged ventricles under a 10 mm brain
mantle, a total vertical union): the slow CSF cost inside 20-40 mm of its own ventricles
held the hydrocephalic twin's front back while the other twin's front ran round them
through the mantle; 123-257 mL of the hydrocephalic twin's mantle and ventricles went to
the other twin (twin accuracy beyond 15 mm of the boundary 0.88-0.98 in that twin).

Here two analytic infant heads (``realanatomy.head``) are joined vertex to vertex on a
2 mm grid, one with lateral ventricles of semi-axes 35 x 50 x 35 mm (a 10 mm mantle
over the vertex and the sides), and each voxel's true owner is the head it lies deeper
in. Before the rule the hydrocephalic twin scored 0.838 (B) / 0.825 (A) beyond the band
and lost 273 / 288 mL; the regular pair scores 1.0.
"""

from __future__ import annotations

import numpy as np
import pytest

from twinsep import labels as L
from twinsep.realanatomy.head import AnalyticHeadParams, analytic_head
from twinsep.segment import morph
from twinsep.twins import assign_twins
from twinsep.twins.assign import wide_csf_blocks
from twinsep.twins.params import TwinParams
from twinsep.volume import Volume

SPACING_MM = 2.0
OVERLAP_MM = 36.0  # the vertices overlap this much: the brains meet over a wide disc
HYDRO_VENTRICLES_MM = (35.0, 50.0, 35.0)  # mantle 10 mm over the vertex and the sides
BAND_MM = 15.0


def _pair(hydro: str | None) -> tuple[Volume, np.ndarray]:
    """Two analytic heads joined vertex to vertex along z; ``hydro`` names the
    hydrocephalic twin ("A" below, "B" above) or None. Returns labels and true owners."""
    regular = AnalyticHeadParams()
    big = AnalyticHeadParams(ventricle_radii_mm=HYDRO_VENTRICLES_MM)
    la = analytic_head(SPACING_MM, big if hydro == "A" else regular).labels
    # head B turned 180 deg about y (vertex down): its array flipped along x and z
    lb = analytic_head(SPACING_MM, big if hydro == "B" else regular).labels[::-1, :, ::-1]
    nz = la.shape[2]
    # each head's scalp spans voxels 3 .. n-4 of its grid (analytic_head pads 3)
    oz = nz - 7 - int(round(OVERLAP_MM / SPACING_MM))
    shape = (la.shape[0], la.shape[1], oz + nz)
    a = np.zeros(shape, np.uint8)
    a[:, :, :nz] = la
    b = np.zeros(shape, np.uint8)
    b[:, :, oz:] = lb
    sp = (SPACING_MM,) * 3
    # where the heads overlap, a voxel is the head's it lies deeper in (fuse_heads' rule)
    own_a = (a > 0) & ((b == 0) | (morph.distance_mm(a > 0, sp) >= morph.distance_mm(b > 0, sp)))
    own_b = (b > 0) & ~own_a
    lab = np.where(own_a, a, np.where(own_b, b, 0)).astype(np.uint8)
    truth = np.zeros(shape, np.uint8)
    truth[own_a] = L.TWIN_A
    truth[own_b] = L.TWIN_B
    return Volume(lab, np.diag([SPACING_MM] * 3 + [1.0]), {"source": "pair"}), truth


def _accuracy(truth: np.ndarray, pred: np.ndarray, twin: int) -> float:
    """Share of the twin's true tissue farther than BAND_MM from the other twin that
    the assignment gives to it."""
    sp = (SPACING_MM,) * 3
    other = morph.distance_to_mm(truth == 3 - twin, sp)
    m = (truth == twin) & (other > BAND_MM)
    return float((pred[m] == twin).mean())


def _moved_ml(truth: np.ndarray, pred: np.ndarray, twin: int) -> float:
    """mL of the twin's true tissue given to the other twin (the band included)."""
    return float(((truth == twin) & (pred == 3 - twin)).sum()) * SPACING_MM**3 / 1000.0


@pytest.fixture(scope="module")
def pairs() -> dict[str, tuple[Volume, np.ndarray]]:
    out = {name: _pair(None if name == "none" else name) for name in ("A", "B", "none")}
    for vol, truth in out.values():
        vol.array.flags.writeable = False
        truth.flags.writeable = False
    return out


def test_the_pairs_are_what_they_claim(pairs):
    """The hydrocephalic head holds far more CSF and the same cavity; twin A is below."""
    for name in ("A", "B"):
        vol, truth = pairs[name]
        hydro = L.TWIN_A if name == "A" else L.TWIN_B
        csf = [float(((vol.array == L.CSF) & (truth == t)).sum()) * 8e-3 for t in (1, 2)]
        # each of the two ventricles is 4/3 pi 35*50*35 mm3 = 256 mL, less their overlap
        # across the midline: far above a regular head's 2 x 6.8 mL plus its CSF layer
        assert csf[hydro - 1] > 300.0 > 120.0 > csf[2 - hydro], csf
        # twin A is the lower head (DESIGN's rule: the smaller z)
        assert np.argwhere(truth == 1)[:, 2].mean() < np.argwhere(truth == 2)[:, 2].mean()


@pytest.mark.parametrize("hydro", ["A", "B"])
def test_the_hydrocephalic_twin_keeps_its_brain(pairs, hydro):
    vol, truth = pairs[hydro]
    pred = assign_twins(vol).twins.array
    t = L.TWIN_A if hydro == "A" else L.TWIN_B
    # before the rule 0.838 (B) / 0.825 (A) and 273 / 288 mL moved; issue 4's target is
    # 0.995 beyond the band, the regular pair reaches 1.0
    assert _accuracy(truth, pred, t) >= 0.995
    assert _accuracy(truth, pred, 3 - t) >= 0.995
    # the band's own share of the boundary's offset: the regular pair moves 14.5 mL of
    # twin A to B (the fronts meet a voxel or two off the depth-equal surface)
    assert _moved_ml(truth, pred, t) <= 20.0


def test_without_the_rule_the_mantle_is_lost(pairs):
    """``wide_csf_mm=0`` (the slow cost everywhere in CSF) gives the failure back: the
    test above measures the rule, not a property of the phantom."""
    vol, truth = pairs["B"]
    pred = assign_twins(vol, params=TwinParams(wide_csf_mm=0.0)).twins.array
    assert _accuracy(truth, pred, L.TWIN_B) < 0.9
    assert _moved_ml(truth, pred, L.TWIN_B) > 200.0


def test_regular_pair_is_unchanged(pairs):
    """Slit-like ventricles (5 x 18 x 7 mm) and a 2.5 mm CSF layer hold no ball of
    5 mm: the rule finds nothing and the owners are those of ``wide_csf_mm=0``."""
    vol, truth = pairs["none"]
    pred = assign_twins(vol).twins.array
    off = assign_twins(vol, params=TwinParams(wide_csf_mm=0.0)).twins.array
    assert np.array_equal(pred, off)
    assert _accuracy(truth, pred, 1) == 1.0 and _accuracy(truth, pred, 2) == 1.0


def test_wide_csf_blocks_keep_bodies_not_layers():
    """A ball of CSF 15 mm in radius is kept to its wall; a 5 mm sheet and a 10 mm rod
    beside it are not; radius 0 keeps nothing."""
    csp = (2.5, 2.5, 2.5)
    shape = (40, 40, 40)
    x, y, z = (np.indices(shape) + 0.5) * 2.5
    ball = (x - 30) ** 2 + (y - 30) ** 2 + (z - 30) ** 2 <= 15.0**2
    sheet = (np.abs(x - 80.0) < 2.5) & (y < 90)  # 2 blocks thick
    rod = ((y - 80.0) ** 2 + (z - 80.0) ** 2 <= 5.0**2) & (x < 60)  # 10 mm across
    frac = (ball | sheet | rod).astype(np.float32)
    wide = wide_csf_blocks(frac, csp, 5.0)
    assert not (wide & ~ball).any()  # nothing of the sheet or the rod
    # the opening leaves out only blocks of the ball's staircase surface (816 of 912
    # kept; the surface layer alone is 296 blocks)
    surface = ball & ~morph.erode_mm(ball, 2.5, csp)
    assert not (ball & ~surface & ~wide).any()
    assert wide.sum() >= 0.85 * ball.sum(), (int(wide.sum()), int(ball.sum()))
    assert not wide_csf_blocks(frac, csp, 0.0).any()
    # a block half CSF counts as CSF; less does not
    half = wide_csf_blocks(np.where(ball, 0.5, 0.0).astype(np.float32), csp, 5.0)
    assert np.array_equal(half, wide)
    assert not wide_csf_blocks(np.where(ball, 0.49, 0.0).astype(np.float32), csp, 5.0).any()
