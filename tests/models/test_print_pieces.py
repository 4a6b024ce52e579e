"""Print parts hold no piece smaller than a cube of the minimum wall."""

from __future__ import annotations

import numpy as np
import pytest

from twinsep.models import ModelParams
from twinsep.models.build import mesh_part
from twinsep.models.surface import drop_small_pieces
from twinsep.volume import Volume

from .conftest import make_affine, sphere


def test_a_lone_voxel_is_no_speck_in_a_print_part() -> None:
    """A ball of CSF and one lone CSF voxel 10 voxels away (1.5 mm): the voxel became an
    octahedron of 0.56 mm^3 before the volume offset (real-vertical A_csf.stl held 26
    such specks and decimation tetrahedra among its 52 pieces), which no printer makes."""
    aff = make_affine((1.5, 1.5, 1.5), "oblique")
    mask, _ = sphere((40, 40, 40), aff, np.array([16.0, 20.0, 20.0]), 9.0)
    mask[34, 20, 20] = True
    params = ModelParams()
    part = mesh_part(
        mask,
        Volume(mask.astype(np.uint8), aff),
        name="A/csf",
        twin="A",
        structure="csf",
        colour="#7B3FA0",
        face_budget=0,
        params=params,
        min_wall_mm=None,
    )
    assert part is not None
    tm = part.mesh.to_trimesh()
    pieces = tm.split(only_watertight=False)
    assert len(pieces) == 1 and tm.is_watertight
    # the ball's volume is kept: 4/3 pi 9^3 = 3,054 mm^3 (the voxel grid within 5 %)
    assert tm.volume == pytest.approx(4 / 3 * np.pi * 9.0**3, rel=0.05)


def test_drop_small_pieces_keeps_voids_only_when_asked() -> None:
    """A 10 mm cube holding a 1 mm inverted cube (a void of -1 mm^3) and a 1 mm cube
    beside it: keep_voids keeps the void and drops the small cube; without it both go."""
    import trimesh

    big = trimesh.creation.box(extents=(10, 10, 10))
    void = trimesh.creation.box(extents=(1, 1, 1))
    void.invert()
    speck = trimesh.creation.box(extents=(1, 1, 1))
    speck.apply_translation((20, 0, 0))
    m = trimesh.util.concatenate([big, void, speck])
    v, f = drop_small_pieces(np.asarray(m.vertices), np.asarray(m.faces), 1.73)
    assert trimesh.Trimesh(v, f).volume == pytest.approx(1000 - 1)
    v, f = drop_small_pieces(np.asarray(m.vertices), np.asarray(m.faces), 1.73, keep_voids=False)
    assert trimesh.Trimesh(v, f).volume == pytest.approx(1000) and len(f) == 12
