"""Doll parts, exports read back with trimesh, and the models stage outputs."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import trimesh

from twinsep.models import ModelParams, build_models, write_models
from twinsep.models.doll import make_doll, to_manifold
from twinsep.models.export import write_mesh
from twinsep.models.surface import Mesh

from .conftest import make_affine, sphere, two_heads

COLOURS = {"A": "#7B3FA0", "B": "#F28C28"}


@pytest.fixture(scope="module")
def heads():
    return two_heads()


@pytest.fixture(scope="module")
def doll(heads):
    labels, twins = heads
    return make_doll(labels, twins, colours=COLOURS)


def test_doll_parts_fit(heads, doll) -> None:
    labels, twins = heads
    assert doll.part_a.watertight and doll.part_b.watertight and doll.joined.watertight
    ma, mb, mj = to_manifold(doll.part_a), to_manifold(doll.part_b), to_manifold(doll.joined)
    joined_ml = mj.volume() / 1000
    # the parts do not intersect (shared cut surface, pins in clearance holes)
    assert (ma ^ mb).volume() / 1000 < 1e-4 * joined_ml
    # together they reproduce the joined model: only the pin clearance is missing
    assert (ma + mb).volume() / 1000 == pytest.approx(joined_ml, rel=0.01)
    # joined model vs label volume of the heads
    label_ml = (labels.array > 0).sum() * labels.voxel_volume_mm3 / 1000
    assert joined_ml == pytest.approx(label_ml, rel=0.03)
    # each part is its twin: its centroid on its twin's side
    ca = labels.centroid_mm((twins.array == 1) & (labels.array > 0))
    cb = labels.centroid_mm((twins.array == 2) & (labels.array > 0))
    pa = doll.part_a.to_trimesh().center_mass
    pb = doll.part_b.to_trimesh().center_mass
    assert np.linalg.norm(pa - ca) < 5 and np.linalg.norm(pb - cb) < 5
    assert doll.part_a.colour == COLOURS["A"] and doll.part_b.colour == COLOURS["B"]


def test_pins_cross_the_cut_from_a_to_b(heads, doll) -> None:
    labels, twins = heads
    assert len(doll.pins) >= 2
    ca = labels.centroid_mm(twins.array == 1)
    cb = labels.centroid_mm(twins.array == 2)
    ab = (cb - ca) / np.linalg.norm(cb - ca)
    for p in doll.pins:
        assert np.dot(p.axis, ab) > 0.9  # the cut is perpendicular to the A-B axis here
        assert p.depth_mm >= 12.0
    # part B has holes: it is lighter than B without pins by about the hole volume
    plain = make_doll(
        labels, twins, colours=COLOURS, with_guide=False, params=type(ModelParams().doll)(n_pins=0)
    )
    # n_pins=0 means no pins at all (a regression: the deepest pin used to be placed anyway,
    # so the baseline already held it and the first pin seemed to add nothing)
    assert plain.pins == []
    hole_ml = len(doll.pins) * np.pi * 3.2**2 * 16.4 / 2 / 1000
    assert plain.part_b.volume_ml - doll.part_b.volume_ml == pytest.approx(hole_ml, rel=0.1)
    # part A gains the half of each pin that sticks out (radius 3, length 16 mm); rel 0.1
    # allows the 48-gon and the pin centre sitting up to a voxel off the cut
    pin_ml = len(doll.pins) * np.pi * 3.0**2 * 16.0 / 2 / 1000
    assert doll.part_a.volume_ml - plain.part_a.volume_ml == pytest.approx(pin_ml, rel=0.1)


def test_cutting_guide_sits_on_the_scalp(heads, doll) -> None:
    labels, twins = heads
    g = doll.guide
    assert g is not None and g.watertight
    ca = labels.centroid_mm(twins.array == 1)
    cb = labels.centroid_mm(twins.array == 2)
    ab = (cb - ca) / np.linalg.norm(cb - ca)
    mid = (ca + cb) / 2
    # every strip vertex within half the width (+1 voxel) of the cut plane
    assert np.abs((g.vertices - mid) @ ab).max() < 5.0 + 1.5 * 1.5


@pytest.mark.parametrize("fmt", ["stl", "obj", "ply", "glb"])
def test_exports_read_back_in_world_mm(tmp_path: Path, fmt: str) -> None:
    aff = make_affine((0.9, 1.1, 1.3), "oblique")
    mask, c = sphere((48, 40, 36), aff, np.array([24.0, 20.0, 18.0]), 12.0)
    from twinsep.models.surface import mesh_mask

    m = mesh_mask(mask, aff, name="A/bone", twin="A", structure="bone", colour="#7B3FA0")
    write_mesh(m, tmp_path / f"p.{fmt}")
    back = trimesh.load(tmp_path / f"p.{fmt}", force="mesh")
    assert np.allclose(back.bounds.mean(axis=0), c, atol=0.5)
    assert np.allclose(np.ptp(back.bounds, axis=0), 24.0, atol=1.0)
    assert back.volume == pytest.approx(m.volume_ml * 1000, rel=1e-3)
    if fmt in ("obj", "glb"):
        colour = back.visual.material.main_color[:3]
        assert tuple(int(x) for x in colour) == (0x7B, 0x3F, 0xA0)


def test_lps_and_scale(tmp_path: Path) -> None:
    v = np.array([[10.0, 20, 30], [11, 20, 30], [10, 21, 30], [10, 20, 31]])
    f = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    m = Mesh(v, f, name="x")
    write_mesh(m, tmp_path / "a.stl", coords="LPS", scale=0.5)
    back = trimesh.load(tmp_path / "a.stl")
    assert np.allclose(back.bounds[0], [-5.5, -10.5, 15.0])
    assert back.volume > 0  # LPS is a rotation: still outward


def test_build_and_write_models(tmp_path: Path, heads) -> None:
    labels, twins = heads
    cut = np.zeros(labels.shape, np.uint8)
    n = labels.shape[0]
    cut[n // 2 - 1][labels.array[n // 2 - 1] == 5] = 1
    cut[n // 2 - 1][(labels.array[n // 2 - 1] > 0) & (labels.array[n // 2 - 1] != 5)] = 2
    params = ModelParams()
    models = build_models(labels, twins, cut=labels.with_array(cut), colours=COLOURS, params=params)
    names = {p.mesh.name for p in models.parts}
    assert {"A/skin", "A/bone", "A/brain", "A/vessel", "B/skin", "B/bone"} <= names
    for p in models.parts:
        assert p.mesh.watertight, p.mesh.name
        if p.mesh.structure in ("skin", "brain"):  # thick structures: volume = label volume
            assert p.mesh.volume_ml == pytest.approx(p.label_volume_ml, rel=0.03), p.mesh.name
    records = write_models(models, tmp_path)
    files = {r["file"] for r in records}
    assert "models/scene.glb" in files and "models/doll_A.stl" in files
    for r in records:
        assert set(r) >= {"file", "twin", "structure", "faces", "watertight", "volume_ml"}
        assert (tmp_path / r["file"]).is_file()
    scene = trimesh.load(tmp_path / "models" / "scene.glb")
    nodes = set(scene.graph.nodes_geometry)
    assert {"A/bone", "B/brain", "separation/stage1", "separation/stage2"} <= nodes
    tris = sum(len(g.faces) for g in scene.geometry.values())
    assert tris <= params.scene_face_budget
    # vessels in a darker shade of the twin colour
    vessel = scene.geometry["A/vessel"].visual.material.baseColorFactor[:3]
    skin = scene.geometry["A/skin"].visual.material.baseColorFactor[:3]
    assert (np.asarray(vessel, float) < np.asarray(skin, float)).all()
    rows = json.loads((tmp_path / "models" / "print_report.json").read_text())
    assert all(r["watertight"] for r in rows)
    # the wall check says how it was done and how exact it is (one 1.5 mm voxel)
    walled = [r for r in rows if "wall_check" in r]
    assert len(walled) == len(models.parts)
    assert all(r["wall_tolerance_mm"] == 1.5 and r["thin_voxels_after"] == 0 for r in walled)
    md = (tmp_path / "models" / "print_report.md").read_text()
    # 1.5 mm voxels are wider than the 1.2 mm minimum wall: the report says so
    assert "Wall thickness: walls not checkable on the 1.50 x 1.50 x 1.50 mm label grid" in md
    with zipfile.ZipFile(tmp_path / "models" / "doll.3mf") as z:
        xml = z.read("3D/3dmodel.model").decode()
    assert 'displaycolor="#7B3FA0FF"' in xml and 'displaycolor="#F28C28FF"' in xml
    assert xml.count("<object ") == 3


def test_guide_on_a_grid_coarser_than_the_strip() -> None:
    """2.5 mm voxels are thicker than the 2 mm strip: the guide is one voxel thick
    rather than missing."""
    labels, twins = two_heads(spacing_mm=(2.5, 2.5, 2.5), kind="ras", n=44)
    d = make_doll(labels, twins, colours=COLOURS, params=type(ModelParams().doll)(n_pins=0))
    assert d.guide is not None and d.guide.watertight


def test_print_report_says_when_walls_cannot_be_checked() -> None:
    from twinsep.models.thickness import WallCheck, describe_method

    coarse = WallCheck(1.2, 0, 0.0, 0, (2.34, 2.34, 2.34), 2.34)
    assert "not checkable" in describe_method(coarse)
    fine = WallCheck(1.2, 0, 0.0, 0, (0.45, 0.45, 0.6), 0.6)
    assert "0.60 mm (one voxel)" in describe_method(fine)


def test_3mf_geometry_reads_back(tmp_path: Path) -> None:
    """The 3MF XML holds every vertex (mm, 4 decimals) and triangle of each mesh."""
    import xml.etree.ElementTree as ET

    from twinsep.models.export import threemf_bytes

    aff = make_affine((0.9, 1.1, 1.3), "oblique")
    mask, _ = sphere((40, 36, 30), aff, np.array([20.0, 18.0, 15.0]), 9.0)
    from twinsep.models.surface import mesh_mask

    m = mesh_mask(mask, aff, name="B/brain", twin="B", structure="brain", colour="#F28C28")
    (tmp_path / "p.3mf").write_bytes(threemf_bytes([m], coords="LPS", scale=0.5))
    with zipfile.ZipFile(tmp_path / "p.3mf") as z:
        root = ET.fromstring(z.read("3D/3dmodel.model"))
    ns = {"m": "http://schemas.microsoft.com/3dmanufacturing/core/2015/02"}
    verts = np.array([[float(e.get(k)) for k in "xyz"] for e in root.iterfind(".//m:vertex", ns)])
    tris = np.array(
        [[int(e.get(k)) for k in ("v1", "v2", "v3")] for e in root.iterfind(".//m:triangle", ns)]
    )
    expected = m.vertices * np.array([-1.0, -1.0, 1.0]) * 0.5  # LPS, half scale
    assert np.allclose(verts, expected, atol=1e-4)
    assert np.array_equal(tris, m.faces)


def test_one_model_per_stage(heads, doll) -> None:
    """Three stages on the interface layer: the vessel, one half of the rest, the other
    half. After stages 1 and 2 the heads are still one piece with an open slot where
    those stages divided; after stage 3 they are the two parts."""
    labels, twins = heads
    n = labels.shape[0]
    lab = labels.array
    layer = np.zeros(lab.shape, bool)
    layer[n // 2 - 1] = True
    layer &= lab > 0
    jj = np.indices(lab.shape)[1]
    cut = np.zeros(lab.shape, np.uint8)
    cut[layer & (lab == 5)] = 1
    cut[layer & (lab != 5) & (jj < lab.shape[1] // 2)] = 2
    cut[layer & (lab != 5) & (jj >= lab.shape[1] // 2)] = 3
    d = make_doll(labels, twins, colours=COLOURS, with_guide=False, cut=labels.with_array(cut))
    assert [m.name for m in d.after_stage] == ["doll/after_stage1", "doll/after_stage2"]
    joined_ml = to_manifold(d.joined).volume() / 1000
    vols = []
    for m in d.after_stage:
        assert m.watertight
        man = to_manifold(m)
        # still one piece (the last stage is not done); stage 1 divides only the vessel
        # inside the heads, which leaves a closed cavity (a shell of negative volume)
        solids = [c for c in man.decompose() if c.volume() > 0]
        assert len(solids) == 1
        vols.append(man.volume() / 1000)
    # each stage opens a slot: the model loses the slot's volume. The vessel crossing is
    # 13 voxels of 2.25 mm^2 (a cavity well under 1 mL); stage 2's half of the interface
    # is 9.1 cm^2 and slots are kerf + 2 voxels = 5 mm wide: about 4.5 mL
    assert joined_ml > vols[0] > joined_ml - 1.0
    assert vols[0] - vols[1] == pytest.approx(9.1 * 0.5, rel=0.5)
    # without a cut there are no stage models
    assert doll.after_stage == []
