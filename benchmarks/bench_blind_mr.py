"""twinsep on a blind MR craniopagus phantom: MR alone and CT + MR, scored against truth.

The phantom (``tests/blind/mr_phantom.py``) was written without reading twinsep's
segmentation, phantoms or tests; twinsep runs as a black box through its CLI. Every CT + MR
row is compared with the same CT planned alone (the alternative in the same run: does the
MR help?), and with the ceiling a perfect registration allows (the true MR labels
resampled onto the CT grid by the true transform, nearest neighbour).

Columns: the exit code and, in brackets, the right one (2 where the input must be
refused); Dice per label on the output grid; twin accuracy beyond 15 mm of the true twin
boundary; twin A right by DESIGN's rule; fusion type, axis angle and O'Connell rotation
as plan.json reports them against the truth; completeness (truth: total, a shared
circular sinus); the registration's Mattes MI as plan.json reports it.

Two rows are not the blind phantom: the Colin27 real-anatomy twins of
``twinsep.realanatomy.colin`` (a real adult T1, two fused copies, 1.5 mm; skipped when
Colin27 is not installed) planned from their fused T1 alone, scored against the case's
truth labels (derived from the T1 and ch2bet, so their CSF is itself a T1 threshold).

The axis angle's truth is the angle between the built heads' long axes
(``mr_phantom.truth_angles``): on the angular rows B's twist about the junction axis
turns its tilted axis too, 111.2 deg for a nominal 110. The rotation's truth is that
twist, about the junction axis; plan.json measures the faces across the line
``axis_A - axis_B``, which on a twisted angular union is another angle (29.2 for the
twist of 20 on the true heads), given beside it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from _blind_common import code_state, code_text, main, selected

from blind.mr_phantom import (
    Image,
    MrCase,
    MrPhantomConfig,
    header_turn,
    make_mr_case,
    save_image,
    write_case,
)
from blind.mr_score import fmt, run_plan, score_plan


@dataclass(frozen=True)
class BenchCase:
    """One configuration: a phantom and how twinsep is given it."""

    name: str
    mode: Literal["mr", "ctmr"]
    config: MrPhantomConfig
    note: str = ""
    other_mr: MrPhantomConfig | None = None  # give the MR of this (other) case instead
    expected_exit: int = 0  # 2: twinsep must refuse the input (bad input, nothing written)
    #: an error in the MR's header: its affine turned by (world axis 0/1/2, deg) about the
    #: MR's centre, voxels kept (a swapped axis in a hand-made NIfTI); truth unchanged
    header_turn: tuple[int, float] | None = None
    #: not the blind phantom: the Colin27 real-anatomy case of this name
    #: (``twinsep.realanatomy.colin``, its fused T1 kept), planned from its MR alone
    colin: str | None = None


_ISO15 = (1.5, 1.5, 1.5)
_POSE = {"mr_rotation_deg": (6.0, -4.0, 8.0), "mr_shift_mm": (8.0, -6.0, 5.0)}
_MR = MrPhantomConfig(mr_spacing_mm=_ISO15, ct_spacing_mm=_ISO15)
_ANG = replace(_MR, fusion="angular", axis_angle_deg=110.0, twist_deg=20.0, seed=1)
_CTMR = replace(_MR, venogram=True, **_POSE)  # type: ignore[arg-type]

CASES: tuple[BenchCase, ...] = (
    BenchCase("mr-vertical", "mr", _MR, "1.5 mm, noise 3 %, bias 20 %"),
    BenchCase(
        "mr-vertical-2mm",
        "mr",
        replace(_MR, mr_spacing_mm=(2.0, 2.0, 2.0)),
        "2 mm (the grid of tests/blind/test_blind_mr.py)",
    ),
    BenchCase("mr-vertical-bias10", "mr", replace(_MR, bias_fraction=0.1), "bias 10 %"),
    BenchCase("mr-vertical-nobias", "mr", replace(_MR, bias_fraction=0.0), "no bias field"),
    BenchCase("mr-vertical-noise6", "mr", replace(_MR, noise_fraction=0.06), "noise 6 %"),
    BenchCase(
        "mr-vertical-II-bias30",
        "mr",
        replace(_MR, twist_deg=160.0, bias_fraction=0.3),
        "O'Connell II (160 deg), bias 30 %",
    ),
    BenchCase("mr-angular", "mr", _ANG, "axis angle 110 deg, twist 20 deg"),
    BenchCase(
        "mr-angular-thick",
        "mr",
        replace(_ANG, mr_spacing_mm=(1.2, 1.2, 3.0)),
        "1.2 x 1.2 x 3 mm slices",
    ),
    BenchCase(
        "ctmr-venogram", "ctmr", _CTMR, "plain CT + MR venogram, MR rotated 6/-4/8 deg, shifted"
    ),
    BenchCase(
        "ctmr-plain-mr",
        "ctmr",
        replace(_CTMR, venogram=False, ct_contrast=True),
        "CT venogram + plain T1, MR rotated",
    ),
    BenchCase(
        "ctmr-same-pose",
        "ctmr",
        replace(_MR, venogram=True),
        "MR on the CT's grid and pose (registration control)",
    ),
    BenchCase(
        "ctmr-angular-thick",
        "ctmr",
        replace(
            _ANG,
            venogram=True,
            mr_spacing_mm=(1.2, 1.2, 3.0),
            mr_rotation_deg=(-10.0, 5.0, 12.0),
            mr_shift_mm=(-12.0, 10.0, 6.0),
        ),
        "angular, MR 1.2 x 1.2 x 3 mm rotated 10-12 deg, shifted 12 mm",
    ),
    BenchCase(
        "ctmr-header-shift40",
        "ctmr",
        replace(_CTMR, mr_header_shift_mm=(0.0, 40.0, 0.0)),
        "MR header off by 40 mm",
    ),
    BenchCase(
        "ctmr-flip-lr",
        "ctmr",
        replace(_CTMR, mr_flip_lr=True),
        "MR voxels mirrored left-right (refused: appears mirrored)",
        expected_exit=2,
    ),
    BenchCase(
        "ctmr-header-turn90z",
        "ctmr",
        _CTMR,
        "MR header turned 90 deg about z (voxels kept): used turned, with a warning naming "
        "the turn (segment.mr_orient)",
        header_turn=(2, 90.0),
    ),
    BenchCase(
        "ctmr-other-twins-mr",
        "ctmr",
        _CTMR,
        "the MR of other twins (the angular case) with this CT (refused: the heads' "
        "outlines do not fit, MRParams.registration_min_head_dice)",
        other_mr=replace(_ANG, venogram=True),
        expected_exit=2,
    ),
    BenchCase(
        "colin-real-vertical-mr",
        "mr",
        _MR,
        "Colin27 real anatomy (real T1 intensities, two fused copies, 1.5 mm), MR alone",
        colin="real-vertical",
    ),
    BenchCase(
        "colin-real-angular-mr",
        "mr",
        _MR,
        "Colin27 real anatomy, angular union, MR alone",
        colin="real-angular",
    ),
)


def _turned(image: Image, axis: int, deg: float) -> Image:
    """``image`` with its affine turned by ``deg`` about world axis ``axis`` through the
    grid's centre (the voxels kept)."""
    aff = np.asarray(image.affine, dtype=float)
    return Image(image.array, header_turn(aff, image.array.shape, axis, deg) @ aff)


