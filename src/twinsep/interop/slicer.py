"""3D Slicer interop: a ``.seg.nrrd`` segmentation and a colour table for the label maps.

The segmentation holds one segment per twin x tissue (label value
``(twin - 1) * 5 + tissue``), named ``"Twin A soft tissue"`` ... with the twin's code
colour (tissues in shades of it), so that Slicer opens it as a segmentation with the
team's colours. Geometry is written in LPS, as Slicer and ITK expect.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import nrrd
import numpy as np

from twinsep.io.atomic import atomic_write_bytes
from twinsep.labels import TISSUE_COLOURS, TISSUE_NAMES, TWIN_NAMES, hex_to_rgb, shade
from twinsep.volume import LPS_TO_RAS, Volume

#: Brightness factor applied to the twin colour for each tissue (vessels darker, as in
#: the 3D models; brain and CSF lighter so that they stand apart in slice views).
TISSUE_SHADE: dict[str, float] = {
    "soft_tissue": 1.0,
    "bone": 1.45,
    "brain": 1.25,
    "csf": 1.6,
    "vessel": 0.6,
}

#: gzip level of the ``.seg.nrrd`` data. Level 1 compresses the 512 x 512 x 400 label map
#: of ``benchmarks/bench_e2e.py`` in 0.22 s (2.1 MB) against 0.89 s (1.1 MB) at level 6
#: (issue 10: the export stage has 2 s); any level is read the same way by Slicer/teem.
NRRD_GZIP_LEVEL: int = 1


@dataclass(frozen=True)
class Segment:
    """One segment of the combined twin x tissue label map."""

    label_value: int
    twin: str
    tissue: str
    name: str
    colour_hex: str


def segments(colour_a: str, colour_b: str) -> list[Segment]:
    """The 10 segments (twin A and B x 5 tissues) with names and colours."""
    out = []
    for twin_value, twin in TWIN_NAMES.items():
        base = colour_a if twin == "A" else colour_b
        for tissue_value, tissue in TISSUE_NAMES.items():
            out.append(
                Segment(
                    label_value=(twin_value - 1) * len(TISSUE_NAMES) + tissue_value,
                    twin=twin,
                    tissue=tissue,
                    name=f"Twin {twin} {tissue.replace('_', ' ')}",
                    colour_hex=shade(base, TISSUE_SHADE[tissue]),
                )
            )
    return out


def combined_labels(labels: np.ndarray, twins: np.ndarray) -> np.ndarray:
    """Twin x tissue label map: ``(twin - 1) * 5 + tissue`` where both are non-zero.

    Computed in place in one uint8 array (modulo 256, as the uint8 result of the int16
    formula): three passes over the grid instead of int16 temporaries.
    """
    if labels.shape != twins.shape:
        raise ValueError(f"labels {labels.shape} and twins {twins.shape} differ in shape")
    lab = np.asarray(labels).astype(np.uint8, copy=False)
    tw = np.asarray(twins).astype(np.uint8, copy=False)
    out = np.multiply(tw, np.uint8(len(TISSUE_NAMES)), dtype=np.uint8)
    out += lab
    out -= np.uint8(len(TISSUE_NAMES))
    both = lab != 0
    both &= tw != 0
    out *= both
    return out


def _extents(data: np.ndarray, values: list[int]) -> dict[int, str]:
    """Slicer ``SegmentN_Extent`` (first and last index per axis) of each label value,
    from one pass over the grid (``scipy.ndimage.find_objects``)."""
    from scipy import ndimage

    boxes = ndimage.find_objects(data, max_label=max(values, default=0))
    out = {}
    for v in values:
        box = boxes[v - 1] if 0 < v <= len(boxes) else None
        out[v] = (
            "0 -1 0 -1 0 -1"
            if box is None
            else " ".join(f"{int(b.start)} {int(b.stop) - 1}" for b in box)
        )
    return out


def write_seg_nrrd(
    labels: Volume, twins: Volume, path: Path, *, colour_a: str, colour_b: str
) -> list[Segment]:
    """Write a Slicer ``.seg.nrrd`` of twin x tissue segments, atomically.

    Parameters
    ----------
    labels, twins : Volume
        Tissue (0..5) and twin (0..2) label maps on the same grid.
    path : Path
        Output file (``*.seg.nrrd``).
    colour_a, colour_b : str
        Code colours ``#RRGGBB``.

    Returns
    -------
    list of Segment
        The segments written, in order.
    """
    if not labels.same_grid(twins):
        raise ValueError("labels and twins are not on the same grid")
    data = combined_labels(labels.array, twins.array)
    lps = LPS_TO_RAS @ labels.affine  # RAS affine -> LPS affine (the matrix is its own inverse)
    header: dict[str, object] = {
        "type": "unsigned char",
        "dimension": 3,
        "space": "left-posterior-superior",
        "space directions": lps[:3, :3].T,  # one row per voxel axis
        "space origin": lps[:3, 3],
        "kinds": ["domain", "domain", "domain"],
        "encoding": "gzip",
        "Segmentation_MasterRepresentation": "Binary labelmap",
        "Segmentation_ContainedRepresentationNames": "Binary labelmap|",
        "Segmentation_ReferenceImageExtentOffset": "0 0 0",
    }
    segs = segments(colour_a, colour_b)
    extents = _extents(data, [seg.label_value for seg in segs])
    for n, seg in enumerate(segs):
        extent = extents[seg.label_value]
        r, g, b = hex_to_rgb(seg.colour_hex)
        header[f"Segment{n}_ID"] = f"twin_{seg.twin}_{seg.tissue}"
        header[f"Segment{n}_Name"] = seg.name
        header[f"Segment{n}_NameAutoGenerated"] = "0"
        header[f"Segment{n}_Color"] = f"{r / 255:.6f} {g / 255:.6f} {b / 255:.6f}"
        header[f"Segment{n}_ColorAutoGenerated"] = "0"
        header[f"Segment{n}_LabelValue"] = str(seg.label_value)
        header[f"Segment{n}_Layer"] = "0"
        header[f"Segment{n}_Extent"] = extent
        header[f"Segment{n}_Tags"] = f"Twin:{seg.twin}|Tissue:{seg.tissue}|"
    buf = io.BytesIO()
    nrrd.write(buf, data, header, compression_level=NRRD_GZIP_LEVEL, index_order="F")
    atomic_write_bytes(Path(path), _drop_write_time(buf.getvalue()))
    return segs


def _drop_write_time(blob: bytes) -> bytes:
    """pynrrd writes the wall-clock time into a header comment (``# on <date>(GMT).``);
    it is removed so that the same plan gives the same bytes."""
    head, sep, rest = blob.partition(b"\n\n")
    lines = [
        ln for ln in head.split(b"\n") if not (ln.startswith(b"# on ") and ln.endswith(b"(GMT)."))
    ]
    return b"\n".join(lines) + sep + rest


def colour_tables(colour_a: str, colour_b: str) -> dict[str, str]:
    """Slicer colour tables (``value name R G B A`` per line) for the NIfTI label maps.

    Returns ``{"labels.ctbl": ..., "twins.ctbl": ...}``: load one beside
    ``labels.nii.gz`` / ``twins.nii.gz`` in Slicer (or ITK-SNAP) to see names and colours.
    """
    tissue = ["# twinsep tissue labels (labels.nii.gz): value name R G B A", "0 background 0 0 0 0"]
    for value, name in TISSUE_NAMES.items():
        r, g, b = hex_to_rgb(TISSUE_COLOURS[value])
        tissue.append(f"{value} {name} {r} {g} {b} 255")
    twins = ["# twinsep twin ownership (twins.nii.gz): value name R G B A", "0 background 0 0 0 0"]
    for value, name in TWIN_NAMES.items():
        r, g, b = hex_to_rgb(colour_a if name == "A" else colour_b)
        twins.append(f"{value} twin_{name} {r} {g} {b} 255")
    return {"labels.ctbl": "\n".join(tissue) + "\n", "twins.ctbl": "\n".join(twins) + "\n"}


def read_seg_nrrd(path: Path) -> tuple[Volume, dict[str, object]]:
    """Read a ``.seg.nrrd`` back as a RAS :class:`Volume` and its header (for checks)."""
    data, header = nrrd.read(str(path), index_order="F")
    lps = np.eye(4)
    lps[:3, :3] = np.asarray(header["space directions"], dtype=float).T
    lps[:3, 3] = np.asarray(header["space origin"], dtype=float)
    return Volume(np.asarray(data), LPS_TO_RAS @ lps), dict(header)
