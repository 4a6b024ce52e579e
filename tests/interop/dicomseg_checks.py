"""Checks of a written DICOM-SEG against the label maps it was made from.

The SEG is read with pydicom only (raw frames and functional groups), so the check does
not trust the writer's or highdicom's own frame bookkeeping: every set pixel of every
frame is placed in LPS mm through that frame's PlanePositionSequence and the shared
orientation and pixel spacing (the DICOM equation C.7.6.2.1-1), then in the label grid
through the inverse of its RAS affine. Used for classic-series and multi-frame sources.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom

from twinsep.interop.slicer import combined_labels, segments
from twinsep.volume import Volume

#: A SEG pixel centre must land this close (voxels) to a label voxel centre: the SEG
#: planes are the source planes, which are the label grid's own slices.
ON_GRID_VX = 1e-3


def seg_voxel_masks(seg_path: Path, grid: Volume) -> dict[str, np.ndarray]:
    """Per segment label, the voxels of ``grid`` the SEG marks (bool, grid shape).

    Raises AssertionError when a set pixel falls off the grid or between voxel centres.
    """
    ds = pydicom.dcmread(seg_path)
    pix = np.asarray(ds.pixel_array)
    if pix.ndim == 2:
        pix = pix[None]
    shared = ds.SharedFunctionalGroupsSequence[0]
    iop = np.asarray(shared.PlaneOrientationSequence[0].ImageOrientationPatient, float)
    dr, dc = (float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing)
    names = {int(item.SegmentNumber): str(item.SegmentLabel) for item in ds.SegmentSequence}
    inverse = np.linalg.inv(np.asarray(grid.affine, float))
    out = {name: np.zeros(grid.shape, bool) for name in names.values()}
    frames = ds.PerFrameFunctionalGroupsSequence
    assert len(frames) == pix.shape[0]
    for f, item in enumerate(frames):
        number = int(item.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        ipp = np.asarray(item.PlanePositionSequence[0].ImagePositionPatient, float)
        r, c = np.nonzero(pix[f])
        lps = ipp + c[:, None] * dc * iop[:3] + r[:, None] * dr * iop[3:]
        ras = lps * np.array([-1.0, -1.0, 1.0])
        ijk = ras @ inverse[:3, :3].T + inverse[:3, 3]
        idx = np.rint(ijk).astype(np.int64)
        assert np.abs(ijk - idx).max(initial=0.0) < ON_GRID_VX, f"frame {f + 1} is off the grid"
        assert ((idx >= 0) & (idx < np.array(grid.shape))).all(), f"frame {f + 1} leaves the grid"
        out[names[number]][idx[:, 0], idx[:, 1], idx[:, 2]] = True
    return out


def assert_seg_reproduces(seg_path: Path, labels: Volume, twins: Volume) -> int:
    """Every segment of the SEG marks exactly the voxels of its twin x tissue label, and
    every non-empty label has its segment. Returns the number of segments."""
    masks = seg_voxel_masks(seg_path, labels)
    combined = combined_labels(labels.array, twins.array)
    expected = {
        s.name: combined == s.label_value
        for s in segments("#7B3FA0", "#F28C28")
        if (combined == s.label_value).any()
    }
    assert set(masks) == set(expected)
    for name, truth in expected.items():
        got = masks[name]
        # exact: one wrong voxel is a misplaced frame or a flipped axis
        assert np.array_equal(got, truth), (
            f"{name}: {int((got & ~truth).sum())} extra, {int((truth & ~got).sum())} missing"
        )
    return len(masks)
