"""GLB mesh reading/writing and the vertex-clustered preview level of detail."""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh

from twinsep.errors import InputError
from twinsep.viewer.cluster import cluster_mesh, mesh_area_mm2, preview_glb
from twinsep.viewer.glb import GlbMesh, read_glb_meshes, write_glb_meshes
from twinsep.viewer.scene import LodParams, SceneSource, glb_face_count, glb_json

PURPLE = [123, 63, 160, 255]
ORANGE = [242, 140, 40, 255]


def _scene(subdivisions: int, *, transform: np.ndarray | None = None) -> tuple[bytes, dict]:
    """Two spheres (A/skin r 30 at x -40, B/skin r 40 at x +45) and a small stage patch."""
    s = trimesh.Scene()
    world: dict[str, np.ndarray] = {}
    for name, centre, radius, colour in (
        ("A/skin", (-40.0, 0.0, 0.0), 30.0, PURPLE),
        ("B/skin", (45.0, 0.0, 0.0), 40.0, ORANGE),
    ):
        m = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
        m.apply_translation(centre)
        m.visual = trimesh.visual.TextureVisuals(
            material=trimesh.visual.material.PBRMaterial(name=name, baseColorFactor=colour)
        )
        tf = np.eye(4) if transform is None else transform
        s.add_geometry(m, node_name=name, geom_name=name, transform=tf)
        world[name] = trimesh.transform_points(m.vertices, tf)
    patch = trimesh.Trimesh(
        [[2.5, -18, 0], [2.5, 18, 0], [2.5, 18, 18], [2.5, -18, 18]], [[0, 1, 2], [0, 2, 3]]
    )
    s.add_geometry(patch, node_name="separation/stage1", geom_name="separation/stage1")
    world["separation/stage1"] = np.asarray(patch.vertices)
    return bytes(s.export(file_type="glb")), world


def test_read_applies_node_transforms_and_keeps_names_and_colours() -> None:
    # a rotation, a translation and a mirror (negative scale) on the twin nodes
    rot = trimesh.transformations.rotation_matrix(math.radians(30), [0, 0, 1])
    tf = trimesh.transformations.translation_matrix([5, -7, 11]) @ rot @ np.diag([1, 1, -1, 1])
    data, world = _scene(2, transform=tf)
    meshes = read_glb_meshes(data)
    assert [m.name for m in meshes] == ["A/skin", "B/skin", "separation/stage1"]
    for m in meshes:
        np.testing.assert_allclose(m.vertices, world[m.name], atol=1e-4)
    for m, colour in zip(meshes[:2], (PURPLE, ORANGE), strict=True):
        base = m.material["pbrMetallicRoughness"]["baseColorFactor"]
        assert np.allclose(np.asarray(base) * 255, colour, atol=1)
        # the mirror flips the winding back: outward normals, positive volume
        mesh = trimesh.Trimesh(m.vertices, m.faces, process=False)
        assert mesh.volume > 0


def test_write_then_read_is_exact_and_uses_short_indices() -> None:
    data, _ = _scene(3)
    meshes = read_glb_meshes(data)
    out = write_glb_meshes(meshes)
    again = read_glb_meshes(out)
    for a, b in zip(meshes, again, strict=True):
        assert a.name == b.name
        np.testing.assert_array_equal(a.vertices, b.vertices)
        np.testing.assert_array_equal(np.asarray(a.faces, np.int64), b.faces)
        assert a.material == b.material
    # 642 vertices per sphere fit 16-bit indices (half the bytes of 32-bit ones)
    doc = glb_json(out)
    index_types = {
        doc["accessors"][p["indices"]]["componentType"]
        for m in doc["meshes"]
        for p in m["primitives"]
    }
    assert index_types == {5123}
    assert write_glb_meshes(meshes) == out  # deterministic bytes
    assert glb_face_count(out) == glb_face_count(data)
    # trimesh (an independent reader) reads what we write
    scene = trimesh.load(trimesh.util.wrap_as_stream(out), file_type="glb", force="scene")
    assert sorted(scene.graph.nodes_geometry) == ["A/skin", "B/skin", "separation/stage1"]


