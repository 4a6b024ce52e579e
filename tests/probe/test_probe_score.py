"""The probe's privacy check reads what the plan compresses (``probe_score.files_holding``)."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

from probe.probe_score import files_holding


def test_names_are_found_inside_gzip_and_zip_members(tmp_path: Path) -> None:
    (tmp_path / "clean.txt").write_text("nothing here")
    (tmp_path / "labels.nii.gz").write_bytes(gzip.compress(b"xx Doe^Jane xx"))
    with zipfile.ZipFile(tmp_path / "model.3mf", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("3D/model.xml", "<name>12345678</name>" * 50)  # compressed: not in raw bytes
    (tmp_path / "not-really.gz").write_bytes(b"plain text Doe^Jane")
    assert files_holding(tmp_path, ["Doe^Jane", "12345678"]) == [
        "labels.nii.gz",
        "model.3mf",
        "not-really.gz",
    ]
