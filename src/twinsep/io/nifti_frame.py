"""Which of a NIfTI header's two frames (sform, qform) places the scan, and when neither can.

A NIfTI header stores the voxel-to-world matrix twice: the sform (a 3 x 4 matrix) and the
qform (voxel sizes, a quaternion and an offset), each with a code saying whether it is
set. nibabel and FSL use the sform when its code is set and the qform otherwise. A
damaged header breaks that rule in two ways that were not handled (red-team round 6):

- a **qform quaternion** ``(b, c, d)`` longer than 1 has no rotation; nibabel raises
  ``ValueError("w2 should be positive ...")`` when asked for it, which reached the CLI as
  an internal error (exit 1) when the qform was the frame used;
- an **sform** that holds NaN or infinity, or is singular (all zeros, as some converters
  write with ``sform_code`` set), was refused ("the voxel-to-world matrix contains NaN",
  "zero voxel spacing") even when the header's qform placed the scan; ITK reads such a
  header from the qform, and its SVD printed eight lines on the process's stderr
  first.

Decisions: an unusable sform with a usable qform is read from the qform, with a warning;
a damaged qform beside a usable sform is read from the sform, with a warning; an
unusable sform without a usable qform is refused by the checks of every format ("zero
voxel spacing along axis j", "contains NaN"), and a damaged qform without an sform here,
naming the quaternion.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from twinsep.errors import ScanError

__all__ = ["QFORM_SFORM_TOL_MM", "nifti_affine", "qform_problem", "sform_problem"]

#: Largest distance (mm) between where a NIfTI's qform and its sform put the corners of
#: the volume before a warning says they disagree. twinsep (nibabel) uses the sform;
#: a tool that reads the qform would place the scan, and the plan's label maps (written
#: with one affine in both), elsewhere. 0.1 mm is the slice-position tolerance of DICOM
#: series (``LoadParams.slice_position_tol_mm``), far above the float32 rounding of the
#: two encodings of one affine.
QFORM_SFORM_TOL_MM: float = 0.1

#: A frame whose 3 x 3 part has a determinant below this fraction of the product of its
#: column lengths is singular (axes in one plane); 1e-6 is far below any real voxel grid.
_SINGULAR_REL = 1e-6


def _matrix_problem(matrix: np.ndarray) -> str | None:
    """Why a 4 x 4 frame cannot place voxels (non-finite, a zero or coplanar axis), or None."""
    m = np.asarray(matrix, dtype=np.float64)[:3, :4]
    if not np.all(np.isfinite(m)):
        return "holds NaN or infinity"
    lengths = np.linalg.norm(m[:, :3], axis=0)
    if np.any(lengths == 0):
        return "gives a voxel axis of length 0 (an empty matrix?)"
    if abs(float(np.linalg.det(m[:, :3]))) < _SINGULAR_REL * float(np.prod(lengths)):
        return "is singular (its voxel axes lie in one plane)"
    return None


def sform_problem(header: Any) -> str | None:
    """Why the header's sform cannot be used, or None (also None when its code is 0)."""
    if int(header["sform_code"]) == 0:
        return None
    return _matrix_problem(header.get_sform())


def qform_problem(header: Any) -> str | None:
    """Why the header's qform cannot be used, or None (also None when its code is 0)."""
    if int(header["qform_code"]) == 0:
        return None
    bcd = [float(header[k]) for k in ("quatern_b", "quatern_c", "quatern_d")]
    if not np.all(np.isfinite(bcd)):
        return "its quaternion holds NaN or infinity"
    norm = float(np.linalg.norm(bcd))
    if norm > 1.0 + 1e-5:  # nibabel's own threshold on 1 - (b² + c² + d²) is about this
        return (
            f"its quaternion (b, c, d) = ({bcd[0]:g}, {bcd[1]:g}, {bcd[2]:g}) has length "
            f"{norm:.3g}, more than 1, so it is no rotation"
        )
    try:
        qform = header.get_qform()
    except ValueError as exc:  # nibabel's own check of the quaternion
        return f"its quaternion is invalid ({exc})"
    return _matrix_problem(qform)


def _gap_mm(header: Any) -> float:
    """Largest distance (mm, file units) between the qform and sform positions of the
    volume's corners."""
    shape = [max(int(n), 1) for n in (tuple(header.get_data_shape()) + (1, 1, 1))[:3]]
    corners = np.array(
        [
            [i, j, k, 1.0]
            for i in (0, shape[0] - 1)
            for j in (0, shape[1] - 1)
            for k in (0, shape[2] - 1)
        ]
    )
    diff = corners @ (np.asarray(header.get_sform()) - np.asarray(header.get_qform())).T
    return float(np.max(np.linalg.norm(diff[:, :3], axis=1)))


def nifti_affine(header: Any, path: Path) -> tuple[np.ndarray, list[str]]:
    """The voxel-to-world affine a NIfTI header gives (in the file's units), and warnings.

    Parameters
    ----------
    header : nibabel Nifti1Header or Nifti2Header
        The parsed header.
    path : Path
        The file named by an error.

    Returns
    -------
    affine : ndarray, shape (4, 4)
        The sform when its code is set and it is usable, else the qform when set and
        usable, else the (unusable) sform when set, else the voxel sizes alone.
    warnings : list of str
        A frame that was not used because it is damaged, a qform/sform disagreement, or
        no frame at all.

    Raises
    ------
    ScanError
        The qform is the only frame and it is damaged (no rotation).
    """
    s_code, q_code = int(header["sform_code"]), int(header["qform_code"])
    s_bad, q_bad = sform_problem(header), qform_problem(header)
    if s_code == 0 and q_code == 0:
        return np.asarray(header.get_base_affine(), dtype=np.float64), [
            "the NIfTI header has no qform or sform: orientation is unknown and was "
            "assumed from the voxel sizes alone (left-right may be wrong)"
        ]
    if s_code and s_bad is None:
        sform = np.asarray(header.get_sform(), dtype=np.float64)
        if q_code and q_bad is not None:
            return sform, [
                f"the NIfTI qform is damaged ({q_bad}): the sform was used, as nibabel and "
                "FSL do; a viewer that reads the qform may misplace the scan"
            ]
        gap = _gap_mm(header) if q_code else 0.0
        if gap > QFORM_SFORM_TOL_MM:
            return sform, [
                f"the NIfTI qform and sform disagree (the volume's corners up to {gap:.1f} mm "
                "apart): the sform was used, as nibabel and FSL do; a viewer that reads the "
                "qform shows the scan and the plan elsewhere - check which one is right"
            ]
        return sform, []
    if q_code and q_bad is None:
        qform = np.asarray(header.get_qform(), dtype=np.float64)
        if not s_code:
            return qform, []
        return qform, [
            f"the NIfTI sform (sform_code {s_code}) {s_bad}: the qform was used, as ITK "
            "does; check the scan's orientation"
        ]
    if s_code:  # no usable qform beside it: the checks of every format refuse the sform
        return np.asarray(header.get_sform(), dtype=np.float64), []
    raise ScanError(
        path,
        f"the NIfTI header cannot place the scan: its qform is damaged ({q_bad}) and there is "
        "no sform; write the file again from the original data",
    )
