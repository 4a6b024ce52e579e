"""Bone Dice against its voxel-wise partial-volume limit (issue 4).

For each phantom row: the bone Dice of ``segment_ct`` and three ORACLE bounds, each the
best Dice a rule of that family can reach when the truth picks its free numbers:

* **single**: one HU threshold for the whole scan (bone = CT value >= t);
* **half-max**: a threshold that follows the local bone core, as the rule of
  ``segment.ct._bone_mask`` does: bone = value >= soft + f x (peak - soft) and >= soft
  + ``bone_low_offset_hu``, with ``peak`` the brightest voxel within
  ``bone_halfmax_mm`` and the best fraction f (our rule uses f = 0.5);
* **value+peak**: any rule on the pair (value, local peak): 20 HU x 50 HU bins of the
  pair ranked by their share of bone voxels, the best prefix taken.

Each is computed on the noise-free CT and on the noisy CT of the same phantom, over the
truth body less its vessels (the vessel rule, not the bone rule, decides those voxels).
Where the value+peak oracle on the noise-free CT is below a target, no rule that looks
at a voxel and its neighbourhood's peak reaches it: it is the partial-volume limit of
the grid. Where our Dice is well below the oracle on the noisy CT, the method is the
weakness. ``fn_outside_body`` counts truth bone our segmentation put in the background
(the body mask lost it; the bone rule never saw it).

Run by ``make bench`` (``run``), or alone: ``python benchmarks/bench_bone_oracle.py
[OUT_DIR]`` (2-4 minutes on 2 cores; writes ``bone_oracle.json`` and prints the table).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from twinsep import labels as L
from twinsep.phantom import make_phantom
from twinsep.segment import filters, segment_ct
from twinsep.segment.ct import ct_statistics
from twinsep.segment.params import SegmentParams

ROWS = (
    ("vertical-II", 160, 10.0),
    ("vertical-partial", 160, 10.0),
    ("vertical-II", 128, 10.0),
    ("vertical-II", 128, 30.0),
    ("vertical-partial", 128, 10.0),
    ("vertical-partial", 128, 30.0),
    ("angular-frontal-partial", 128, 10.0),
    ("angular-parietal-partial", 128, 10.0),
    ("angular-parietal-partial", 128, 30.0),
    ("angular-occipital-partial", 128, 10.0),
    ("vertical-II", 96, 10.0),
    ("vertical-partial", 96, 10.0),
    ("angular-parietal-partial", 96, 10.0),
    ("angular-occipital-partial", 96, 10.0),
)
VALUE_BIN_HU = 20.0
PEAK_BIN_HU = 50.0
FRACTIONS = np.round(np.arange(0.30, 0.801, 0.01), 2)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * np.count_nonzero(a & b) / max(int(a.sum() + b.sum()), 1))


def single_threshold_dice(values: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Best Dice of ``values >= t`` over every t, and that t (HU)."""
    order = np.argsort(-values, kind="stable")
    tp = np.cumsum(truth[order])
    d = 2.0 * tp / (np.arange(1, values.size + 1) + truth.sum())
    i = int(d.argmax())
    return float(d[i]), float(values[order][i])


def halfmax_dice(
    values: np.ndarray, peak: np.ndarray, truth: np.ndarray, soft_hu: float, floor_hu: float
) -> tuple[float, float]:
    """Best Dice of ``values >= max(floor, soft + f (peak - soft))`` over ``FRACTIONS``.

    Returns the Dice and that f. ``floor_hu`` is the rule's fixed floor (soft tissue far
    from bone has a peak near soft and would otherwise pass any fraction).
    """
    rel = (values - soft_hu) / np.maximum(peak - soft_hu, 1.0)
    above = values >= floor_hu
    best = (0.0, float(FRACTIONS[0]))
    for f in FRACTIONS:
        d = _dice((rel >= f) & above, truth)
        if d > best[0]:
            best = (d, float(f))
    return best