def test_empty_scene_writes_a_valid_glb() -> None:
    out = write_glb_meshes([])
    assert read_glb_meshes(out) == []
    assert glb_face_count(out) == 0


def test_not_a_glb_is_input_error() -> None:
    with pytest.raises(InputError, match="GLB"):
        read_glb_meshes(b"solid ascii\nendsolid\n" * 3)


@pytest.mark.parametrize("cell_mm", [1.5, 3.0])
def test_clustered_sphere_stays_on_the_sphere(cell_mm: float) -> None:
    sphere = trimesh.creation.icosphere(subdivisions=6, radius=30.0)  # 81 920 faces
    verts, faces = cluster_mesh(sphere.vertices, sphere.faces, cell_mm)
    r = np.linalg.norm(verts, axis=1)
    # a vertex is the mean of surface points in one cell: within one cell diagonal
    assert np.all(np.abs(r - 30.0) <= cell_mm * math.sqrt(3))
    # ... and in practice far closer (the mean of a small cap lies just inside it)
    assert np.abs(r - 30.0).mean() < 0.1 * cell_mm
    area = mesh_area_mm2(verts, faces)
    assert area == pytest.approx(4 * math.pi * 30.0**2, rel=0.05)
    # faces scale with area / cell area (the estimate preview_glb starts from)
    expected = 3.0 * 4 * math.pi * 30.0**2 / cell_mm**2
    assert 0.5 * expected < len(faces) < 1.5 * expected
    assert len(faces) < len(sphere.faces)
    assert faces.max() < len(verts) and len(np.unique(faces)) == len(verts)


def test_cluster_rejects_bad_cell() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=1)
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(InputError, match="cell_mm"):
            cluster_mesh(sphere.vertices, sphere.faces, bad)


def test_preview_meets_budget_and_keeps_small_meshes() -> None:
    data, world = _scene(6)  # 2 x 81 920 faces + a 2-face patch
    out = preview_glb(data, 20_000, min_faces_per_mesh=1_000)
    faces = glb_face_count(out)
    assert 12_000 <= faces <= 20_000
    meshes = {m.name: m for m in read_glb_meshes(out)}
    assert set(meshes) == {"A/skin", "B/skin", "separation/stage1"}
    np.testing.assert_array_equal(meshes["separation/stage1"].vertices, world["separation/stage1"])
    for name, centre, radius in (("A/skin", -40.0, 30.0), ("B/skin", 45.0, 40.0)):
        r = np.linalg.norm(meshes[name].vertices - [centre, 0, 0], axis=1)
        assert np.abs(r - radius).max() < 2.0  # cells of about 1.5 mm
    # the twin with the larger surface keeps more faces (one grid for all meshes)
    assert len(meshes["B/skin"].faces) > 1.4 * len(meshes["A/skin"].faces)


def test_scene_source_preview_level(tmp_path) -> None:
    (tmp_path / "models").mkdir()
    data, _ = _scene(5)
    (tmp_path / "models" / "scene.glb").write_bytes(data)
    src = SceneSource(tmp_path, params=LodParams(preview_faces=5_000, min_faces_per_mesh=500))
    assert src.faces() == 2 * 20_480 + 2
    preview = src.get("preview")
    assert glb_face_count(preview) <= 5_000
    assert src.get("preview") is preview  # cached
    src.warm(("preview", "vr"))
    assert glb_face_count(src.get("vr")) == src.faces()  # within the VR budget already


def test_read_keeps_extras() -> None:
    m = GlbMesh("A/brain", np.eye(3, dtype=np.float32), np.array([[0, 1, 2]]), None, {"k": 1})
    (back,) = read_glb_meshes(write_glb_meshes([m]))
    assert back.extras == {"k": 1} and back.material is None