def _colin_installed() -> bool:
    from twinsep.realanatomy.colin import colin_paths

    return colin_paths() is not None


def _colin_case(name: str) -> MrCase | None:
    """The Colin27 real-anatomy case ``name`` as an MR-alone case (truth on the MR grid),
    or None when Colin27 is not installed."""
    from twinsep.realanatomy.colin import CONFIGS, build_real_case, colin_paths

    if colin_paths() is None:
        return None
    fused, _, truth = build_real_case(name, spacing_mm=1.5)
    assert fused.mr is not None
    aff = fused.labels.affine
    facts = {
        "fusion_type": truth["type"],
        "axis_angle_deg": truth["axis_angle_deg"],
        "axis_angle_nominal_deg": truth["axis_angle_deg"],
        "twist_deg": CONFIGS[name].twist_deg,
        "rotation_across_axes_deg": _colin_rotation_across_axes(fused.b_rotation),
    }
    return MrCase(
        mr=Image(np.asarray(fused.mr.array, dtype=np.float32), aff),
        mr_labels=Image(fused.labels.array, aff),
        mr_twins=Image(fused.twins.array, aff),
        ct=Image(fused.labels.array, aff),  # not used: MR alone
        ct_labels=Image(fused.labels.array, aff),
        ct_twins=Image(fused.twins.array, aff),
        truth=facts,
    )


