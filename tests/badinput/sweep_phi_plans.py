"""Red-team sweep (session 25): whole plans of PHI-laden inputs in odd geometry.

Not a test (pytest does not collect it): a script that writes one 96-voxel phantom CT as
DICOM series carrying identifiers everywhere (``tests/blind/pacs.py``'s ``_identify``:
names, IDs, dates, institution, physicians, accession, descriptions, comments, a
sequence, Siemens/GE private tags) in odd geometry and layouts, and as NRRD/MetaImage/
NIfTI with identifiers in their headers; plans each input with ``twinsep plan`` (and
``twinsep check --json``) in a subprocess from a source tree, and reports per input: the
exit code, whether the input changed, the stderr lines, and every planted identifier
found in any output byte (gzip members and zlib streams included, ``.cache`` too) or in
stdout/stderr (the path the user typed excepted). docs/io.md "Red-team round 3".

Usage::

    python tests/badinput/sweep_phi_plans.py SRC_TREE OUT_DIR [CASE ...]

``SRC_TREE`` holds ``src/`` and ``tests/`` (a ``git archive`` snapshot); about a minute
per plan on 2 loaded cores, two at a time.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

_PY = sys.executable
_CLI = "import sys; from twinsep.cli import main; sys.argv[0] = 'twinsep'; main()"


def _rotation(axis: tuple[float, float, float], deg: float) -> np.ndarray:
    a = np.asarray(axis, float) / np.linalg.norm(axis)
    t = np.radians(deg)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * k @ k


def turned(vol: Any, m3: np.ndarray) -> Any:
    """The same voxels with the world turned by ``m3`` (a patient lying obliquely)."""
    from twinsep.volume import Volume

    aff = vol.affine.copy()
    aff[:3, :] = m3 @ aff[:3, :]
    return Volume(vol.array, aff)


def permuted(vol: Any, order: tuple[int, ...], flips: tuple[int, ...] = ()) -> Any:
    """The same world voxels with the array axes permuted and flipped."""
    from twinsep.volume import Volume

    arr = np.transpose(vol.array, order)
    aff = vol.affine.copy()
    aff[:, :3] = vol.affine[:, list(order)]
    for ax in flips:
        aff[:3, 3] += aff[:3, ax] * (arr.shape[ax] - 1)
        aff[:3, ax] *= -1
        arr = np.flip(arr, ax)
    return Volume(np.ascontiguousarray(arr), aff)


def phi_series(
    vol: Any,
    folder: Path,
    study: str,
    *,
    description: str = "AX 1.0 H31s",
    edit: Callable[[int, Any], Any] | None = None,
    number: int = 2,
    encode: Callable[[Any], Any] | None = None,
) -> list[Path]:
    """``vol`` as a DICOM series in ``folder`` carrying ``blind.pacs``'s identifiers,
    files named after the patient; ``edit(k, ds)`` changes slice ``k`` (returning False
    leaves the file out), ``encode(ds)`` returns the dataset to save (a transfer syntax)."""
    import pydicom

    from blind.pacs import IDENTITY, _identify
    from twinsep.io import write_dicom_series

    ident = IDENTITY
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / (folder.name + ".tmp")
    written = write_dicom_series(vol, tmp, patient_name=ident.name)
    folder.mkdir()
    paths = []
    for k, p in enumerate(written):
        ds = pydicom.dcmread(p)
        _identify(ds, ident, study, description)
        ds.SeriesNumber = number
        if edit is not None and edit(k, ds) is False:
            continue
        if encode is not None:
            ds = encode(ds)
        q = folder / f"{ident.family}_{k + 1:04d}.dcm"
        ds.save_as(q, enforce_file_format=True)
        paths.append(q)
    shutil.rmtree(tmp)
    return paths


def build_cases(out: Path) -> dict[str, dict[str, Any]]:
    """Write every input under ``out / "inputs"``; return the cases by name."""
    import nibabel as nib
    import pydicom
    import SimpleITK as sitk

    from blind.pacs import IDENTITY, _identify
    from twinsep.io import load_scan
    from twinsep.io.enhanced_write import write_enhanced_dicom
    from twinsep.phantom import make_phantom, write_phantom
    from twinsep.volume import Volume

    ident = IDENTITY
    inp = out / "inputs"
    shutil.rmtree(inp, ignore_errors=True)
    inp.mkdir(parents=True)
    ct_path = out / "ct.nii.gz"
    if not ct_path.exists():
        write_phantom(make_phantom("vertical-II", size=96, seed=0), out / "phantom")
        shutil.copy(out / "phantom" / "ct.nii.gz", ct_path)
    ct = load_scan(ct_path).volume
    study = "1.2.826.0.1.3680043.8.498.77"
    phi_folder = f"{ident.family}_{ident.given}_{ident.patient_id}"
    cases: dict[str, dict[str, Any]] = {}

    def series(
        vol: Any,
        folder: Path,
        *,
        description: str = "AX 1.0 H31s",
        edit: Callable[[int, Any], None] | None = None,
        number: int = 2,
    ) -> list[Path]:
        return phi_series(vol, folder, study, description=description, edit=edit, number=number)

    def case(name: str, path: Path, expect: int, **extra: Any) -> None:
        cases[name] = {"path": str(path), "expect": expect, **extra}

    series(ct, inp / "axial" / phi_folder)
    case("axial", inp / "axial" / phi_folder, 0, pdf=True)
    case("axial_keep_phi", inp / "axial" / phi_folder, 0, args=["--keep-phi"], control=True)
    series(turned(ct, _rotation((1, 0.5, 0.2), 25)), inp / "oblique" / "s")
    case("oblique", inp / "oblique" / "s", 0)
    series(permuted(ct, (1, 2, 0)), inp / "sagittal" / "s")
    case("sagittal", inp / "sagittal" / "s", 0)
    series(permuted(ct, (0, 2, 1), flips=(1,)), inp / "coronal" / "s")
    case("coronal", inp / "coronal" / "s", 0)
    series(permuted(ct, (0, 1, 2), flips=(0, 2)), inp / "flipped" / "s")
    case("flipped", inp / "flipped" / "s", 0)

    def tilt(k: int, ds: Any) -> None:
        p = [float(v) for v in ds.ImagePositionPatient]
        ds.ImagePositionPatient = [p[0], p[1] + 0.3 * k, p[2]]

    series(ct, inp / "tilt" / "s", edit=tilt)
    case("tilt", inp / "tilt" / "s", 2)
    series(ct, inp / "missing" / "s")[40].unlink()
    case("missing", inp / "missing" / "s", 2)
    dup = series(ct, inp / "duplicate" / "s")
    shutil.copy(dup[30], dup[30].with_name(f"{ident.family}_{ident.given}_copy.dcm"))
    case("duplicate", inp / "duplicate" / "s", 0)
    series(ct, inp / "mixed" / "study" / "s2")
    thick = Volume(ct.array[:, :, ::2], ct.affine @ np.diag([1, 1, 2, 1.0]))

    def other_series(k: int, ds: Any) -> None:
        ds.SeriesInstanceUID = study + ".3"

    series(thick, inp / "mixed" / "study" / "s3", edit=other_series, number=3)
    case("mixed", inp / "mixed" / "study", 2)

    def overlap(k: int, ds: Any) -> None:
        ds.SliceThickness = "6"

    series(ct, inp / "overlap" / "s", edit=overlap)
    case("overlap", inp / "overlap" / "s", 0, warn="SliceThickness")
    (inp / "enhanced" / phi_folder).mkdir(parents=True)
    tmp = write_enhanced_dicom(ct, inp / "enhanced" / "x.dcm", patient_name=ident.name)
    ds = pydicom.dcmread(tmp)
    _identify(ds, ident, study, "ENH")
    enhanced = inp / "enhanced" / phi_folder / f"{ident.family}_{ident.given}.dcm"
    ds.save_as(enhanced, enforce_file_format=True)
    tmp.unlink()
    case("enhanced_file", enhanced, 0)
    case("enhanced_folder", enhanced.parent, 0)
    trunc = series(ct, inp / "truncated" / "s")
    trunc[50].write_bytes(trunc[50].read_bytes()[:-500])
    case("truncated_given_file", trunc[0], 2)
    rep = series(ct, inp / "with_report" / "s")
    ds = pydicom.dcmread(rep[0])
    ds.Modality = "SR"
    ds.SOPInstanceUID = ds.SOPInstanceUID + ".9"
    for kw in ("Rows", "Columns", "PixelData"):
        delattr(ds, kw)
    ds.save_as(rep[0].with_name(f"{ident.family}_DOSE.dcm"), enforce_file_format=True)
    (rep[0].parent / f"{ident.family}_{ident.given}_notes.txt").write_text("notes")
    case("with_report", inp / "with_report" / "s", 0)
    # other formats: identifiers in NIfTI text fields and extensions, NRRD/MHA DICOM tags
    src = nib.load(str(ct_path))
    img = nib.Nifti1Image(np.asarray(src.dataobj), src.affine, src.header.copy())
    img.header["descrip"] = f"{ident.name} {ident.patient_id}".encode()
    img.header["aux_file"] = ident.family.encode()
    img.header["intent_name"] = ident.given.encode()
    img.header["db_name"] = ident.family.encode()
    img.header.extensions.append(
        nib.nifti1.Nifti1Extension(6, f"{ident.family} {ident.given} {ident.birth_date}".encode())
    )
    dicom_ext = pydicom.Dataset()
    dicom_ext.PatientName = ident.name
    dicom_ext.PatientID = ident.patient_id
    img.header.extensions.append(nib.nifti1.Nifti1DicomExtension(2, dicom_ext))
    (inp / "nifti").mkdir()
    nib.save(img, str(inp / "nifti" / "ct.nii.gz"))
    case("nifti_fields", inp / "nifti" / "ct.nii.gz", 0)
    named = inp / "nifti" / f"{ident.family}_{ident.given}_{ident.patient_id}.nii.gz"
    shutil.copy(inp / "nifti" / "ct.nii.gz", named)
    case("nifti_named", named, 0)  # its name leaked until session 26 (8da5c12)
    im = sitk.ReadImage(str(ct_path))
    for key, value in {
        "0010|0010": ident.name,
        "0010|0020": ident.patient_id,
        "0008|0050": ident.accession,
        "0008|0080": ident.institution,
    }.items():
        im.SetMetaData(key, value)
    for fmt in ("nrrd", "mha"):
        (inp / fmt).mkdir()
        sitk.WriteImage(im, str(inp / fmt / f"{ident.family}_{ident.given}.{fmt}"), True)
        case(f"{fmt}_named", inp / fmt / f"{ident.family}_{ident.given}.{fmt}", 0)
    return cases


def _tree_hash(p: Path) -> str:
    h = hashlib.sha256()
    for f in [p] if p.is_file() else sorted(x for x in p.rglob("*") if x.is_file()):
        h.update(str(f).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def run_case(name: str, c: dict[str, Any], out: Path, env: dict[str, str]) -> dict[str, Any]:
    """Plan one case and search every output byte for the planted identifiers."""
    from blind.pacs import IDENTITY
    from phi_bytes import all_bytes

    tokens = [*IDENTITY.tokens(), b"SAINT ELSEWHERE"]

    def cli(*args: str) -> tuple[int, str, str]:
        r = subprocess.run(
            ["nice", "-n", "5", _PY, "-c", _CLI, *args], env=env, capture_output=True, text=True
        )
        return r.returncode, r.stdout, r.stderr

    given = c["path"]
    inputs = Path(given).parent if Path(given).is_file() else Path(given)
    plan = out / "plans" / name
    shutil.rmtree(plan, ignore_errors=True)
    before = _tree_hash(inputs)
    t0 = time.perf_counter()
    rc, so, se = cli("plan", given, "--out", str(plan), *c.get("args", []))
    seconds = time.perf_counter() - t0
    if rc == 0 and c.get("pdf"):
        _, so2, se2 = cli("report", str(plan), "--pdf")
        so, se = so + so2, se + se2
    _, so3, se3 = cli("check", given, "--json")
    typed = (so + se + so3 + se3).replace(given, "<given>").encode()
    res: dict[str, Any] = {
        "case": name,
        "exit": rc,
        "expected": c["expect"],
        "seconds": round(seconds, 1),
        "input_unchanged": before == _tree_hash(inputs),
        "stderr_lines": len([ln for ln in se.splitlines() if ln.strip()]),
        "stderr": se.strip().replace(given, "<given>")[:400],
        "stdio_identifiers": sorted({t.decode() for t in tokens if t in typed}),
        "plan_left_by_refusal": rc != 0 and plan.exists(),
    }
    found: dict[str, list[str]] = {}
    files = sorted(f for f in plan.rglob("*") if f.is_file()) if plan.exists() else []
    for f in files:
        blob = all_bytes(f)
        hit = sorted({t.decode() for t in tokens if t in blob})
        if hit:
            found[str(f.relative_to(plan))] = hit
    res.update(n_files=len(files), file_identifiers=found)
    if rc == 0:
        pj = json.loads((plan / "plan.json").read_text())
        res["input_path"] = pj["input"]["path"]
        res["fusion"] = {k: pj["fusion"][k] for k in ("type", "rotation_deg", "axis_angle_deg")}
        res["volume_ml"] = [pj["twins"][t]["volume_ml"] for t in ("A", "B")]
        if "warn" in c:
            res["warned"] = any(c["warn"] in w for w in pj.get("warnings", []))
    return res


def main(argv: list[str]) -> None:
    tree, out = Path(argv[0]).resolve(), Path(argv[1]).resolve()
    only = set(argv[2:])
    sys.path[:0] = [str(tree / "src"), str(tree / "tests")]
    out.mkdir(parents=True, exist_ok=True)
    cases = build_cases(out)
    (out / "plans").mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "OPENBLAS_NUM_THREADS": "1"}
    names = [n for n in cases if not only or n in only]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda n: run_case(n, cases[n], out, env), names))
    lines = [json.dumps(r) for r in results]
    (out / "results.jsonl").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
