"""Print parts without loose specks; plates and small parts' pieces stay; the report
says what went."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import trimesh

from twinsep.models import ModelParams
from twinsep.models.build import PartMesh, mesh_part
from twinsep.models.pieces import drop_loose_pieces, points_inside
from twinsep.models.stage import ModelSet, _report_markdown, print_report
from twinsep.volume import Volume

from .conftest import make_affine

SPACING = (1.0, 1.0, 1.0)


def _body_plates_specks() -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """A ball of radius 24 mm with a 5 mm void (a ventricle), two plates apart from it
    (25 x 30 x 2 and 20 x 20 x 2 mm: skull plates at an open suture), four specks (cubes
    of 3, 4 and 5 mm and a 7 mm cube hollow by 3 mm) and a lone voxel, on an oblique
    1 mm grid; voxel volumes in mm^3."""
    shape = (84, 84, 76)
    aff = make_affine(SPACING, "oblique")
    mask = np.zeros(shape, dtype=bool)
    idx = np.indices(shape).transpose(1, 2, 3, 0).astype(np.float64)
    r = np.linalg.norm(idx - [28.0, 42.0, 38.0], axis=-1)
    mask[r <= 24.0] = True
    mask[r <= 5.0] = False
    mask[58:83, 6:36, 20:22] = True  # plate 25 x 30 x 2
    mask[58:78, 46:66, 50:52] = True  # plate 20 x 20 x 2
    specks = {(60, 72, 4): 3, (70, 74, 62): 4, (4, 74, 68): 5}
    for (i, j, k), n in specks.items():
        mask[i : i + n, j : j + n, k : k + n] = True
    mask[64:71, 40:47, 30:37] = True  # 7 mm cube ...
    mask[66:69, 42:45, 32:35] = False  # ... hollow inside
    mask[10, 4, 4] = True  # a lone voxel: under a cube of the minimum wall
    vox = {
        "ball": float(np.count_nonzero(r <= 24.0) - np.count_nonzero(r <= 5.0)),
        "plate_big": 25 * 30 * 2.0,
        "plate_small": 20 * 20 * 2.0,
        "specks": float(sum(n**3 for n in specks.values()) + 7**3 - 3**3),
    }
    return mask, aff, vox


def _part(mask: np.ndarray, aff: np.ndarray, params: ModelParams) -> PartMesh:
    part = mesh_part(
        mask,
        Volume(mask.astype(np.uint8), aff),
        name="A/bone",
        twin="A",
        structure="bone",
        colour="#7B3FA0",
        face_budget=0,
        params=params,
        min_wall_mm=None,
    )
    assert part is not None
    return part


def _keep_all(params: ModelParams) -> ModelParams:
    return dataclasses.replace(params, print=dataclasses.replace(params.print, min_piece_ml=0.0))


@pytest.fixture(scope="module")
def parts() -> tuple[PartMesh, PartMesh, dict[str, float]]:
    mask, aff, vox = _body_plates_specks()
    params = ModelParams()
    return _part(mask, aff, params), _part(mask, aff, _keep_all(params)), vox


def test_specks_go_plates_and_voids_stay(parts) -> None:
    """The ball's 1 % (570 mm^3) is over 0.5 mL: pieces under 0.5 mL go (the four
    specks, 27-316 mm^3, and the hollow speck's void with it); both plates (800 and
    1500 mm^3) and the ball's void stay."""
    part, whole, vox = parts
    tm = part.mesh.to_trimesh()
    assert tm.is_watertight and tm.is_winding_consistent
    pieces = sorted((p.volume for p in tm.split(only_watertight=False)), key=abs)
    # the ball, its void, two plates: nothing else
    assert len(pieces) == 4
    assert sum(v < 0 for v in pieces) == 1
    solid = sorted(v for v in pieces if v > 0)
    assert solid[0] == pytest.approx(vox["plate_small"], rel=0.1)
    assert solid[1] == pytest.approx(vox["plate_big"], rel=0.1)
    assert solid[2] + min(pieces) == pytest.approx(vox["ball"], rel=0.03)
    # what went: counted exactly, and its volume is that of the keep-all mesh's specks
    assert part.dropped.count == 4
    all_pieces = whole.mesh.to_trimesh().split(only_watertight=False)
    specks = [p.volume for p in all_pieces if 0 < p.volume < 400]
    hollow_void = [p.volume for p in all_pieces if -100 < p.volume < 0]
    assert len(specks) == 4 and len(hollow_void) == 1
    gone_mm3 = sum(specks) + sum(hollow_void)
    assert part.dropped.volume_ml * 1000 == pytest.approx(gone_mm3, rel=1e-6)
    assert part.dropped.largest_ml * 1000 == pytest.approx(max(specks))
    assert gone_mm3 == pytest.approx(vox["specks"], rel=0.15)
    assert whole.mesh.volume_ml == pytest.approx(
        part.mesh.volume_ml + part.dropped.volume_ml, rel=1e-9
    )


def test_min_piece_ml_zero_keeps_every_printable_piece(parts) -> None:
    """min_piece_ml = 0: the specks and the hollow one's void stay (the lone voxel's
    octahedron, under a cube of the minimum wall, does not)."""
    _, whole, _ = parts
    pieces = whole.mesh.to_trimesh().split(only_watertight=False)
    assert len(pieces) == 4 + 4 + 1
    assert whole.dropped.count == 0


def test_pieces_of_a_small_part_stay() -> None:
    """Vessel segments of a few mL: a 0.3 mL segment is 10 % of the 3 mL largest one and
    stays; a 20 mm^3 piece (under 1 % of it) goes."""
    a = trimesh.creation.box(extents=(30, 10, 10))  # 3000 mm^3
    b = trimesh.creation.box(extents=(10, 6, 5)).apply_translation((40, 0, 0))  # 300
    c = trimesh.creation.box(extents=(5, 2, 2)).apply_translation((0, 30, 0))  # 20
    m = trimesh.util.concatenate([a, b, c])
    v, f, dropped = drop_loose_pieces(
        np.asarray(m.vertices), np.asarray(m.faces), min_ml=0.5, min_fraction=0.01
    )
    assert trimesh.Trimesh(v, f).volume == pytest.approx(3300.0)
    assert (dropped.count, dropped.volume_ml) == (1, pytest.approx(0.02))


def test_points_inside_a_closed_mesh() -> None:
    box = trimesh.creation.box(extents=(10, 10, 10))
    pts = np.array([[0.0, 0, 0], [4.9, 4.9, 4.9], [5.1, 0, 0], [0, 0, -7.0], [2.5, 2.5, 0]])
    got = points_inside(pts, np.asarray(box.vertices), np.asarray(box.faces))
    assert got.tolist() == [True, True, False, False, True]


def test_print_report_says_what_was_left_out(parts) -> None:
    part, whole, _ = parts
    params = ModelParams()
    rows = print_report(ModelSet([part], [], [], None, params))
    assert rows[0]["pieces_dropped"] == 4
    assert rows[0]["dropped_ml"] == round(part.dropped.volume_ml, 3)
    md = _report_markdown(rows, 1.0, params.print)
    assert f"| 4 ({part.dropped.volume_ml:.2f}) |" in md
    assert "at least 0.5 mL at this scale or 1 % of the part's largest piece" in md
    assert f"4 pieces, {part.dropped.volume_ml:.2f} mL in all" in md
    keep_all = _keep_all(params)
    md0 = _report_markdown(
        print_report(ModelSet([whole], [], [], None, keep_all)), 1.0, keep_all.print
    )
    assert "Every piece of a part is printed" in md0
