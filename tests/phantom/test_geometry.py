"""Volumes, bridge area, sutures, table, orientation independence, contrast and noise."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest

from twinsep import labels as lab
from twinsep.phantom import HeadParams, analytic_brain_volume_mm3, make_phantom

logger = logging.getLogger(__name__)


@pytest.mark.parametrize("kind", ["vertical-partial", "angular-frontal-partial"])
def test_brain_volume_matches_analytic_shape(kind, phantom_cache):
    # In partial forms each brain is intact: a truncated ellipsoid minus two ventricles.
    ph = phantom_cache(kind, size=96)
    hp = HeadParams()
    for t in ph.truth.twins.values():
        expected_ml = analytic_brain_volume_mm3(hp, t.scale) / 1000.0
        # ~3 mm voxels on a ~600 mL body: sampling error < 1 %; a wrong layer depth
        # (0.5 mm) or floor would shift it by > 2 %.
        assert t.tissue_ml["brain"] == pytest.approx(expected_ml, rel=0.015)


def test_tissue_volumes_are_plausible_for_infants(phantom_cache):
    ph = phantom_cache("vertical-II", size=96)
    for t in ph.truth.twins.values():
        ml = t.tissue_ml
        assert 400 < ml["brain"] < 800
        assert 30 < ml["csf"] < 200
        assert 60 < ml["bone"] < 320
        assert 5 < ml["vessel"] < 60
        assert t.volume_ml == pytest.approx(sum(ml.values()), rel=1e-6)


def _boundary_area_mm2(twins: np.ndarray, affine: np.ndarray, normal: np.ndarray) -> float:
    """Twin-1/twin-2 voxel faces, corrected for the staircase of a plane with ``normal``."""
    m = affine[:3, :3]
    spacing = np.linalg.norm(m, axis=0)
    dirs = m / spacing
    face_sum = 0.0
    for axis in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis] = slice(0, -1)
        hi[axis] = slice(1, None)
        a, b = twins[tuple(lo)], twins[tuple(hi)]
        count = np.count_nonzero((a > 0) & (b > 0) & (a != b))
        face_sum += count * float(np.prod(np.delete(spacing, axis)))
    # A plane of area S crosses S*|n.d_i|/face_area_i faces of axis i.
    return face_sum / float(np.abs(dirs.T @ normal).sum())


@pytest.mark.parametrize("kind", ["vertical-I", "vertical-partial", "angular-parietal"])
def test_bridge_area_from_voxel_faces(kind, phantom_cache):
    ph = phantom_cache(kind, size=96)
    tr = ph.truth
    area = _boundary_area_mm2(ph.twins.array, ph.twins.affine, np.array(tr.bridge_normal))
    # Rim voxels (perimeter x half a voxel) make the face count differ by a few %.
    assert area == pytest.approx(tr.bridge_area_mm2, rel=0.05)
    assert 2000 < tr.bridge_area_mm2 < 20000


def test_bridge_area_under_an_oblique_grid():
    rng = np.random.default_rng(7)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    aff = q @ np.diag([3.2, 3.0, 3.4])
    ph = make_phantom("vertical-III", affine=aff, noise_hu=0.0)
    tr = ph.truth
    area = _boundary_area_mm2(ph.twins.array, ph.twins.affine, np.array(tr.bridge_normal))
    assert area == pytest.approx(tr.bridge_area_mm2, rel=0.06)


def test_shared_bone_is_inside_the_bridge(phantom_cache):
    total = phantom_cache("vertical-I", size=96).truth
    partial = phantom_cache("vertical-partial", size=96).truth
    assert total.shared_bone_ml > 0 and partial.shared_bone_ml > 0
    # Shared bone is a small part of each skull.
    for tr in (total, partial):
        assert tr.shared_bone_ml < 0.2 * tr.twins["A"].tissue_ml["bone"]


@pytest.mark.parametrize(
    ("kind", "check_fontanelle", "check_sagittal"),
    # Each site is checked on a kind whose junction lies far from it (> 50 deg away).
    [("angular-occipital-partial", True, False), ("angular-frontal-partial", False, True)],
)
def test_open_fontanelle_and_sagittal_suture_are_gaps(
    kind, check_fontanelle, check_sagittal, phantom_cache
):
    ph = phantom_cache(kind, size=128)
    hp = HeadParams()
    aff = ph.labels.affine

    def probe(t, x_local, y_local, *, box: int = 0):
        """Labels and highest HU of the voxels at the middle of the vault bone at local
        (x, y): the nearest voxel, or its (2 box + 1)^3 neighbourhood."""
        semi = hp.layer_semi_axes_mm(hp.scalp_mm + hp.bone_mm / 2.0)
        z_local = semi[2] * np.sqrt(1 - (x_local / semi[0]) ** 2 - (y_local / semi[1]) ** 2)
        r, f = np.array(t.right_dir), np.array(t.face_dir)
        p = np.array(t.head_centre_mm) + t.scale * (
            x_local * r + y_local * f + z_local * np.cross(r, f)
        )
        ijk = np.rint(np.linalg.solve(aff[:3, :3], p - aff[:3, 3])).astype(int)
        sl = tuple(slice(v - box, v + box + 1) for v in ijk)
        return set(np.unique(ph.labels.array[sl]).tolist()), int(ph.ct.array[sl].max())

    for t in ph.truth.twins.values():
        if check_fontanelle:
            ijk = np.rint(np.linalg.solve(aff[:3, :3], np.array(t.fontanelle_mm) - aff[:3, 3]))
            # Membrane over the superior sagittal sinus: never bone.
            assert ph.labels.array[tuple(ijk.astype(int))] in (lab.SOFT_TISSUE, lab.VESSEL)
            found, hu = probe(t, 0.0, hp.bregma_y_mm, box=1)
            assert lab.BONE not in found  # a 2 cm hole: no bone in the 3x3x3 block
            assert hu < 300  # membrane in the CT too
            # Frontal and parietal bones diagonally around it (clear of both sutures).
            for sx in (-1, 1):
                for sy in (-1, 1):
                    assert lab.BONE in probe(t, sx * 20.0, hp.bregma_y_mm + sy * 20.0, box=1)[0]
        if not check_sagittal:
            continue
        # Along the sagittal suture most probes find no bone; 12 mm beside it, all do.
        ys = np.arange(hp.lambda_y_mm + 8.0, hp.bregma_y_mm - 8.0, 2.0)
        on_suture = [lab.BONE not in probe(t, 0.0, y)[0] for y in ys]
        assert np.mean(on_suture) > 0.5
        for side in (-1, 1):
            for y in ys:
                found, hu = probe(t, side * 12.0, y, box=1)
                assert lab.BONE in found
                assert hu > 300  # thin bone in partial volume still reads as bone


def test_table_is_background(phantom_cache):
    with_table = phantom_cache("vertical-II")
    without = phantom_cache("vertical-II", table=False)
    for ph in (with_table, without):
        bg = ph.labels.array == lab.BACKGROUND
        assert np.all(ph.twins.array[bg] == 0)
    bright_bg = lambda ph: np.count_nonzero(  # noqa: E731
        (ph.labels.array == 0) & (ph.ct.array > 0)
    )
    # The table plate (10 mm, ~120 HU) gives hundreds of bright background voxels.
    assert bright_bg(with_table) > 500
    assert bright_bg(without) == 0
    # The table only adds background: the anatomy is the same (grids differ slightly).
    for name in ("A", "B"):
        v0 = with_table.truth.twins[name].tissue_ml
        v1 = without.truth.twins[name].tissue_ml
        for tissue in ("soft_tissue", "bone", "brain"):
            assert v1[tissue] == pytest.approx(v0[tissue], rel=0.02)


def test_volumes_do_not_depend_on_grid_orientation(phantom_cache):
    base = phantom_cache("angular-frontal", size=80)
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    flip = np.diag([-1.0, 1.0, 1.0])  # and a flip
    aff = np.eye(4)
    # Same voxel size as the base grid: thin walls are widened to 1.05 voxel in the truth,
    # so bone volume depends on the voxel size (see truth.thin_layer_mm).
    aff[:3, :3] = q @ flip * base.truth.spacing_mm[0]
    before = aff.copy()
    ph = make_phantom("angular-frontal", affine=aff, noise_hu=0.0)
    assert np.array_equal(aff, before)  # the input affine is not modified
    assert ph.ct.orientation != "RAS" or not np.allclose(
        ph.ct.affine[:3, :3], np.diag(np.diag(ph.ct.affine[:3, :3]))
    )
    for name in ("A", "B"):
        t0, t1 = base.truth.twins[name], ph.truth.twins[name]
        assert np.allclose(t0.vertex_mm, t1.vertex_mm, atol=1e-3)  # same world anatomy
        assert t1.volume_ml == pytest.approx(t0.volume_ml, rel=0.03)
        for tissue in ("soft_tissue", "bone", "brain"):
            assert t1.tissue_ml[tissue] == pytest.approx(t0.tissue_ml[tissue], rel=0.03)
    assert ph.truth.bridge_area_mm2 == pytest.approx(base.truth.bridge_area_mm2, rel=1e-6)


def test_anisotropic_spacing_is_exact():
    ph = make_phantom("vertical-partial", spacing_mm=(2.5, 3.0, 4.0), noise_hu=0.0)
    assert ph.ct.spacing_mm == pytest.approx((2.5, 3.0, 4.0))
    assert ph.truth.spacing_mm == pytest.approx((2.5, 3.0, 4.0))
    assert ph.ct.array.dtype == np.int16 and ph.labels.array.dtype == np.uint8


def test_truth_vault_is_widened_along_the_bone_normal_only():
    # On a 3 x 3 x 6 mm grid the vault is widened to 6.3 mm only where its normal runs
    # along k: its volume must lie between the 3 mm and the 6 mm isotropic truths.
    bone = {
        sp: make_phantom("vertical-partial", spacing_mm=sp, noise_hu=0.0)
        .truth.twins["A"]
        .tissue_ml["bone"]
        for sp in ((3.0, 3.0, 3.0), (3.0, 3.0, 6.0), (6.0, 6.0, 6.0))
    }
    fine, aniso, coarse = bone.values()
    assert fine < aniso < coarse
    assert aniso < fine + 0.75 * (coarse - fine)


def test_contrast_changes_vessel_hu_not_labels(phantom_cache):
    with_c = phantom_cache("vertical-I", size=96)
    plain = phantom_cache("vertical-I", size=96, contrast=False)
    assert np.array_equal(with_c.labels.array, plain.labels.array)
    assert 250 <= with_c.truth.vessel_hu <= 400 and 40 <= plain.truth.vessel_hu <= 60
    for ph, lo, hi in ((with_c, 150, 420), (plain, 20, 70)):
        v = ph.labels.array == lab.VESSEL
        median = float(np.median(ph.ct.array[v]))
        assert lo < median < hi


def test_noise_sigma_and_determinism():
    a = make_phantom("vertical-partial", size=48, seed=5, noise_hu=20.0)
    b = make_phantom("vertical-partial", size=48, seed=5, noise_hu=20.0)
    clean = make_phantom("vertical-partial", size=48, seed=5, noise_hu=0.0)
    other = make_phantom("vertical-partial", size=48, seed=6, noise_hu=20.0)
    for va, vb in ((a.ct, b.ct), (a.labels, b.labels), (a.twins, b.twins)):
        assert va.array.tobytes() == vb.array.tobytes()
    assert a.truth == b.truth
    assert not np.array_equal(a.ct.array, other.ct.array)
    diff = a.ct.array.astype(float) - clean.ct.array.astype(float)
    inside = (clean.ct.array > -900) & (clean.ct.array < 2900)  # away from the clip limits
    assert float(diff[inside].std()) == pytest.approx(20.0, rel=0.05)


def test_bad_options_are_one_line_config_errors():
    from twinsep.errors import ConfigError

    cases = [
        ({"size": 5}, "size"),
        ({"seed": -1}, "seed"),
        ({"noise_hu": -3.0}, "noise_hu"),
        ({"spacing_mm": (1.0, 1.0)}, "spacing_mm"),
        ({"spacing_mm": 0.0}, "spacing_mm"),
        ({"affine": np.zeros((4, 4))}, "affine"),
        ({"affine": np.eye(4) * 3, "spacing_mm": 3.0}, "spacing_mm"),
    ]
    for kwargs, name in cases:
        with pytest.raises(ConfigError) as err:
            make_phantom("vertical-I", **kwargs)
        assert err.value.one_line().startswith(f"{name}:")


def test_log_build_time_at_96():
    # Not a timed assertion (the machine is shared): the time goes to the test log.
    t0 = time.perf_counter()
    ph = make_phantom("vertical-II", size=96)
    elapsed = time.perf_counter() - t0
    logger.info("vertical-II at size 96 %s built in %.2f s", ph.ct.shape, elapsed)
    assert max(ph.ct.shape) == 96
