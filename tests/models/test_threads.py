"""Parts meshed two at a time (issue 10) give exactly the meshes of one at a time."""

from __future__ import annotations

import numpy as np

from twinsep.models import ModelParams
from twinsep.models.build import twin_structure_meshes
from twinsep.models.surface import decimate, extract_surface
from twinsep.phantom import make_phantom

COLOURS = {"A": "#7B3FA0", "B": "#F28C28"}


def test_two_threads_give_the_meshes_of_one() -> None:
    """Same parts, same order, same vertices and faces (bit for bit): fast-simplification
    keeps global state, and a race swapped meshes between parts before it was locked."""
    ph = make_phantom("angular-frontal", seed=5, table=False, spacing_mm=(1.8, 2.0, 2.6))
    labels_before = ph.labels.array.copy()
    runs = [
        twin_structure_meshes(
            ph.labels, ph.twins, colours=COLOURS, params=ModelParams(threads=threads)
        )
        for threads in (1, 2, 2)
    ]
    assert np.array_equal(ph.labels.array, labels_before)  # input not modified
    names = [p.mesh.name for p in runs[0]]
    assert len(names) == 10 and names[0] == "A/skin" and names[5] == "B/skin"
    for other in runs[1:]:
        assert [p.mesh.name for p in other] == names
        for a, b in zip(runs[0], other, strict=True):
            assert np.array_equal(a.mesh.vertices, b.mesh.vertices), a.mesh.name
            assert np.array_equal(a.mesh.faces, b.mesh.faces), a.mesh.name
            assert a.label_volume_ml == b.label_volume_ml


def test_concurrent_decimations_keep_their_own_mesh() -> None:
    """Two spheres of different radius decimated in two threads at once each keep their
    own size (a shared simplifier would hand one thread the other's mesh)."""
    from concurrent.futures import ThreadPoolExecutor

    idx = np.indices((48, 48, 48)) - 23.5
    r2 = (idx**2).sum(0)
    aff = np.eye(4)
    meshes = [extract_surface(r2 <= r**2, aff) for r in (8.0, 20.0)]
    jobs = [meshes[i % 2] for i in range(16)]
    with ThreadPoolExecutor(2) as pool:
        out = list(pool.map(lambda m: decimate(m[0], m[1], 2000), jobs))
    for i, (v, _) in enumerate(out):
        radius = np.linalg.norm(v - 23.5, axis=1).mean()
        want = 8.0 if i % 2 == 0 else 20.0
        assert abs(radius - want) < 0.6, (i, radius)  # a swapped mesh is off by 12 mm


def test_model_files_are_the_same_bytes_one_or_two_at_a_time(tmp_path, monkeypatch) -> None:
    """``write_models`` renders files two at a time: every file (3MF zips included:
    fixed time stamps) has the bytes of a one-at-a-time write, and a second write."""
    import dataclasses

    import twinsep.models.export as export
    from twinsep.models import build_models, write_models

    from .conftest import two_heads

    labels, twins = two_heads()
    models = build_models(labels, twins, colours=COLOURS, params=ModelParams(threads=1))
    one = dataclasses.replace(models, params=ModelParams(threads=1))
    two = dataclasses.replace(models, params=ModelParams(threads=2))
    rec_one = write_models(one, tmp_path / "one")
    # a later clock must not change the 3MF bytes
    monkeypatch.setattr(export.zipfile.time, "localtime", lambda *a: (2031, 5, 6, 7, 8, 9, 0, 0, 0))
    rec_two = write_models(two, tmp_path / "two")
    assert rec_one == rec_two
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.*"))
    assert len(files) > 20 and any(p.suffix == ".3mf" for p in files)
    for rel in files:
        assert (tmp_path / "one" / rel).read_bytes() == (tmp_path / "two" / rel).read_bytes(), rel
