"""One head whose cranial cavity came apart at the falx is refused, not planned as twins.

Before the outline rule (``twinsep.twins.heads_outline``) each of these was planned as two
twins: the generated heads below as twins of 1007 / 1007 mL (with skull) and 558 / 558 mL
(a bare brain), Colin27's skull-stripped ``ch2better`` as "angular parietal" twins of its
two hemispheres (856 / 889 mL at 1 mm).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twinsep import labels as L
from twinsep.errors import AnatomyError
from twinsep.twins import assign_twins
from twinsep.twins.heads_outline import narrowing
from twinsep.twins.params import TwinParams
from twinsep.volume import Volume

SP = 2.0


def _grid(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y, z = (np.indices((n, n, n)).astype(float) - (n - 1) / 2.0) * SP
    return x, y, z


def _falx_head(*, skull: bool, falx_half_mm: float, falx_bottom_mm: float) -> Volume:
    """One adult-sized head (brain semi-axes 62 x 78 x 55 mm) on a 96^3, 2 mm grid whose
    falx - a midline sheet labelled bone (a calcified falx on CT, the dark fissure on a
    T1) - parts the hemispheres from the vault down to ``falx_bottom_mm``; with 2 mm of
    CSF, 4 mm of bone and 6 mm of scalp, or (``skull=False``) the brain alone."""
    x, y, z = _grid(96)
    r = np.sqrt((x / 62.0) ** 2 + (y / 78.0) ** 2 + (z / 55.0) ** 2)
    d = (r - 1.0) * 55.0
    lab = np.zeros(d.shape, np.uint8)
    if skull:
        lab[d <= 12.0] = L.SOFT_TISSUE
        lab[d <= 6.0] = L.BONE
        lab[d <= 2.0] = L.CSF
    lab[d <= 0.0] = L.BRAIN
    lab[(np.abs(x) <= falx_half_mm) & (z >= falx_bottom_mm) & (d <= 2.0)] = L.BONE
    return Volume(lab, np.diag([SP, SP, SP, 1.0]), {"source": "one-head.nii.gz"})


@pytest.mark.parametrize("skull", [True, False])
@pytest.mark.parametrize(("half", "bottom"), [(1.0, -25.0), (2.5, 0.0)])
def test_hemispheres_parted_by_the_falx_are_one_head(skull, half, bottom):
    vol = _falx_head(skull=skull, falx_half_mm=half, falx_bottom_mm=bottom)
    with pytest.raises(AnatomyError, match=r"^one-head\.nii\.gz: shows a single head \(one head"):
        assign_twins(vol)


def _two_balls(n: int, sep: float, r_cavity: float, cover: float) -> tuple[np.ndarray, ...]:
    x, y, z = _grid(n)
    d = np.minimum(
        np.sqrt((x + sep / 2) ** 2 + y**2 + z**2), np.sqrt((x - sep / 2) ** 2 + y**2 + z**2)
    )
    ic = d <= r_cavity
    tissue = d <= r_cavity + cover
    core_a = np.sqrt((x + sep / 2) ** 2 + y**2 + z**2) <= 6.0
    core_b = np.sqrt((x - sep / 2) ** 2 + y**2 + z**2) <= 6.0
    return tissue, ic, core_a, core_b


def test_narrowing_of_two_joined_balls_is_analytic():
    # cavity balls R = 40 mm, coverings 8 mm, centres 50 mm apart: the mid section is a
    # disc of radius^2 R^2 - 25^2, so the cavity narrows by 25^2 / 40^2 = 0.391 and the
    # unclosed outline by 25^2 / 48^2 = 0.271. The sections are 2 mm slabs that may lie
    # up to 2 mm off the mid plane: at least 23^2 / 40^2 = 0.331 and 23^2 / 48^2 = 0.230
    tissue, ic, a, b = _two_balls(80, 50.0, 40.0, 8.0)
    n = narrowing(tissue, ic, a, b, (SP, SP, SP), TwinParams(outline_close_mm=0.0))
    assert n.span_mm == pytest.approx(50.0, abs=0.5)
    assert 23**2 / 40**2 - 0.01 <= n.cavity <= 25**2 / 40**2 + 0.01
    assert 23**2 / 48**2 - 0.01 <= n.outline <= 25**2 / 48**2 + 0.01
    # closing fills part of the notch where the two outlines meet, not most of it
    closed = narrowing(tissue, ic, a, b, (SP, SP, SP), TwinParams())
    assert 0.6 * n.outline <= closed.outline <= n.outline
    assert closed.outline >= TwinParams().outline_min_share * closed.cavity * 2


def test_convex_outline_does_not_narrow():
    # one ball with a cavity split by a slab: the cavity narrows fully, the outline not
    x, y, z = _grid(64)
    d = np.sqrt(x**2 + y**2 + z**2)
    ic = (d <= 40.0) & (np.abs(x) > 3.0)
    n = narrowing(d <= 48.0, ic, ic & (x < -20), ic & (x > 20), (SP, SP, SP), TwinParams())
    assert n.cavity == pytest.approx(1.0, abs=1e-9)
    assert n.outline < 0.01


def _ch2better() -> Path | None:
    from twinsep.realanatomy.colin import colin_paths

    found = colin_paths()
    if found is None:
        return None
    p = found[0].parent / "ch2better.nii.gz"
    return p if p.is_file() else None


@pytest.mark.realdata
@pytest.mark.skipif(_ch2better() is None, reason="Colin27 ch2better (mricron-data) not installed")
def test_skull_stripped_ch2better_is_one_head():
    """Colin27's ``ch2better`` (a skull-stripped adult T1, 0.5 mm; here averaged to 1 mm,
    which kept the failure: twins of 856 / 889 mL before) is refused as one head: its
    interhemispheric fissure, labelled dark, parted the cavity into two cores."""
    from twinsep.io import load_scan
    from twinsep.segment.mr import segment_mr_t1

    path = _ch2better()
    assert path is not None
    scan = load_scan(path)
    a = scan.volume.array.astype(np.float32)
    n = [s // 2 * 2 for s in a.shape]
    a = a[: n[0], : n[1], : n[2]].reshape(n[0] // 2, 2, n[1] // 2, 2, n[2] // 2, 2).mean((1, 3, 5))
    aff = scan.volume.affine.copy()
    aff[:3, 3] += aff[:3, :3] @ np.full(3, 0.5)
    aff[:3, :3] *= 2.0
    res = segment_mr_t1(Volume(a, aff, {"source": "ch2better.nii.gz"}))
    with pytest.raises(AnatomyError, match=r"^ch2better\.nii\.gz: shows a single head \(one head"):
        assign_twins(res.labels)


def test_a_partial_union_of_unequal_heads_is_two_heads():
    """The blind shapes layer's partial vertical union of a hydrocephalic head with one of
    0.75 its length: its outline narrows 0.198 of the cavity's narrowing (truth labels),
    and the first threshold (0.2) refused these twins as one head."""
    from blind.shapes import make_shapes
    from blind.shapes_cases import shapes_cases

    ph = make_shapes(shapes_cases()["vp-c15-small75-hydroA"])
    out = assign_twins(Volume(ph.labels, ph.affine, {"source": "vp.nii.gz"}))
    assert {1, 2} <= set(np.unique(out.twins.array).tolist())
