"""Generator of bad scans: each case builds one broken input inside a temporary folder.

Every case returns a :class:`BadCase` saying which path to load, which file or folder
name the error must mention, and which words its reason must contain. The inputs are
small (16×16×8 DICOM series, 24³ NIfTI) and built from a seeded generator, so the
corpus is identical on every run.
"""

from __future__ import annotations

import gzip
import math
import os
import shutil
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom

from twinsep.io import save_volume, write_dicom_series
from twinsep.volume import Volume


@dataclass(frozen=True)
class BadCase:
    """One bad input.

    Attributes
    ----------
    path : Path
        What to give to ``load_scan``.
    names : str
        A file or folder name the one-line error must contain.
    words : tuple of str
        Lower-case words the reason must contain.
    series_uid : str or None
        Passed to ``load_scan`` when the case needs it.
    """

    path: Path
    names: str
    words: tuple[str, ...]
    series_uid: str | None = None


def _ct(shape: tuple[int, int, int], seed: int) -> np.ndarray:
    """Plausible CT values (air, soft tissue, bone) so no case trips the label-map rule."""
    rng = np.random.default_rng(seed)
    return rng.integers(-1000, 1500, size=shape).astype(np.int16)


def _affine(spacing: tuple[float, float, float] = (1.0, 1.0, 2.0)) -> np.ndarray:
    aff = np.diag([*spacing, 1.0])
    aff[:3, 3] = (-8.0, -8.0, -8.0)
    return aff


def _series(root: Path, name: str = "series", *, n: int = 8, seed: int = 0) -> list[Path]:
    vol = Volume(_ct((16, 16, n), seed), _affine())
    return write_dicom_series(vol, root / name, series_description=f"test {name}")


def _edit(path: Path, fn: Callable[[pydicom.Dataset], None]) -> None:
    ds = pydicom.dcmread(path)
    fn(ds)
    ds.save_as(path, enforce_file_format=True)


def _nifti(path: Path, array: np.ndarray, affine: np.ndarray | None = None) -> Path:
    save_volume(Volume(array, _affine() if affine is None else affine), path)
    return path


# --- cases -------------------------------------------------------------------------------


def non_image_file(root: Path) -> BadCase:
    p = root / "notes.txt"
    p.write_text("surgical notes, not an image\n")
    return BadCase(p, "notes.txt", ("not a recognised scan format",))


def folder_without_images(root: Path) -> BadCase:
    d = root / "docs_only"
    d.mkdir()
    (d / "readme.txt").write_text("hello")
    (d / "report.pdf").write_bytes(b"%PDF-1.4 not really")
    return BadCase(d, "docs_only", ("no dicom image series",))


def empty_folder(root: Path) -> BadCase:
    d = root / "empty_dir"
    d.mkdir()
    return BadCase(d, "empty_dir", ("empty folder",))


