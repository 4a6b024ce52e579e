"""Where the viewer finds a plan's CT: a ``twinsep demo`` plan's scan in the demo's case
cache, matched by checksum (the plan keeps only the file's name)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from twinsep.cases import CASE_CACHE_DIR
from twinsep.viewer.slices import find_scan


def _demo(tmp_path: Path) -> tuple[Path, dict, Path]:
    plan_dir = tmp_path / "real-vertical"
    plan_dir.mkdir()
    cache = tmp_path / CASE_CACHE_DIR
    (cache / "phantom-vertical-II-128").mkdir(parents=True)
    (cache / "real-vertical").mkdir()
    other = cache / "phantom-vertical-II-128" / "ct.nii.gz"
    other.write_bytes(b"another case's scan")
    ours = cache / "real-vertical" / "ct.nii.gz"
    ours.write_bytes(b"this plan's scan")
    plan = {
        "input": {"path": "ct.nii.gz", "sha256": hashlib.sha256(b"this plan's scan").hexdigest()},
        "options": {"case": "real-vertical"},
    }
    return plan_dir, plan, ours


def test_a_demo_plan_finds_its_scan_in_the_case_cache(tmp_path: Path) -> None:
    plan_dir, plan, ours = _demo(tmp_path)
    # before: None, and the demo's viewer showed grey labels instead of the CT
    assert find_scan(plan_dir, plan, None) == ours


def test_only_the_scan_with_the_plans_checksum_and_only_for_a_demo(tmp_path: Path) -> None:
    plan_dir, plan, ours = _demo(tmp_path)
    changed = {**plan, "input": {**plan["input"], "sha256": "0" * 64}}
    assert find_scan(plan_dir, changed, None) is None  # a rebuilt case is not this plan's
    not_demo = {**plan, "options": {"case": None}}
    assert find_scan(plan_dir, not_demo, None) is None  # a user's plan: no guessing
    given = tmp_path / "elsewhere.nii.gz"
    assert find_scan(plan_dir, plan, given) == given  # --scan still comes first
