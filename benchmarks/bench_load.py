"""Benchmark: ``twinsep.io.load_scan`` against SimpleITK's own readers.

Generates a 512×512×400 int16 CT-like head volume (seeded), writes it as a DICOM
series (400 files), as one Enhanced CT multi-frame file and as ``.nii.gz`` into a
temporary folder, then times, in the same
run and alternating, ``load_scan`` and SimpleITK (``ImageSeriesReader`` including
``GetGDCMSeriesFileNames`` for DICOM, ``ReadImage`` for NIfTI). Each reader runs
``repeats`` times; the median wall time is reported. ``load_scan`` does more work than
SimpleITK (SHA-256 of every input byte, geometry, NaN and label-map checks), so the
ratio is the cost of validation too. Goal: ratio <= 1.2.

The ``dicom_identified`` row reads the same series with identifiers in every header
(patient name, ID, birth date, institution, physicians, accession, station, descriptions,
as every export from a hospital holds them): their decoding once cost a third of the
header pass (session 30).

Usage: ``python benchmarks/bench_load.py [OUT_DIR]`` (default ``benchmarks/results``);
writes ``load.json`` and appends a Markdown table to ``load.md``. ``run(out_dir)``
returns the dict ``benchmarks/run_all.py`` expects (``title``, ``rows``, ``markdown``).
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from twinsep.io import load_scan, save_volume, write_dicom_series
from twinsep.io.atomic import atomic_write_text
from twinsep.io.enhanced_write import write_enhanced_dicom
from twinsep.volume import Volume


def make_head(shape: tuple[int, int, int], *, seed: int = 0) -> Volume:
    """CT-like head: air, a soft-tissue ellipsoid, a 6 mm skull shell, brain, noise (HU)."""
    rng = np.random.default_rng(seed)
    spacing = (0.45, 0.45, 0.6)
    ax = [(np.arange(n) - (n - 1) / 2) * s for n, s in zip(shape, spacing, strict=True)]
    x2 = (ax[0] / 95.0) ** 2
    y2 = (ax[1] / 110.0) ** 2
    z2 = (ax[2] / 105.0) ** 2
    r = np.sqrt(x2[:, None, None] + y2[None, :, None] + z2[None, None, :]).astype(np.float32)
    arr = np.full(shape, -1000, dtype=np.int16)
    arr[r < 1.0] = 40  # scalp
    arr[r < 0.96] = 1200  # bone
    arr[r < 0.9] = 35  # brain
    arr += rng.normal(0.0, 15.0, size=shape).astype(np.int16)
    aff = np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])
    aff[:3, 3] = (115.0, 115.0, -120.0)
    return Volume(arr, aff)


def _median_time(fn: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


#: Fictional identifiers written into every header of the ``dicom_identified`` series.
_IDENTIFIERS = {
    "PatientName": "QUIMBY^ZELDA",
    "PatientID": "MRN4471923",
    "PatientBirthDate": "20250314",
    "OtherPatientIDs": ["NHS9051177", "MRN4471923"],
    "InstitutionName": "SAINT ELSEWHERE CHILDRENS",
    "InstitutionAddress": "1 HOSPITAL ROAD",
    "AccessionNumber": "ACC88231X",
    "ReferringPhysicianName": "HOUSEMAN^GREGOR",
    "PerformingPhysicianName": "HOUSEMAN^GREGOR",
    "OperatorsName": "HOUSEMAN^GREGOR",
    "StationName": "ELSEWHERE-CT1",
    "StudyDate": "20260102",
    "StudyDescription": "CT HEAD QUIMBY",
    "SeriesDescription": "AX 1.0 H31s QUIMBY",
}


def _identified(folder: Path, dest: Path) -> Path:
    """A copy of the series in ``folder`` with :data:`_IDENTIFIERS` in every header."""
    import pydicom

    dest.mkdir()
    for path in sorted(folder.iterdir()):
        ds = pydicom.dcmread(path)
        for keyword, value in _IDENTIFIERS.items():
            setattr(ds, keyword, value)
        ds.save_as(dest / path.name, enforce_file_format=True)
    return dest


def _sitk_dicom(folder: Path) -> np.ndarray:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    return sitk.GetArrayFromImage(reader.Execute())


def _sitk_file(path: Path) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


#: The rows, in table order.
_ROWS = ("dicom", "dicom_identified", "dicom_enhanced", "nii_gz")


def run(
    out_dir: str | Path = "benchmarks/results",
    *,
    shape: tuple[int, int, int] = (512, 512, 400),
    repeats: int = 3,
) -> dict[str, object]:
    """Run the benchmark, write ``load.json`` (and a ``load.md`` row) into ``out_dir``.

    Returns
    -------
    dict
        Median and all times in seconds per reader and format, and the ratios
        ``load_scan / SimpleITK``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    vol = make_head(shape)
    result: dict[str, object] = {
        "shape": list(shape),
        "dtype": "int16",
        "repeats": repeats,
        "python": platform.python_version(),
        "simpleitk": sitk.Version.VersionString(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpus": __import__("os").cpu_count(),
    }
    with tempfile.TemporaryDirectory(prefix="twinsep-bench-") as tmp:
        t0 = time.perf_counter()
        write_dicom_series(vol, Path(tmp) / "dicom")
        result["write_dicom_s"] = round(time.perf_counter() - t0, 3)
        named = _identified(Path(tmp) / "dicom", Path(tmp) / "dicom_identified")
        enhanced = write_enhanced_dicom(vol, Path(tmp) / "enhanced.dcm")  # one multi-frame file
        t0 = time.perf_counter()
        nii = save_volume(vol, Path(tmp) / "ct.nii.gz", compress_level=1)
        result["write_nii_gz_s"] = round(time.perf_counter() - t0, 3)
        del vol
        cases = {
            "dicom": (
                lambda: load_scan(Path(tmp) / "dicom"),
                lambda: _sitk_dicom(Path(tmp) / "dicom"),
            ),
            "dicom_identified": (lambda: load_scan(named), lambda: _sitk_dicom(named)),
            "dicom_enhanced": (lambda: load_scan(enhanced), lambda: _sitk_file(enhanced)),
            "nii_gz": (lambda: load_scan(nii), lambda: _sitk_file(nii)),
        }
        for name, (ours, theirs) in cases.items():
            theirs()  # warm the page cache for both readers
            t_ours, all_ours = _median_time(ours, repeats)
            t_itk, all_itk = _median_time(theirs, repeats)
            result[name] = {
                "load_scan_s": round(t_ours, 3),
                "simpleitk_s": round(t_itk, 3),
                "ratio": round(t_ours / t_itk, 3),
                "load_scan_all_s": [round(t, 3) for t in all_ours],
                "simpleitk_all_s": [round(t, 3) for t in all_itk],
            }
    table = markdown_table(result)
    result["title"] = "Scan loading: load_scan vs SimpleITK"
    result["rows"] = [
        {"format": name, **{k: v for k, v in result[name].items() if not k.endswith("all_s")}}  # type: ignore[union-attr]
        for name in _ROWS
    ]
    result["markdown"] = table
    atomic_write_text(out / "load.json", json.dumps(result, indent=2) + "\n")
    md = out / "load.md"
    previous = md.read_text() if md.exists() else ""
    atomic_write_text(md, previous + table + "\n")
    return result


def markdown_table(result: dict[str, object]) -> str:
    """Markdown table of one benchmark result."""
    shape = "×".join(str(s) for s in result["shape"])  # type: ignore[attr-defined]
    lines = [
        f"### load benchmark {result['date']} ({shape} int16, median of {result['repeats']})",
        "",
        "| format | load_scan (s) | SimpleITK (s) | ratio |",
        "|---|---|---|---|",
    ]
    for name in _ROWS:
        r = result[name]
        assert isinstance(r, dict)
        lines.append(
            f"| {name} | {r['load_scan_s']:.2f} | {r['simpleitk_s']:.2f} | {r['ratio']:.2f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    res = run(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "results")
    print(markdown_table(res))