def truncated_nii_gz(root: Path) -> BadCase:
    good = _nifti(root / "good.nii.gz", _ct((24, 24, 24), 1))
    data = good.read_bytes()
    bad = root / "cut.nii.gz"
    bad.write_bytes(data[: len(data) // 2])
    return BadCase(bad, "cut.nii.gz", ("truncated",))


def corrupt_gzip(root: Path) -> BadCase:
    good = _nifti(root / "good2.nii.gz", _ct((24, 24, 24), 2))
    data = bytearray(good.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = bytes(64)
    bad = root / "garbled.nii.gz"
    bad.write_bytes(bytes(data))
    return BadCase(bad, "garbled.nii.gz", ("corrupt gzip",))


def gzip_bad_crc(root: Path) -> BadCase:
    # Valid deflate stream, wrong CRC-32 in the trailer: SimpleITK reads it silently.
    good = _nifti(root / "good3.nii.gz", _ct((24, 24, 24), 25))
    data = bytearray(good.read_bytes())
    data[-8] ^= 0xFF
    bad = root / "bad_crc.nii.gz"
    bad.write_bytes(bytes(data))
    return BadCase(bad, "bad_crc.nii.gz", ("corrupt gzip", "crc"))


def two_series(root: Path) -> BadCase:
    a = _series(root, "a", seed=3)
    b = _series(root, "b", seed=4)
    d = root / "two_series"
    d.mkdir()
    for i, f in enumerate(a + b):
        shutil.copy(f, d / f"{i:03d}.dcm")
    return BadCase(d, "two_series", ("2 dicom series", "--series", "8 files"))


def unknown_series_uid(root: Path) -> BadCase:
    files = _series(root, "one", seed=5)
    return BadCase(files[0].parent, "one", ("no series with uid",), series_uid="1.2.3.4.5")


def missing_slice(root: Path) -> BadCase:
    files = _series(root, "gap", seed=6)
    files[3].unlink()
    return BadCase(files[0].parent, "gap", ("missing slice", "1 slice missing"))


def duplicated_slice(root: Path) -> BadCase:
    # A second, different image at the position of slice 3 (another acquisition).
    files = _series(root, "dup", seed=7)
    extra = files[2].with_name("copy_of_3.dcm")
    shutil.copy(files[2], extra)

    def other_image(ds: pydicom.Dataset) -> None:
        ds.SOPInstanceUID = pydicom.uid.generate_uid(entropy_srcs=["dup-other"])
        ds.PixelData = (ds.pixel_array // 2).astype("<i2").tobytes()

    _edit(extra, other_image)
    return BadCase(files[0].parent, "dup", ("duplicated slice position", "different images"))


def non_uniform_spacing(root: Path) -> BadCase:
    files = _series(root, "uneven", seed=8)

    def shift(ds: pydicom.Dataset) -> None:
        ipp = [float(v) for v in ds.ImagePositionPatient]
        ipp[2] += 1.0  # half of the 2 mm spacing: distances become 2, 3, 2 ...
        ds.ImagePositionPatient = ipp

    for f in files[4:]:
        _edit(f, shift)
    return BadCase(files[0].parent, "uneven", ("non-uniform slice spacing",))


def gantry_tilt(root: Path) -> BadCase:
    files = _series(root, "tilted", seed=9)
    # Slices step along the normal (2 mm) and sideways by 2 mm x tan(20°) each: a 20° tilt.
    side = 2.0 * math.tan(math.radians(20.0))
    for k, f in enumerate(files):

        def tilt(ds: pydicom.Dataset, k: int = k) -> None:
            ipp = [float(v) for v in ds.ImagePositionPatient]
            ipp[1] += k * side
            ds.ImagePositionPatient = ipp

        _edit(f, tilt)
    return BadCase(files[0].parent, "tilted", ("gantry tilt", "20.00°"))


def inconsistent_orientation(root: Path) -> BadCase:
    files = _series(root, "rotated_one", seed=10)
    c, s = math.cos(math.radians(5)), math.sin(math.radians(5))

    def rotate(ds: pydicom.Dataset) -> None:
        ds.ImageOrientationPatient = [c, s, 0.0, -s, c, 0.0]

    _edit(files[5], rotate)
    return BadCase(files[0].parent, "rotated_one", ("inconsistent orientation",))


def degenerate_orientation(root: Path) -> BadCase:
    files = _series(root, "no_row_direction", seed=24)
    for f in files:

        def zero_row(ds: pydicom.Dataset) -> None:
            ds.ImageOrientationPatient = [0.0, 0.0, 0.0, 0.0, 1.0, 0.0]

        _edit(f, zero_row)
    return BadCase(files[0].parent, "IM00001.dcm", ("two unit vectors",))


def inconsistent_pixel_spacing(root: Path) -> BadCase:
    files = _series(root, "spacing_changes", seed=11)

    def respace(ds: pydicom.Dataset) -> None:
        ds.PixelSpacing = [1.5, 1.5]

    _edit(files[2], respace)
    return BadCase(files[0].parent, "spacing_changes", ("inconsistent pixel spacing",))


def mixed_modalities(root: Path) -> BadCase:
    files = _series(root, "mixed", seed=12)

    def to_mr(ds: pydicom.Dataset) -> None:
        ds.Modality = "MR"

    for f in files[:2]:
        _edit(f, to_mr)
    return BadCase(files[0].parent, "mixed", ("mixed modalities", "ct in 6 files", "mr in 2 files"))


def missing_pixel_data(root: Path) -> BadCase:
    files = _series(root, "nopixels", seed=13)

    def strip(ds: pydicom.Dataset) -> None:
        del ds.PixelData

    _edit(files[4], strip)
    return BadCase(files[4], files[4].name, ("without pixel data",))


def _undecodable_syntax() -> pydicom.uid.UID | None:
    """A compressed transfer syntax for which no pixel decoder is installed here."""
    from pydicom.pixels import get_decoder

    for ts in (
        pydicom.uid.JPEGLosslessSV1,
        pydicom.uid.HTJ2KLossless,
        pydicom.uid.JPEGLossless,
        pydicom.uid.JPEG2000Lossless,
    ):
        try:
            if not get_decoder(ts).is_available:
                return ts
        except NotImplementedError:
            return ts
    return None


def compressed_without_decoder(root: Path) -> BadCase:
    files = _series(root, "compressed", seed=14)
    from pydicom.encaps import encapsulate

    ts = _undecodable_syntax()
    for f in files:

        def compress(ds: pydicom.Dataset) -> None:
            ds.file_meta.TransferSyntaxUID = ts or pydicom.uid.JPEG2000Lossless
            ds.PixelData = encapsulate([b"\xff\xd8\xff\xc3" + bytes(60)])
            ds["PixelData"].VR = "OB"

        _edit(f, compress)
    if ts is None:  # every decoder is installed: the garbage stream must still be refused
        return BadCase(files[0].parent, "IM00001.dcm", ("cannot decode pixel data",))
    return BadCase(files[0].parent, "IM00001.dcm", (ts.name.lower(), "no decoder"))


def single_dicom_slice(root: Path) -> BadCase:
    vol = Volume(_ct((16, 16, 2), 15), _affine())
    files = write_dicom_series(vol, root / "lonely")
    files[1].unlink()
    return BadCase(files[0], files[0].name, ("2d image", "single dicom slice"))


def image_2d(root: Path) -> BadCase:
    p = _nifti(root / "flat.nii.gz", _ct((32, 32, 1), 16))
    return BadCase(p, "flat.nii.gz", ("2d image",))


def four_d_series(root: Path) -> BadCase:
    p = root / "timeseries.nii.gz"
    img = nib.Nifti1Image(_ct((8, 8, 8, 3), 17), _affine())
    nib.save(img, p)
    return BadCase(p, "timeseries.nii.gz", ("3 volumes",))


def nan_values(root: Path) -> BadCase:
    a = _ct((24, 24, 24), 18).astype(np.float32)
    a[3, 4, 5] = np.nan
    a[10, 10, 10] = np.inf
    p = _nifti(root / "nan.nii.gz", a)
    return BadCase(p, "nan.nii.gz", ("nan or infinite", "(3, 4, 5)"))


def zero_spacing(root: Path) -> BadCase:
    p = root / "zero_spacing.nii.gz"
    img = nib.Nifti1Image(_ct((24, 24, 24), 19), None)
    aff = np.diag([1.0, 0.0, 1.0, 1.0])
    img.set_sform(aff, code=1)
    nib.save(img, p)
    return BadCase(p, "zero_spacing.nii.gz", ("zero voxel spacing", "axis j"))


def absurd_spacing(root: Path) -> BadCase:
    p = _nifti(root / "metres.nii.gz", _ct((24, 24, 24), 20), np.diag([0.001, 0.001, 0.001, 1]))
    return BadCase(p, "metres.nii.gz", ("absurd voxel spacing",))


def singular_affine(root: Path) -> BadCase:
    p = root / "singular.nii.gz"
    img = nib.Nifti1Image(_ct((24, 24, 24), 21), None)
    aff = np.eye(4)
    aff[:3, 1] = aff[:3, 0]  # j parallel to i
    img.set_sform(aff, code=1)
    nib.save(img, p)
    return BadCase(p, "singular.nii.gz", ("singular",))


def unreadable_file(root: Path) -> BadCase:
    p = _nifti(root / "locked.nii.gz", _ct((24, 24, 24), 22))
    p.chmod(0)
    return BadCase(p, "locked.nii.gz", ("permission denied",))


def huge_header(root: Path) -> BadCase:
    hdr = nib.Nifti1Header()
    hdr.set_data_dtype(np.int16)
    hdr.set_data_shape((30_000, 30_000, 30_000))  # NIfTI-1 dims are int16
    hdr.set_sform(np.eye(4), code=1)
    hdr["vox_offset"] = 352
    p = root / "huge.nii"
    p.write_bytes(hdr.binaryblock + bytes(4) + bytes(1024))
    return BadCase(p, "huge.nii", ("too large for memory", "30000×30000×30000"))


def huge_header_gz(root: Path) -> BadCase:
    # Compressed: the check must run on the header before anything is inflated.
    hdr = nib.Nifti1Header()
    hdr.set_data_dtype(np.float32)
    hdr.set_data_shape((32_000, 32_000, 2_000))
    hdr["vox_offset"] = 352
    p = root / "huge.nii.gz"
    p.write_bytes(gzip.compress(hdr.binaryblock + bytes(4) + bytes(4096), mtime=0))
    return BadCase(p, "huge.nii.gz", ("too large for memory",))


def label_map_as_ct(root: Path) -> BadCase:
    rng = np.random.default_rng(23)
    labels = rng.integers(0, 6, size=(24, 24, 24)).astype(np.uint8)
    p = _nifti(root / "labels.nii.gz", labels)
    return BadCase(p, "labels.nii.gz", ("label map", "6 distinct"))


def label_atlas_as_scan(root: Path) -> BadCase:
    # 18 brain "regions" of 8 x 8 x 12 voxels (AAL-like, > 16 labels): passed the
    # label-map rule and was refused late as "no head-sized object" (session 25)
    blocks = np.arange(1, 19, dtype=np.uint8).reshape(3, 3, 2)
    atlas = np.kron(blocks, np.ones((8, 8, 12), np.uint8))
    atlas = np.pad(atlas, 2)
    return BadCase(
        _nifti(root / "aal_like.nii.gz", atlas, np.diag([1.0, 1.0, 1.0, 1.0])),
        "aal_like.nii.gz",
        ("label atlas", "19 distinct integer values", "(18 values)"),
    )


def rescale_not_a_number(root: Path) -> BadCase:
    # a damaged RescaleIntercept ("x" for "0") was read as 0 without a word (session 25)
    paths = _series(root)
    raw = paths[3].read_bytes()
    element = b"\x28\x00\x52\x10DS\x02\x000 "  # (0028,1052) DS "0 ", explicit VR LE
    assert raw.count(element) == 1
    paths[3].write_bytes(raw.replace(element, element[:-2] + b"x "))
    return BadCase(paths[3].parent, "IM00004.dcm", ("rescaleintercept", "not a number"))


def position_damaged(root: Path) -> BadCase:
    # a damaged ImagePositionPatient was reported as missing, with a hint that the file
    # was a screenshot (session 25)
    paths = _series(root)

    def damage(ds: pydicom.Dataset) -> None:
        ds[0x00200032] = pydicom.DataElement(0x00200032, "LO", "1\\x\\3")

    _edit(paths[3], damage)
    return BadCase(
        paths[3].parent, "IM00004.dcm", ("imagepositionpatient", "damaged", "export the series")
    )


def symlink_loop(root: Path) -> BadCase:
    a, b = root / "loop_a.nii.gz", root / "loop_b.nii.gz"
    os.symlink(b.name, a)
    os.symlink(a.name, b)
    return BadCase(a, "loop_a.nii.gz", ("symbolic link loop",))


def missing_path(root: Path) -> BadCase:
    p = root / "nowhere.nii.gz"
    return BadCase(p, "nowhere.nii.gz", ("does not exist",))


def nrrd_missing_data_file(root: Path) -> BadCase:
    p = root / "detached.nhdr"
    p.write_text(
        "NRRD0004\ntype: short\ndimension: 3\nsizes: 8 8 8\nspace: left-posterior-superior\n"
        "space directions: (1,0,0) (0,1,0) (0,0,1)\nencoding: raw\nendian: little\n"
        "data file: detached.raw\n"
    )
    return BadCase(p, "detached.nhdr", ("data file", "detached.raw", "missing"))


def gzip_not_nifti(root: Path) -> BadCase:
    p = root / "archive.nii.gz"
    p.write_bytes(gzip.compress(b"just some text, not a NIfTI header" * 20, mtime=0))
    return BadCase(p, "archive.nii.gz", ("not a nifti file",))


def nifti_nan_intercept(root: Path) -> BadCase:
    # nibabel's get_slope_inter raised HeaderDataError on it: exit 1 before (red team)
    p = _nifti(root / "nan_inter.nii", _ct((24, 24, 24), 26))
    raw = bytearray(p.read_bytes())
    raw[112:120] = np.array([1.0, np.nan], dtype="<f4").tobytes()  # scl_slope, scl_inter
    p.write_bytes(bytes(raw))
    return BadCase(p, "nan_inter.nii", ("scaling", "scl_inter nan"))


def nrrd_unknown_units(root: Path) -> BadCase:
    # ITK ignores space units: a centimetre NRRD read 10 times too small (red team)
    p = root / "furlongs.nhdr"
    (root / "furlongs.raw").write_bytes(_ct((8, 8, 8), 27).tobytes(order="F"))
    p.write_text(
        "NRRD0004\ntype: short\ndimension: 3\nsizes: 8 8 8\nspace: left-posterior-superior\n"
        "space directions: (1,0,0) (0,1,0) (0,0,1)\n"
        'space units: "furlong" "furlong" "furlong"\nencoding: raw\nendian: little\n'
        "data file: furlongs.raw\n"
    )
    return BadCase(p, "furlongs.nhdr", ("space units", "furlong", "not a length unit"))


def palette_colour(root: Path) -> BadCase:
    # one sample per pixel, so it passed the colour rule and loaded its colour-table
    # indices as CT values without a word (red team round 6)
    files = _series(root, "palette", seed=28)

    def palette(ds: pydicom.Dataset) -> None:
        ds.PhotometricInterpretation = "PALETTE COLOR"

    for f in files:
        _edit(f, palette)
    return BadCase(files[0].parent, "IM00001.dcm", ("palette color", "colour table"))


def mha_corrupt_compressed(root: Path) -> BadCase:
    # ITK inflated damaged zlib data to garbage and loaded it (exit 0; red team round 6)
    stream = bytearray(zlib.compress(_ct((8, 8, 8), 29).tobytes(order="F")))
    stream[100:130] = bytes(30)
    p = root / "damaged.mha"
    p.write_bytes(
        b"ObjectType = Image\nNDims = 3\nDimSize = 8 8 8\nElementType = MET_SHORT\n"
        b"ElementSpacing = 1 1 1\nCompressedData = True\n"
        + f"CompressedDataSize = {len(stream)}\n".encode()
        + b"ElementDataFile = LOCAL\n"
        + bytes(stream)
    )
    return BadCase(p, "damaged.mha", ("corrupt compressed voxel data",))


def nifti_quaternion_damaged(root: Path) -> BadCase:
    # nibabel's ValueError ("w2 should be positive") reached the CLI: exit 1 (round 6)
    img = nib.Nifti1Image(_ct((8, 8, 8), 30), None)
    img.set_qform(_affine(), code=1)
    img.set_sform(None, code=0)
    p = root / "quaternion.nii"
    nib.save(img, str(p))
    raw = bytearray(p.read_bytes())
    raw[256:268] = np.array([0.9, 0.9, 0.9], dtype="<f4").tobytes()  # quatern_b, c, d
    p.write_bytes(bytes(raw))
    return BadCase(p, "quaternion.nii", ("qform is damaged", "quaternion"))


def positions_blanked(root: Path) -> BadCase:
    # an export that wrote one ImagePositionPatient into every file: refused as "a
    # single slice" (shown: IM00001.dcm), though the 8 files hold 8 images (round 6)
    files = _series(root, "blanked", seed=31)

    def blank(ds: pydicom.Dataset) -> None:
        ds.ImagePositionPatient = [0.0, 0.0, 0.0]

    for f in files:
        _edit(f, blank)
    return BadCase(files[0].parent, "blanked", ("one position", "different images"))


def nifti_absurd_scale(root: Path) -> BadCase:
    # scl_slope 1e6 read -1e9..1.5e9 and was "guessed as CT" and planned (round 6 open)
    img = nib.Nifti1Image(_ct((8, 8, 8), 32), _affine())
    img.header.set_slope_inter(1e6, 0.0)
    p = root / "scaled.nii"
    nib.save(img, str(p))
    return BadCase(p, "scaled.nii", ("above anything a ct holds", "scl_slope"))


def mha_zero_spacing(root: Path) -> BadCase:
    # ITK's words until session 29: "Refusing to change spacing from [1, 1, 1] to [0, ...]"
    head = (
        "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
        "ElementSpacing = 0 1 2\nDimSize = 8 8 8\nElementType = MET_SHORT\n"
        "ElementDataFile = LOCAL\n"
    )
    p = root / "zero.mha"
    p.write_bytes(head.encode() + _ct((8, 8, 8), 33).tobytes())
    return BadCase(p, "zero.mha", ("elementspacing = 0 1 2", "voxel spacing"))


def nrrd_parallel_axes(root: Path) -> BadCase:
    # ITK's words until session 29: "cannot read voxel data: 0 0 1"
    head = (
        "NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\n"
        "sizes: 8 8 8\nspace directions: (1,0,0) (1,0,0) (0,0,2)\nendian: little\n"
        "encoding: raw\n\n"
    )
    p = root / "parallel.nrrd"
    p.write_bytes(head.encode() + _ct((8, 8, 8), 34).astype("<i2").tobytes())
    return BadCase(p, "parallel.nrrd", ("not a rotation", "parallel"))


def disc_image_named_img(root: Path) -> BadCase:
    # a UDF disc image named .img was "the header study.hdr of this ... pair is missing"
    raw = bytearray(40000)
    raw[32769:32774] = b"BEA01"
    p = root / "study.img"
    p.write_bytes(bytes(raw))
    return BadCase(p, "study.img", ("disc image", "udf"))


def bits_stored_understated(root: Path) -> BadCase:
    # unsigned values of 15 bits (RescaleIntercept -8192, slope 0.5) under BitsStored 12:
    # the 12 low bits DICOM reads were taken without a word (values -8192..-6145 "HU")
    files = _series(root, "bits12", seed=47)

    def understate(ds: pydicom.Dataset) -> None:
        hu = ds.pixel_array.astype(np.float64)
        ds.PixelData = np.round((hu + 8192.0) / 0.5).astype("<u2").tobytes()
        ds.PixelRepresentation, ds.BitsStored, ds.HighBit = 0, 12, 11
        ds.RescaleIntercept, ds.RescaleSlope = "-8192", "0.5"

    for f in files:
        _edit(f, understate)
    return BadCase(files[0].parent, "bits12", ("bitsstored 12", "understates"))


def signed_bits_stored_understated(root: Path) -> BadCase:
    # signed padding of -3024 outside a round field of view under BitsStored 12 (range
    # -2048..2047): sign-extended from bit 11 it was read as +1072 HU without a word
    files = _series(root, "signed12", seed=48)
    ii, jj = np.mgrid[:16, :16]
    outside = (ii - 7.5) ** 2 + (jj - 7.5) ** 2 > 56

    def understate(ds: pydicom.Dataset) -> None:
        px = np.clip(ds.pixel_array, -1000, 2000)
        px[outside.T] = -3024
        ds.PixelData = px.astype("<i2").tobytes()
        ds.BitsStored, ds.HighBit = 12, 11

    for f in files:
        _edit(f, understate)
    return BadCase(files[0].parent, "signed12", ("bitsstored 12", "signed values", "understates"))


#: All cases by name (the parametrised test runs each one).
CASES: dict[str, Callable[[Path], BadCase]] = {
    f.__name__: f
    for f in (
        non_image_file,
        folder_without_images,
        empty_folder,
        truncated_nii_gz,
        corrupt_gzip,
        gzip_bad_crc,
        two_series,
        unknown_series_uid,
        missing_slice,
        duplicated_slice,
        non_uniform_spacing,
        gantry_tilt,
        inconsistent_orientation,
        degenerate_orientation,
        inconsistent_pixel_spacing,
        mixed_modalities,
        missing_pixel_data,
        compressed_without_decoder,
        single_dicom_slice,
        image_2d,
        four_d_series,
        nan_values,
        zero_spacing,
        absurd_spacing,
        singular_affine,
        unreadable_file,
        huge_header,
        huge_header_gz,
        label_map_as_ct,
        symlink_loop,
        missing_path,
        nrrd_missing_data_file,
        gzip_not_nifti,
        nifti_nan_intercept,
        nrrd_unknown_units,
        label_atlas_as_scan,
        rescale_not_a_number,
        position_damaged,
        palette_colour,
        mha_corrupt_compressed,
        nifti_quaternion_damaged,
        positions_blanked,
        nifti_absurd_scale,
        mha_zero_spacing,
        nrrd_parallel_axes,
        disc_image_named_img,
        bits_stored_understated,
        signed_bits_stored_understated,
    )
}


def make_corpus(root: Path) -> dict[str, BadCase]:
    """Build every case under ``root`` (one sub-folder per case) and return them by name."""
    out = {}
    for name, build in CASES.items():
        sub = root / name
        sub.mkdir(parents=True, exist_ok=True)
        out[name] = build(sub)
    return out
