"""Vessel Dice against its voxel-wise partial-volume limit (issue 4).

For each phantom row: the vessel Dice of ``segment_ct`` and an ORACLE bound, the best
Dice that any rule deciding a voxel by its CT value alone can reach when it is told
where the vessels are to within one voxel (the truth vessels dilated by one voxel, 26
neighbours). The oracle ranks 5 HU bins of the noise-free CT of the same phantom by
their share of vessel voxels and takes the best prefix. A thin sinus against the bone
is then only as good as its partial volume allows: where the oracle is below a target,
no voxel-wise method reaches it; where our Dice is far below the oracle, the method is
the weakness. (A rule that uses shape can beat this bound, e.g. at 1.9-2.1 mm.)

Run by ``make bench`` (``run``), or alone: ``python benchmarks/bench_vessel_oracle.py
[OUT.json]`` (about 2 minutes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from twinsep import labels as L
from twinsep.phantom import make_phantom
from twinsep.segment import segment_ct

ROWS: tuple[tuple[str, int, float], ...] = (
    ("vertical-II", 160, 10.0),
    ("vertical-partial", 160, 10.0),
    ("vertical-II", 128, 10.0),
    ("angular-frontal", 128, 10.0),
    ("vertical-partial", 128, 10.0),
    ("angular-occipital-partial", 128, 10.0),
    ("vertical-II", 96, 10.0),
    ("angular-frontal", 96, 10.0),
    ("vertical-partial", 96, 10.0),
    ("angular-occipital-partial", 96, 10.0),
    # at noise 30 HU the noisy-voxel bound shows how much is lost to noise alone
    ("vertical-II", 128, 30.0),
    ("angular-frontal", 128, 30.0),
    ("vertical-partial", 128, 30.0),
    ("angular-occipital-partial", 128, 30.0),
)
BIN_HU = 5.0


def oracle_dice(values: np.ndarray, truth: np.ndarray, bin_hu: float = BIN_HU) -> float:
    """Best Dice of any union of ``bin_hu`` value bins (ranked by their truth share)."""
    b = ((values - values.min()) // bin_hu).astype(np.int64)
    tp = np.bincount(b, weights=truth.astype(np.float64))
    tot = np.bincount(b).astype(np.float64)
    order = np.argsort(-(tp / np.maximum(tot, 1.0)), kind="stable")
    d = 2.0 * np.cumsum(tp[order]) / (np.cumsum(tot[order]) + truth.sum())
    return float(d.max())


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / max(int(a.sum() + b.sum()), 1))


def row(kind: str, size: int, noise_hu: float = 10.0, seed: int = 0) -> dict[str, object]:
    ph = make_phantom(kind, size=size, seed=seed, noise_hu=noise_hu)
    clean = make_phantom(kind, size=size, seed=seed, noise_hu=0.0).ct.array
    truth = ph.labels.array == L.VESSEL
    near = ndi.binary_dilation(truth, ndi.generate_binary_structure(3, 3))
    got = segment_ct(ph.ct).labels.array == L.VESSEL
    return {
        "case": f"phantom-{kind}",
        "size": size,
        "spacing_mm": round(float(ph.ct.spacing_mm[0]), 2),
        "noise_hu": noise_hu,
        "dice_vessel": round(_dice(truth, got), 4),
        "oracle_noise_free": round(oracle_dice(clean[near].astype(np.float64), truth[near]), 4),
        "oracle_noisy": round(oracle_dice(ph.ct.array[near].astype(np.float64), truth[near]), 4),
    }


def run(out_dir: Path) -> dict[str, object]:
    """Entry point of ``benchmarks/run_all.py`` (``make bench``): rows and a table."""
    rows = [row(k, s, noise_hu=n) for k, s, n in ROWS]
    md = [
        "| case | size | voxel mm | noise HU | vessel Dice | oracle (noise-free) | oracle (noisy) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        md.append(
            f"| {r['case']} | {r['size']} | {r['spacing_mm']} | {r['noise_hu']} | "
            f"{r['dice_vessel']} | {r['oracle_noise_free']} | {r['oracle_noisy']} |"
        )
    md.append(
        "\nOracle: the best Dice of any rule deciding a voxel by its CT value alone, told "
        "where the vessels are to within one voxel; on the noise-free CT (the partial-volume "
        "limit) and on the noisy CT itself (what single noisy voxels allow; a rule that uses "
        "neighbours, like the joint edge of segment.vessel_edge, can pass it)."
    )
    return {
        "title": "Vessel Dice and its partial-volume limit",
        "rows": rows,
        "markdown": "\n".join(md),
    }


def main(out: Path | None = None) -> list[dict[str, object]]:
    rows = [row(k, s, noise_hu=n) for k, s, n in ROWS]
    text = json.dumps(rows, indent=1)
    if out is not None:
        out.write_text(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    return rows


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