def pair_oracle_dice(values: np.ndarray, peak: np.ndarray, truth: np.ndarray) -> float:
    """Best Dice of any union of (value, peak) bins, ranked by their share of truth."""
    a = ((values - values.min()) // VALUE_BIN_HU).astype(np.int64)
    b = ((peak - peak.min()) // PEAK_BIN_HU).astype(np.int64)
    key = a * (int(b.max()) + 1) + b
    tp = np.bincount(key, weights=truth.astype(np.float64))
    tot = np.bincount(key).astype(np.float64)
    order = np.argsort(-(tp / np.maximum(tot, 1.0)), kind="stable")
    d = 2.0 * np.cumsum(tp[order]) / (np.cumsum(tot[order]) + truth.sum())
    return float(d.max())


def _oracles(
    img: np.ndarray, domain: np.ndarray, truth: np.ndarray, spacing: tuple[float, ...], soft: float
) -> dict[str, float]:
    params = SegmentParams()
    half = [max(1, int(round(params.bone_halfmax_mm / s))) for s in spacing]
    peak = filters.maximum_filter(img, [2 * h + 1 for h in half], mode="nearest")[domain]
    v = img[domain]
    t = truth[domain]
    single, t_hu = single_threshold_dice(v, t)
    hm, f = halfmax_dice(v, peak, t, soft, soft + params.bone_low_offset_hu)
    return {
        "single": round(single, 4),
        "single_hu": round(t_hu, 0),
        "halfmax": round(hm, 4),
        "halfmax_fraction": f,
        "value_peak": round(pair_oracle_dice(v, peak, t), 4),
    }


def row(kind: str, size: int, noise_hu: float, seed: int = 0) -> dict[str, object]:
    """Our bone Dice, the oracles on the noise-free and the noisy CT, and where we miss."""
    ph = make_phantom(kind, size=size, seed=seed, noise_hu=noise_hu)
    clean = make_phantom(kind, size=size, seed=seed, noise_hu=0.0).ct.array.astype(np.float32)
    noisy = ph.ct.array.astype(np.float32)
    lab = ph.labels.array
    truth = lab == L.BONE
    domain = (lab != L.BACKGROUND) & (lab != L.VESSEL)
    spacing = ph.ct.spacing_mm
    soft = ct_statistics(ph.ct).soft_hu
    pred_lab = segment_ct(ph.ct).labels.array
    pred = pred_lab == L.BONE
    return {
        "case": f"phantom-{kind}",
        "size": size,
        "spacing_mm": round(float(spacing[0]), 2),
        "noise_hu": noise_hu,
        "dice_bone": round(_dice(truth, pred), 4),
        "false_pos_vx": int(np.count_nonzero(pred & ~truth)),
        "false_neg_vx": int(np.count_nonzero(truth & ~pred)),
        "fn_outside_body_vx": int(np.count_nonzero(truth & (pred_lab == L.BACKGROUND))),
        "bone_vx": int(truth.sum()),
        "noise_free": _oracles(clean, domain, truth, spacing, soft),
        "noisy": _oracles(noisy, domain, truth, spacing, soft),
    }


def _markdown(rows: list[dict[str, object]]) -> str:
    md = [
        "| case | size | voxel mm | noise HU | bone Dice | FP / FN (outside body) vx "
        "| single (noise-free / noisy) | half-max f | half-max | value+peak |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        c, n = r["noise_free"], r["noisy"]
        assert isinstance(c, dict) and isinstance(n, dict)
        md.append(
            f"| {r['case']} | {r['size']} | {r['spacing_mm']} | {r['noise_hu']} | "
            f"{r['dice_bone']} | {r['false_pos_vx']} / {r['false_neg_vx']} "
            f"({r['fn_outside_body_vx']}) | {c['single']} / {n['single']} | "
            f"{c['halfmax_fraction']} | {c['halfmax']} / {n['halfmax']} | "
            f"{c['value_peak']} / {n['value_peak']} |"
        )
    md.append(
        "\nOracles: the best Dice of a rule family given the truth (single HU threshold; "
        "value >= soft + f x (local peak - soft) with the best f, above the rule's floor; "
        "any rule on the value and the local peak), over the truth body less its vessels, "
        "on the noise-free / noisy CT. FN in brackets: truth bone our segmentation left "
        "outside the body."
    )
    return "\n".join(md)


def run(out_dir: Path) -> dict[str, object]:
    """Entry point of ``benchmarks/run_all.py`` (``make bench``): rows and a table."""
    rows = [row(k, s, n) for k, s, n in ROWS]
    return {
        "title": "Bone Dice and its partial-volume limit",
        "rows": rows,
        "markdown": _markdown(rows),
    }


def main(out_dir: Path) -> dict[str, object]:
    """Write ``bone_oracle.json`` (the ``run`` result) into ``out_dir``; print the table."""
    result = run(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bone_oracle.json").write_text(json.dumps(result, indent=2) + "\n")
    sys.stdout.write(str(result["markdown"]) + "\n")
    return result


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results"))
