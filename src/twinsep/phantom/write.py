"""Write a phantom folder: ``ct.nii.gz`` (or ``ct/`` DICOM), ``labels.nii.gz``,
``twins.nii.gz`` and ``truth.json``, all at once (a temporary folder renamed on success)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from twinsep.phantom.make import Phantom

logger = logging.getLogger(__name__)

#: Fake identity written into DICOM phantoms, so that de-identification can be tested.
FAKE_PATIENT_NAME = "PHANTOM^TWINSEP^TEST"
FAKE_PATIENT_ID = "TS-PHANTOM-0001"
FAKE_BIRTH_DATE = "20250301"


def write_phantom(
    phantom: Phantom,
    out_dir: str | Path,
    *,
    dicom: bool = False,
    patient_name: str = FAKE_PATIENT_NAME,
    patient_id: str = FAKE_PATIENT_ID,
    birth_date: str = FAKE_BIRTH_DATE,
) -> Path:
    """Write the phantom into a new folder, atomically.

    Parameters
    ----------
    phantom : Phantom
        From :func:`twinsep.phantom.make_phantom`.
    out_dir : str or Path
        Destination folder; must not exist, or be empty. Its parent must exist.
    dicom : bool
        Write the CT as a DICOM series folder ``ct/`` instead of ``ct.nii.gz``.
    patient_name, patient_id, birth_date : str
        Fake identity written into the DICOM headers (``birth_date`` as YYYYMMDD); they
        exist so that de-identification can be tested. Not used for NIfTI.

    Returns
    -------
    Path
        The folder written.

    Raises
    ------
    OutputError
        The folder exists and is not empty, or its parent is missing or not writable.
    """
    from twinsep.io import save_volume, write_dicom_series
    from twinsep.io.atomic import atomic_output_dir

    dest = Path(out_dir)
    with atomic_output_dir(dest) as tmp:
        if dicom:
            write_dicom_series(
                phantom.ct,
                tmp / "ct",
                patient_name=patient_name,
                patient_id=patient_id,
                birth_date=birth_date,
                modality="CT",
                series_description=f"twinsep phantom {phantom.truth.kind}",
            )
        else:
            save_volume(phantom.ct, tmp / "ct.nii.gz")
        save_volume(phantom.labels, tmp / "labels.nii.gz")
        save_volume(phantom.twins, tmp / "twins.nii.gz")
        text = json.dumps(phantom.truth.model_dump(mode="json"), indent=2, sort_keys=True)
        (tmp / "truth.json").write_text(text + "\n", encoding="utf-8")
    logger.debug("phantom %s written to %s", phantom.truth.kind, dest)
    return dest
