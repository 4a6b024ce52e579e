"""Metal outside the skull is not bone (``segment.foreign_metal``).

A generated head on a 3 mm grid, built here: a ball of scalp (40 HU) over a 4 mm skull
(1500 HU) around brain (30 HU), in air. On it: an EEG cup electrode (a steel disc 10 mm
across and 1.5 mm thick, 8000 HU, on the skin), a port's needle stop (a steel disc 12 mm
across, 1 mm thick) in the scalp 3 mm above the skull, and a "tooth" inside the head
(a 2600 HU enamel cap on 1800 HU dentin), rendered with 4x4x4 supersampling and clipped
at 3071 HU as a 12-bit scanner does. The bone mask is a plain threshold (300 HU).

Before this module the electrode and port were bone (every voxel above 300 HU); the
tooth, whose enamel reaches the metal level on dentin, stays bone.
"""

from __future__ import annotations

import numpy as np
import pytest

from twinsep.segment.foreign_metal import metal_not_bone, metal_warning

SP = (3.0, 3.0, 3.0)
N = 40
R_SKIN, R_BONE_OUT, R_BONE_IN = 54.0, 46.0, 42.0


def _material(p: np.ndarray) -> np.ndarray:
    """HU at points ``p`` (..., 3) mm, before clipping."""
    r = np.linalg.norm(p, axis=-1)
    hu = np.full(r.shape, -1000.0)
    hu[r <= R_SKIN] = 40.0
    hu[r <= R_BONE_OUT] = 1500.0
    hu[r <= R_BONE_IN] = 30.0
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    # electrode on the skin at the top (+z): disc 10 mm across, 1.5 mm thick
    hu[(np.hypot(x, y) <= 5.0) & (z >= R_SKIN) & (z <= R_SKIN + 1.5)] = 8000.0
    # port needle stop in the scalp over +x, 3 mm above the skull: 12 mm across, 1 mm
    hu[(np.hypot(y, z) <= 6.0) & (x >= R_BONE_OUT + 3.0) & (x <= R_BONE_OUT + 4.0)] = 8000.0
    # tooth inside the head (-y): a 12 mm dentin cube whose top half holds a 6 mm
    # enamel core at 3000 HU open only upward (the real head CT's teeth reach 2986 HU
    # and their enamel sits in dentin: 3.6-29 dense shell voxels per voxel, measured)
    dentin = (np.abs(x) <= 6) & (np.abs(y + 25) <= 6) & (np.abs(z + 20) <= 6)
    hu[dentin] = 1800.0
    hu[(np.abs(x) <= 3) & (np.abs(y + 25) <= 3) & (z >= -17) & (z <= -14)] = 3000.0
    return hu


@pytest.fixture(scope="module")
def head() -> dict[str, np.ndarray]:
    sub = (np.arange(4) + 0.5) / 4 - 0.5
    axes = [(np.arange(N) - (N - 1) / 2) * s for s in SP]
    acc = np.zeros((N, N, N))
    for ox in sub:
        for oy in sub:
            for oz in sub:
                g = np.meshgrid(
                    axes[0] + ox * SP[0], axes[1] + oy * SP[1], axes[2] + oz * SP[2], indexing="ij"
                )
                acc += _material(np.stack(g, -1))
    ct = np.minimum(acc / 64.0, 3071.0).astype(np.float32)
    g = np.stack(np.meshgrid(*axes, indexing="ij"), -1)
    r = np.linalg.norm(g, axis=-1)
    x, y, z = g[..., 0], g[..., 1], g[..., 2]
    electrode = (np.hypot(x, y) <= 8.0) & (z > R_SKIN - 1.5) & (z < R_SKIN + 4.5)
    port = (np.hypot(y, z) <= 9.0) & (x > R_BONE_OUT + 1.6) & (x < R_BONE_OUT + 6.0)
    skull = (r <= R_BONE_OUT) & (r >= R_BONE_IN)
    tooth = (np.abs(x) <= 6) & (np.abs(y + 25) <= 6) & (np.abs(z + 20) <= 6)
    body = ct > -500
    return {
        "ct": ct,
        "bone": ct > 300,
        "outside": ~body,
        "electrode": electrode & (ct > 300),
        "port": port & (ct > 300),
        "skull": skull,
        "tooth": tooth,
    }


def test_construction(head):
    # the objects are rendered: the electrode and port reach the clip, the tooth's cap
    # is above the metal level (2500 HU over soft tissue at 40), nothing else is
    ct = head["ct"]
    assert ct[head["electrode"]].max() == pytest.approx(3071.0)
    assert ct[head["port"]].max() >= 2600.0
    assert ct[head["tooth"]].max() >= 2500.0
    assert head["electrode"].sum() >= 3 and head["port"].sum() >= 6


def test_metal_and_rim_leave_the_bone(head):
    found = metal_not_bone(head["ct"], head["bone"], SP, soft_hu=40.0, outside=head["outside"])
    assert found is not None
    gone = found.metal | found.rim
    # every bone-level voxel of the electrode goes, and the port's but its rim joined
    # to the skull (measured 0.75; before: all bone)
    assert gone[head["electrode"]].all()
    assert gone[head["port"]].mean() >= 0.7
    # the skull and the tooth stay bone (the port's rim touches no skull voxel centre)
    assert not gone[head["skull"]].any()
    assert not gone[head["tooth"]].any()
    # inputs untouched
    assert head["bone"].sum() > 0 and head["ct"].dtype == np.float32


def test_warning_names_volume_and_place(head):
    found = metal_not_bone(head["ct"], head["bone"], SP, soft_hu=40.0, outside=head["outside"])
    assert found is not None
    aff = np.diag([3.0, 3.0, 3.0, 1.0])
    aff[:3, 3] = -(N - 1) / 2 * 3.0  # index centre at world 0
    note = metal_warning(found, aff, (0, 0, 0), np.ones(head["ct"].shape, bool))
    assert note is not None and note.startswith("metal outside the skull: ")
    assert "2 pieces" in note  # electrode and port; the tooth is not metal
    # the largest piece is the electrode with its rim (on the skin at +z) or the port
    # (+x, in the scalp): the place named is one of them, within a voxel
    xyz = [float(v) for v in note.split(" at (")[1].split(")")[0].split(",")]
    places = ((0.0, 0.0, R_SKIN + 0.75), (R_BONE_OUT + 3.5, 0.0, 0.0))
    assert any(np.allclose(xyz, c, atol=3.5) for c in places), xyz
    assert metal_warning(found, aff, (0, 0, 0), np.zeros(head["ct"].shape, bool)) is None
