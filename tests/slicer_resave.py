"""A twinsep ``.seg.nrrd`` saved again the way 3D Slicer 5 may save it after editing."""

from __future__ import annotations

from pathlib import Path

import nrrd
import numpy as np

from twinsep.volume import LPS_TO_RAS


def slicer_resave(src: Path, dst: Path, *, layers: bool, ras: bool) -> None:
    """What Slicer 5 may do on saving: crop to the segments' extent, reorder the segments
    with new label values, drop the empty ones, and (``layers``) put twin B's segments
    in a second layer of a 4-D array; ``ras``: the same geometry in RAS space."""
    data, header = nrrd.read(str(src), index_order="F")
    nz = np.argwhere(data > 0)
    lo, hi = nz.min(axis=0), nz.max(axis=0) + 1
    crop = data[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    dirs = np.asarray(header["space directions"], float)
    origin = np.asarray(header["space origin"], float) + dirs.T @ lo
    old = {int(header[f"Segment{n}_LabelValue"]): header[f"Segment{n}_Name"] for n in range(10)}
    present = [v for v in sorted(old, reverse=True) if np.any(crop == v)]  # reordered
    out_header: dict[str, object] = {
        "space": "left-posterior-superior",
        "encoding": "gzip",
        "Segmentation_ReferenceImageExtentOffset": " ".join(str(int(v)) for v in lo),
    }
    if layers:
        vol = np.zeros((2, *crop.shape), np.uint8)
    else:
        vol = np.zeros(crop.shape, np.uint8)
    for n, v in enumerate(present):
        layer = int(layers and v > 5)
        new_value = n + 1
        if layers:
            vol[layer][crop == v] = new_value
        else:
            vol[crop == v] = new_value
        out_header[f"Segment{n}_Name"] = old[v]
        out_header[f"Segment{n}_ID"] = f"Segment_{n}"
        out_header[f"Segment{n}_LabelValue"] = str(new_value)
        out_header[f"Segment{n}_Layer"] = str(layer)
    if ras:
        lps = np.eye(4)
        lps[:3, :3] = dirs.T
        lps[:3, 3] = origin
        ras_aff = LPS_TO_RAS @ lps
        dirs, origin = ras_aff[:3, :3].T, ras_aff[:3, 3]
        out_header["space"] = "right-anterior-superior"
    if layers:
        out_header["space directions"] = np.vstack([np.full(3, np.nan), dirs])
        out_header["kinds"] = ["list", "domain", "domain", "domain"]
    else:
        out_header["space directions"] = dirs
        out_header["kinds"] = ["domain", "domain", "domain"]
    out_header["space origin"] = origin
    nrrd.write(str(dst), vol, out_header, index_order="F")