def _colin_rotation_across_axes(b_rotation: np.ndarray) -> float:
    """The angle (deg) between the two Colin27 copies' faces projected on the plane
    perpendicular to ``axis_A - axis_B``, as plan.json's rotation measures it.

    Copy A keeps Colin27's own frame (long axis +z, face +y); copy B is turned by
    ``b_rotation``. On the vertical case this is the twist (30); on the angular one,
    whose axes meet at 118 deg, the faces point to opposite sides of that line (180),
    while the twist about the junction is 0.
    """
    rot = np.asarray(b_rotation, dtype=float)
    axis_a, face_a = np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0])
    shared = axis_a - rot @ axis_a
    shared = shared / np.linalg.norm(shared)
    fa = face_a - float(np.dot(face_a, shared)) * shared
    fb = rot @ face_a - float(np.dot(rot @ face_a, shared)) * shared
    cos = float(np.dot(fa, fb) / (np.linalg.norm(fa) * np.linalg.norm(fb)))
    return round(float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))), 1)


def run_case(bench: BenchCase, work: Path) -> tuple[dict[str, Any], MrCase]:
    """Generate one case, plan it, score it (and, for CT + MR, its CT alone)."""
    t0 = time.perf_counter()
    if bench.colin is not None:
        real = _colin_case(bench.colin)
        assert real is not None, "Colin27 is not installed (run() skips its rows)"
        case = real
    else:
        case = make_mr_case(bench.config, with_ct=bench.mode == "ctmr")
    gen_s = time.perf_counter() - t0
    folder = work / bench.name
    paths = write_case(case, folder)
    if bench.header_turn is not None:
        paths["mr"] = save_image(_turned(case.mr, *bench.header_turn), folder / "mr_turned.nii.gz")
    row: dict[str, Any] = {"name": bench.name, "mode": bench.mode, "note": bench.note}
    # rows are re-run a few at a time and merged: each names the code that planned it
    row["code"] = code_state()
    row["generate_s"] = round(gen_s, 1)
    keys = ("fusion_type", "axis_angle_deg", "axis_angle_nominal_deg", "twist_deg")
    row["truth"] = {k: case.truth[k] for k in keys + ("rotation_across_axes_deg",)}
    if bench.mode == "mr":
        run = run_plan(paths["mr"], folder / "plan")
        score = score_plan(run, case.mr_labels, case.mr_twins, case.truth)
    elif bench.other_mr is not None:
        other = make_mr_case(bench.other_mr, with_ct=False)
        mr_path = write_case(other, folder / "other")["mr"]
        run = run_plan(paths["ct"], folder / "plan", mr=mr_path)
        score = score_plan(run, case.ct_labels, case.ct_twins, case.truth)
    else:
        run = run_plan(paths["ct"], folder / "plan", mr=paths["mr"])
        score = score_plan(
            run, case.ct_labels, case.ct_twins, case.truth, mr_labels_truth=case.mr_labels
        )
    row["score"] = score.as_dict()
    row["expected_exit"] = bench.expected_exit
    row["as_expected"] = score.exit_code == bench.expected_exit
    return row, case


