"""Face counting and decimation of scene.glb to a face budget."""

from __future__ import annotations

import io

import numpy as np
import pytest
import trimesh

from twinsep.errors import InputError
from twinsep.viewer.scene import LodParams, SceneSource, decimate_glb, glb_face_count


def _scene_glb(subdivisions: int) -> bytes:
    s = trimesh.Scene()
    for name, x, colour in (
        ("A/skin", -40.0, [123, 63, 160, 255]),
        ("B/bone", 40.0, [242, 140, 40, 255]),
    ):
        m = trimesh.creation.icosphere(subdivisions=subdivisions, radius=30.0)
        m.apply_translation([x, 0, 0])
        m.visual = trimesh.visual.TextureVisuals(
            material=trimesh.visual.material.PBRMaterial(name=name, baseColorFactor=colour)
        )
        s.add_geometry(m, node_name=name, geom_name=name)
    return bytes(s.export(file_type="glb"))


def test_face_count_matches_trimesh() -> None:
    data = _scene_glb(3)
    assert glb_face_count(data) == 2 * 1280  # icosphere: 20 * 4**subdivisions faces


def test_not_glb_is_input_error() -> None:
    with pytest.raises(InputError, match="GLB"):
        glb_face_count(b"solid ascii stl file that is not glb")


def test_within_budget_is_unchanged() -> None:
    data = _scene_glb(3)
    assert decimate_glb(data, 10_000) is data


def test_decimation_meets_budget_and_keeps_names_and_shape() -> None:
    data = _scene_glb(5)  # 2 x 20480 faces
    out = decimate_glb(data, 8_000, min_faces_per_mesh=500)
    faces = glb_face_count(out)
    # fast-simplification lands within a few faces of its target
    assert 6_000 <= faces <= 8_100
    scene = trimesh.load(io.BytesIO(out), file_type="glb", force="scene")
    assert sorted(scene.graph.nodes_geometry) == ["A/skin", "B/bone"]
    for name, centre in (("A/skin", -40.0), ("B/bone", 40.0)):
        mesh = scene.dump(concatenate=False)[sorted(scene.graph.nodes_geometry).index(name)]
        r = np.linalg.norm(mesh.vertices - [centre, 0, 0], axis=1)
        # decimated vertices stay on the 30 mm sphere within 1 mm
        assert np.all(np.abs(r - 30.0) < 1.0)
        colour = mesh.visual.material.baseColorFactor
        assert list(colour[:3]) == ([123, 63, 160] if name == "A/skin" else [242, 140, 40])


def test_scene_source_caches_per_lod(tmp_path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "scene.glb").write_bytes(_scene_glb(5))
    src = SceneSource(tmp_path, params=LodParams(desktop_faces=100_000, vr_faces=10_000))
    assert glb_face_count(src.get("desktop")) == 2 * 20480
    vr = src.get("vr")
    assert glb_face_count(vr) <= 10_000
    assert src.get("vr") is vr
    with pytest.raises(InputError):
        src.get("cinema")
