"""Red-team round 8 (session 30): the real-CT twins as DICOM in odd storage, planned.

Not a test (pytest does not collect it): a script that writes ``real-ct-vertical``
(``twinsep.realanatomy.realct``, 214 x 244 x 323 voxels of 1 mm, real HU) as DICOM
series carrying ``blind.pacs``'s identifiers (files and folders named after the patient):
axial head-first and feet-first, head-first with InstanceNumber reversed, sagittal and
coronal stacks, oblique 15 and 35 deg, a gantry tilt as CT scanners write it (tilted
ImageOrientationPatient, positions along the table, GantryDetectorTilt), a missing slice,
a varying increment, per-slice RescaleIntercept 0 / -1024 (unsigned) / -1000, an Enhanced
CT file, a topogram beside the head series (ImageType LOCALIZER, and without it), JPEG
Lossless, 12-bit JPEG Extended and HTJ2K. Each is planned with ``twinsep plan`` in a
subprocess (``sweep_phi_plans.run_case``: exit, stderr lines, input unchanged, every
output byte searched for the identifiers) and its ``labels.nii.gz`` / ``twins.nii.gz``
compared, voxel by voxel through both affines, with the plan of the case's NIfTI.
docs/io.md "Red-team round 8".

Usage::

    python tests/badinput/sweep_real_ct_dicom.py SRC_TREE OUT_DIR [CASE ...]

``SRC_TREE`` holds ``src/`` and ``tests/`` (a ``git archive`` snapshot); needs the
InVesalius head CT (``make realdata``); 3-8 min per plan on 2 loaded cores, two at a time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from sweep_phi_plans import _CLI, _PY, _rotation, permuted, phi_series, run_case, turned

_STUDY = "1.2.826.0.1.3680043.8.498.77"


def build_cases(ct: Any, inp: Path) -> dict[str, dict[str, Any]]:
    """Write every input under ``inp``; return the cases (path, expected exit, and the
    world turn ``world`` that maps the NIfTI's world onto the input's)."""
    import gdcm
    import pydicom

    from blind.pacs import IDENTITY, _encode, _identify, _localizers, gdcm_encode
    from twinsep.io.enhanced_write import write_enhanced_dicom

    cases: dict[str, dict[str, Any]] = {}
    hfs = permuted(ct, (0, 1, 2), (0, 1))  # ImageOrientationPatient 1 0 0 0 1 0

    def case(name: str, path: Path, expect: int, world: np.ndarray = np.eye(3)) -> None:
        cases[name] = {"path": str(path), "expect": expect, "world": world.tolist()}

    def head(position: str = "HFS") -> Callable[[int, Any], None]:
        def edit(k: int, ds: Any) -> None:
            ds.PatientPosition = position
            ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
            ds.ConvolutionKernel = "H31s"

        return edit

    def series(
        vol: Any, name: str, edit: Callable[[int, Any], Any] | None = None, **kw: Any
    ) -> list[Path]:
        plain = head(kw.pop("position", "HFS"))

        def both(k: int, ds: Any) -> Any:
            plain(k, ds)
            return None if edit is None else edit(k, ds)

        return phi_series(vol, inp / name / "s", _STUDY, edit=both, **kw)

    n = hfs.shape[2]
    series(hfs, "axial_hfs")
    case("axial_hfs", inp / "axial_hfs" / "s", 0)
    series(hfs, "axial_hfs_reversed", lambda k, ds: setattr(ds, "InstanceNumber", n - k))
    case("axial_hfs_reversed", inp / "axial_hfs_reversed" / "s", 0)
    # feet first: ImageOrientationPatient -1 0 0 0 1 0, the slice normal inferior
    series(permuted(ct, (0, 1, 2), (1, 2)), "axial_ffs", position="FFS")
    case("axial_ffs", inp / "axial_ffs" / "s", 0)
    series(permuted(ct, (1, 2, 0), (0, 1)), "sagittal", description="SAG MPR")  # 0 1 0 0 0 -1
    case("sagittal", inp / "sagittal" / "s", 0)
    series(permuted(ct, (0, 2, 1), (0, 1, 2)), "coronal", description="COR MPR")  # 1 0 0 0 0 -1
    case("coronal", inp / "coronal" / "s", 0)
    for deg, axis in ((15, (1.0, 0.0, 0.0)), (35, (1.0, 0.4, 0.2))):
        m = _rotation(axis, deg)
        series(turned(hfs, m), f"oblique{deg}")
        case(f"oblique{deg}", inp / f"oblique{deg}" / "s", 0, m)
    tilt = np.radians(20.0)

    def tilted(k: int, ds: Any) -> None:
        # the planes tilted about x; positions stay on the table's axis (sheared stack)
        ds.ImageOrientationPatient = [1, 0, 0, 0, float(np.cos(tilt)), float(-np.sin(tilt))]
        ds.GantryDetectorTilt = 20.0

    series(hfs, "tilt", tilted)
    case("tilt", inp / "tilt" / "s", 2)
    series(hfs, "missing", lambda k, ds: False if k == 150 else None)
    case("missing", inp / "missing" / "s", 2)

    def varying(k: int, ds: Any) -> None:  # 1 mm steps, then 1.25 mm
        p = [float(v) for v in ds.ImagePositionPatient]
        extra = 0.25 * max(k - n // 2, 0)
        ds.ImagePositionPatient = [p[0], p[1], p[2] + extra]

    series(hfs, "varying", varying)
    case("varying", inp / "varying" / "s", 2)

    def intercepts(k: int, ds: Any) -> None:
        hu = ds.pixel_array.astype(np.int32)  # written with intercept 0
        if k % 3 == 1:
            ds.PixelRepresentation = 0
            ds.PixelData = (hu + 1024).astype("<u2").tobytes()
            ds.RescaleIntercept = "-1024"
        elif k % 3 == 2:
            ds.PixelData = (hu + 1000).astype("<i2").tobytes()
            ds.RescaleIntercept = "-1000"

    series(hfs, "mixed_intercept", intercepts)
    case("mixed_intercept", inp / "mixed_intercept" / "s", 0)
    ident = IDENTITY
    folder = inp / "enhanced" / f"{ident.family}_{ident.given}_{ident.patient_id}"
    folder.mkdir(parents=True)
    tmp = write_enhanced_dicom(hfs, inp / "enhanced" / "x.dcm", patient_name=ident.name)
    ds = pydicom.dcmread(tmp)
    _identify(ds, ident, _STUDY, "ENH")
    tmp.unlink()
    ds.save_as(folder / f"{ident.family}_{ident.given}.dcm", enforce_file_format=True)
    case("enhanced", folder / f"{ident.family}_{ident.given}.dcm", 0)
    for name, itype in (("scout_and_head", "LOCALIZER"), ("scout_untyped", None)):
        first = series(hfs, name)[0]
        frame = str(pydicom.dcmread(first).FrameOfReferenceUID)
        views = _localizers(
            hfs, study_uid=_STUDY, frame_uid=frame, series_uid=_STUDY + ".9", number=1, ident=ident
        )
        for v, view in enumerate(views):
            if itype is None:  # an export that rewrote ImageType
                view.ImageType = ["ORIGINAL", "PRIMARY"]
            view.save_as(first.parent / f"{ident.family}_TOPO_{v}.dcm", enforce_file_format=True)
        case(name, first.parent, 0)
    series(
        hfs,
        "jpeg_lossless",
        encode=lambda ds: gdcm_encode(ds, gdcm.TransferSyntax.JPEGLosslessProcess14_1),
    )
    case("jpeg_lossless", inp / "jpeg_lossless" / "s", 0)

    def twelve_bits(k: int, ds: Any) -> None:
        hu = ds.pixel_array.astype(np.int32)
        ds.PixelRepresentation, ds.BitsStored, ds.HighBit = 0, 12, 11
        ds.PixelData = (hu + 1024).clip(0, 4095).astype("<u2").tobytes()
        ds.RescaleIntercept = "-1024"

    jpeg12 = gdcm.TransferSyntax.JPEGExtendedProcess2_4
    series(hfs, "jpeg_extended12", twelve_bits, encode=lambda ds: gdcm_encode(ds, jpeg12))
    case("jpeg_extended12", inp / "jpeg_extended12" / "s", 2)
    series(hfs, "htj2k", encode=lambda ds: _encode(ds, "no-decoder"))
    case("htj2k", inp / "htj2k" / "s", 2)
    return cases


def agreement(ref: Path, plan: Path, world: np.ndarray) -> dict[str, float]:
    """Share of the reference plan's voxels whose label / twin the other plan gives at
    the same (turned) world point, nearest voxel; outside its grid counts as 0."""
    import nibabel as nib

    out: dict[str, float] = {}
    for name in ("labels", "twins"):
        a_img, b_img = nib.load(str(ref / f"{name}.nii.gz")), nib.load(str(plan / f"{name}.nii.gz"))
        a, b = np.asarray(a_img.dataobj), np.asarray(b_img.dataobj)
        idx = np.indices(a.shape).reshape(3, -1).T
        mm = (idx @ a_img.affine[:3, :3].T + a_img.affine[:3, 3]) @ world.T
        inv = np.linalg.inv(b_img.affine)
        ijk = np.round(mm @ inv[:3, :3].T + inv[:3, 3]).astype(int)
        inside = np.all((ijk >= 0) & (ijk < np.array(b.shape)), axis=1)
        got = np.zeros(len(idx), b.dtype)
        got[inside] = b[tuple(ijk[inside].T)]
        out[name] = round(float(np.mean(got == a.reshape(-1))), 6)
        out[f"{name}_differ"] = int(np.sum(got != a.reshape(-1)))
    return out


def main(argv: list[str]) -> None:
    tree, out = Path(argv[0]).resolve(), Path(argv[1]).resolve()
    only = set(argv[2:])
    sys.path[:0] = [str(tree / "src"), str(tree / "tests")]
    import nibabel as nib

    from twinsep.realanatomy.realct import write_real_ct_case
    from twinsep.volume import Volume

    out.mkdir(parents=True, exist_ok=True)
    ct_path = out / "case" / "ct.nii.gz"
    if not ct_path.exists():
        write_real_ct_case("real-ct-vertical", out / "case")
    img = nib.load(str(ct_path))
    ct = Volume(np.asarray(img.dataobj).astype(np.int16), img.affine)
    shutil.rmtree(out / "inputs", ignore_errors=True)
    cases = build_cases(ct, out / "inputs")
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "OPENBLAS_NUM_THREADS": "1"}
    ref = out / "plans" / "nifti"
    if not (ref / "plan.json").exists():
        shutil.rmtree(ref, ignore_errors=True)
        cmd = ["nice", "-n", "5", _PY, "-c", _CLI, "plan", str(ct_path), "--out", str(ref)]
        subprocess.run(cmd, env=env, check=True, capture_output=True)

    def one(name: str) -> dict[str, Any]:
        res = run_case(name, cases[name], out, env)
        plan = out / "plans" / name
        if res["exit"] == 0:
            res["agreement"] = agreement(ref, plan, np.asarray(cases[name]["world"]))
        shutil.rmtree(plan, ignore_errors=True)  # 120 MB each
        print(json.dumps(res), flush=True)
        return res

    names = [n for n in cases if not only or n in only]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(one, names))
    (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in results))


if __name__ == "__main__":
    main(sys.argv[1:])
