"""A small plan folder with known connections for rehearsal tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from twinsep.io import save_volume
from twinsep.volume import Volume


def joined_heads(n: int = 48, spacing_mm: float = 2.0) -> tuple[Volume, Volume, Volume]:
    """Two spheres joined across the plane i = n // 2 (A below, B above).

    Tissue: soft tissue shell, bone, brain; a vessel (label 5) crosses the interface
    inside a 2-voxel-radius tube. Cut: stage 1 = vessel voxels of the A-side interface
    layer, stage 2 = every other tissue voxel of that layer.
    """
    idx = np.indices((n, n, n)).astype(np.float64)
    c1 = np.array([n / 2 - 9.0, n / 2, n / 2])
    c2 = np.array([n / 2 + 9.0, n / 2, n / 2])
    d1 = np.sqrt(((idx - c1[:, None, None, None]) ** 2).sum(0))
    d2 = np.sqrt(((idx - c2[:, None, None, None]) ** 2).sum(0))
    head = (d1 < 14) | (d2 < 14)
    labels = np.where(head, 1, 0).astype(np.uint8)
    labels[head & ((d1 < 12) | (d2 < 12))] = 2
    labels[(d1 < 10) | (d2 < 10)] = 3
    tube = ((idx[1] - n / 2) ** 2 + (idx[2] - n / 2 - 4) ** 2) <= 4
    labels[head & tube] = 5
    twins = np.where(head, np.where(idx[0] < n // 2, 1, 2), 0).astype(np.uint8)
    cut = np.zeros_like(labels)
    layer = np.zeros(head.shape, dtype=bool)
    layer[n // 2 - 1] = True
    layer &= head
    cut[layer & (labels == 5)] = 1
    cut[layer & (labels != 5)] = 2
    aff = np.array(
        [
            [0.0, -spacing_mm, 0.0, 40.0],
            [0.0, 0.0, spacing_mm, -30.0],
            [-spacing_mm, 0.0, 0.0, 55.0],
            [0.0, 0.0, 0.0, 1.0],
        ]
    )
    return Volume(labels, aff), Volume(twins, aff), Volume(cut, aff)


@pytest.fixture()
def plan_dir(tmp_path: Path) -> Path:
    labels, twins, cut = joined_heads()
    d = tmp_path / "plan"
    d.mkdir()
    save_volume(labels, d / "labels.nii.gz")
    save_volume(twins, d / "twins.nii.gz")
    save_volume(cut, d / "separation.nii.gz")
    plan = {
        "schema": "twinsep.plan/1",
        "colours": {"A": "#7B3FA0", "B": "#F28C28"},
        "separation": {
            "stages": [
                {
                    "number": 1,
                    "name": "divide the shared sinus",
                    "kind": "separation",
                    "structures": ["vessel"],
                    "area_mm2": 0.0,
                },
                {
                    "number": 2,
                    "name": "final separation",
                    "kind": "separation",
                    "structures": ["soft_tissue", "bone", "brain"],
                    "area_mm2": 0.0,
                },
            ]
        },
    }
    (d / "plan.json").write_text(json.dumps(plan))
    return d