def _ct_alone(
    case: MrCase, ct_path: Path, work: Path, cache: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    key = hashlib.sha256(ct_path.read_bytes()).hexdigest()
    if key not in cache:
        run = run_plan(ct_path, work / f"ct-alone-{key[:8]}")
        cache[key] = score_plan(run, case.ct_labels, case.ct_twins, case.truth).as_dict()
    return cache[key]


def _markdown(rows: list[dict[str, Any]]) -> str:
    head = (
        "| case | exit (expected) | soft | bone | brain | CSF | vessel | twin acc. | A right | type (truth) "
        "| axis deg (truth) | rotation deg (truth) | completeness | contrast call | MI | "
        "CT alone brain / CSF / vessel | ceiling brain / CSF |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in rows:
        s: dict[str, Any] = r["score"]
        t = r["truth"]
        d = s.get("dice", {})
        reg = s.get("registration") or {}
        alone = r.get("ct_alone")
        alone_txt = "-"
        if alone and alone.get("exit_code") == 0:
            ad = alone["dice"]
            alone_txt = f"{fmt(ad['brain'])} / {fmt(ad['csf'])} / {fmt(ad['vessel'])}"
        rot_truth = fmt(float(t["twist_deg"]), 0)
        across = t.get("rotation_across_axes_deg")
        if across is not None and abs(float(across) - float(t["twist_deg"])) > 0.5:
            rot_truth += f"; {fmt(float(across), 1)} across the axes"
        ceil_txt = "-"
        if "ceiling_brain" in reg:
            ceil_txt = f"{fmt(reg['ceiling_brain'])} / {fmt(reg['ceiling_csf'])}"
        lines.append(
            f"| {r['name']} | {s['exit_code']} ({r.get('expected_exit', 0)}) "
            f"| {fmt(d.get('soft'))} | {fmt(d.get('bone'))} "
            f"| {fmt(d.get('brain'))} | {fmt(d.get('csf'))} | {fmt(d.get('vessel'))} "
            f"| {fmt(s.get('twin_accuracy'))} | {s.get('twin_a_right')} "
            f"| {s.get('fusion_type')} ({t['fusion_type']}) "
            f"| {fmt(s.get('axis_angle_deg'), 1)} ({fmt(float(t['axis_angle_deg']), 1)}) "
            f"| {fmt(s.get('rotation_deg'), 1)} ({rot_truth}) "
            f"| {s.get('completeness')} | {s.get('contrast')} | {fmt(reg.get('mattes_mi'))} "
            f"| {alone_txt} | {ceil_txt} |"
        )
    notes = "\n".join(f"- {r['name']}: {r['note']}" for r in rows)
    return _code_line(rows) + "\n\n" + "\n".join(lines) + "\n\n" + notes


def _code_line(rows: list[dict[str, Any]]) -> str:
    """Which twinsep planned the rows: ``run_all.code_state`` of each row, the rows
    grouped by commit (``not recorded`` for rows run before rows carried it)."""
    groups: dict[str, list[str]] = {}
    for r in rows:
        code = r.get("code")
        key = "not recorded" if code is None else code_text(code)
        groups.setdefault(key, []).append(r["name"])
    if len(groups) == 1:
        return f"twinsep at {next(iter(groups))}"
    return "twinsep at " + "; ".join(f"{k}: {', '.join(v)}" for k, v in groups.items())


def run(out_dir: Path) -> dict[str, Any]:
    """Run every case (or ``TWINSEP_BLIND_CASES``; kept in ``TWINSEP_BLIND_KEEP`` when set);
    the run_all result dict."""
    del out_dir
    rows: list[dict[str, Any]] = []
    cache: dict[str, dict[str, Any]] = {}
    names = set(selected([b.name for b in CASES]))
    keep = os.environ.get("TWINSEP_BLIND_KEEP")
    with tempfile.TemporaryDirectory(prefix="twinsep-blind-mr-") as tmp:
        work = Path(keep) if keep else Path(tmp)
        for bench in (b for b in CASES if b.name in names):
            if bench.colin is not None and not _colin_installed():
                print(f"blind_mr {bench.name}: skipped (Colin27 not installed)", flush=True)
                continue
            row, case = run_case(bench, work)
            if bench.mode == "ctmr":
                row["ct_alone"] = _ct_alone(case, work / bench.name / "ct.nii.gz", work, cache)
            rows.append(row)
            print(f"blind_mr {bench.name}: {row['score']['dice']}", flush=True)
    return {
        "title": "Blind MR craniopagus phantom (MR alone, CT + MR)",
        "code": code_state(),
        "rows": rows,
        "markdown": _markdown(rows),
    }


if __name__ == "__main__":
    main("blind_mr", run)
