"""Classification and shared inventory against known geometry.

Two sources of truth: hand-made pairs (``handmade_pairs.py``, independent of the phantom
module) on random grids, and ``twinsep.phantom`` truth labels for every kind.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from twinsep.errors import AnatomyError
from twinsep.fusion import FusionParams, analyse_fusion
from twinsep.volume import Volume

sys.path.insert(0, str(Path(__file__).parent))
from handmade_pairs import make_pair  # noqa: E402


def _analyse(p, **kw):
    return analyse_fusion(Volume(p.labels, p.affine), Volume(p.twins, p.affine), **kw)


CASES = [
    # (site_a, site_b, roll, sinus, expected stone-goodrich, oconnell)
    ((0, 0), (0, 0), 20, "ring", "TV", None),
    ((0, 0), (0, 0), 170, "sagittal", "TV", None),
    ((0, 0), (0, 0), 90, "separate", "PV", None),
    ((65, 0), (65, 0), 90, "sagittal", "TA", None),
    ((70, 180), (70, 180), 270, "none", "PA", None),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_handmade_pairs_random_grids(case: int) -> None:
    sa, sb, roll, sinus, sg, _ = CASES[case]
    rng = np.random.default_rng(case)
    # 100^3 voxels of ~2.6 mm: the rotated anatomy (necks included) stays in the field
    p = make_pair(
        shape=(100, 100, 100),
        grid_rot=Rotation.random(random_state=case).as_matrix(),
        world_rot=Rotation.random(random_state=100 + case).as_matrix(),
        spacing=tuple(rng.uniform(2.3, 2.9, 3)),
        site_a=sa,
        site_b=sb,
        roll_deg=roll,
        sinus=sinus,
    )
    fa = _analyse(p)
    # the construction's own long-axis angle decides angular vs vertical (S&G rule)
    expected = sg[0] + ("A" if p.axis_angle_deg < 140.0 else "V")
    assert fa.stone_goodrich == expected
    # Targets: angles within 10 deg of the construction.
    assert abs(fa.axis_angle_deg - p.axis_angle_deg) < 10.0
    assert abs(fa.rotation_deg - p.rotation_deg) < 10.0
    if expected == "TV":
        want = "I" if p.rotation_deg < 40 else ("II" if p.rotation_deg >= 140 else "III")
        assert fa.oconnell == want
    # Bridge = disc of the bridge radius: 10 % target.
    assert fa.bridge.area_mm2 == pytest.approx(np.pi * p.bridge_radius_mm**2, rel=0.10)
    assert np.linalg.norm(fa.bridge.centroid_mm - p.bridge_centre) < 3.0
    assert abs(abs(float(fa.bridge.axis @ p.bridge_axis)) - 1.0) < 0.02
    if sinus == "ring":
        assert fa.shared.sinus_kind == "circular"
    if sinus == "sagittal":
        assert fa.shared.sinus_kind == "superior_sagittal"
    if sinus in ("none", "separate"):
        assert not fa.shared.shared_sinus and fa.shared.sinus_ml == 0.0


def test_angular_site_frontal_and_occipital() -> None:
    front = _analyse(make_pair(site_a=(65, 0), site_b=(65, 0), roll_deg=90, sinus="sagittal"))
    back = _analyse(make_pair(site_a=(70, 180), site_b=(70, 180), roll_deg=90, sinus="none"))
    assert front.type == "angular" and front.site == "frontal"
    assert back.type == "angular" and back.site == "occipital"


def test_face_or_skull_base_fusion_is_out_of_scope() -> None:
    # Heads joined 140 deg from the vertex (under the chin): not craniopagus.
    p = make_pair(site_a=(140, 0), site_b=(140, 0), face=False, bridge_gap_mm=14.0)
    with pytest.raises(AnatomyError, match="face or skull base"):
        _analyse(p)
    fa = _analyse(p, params=FusionParams(out_of_scope="warn"))
    assert not fa.in_scope
    assert any("OUT OF SCOPE" in w for w in fa.warnings)


def test_twins_that_do_not_touch_are_rejected() -> None:
    p = make_pair(bridge_radius_mm=0.0, bridge_gap_mm=20.0)
    with pytest.raises(AnatomyError, match="do not touch"):
        _analyse(p)


def test_inputs_not_modified() -> None:
    p = make_pair(sinus="ring")
    before = hashlib.sha256(p.labels.tobytes() + p.twins.tobytes()).hexdigest()
    _analyse(p)
    assert hashlib.sha256(p.labels.tobytes() + p.twins.tobytes()).hexdigest() == before


phantom = pytest.importorskip("twinsep.phantom")


@pytest.mark.parametrize("kind", phantom.PHANTOM_KINDS)
def test_phantom_kinds_random_affine(kind: str) -> None:
    idx = phantom.PHANTOM_KINDS.index(kind)
    rng = np.random.default_rng(idx)
    spacing = rng.uniform(2.6, 3.4, 3)
    rot = Rotation.random(random_state=idx).as_matrix()
    flips = np.diag(rng.choice([-1.0, 1.0], 3))
    aff = np.eye(4)
    aff[:3, :3] = rot @ flips * spacing
    aff[:3, 3] = -aff[:3, :3] @ (np.array([48, 48, 48]) / 2.0)
    ph = phantom.make_phantom(kind, seed=idx, affine=aff, table=False)
    tr = ph.truth
    fa = analyse_fusion(ph.labels, ph.twins)
    assert (fa.type, fa.completeness, fa.oconnell) == (tr.type, tr.completeness, tr.oconnell)
    assert abs(fa.axis_angle_deg - tr.axis_angle_deg) < 10.0
    assert abs(fa.rotation_deg - tr.rotation_deg) < 10.0
    assert fa.bridge.area_mm2 == pytest.approx(tr.bridge_area_mm2, rel=0.10)
    assert fa.shared.shared_sinus == tr.shared_sinus
    assert fa.shared.sinus_kind == tr.sinus_kind
    if tr.type == "angular":
        assert fa.site == tr.site


def test_anatomy_errors_name_the_scan() -> None:
    """The one-line error names the user's scan (carried in the volumes' meta), not an
    internal "labels"/"twins" (a face-less phantom printed "error: labels: ...")."""
    meta = {"source": "case.nii.gz"}
    q = make_pair(site_a=(140, 0), site_b=(140, 0), face=False, bridge_gap_mm=14.0)
    with pytest.raises(AnatomyError) as info:
        analyse_fusion(Volume(q.labels, q.affine, dict(meta)), Volume(q.twins, q.affine))
    assert info.value.one_line().startswith("case.nii.gz: "), info.value.one_line()
