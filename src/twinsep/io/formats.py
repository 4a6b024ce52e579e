"""NIfTI, NRRD and MetaImage readers and :func:`save_volume`.

* NIfTI (``.nii``, ``.nii.gz``) is read with nibabel, whose affine is already RAS.
  The file is read once: its bytes are hashed and decompressed in memory.
* NRRD (``.nrrd``, ``.nhdr``) and MetaImage (``.mha``, ``.mhd``) are read with
  SimpleITK. ITK describes space in LPS; the affine is built as
  ``LPS_TO_RAS @ [[D @ diag(spacing), origin], [0, 1]]``. ITK's arrays come back
  ``[k, j, i]`` and are transposed (a view) to ``[i, j, k]``.

Header dimensions are checked against the available memory before any voxel is read.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import logging
import os
import re
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import SimpleITK as sitk

from twinsep.errors import InputError, ScanError
from twinsep.io._loaded import Loaded, sha256_file, sha256_of_hashes
from twinsep.io.atomic import atomic_output, atomic_write_bytes
from twinsep.io.checks import LoadParams, check_memory, check_shape
from twinsep.io.fsnames import is_utf8, itk_openable, itk_writable
from twinsep.io.itk_header import (
    captured_stderr,
    itk_geometry_problem,
    metaimage_header_problem,
    metaimage_spacing_warnings,
)
from twinsep.io.mha_space import metaimage_orientation_warnings
from twinsep.io.nifti_frame import nifti_affine, qform_problem, sform_problem
from twinsep.io.nrrd_space import nrrd_space_to_mm
from twinsep.io.pair_content import foreign_header_kind
from twinsep.io.voxel_data import checksum_problem, metaimage_data_problem
from twinsep.volume import LPS_TO_RAS, Volume

logger = logging.getLogger(__name__)

__all__ = [
    "read_nifti",
    "read_nifti_pair",
    "pair_files",
    "read_itk",
    "read_label_map",
    "save_volume",
    "itk_affine_ras",
    "SAVE_SUFFIXES",
]

#: Output suffixes understood by :func:`save_volume`.
SAVE_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".mha")


def _gz_error(path: Path, exc: BaseException) -> ScanError:
    return ScanError(
        path,
        f"truncated or corrupt gzip data ({type(exc).__name__}: {exc}); "
        "the file was cut short or damaged, copy it again",
    )


def _nifti_class(first_bytes: bytes, path: Path) -> type[nib.Nifti1Image]:
    if len(first_bytes) < 4:
        raise ScanError(path, "too short to be a NIfTI file (no header)")
    for order in ("<", ">"):
        size = int(np.frombuffer(first_bytes[:4], dtype=f"{order}i4")[0])
        if size == 348:
            return nib.Nifti1Image
        if size == 540:
            return nib.Nifti2Image
    raise ScanError(path, "not a NIfTI file (header size is neither 348 nor 540 bytes)")


class _HashThread(threading.Thread):
    """SHA-256 of a file computed beside another read (hashlib releases the GIL)."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.digest: str | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.digest = sha256_file(self.path)
        except BaseException as exc:  # reported by the caller
            self.error = exc

    def result(self) -> str:
        self.join()
        if self.error is not None or self.digest is None:
            raise ScanError(self.path, f"cannot be read ({self.error})")
        return self.digest


#: NIfTI spatial units other than mm, and their factor to mm (``xyzt_units``; code 0,
#: "unknown", is read as mm as every NIfTI tool does).
_UNIT_TO_MM: dict[str, float] = {"meter": 1000.0, "micron": 0.001}


def _nifti_warnings(header: Any) -> list[str]:
    """Warnings about the header's units (its frames are judged by ``nifti_affine``)."""
    warnings: list[str] = []
    unit = header.get_xyzt_units()[0]
    if unit in _UNIT_TO_MM:
        warnings.append(
            f"the NIfTI header gives spatial units in {unit}s: voxel sizes and positions "
            f"were converted to mm (x {_UNIT_TO_MM[unit]:g}), as ITK does"
        )
    return warnings


def _affine_mm(header: Any, affine: Any) -> np.ndarray:
    """The NIfTI affine in mm: scaled by the header's spatial unit (metres, microns).

    nibabel returns the affine in the file's own unit; ITK converts to mm. Without the
    conversion a scan stored in metres reads as 0.001 mm voxels (refused as absurd
    spacing) and one in microns as 1000 times too large.
    """
    out = np.asarray(affine, dtype=np.float64).copy()
    factor = _UNIT_TO_MM.get(header.get_xyzt_units()[0])
    if factor is not None:
        out[:3, :] *= factor
    return out


def _gzip_stream_matches(path: Path, first: bytes, header: Any, voxels: np.ndarray) -> bool:
    """True when ``header bytes + voxels`` is exactly the gzip member's content.

    Checks the gzip trailer (CRC-32 and length mod 2**32) against the NIfTI header
    bytes followed by the voxel bytes in file order: SimpleITK does not report a
    truncated or corrupt ``.nii.gz``, so its output is only trusted when it reproduces
    the checksum the file was written with.
    """
    offset = int(header.get_data_offset())
    try:
        prefix = zlib.decompressobj(31).decompress(first, offset)
    except zlib.error:
        return False
    if len(prefix) != offset:
        return False
    with open(path, "rb") as fh:
        fh.seek(-8, os.SEEK_END)
        trailer = fh.read(8)
    if len(trailer) != 8:
        return False
    crc_want = int.from_bytes(trailer[:4], "little")
    size_want = int.from_bytes(trailer[4:], "little")
    file_dtype = header.get_data_dtype()
    raw = voxels if voxels.dtype == file_dtype else voxels.astype(file_dtype)
    raw = np.ascontiguousarray(raw)
    crc = zlib.crc32(raw.data, zlib.crc32(prefix))
    return crc == crc_want and (offset + raw.nbytes) % (1 << 32) == size_want


#: ITK prints a warning on the process's stderr when an sform's column lengths differ
#: from the header's voxel sizes (pixdim) by more than 1e-3 mm (itkNiftiImageIO); files
#: that come closer than half of it to that limit are left to nibabel.
_ITK_SFORM_SCALE_MARGIN_MM = 5e-4


def _negative_pixdim_warnings(klass: Any, head: bytes) -> list[str]:
    """A warning when the header's voxel sizes (pixdim 1-3, as stored: nibabel's parse
    makes them positive) are negative, which NIfTI does not allow."""
    try:
        raw = klass.header_class.from_fileobj(io.BytesIO(head), check=False)
        pixdim = [float(v) for v in raw["pixdim"][1:4]]
    except Exception:  # the checked parse names what is wrong with such a header
        return []
    if not any(v < 0 for v in pixdim):
        return []
    frame = "sform" if int(raw["sform_code"]) > 0 else "qform"
    return [
        f"the NIfTI header gives negative voxel sizes (pixdim {pixdim[0]:g} {pixdim[1]:g} "
        f"{pixdim[2]:g}), which the format does not allow: read as positive, as nibabel "
        f"and niftilib do (the {frame} gives the orientation; a sign meant as a flip, as "
        "some Analyze tools wrote it, is not applied)"
    ]


def _itk_reads_quietly(klass: Any, header: Any, head: bytes) -> bool:
    """Whether ITK's NIfTI reader reads a file with this header without printing to the
    process's stderr, where its lines would stand beside the CLI's one-line message
    (found in session 26's sweep): NIfTI-1 only (ITK's niftilib prints "** ERROR ...
    bad dim[0]" on a NIfTI-2 file, then refuses it), positive voxel sizes, and an sform
    whose column lengths are those sizes ("has unexpected scales in sform", which real
    MR and CT files trigger too)."""
    if klass is not nib.Nifti1Image or _negative_pixdim_warnings(klass, head):
        return False
    if sform_problem(header) is not None or qform_problem(header) is not None:
        return False  # ITK's SVD prints the matrix of a NaN sform (round 6)
    pixdim = np.asarray(header["pixdim"][1:4], dtype=np.float64)
    if not np.all(pixdim > 0):
        return False
    if int(header["sform_code"]) > 0:
        lengths = np.linalg.norm(np.asarray(header.get_sform())[:3, :3], axis=0)
        if np.any(np.abs(lengths - pixdim) > _ITK_SFORM_SCALE_MARGIN_MM):
            return False
    return True


def _read_nifti_itk(
    path: Path,
    header: Any,
    shape3: tuple[int, int, int],
    first_gz: bytes | None,
    frame: tuple[np.ndarray, list[str]] | None = None,
) -> Loaded | None:
    """Fast path for unscaled integer 3D NIfTI: voxels through SimpleITK, geometry from nibabel.

    SimpleITK inflates gzip about twice as fast as Python's zlib. Only the voxel array
    is taken from ITK (it keeps the file's voxel order); the affine is ``frame`` (what
    :func:`twinsep.io.nifti_frame.nifti_affine` makes of the header, computed when not
    given), so both paths give the same geometry. ITK is not used for floating
    point data (it silently replaces NaN/inf) and its output is checked against the
    gzip CRC (it does not report truncation). Returns None when ITK refuses the file or
    the check fails: the nibabel path then reads it or reports the precise problem.
    """
    if not is_utf8(str(path)):
        return None  # SimpleITK aborts the process on such a name (twinsep.io.fsnames)
    if first_gz is None:
        need = (
            int(header.get_data_offset()) + int(np.prod(shape3)) * header.get_data_dtype().itemsize
        )
        if path.stat().st_size < need:
            return None
    hasher = _HashThread(path)
    hasher.start()
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    reader.SetImageIO("NiftiImageIO")
    try:
        img = reader.Execute()
    except RuntimeError:
        hasher.join()
        return None
    if img.GetNumberOfComponentsPerPixel() != 1 or tuple(img.GetSize()) != shape3:
        hasher.join()
        return None
    kji = sitk.GetArrayFromImage(img)
    del img
    if first_gz is not None and not _gzip_stream_matches(path, first_gz, header, kji):
        hasher.join()
        return None
    affine, frame_warnings = nifti_affine(header, path) if frame is None else frame
    return Loaded(
        array=kji.transpose(2, 1, 0),
        affine=_affine_mm(header, affine),
        format="nifti",
        sha256=hasher.result(),
        warnings=frame_warnings + _nifti_warnings(header),
    )


def _checked_header(
    klass: Any, head: bytes, header_path: Path, path: Path, params: LoadParams
) -> tuple[Any, tuple[int, ...], np.dtype, tuple[int, int, int]]:
    """Parse a NIfTI header from its first bytes and check its size, dimensions and
    value scaling (a finite slope with a NaN or infinite intercept is refused).

    Parameters
    ----------
    klass : nibabel image class
        ``Nifti1Image``/``Nifti2Image`` or their ``Pair`` classes (its ``header_class``
        parses ``head``).
    head : bytes
        The header's first bytes (at least the 348/540-byte header).
    header_path : Path
        The file holding the header (named by a parse error).
    path : Path
        The file the user gave (named by the memory and dimension checks).
    params : LoadParams
        Memory limit and dimension rules.

    Returns
    -------
    tuple
        ``(header, shape, dtype, shape3)``: the nibabel header, its data shape, voxel
        dtype and the 3D shape ``check_shape`` accepts.
    """
    try:
        header = klass.header_class.from_fileobj(io.BytesIO(head))
    except Exception as exc:  # nibabel raises several types for bad headers
        raise ScanError(header_path, f"unreadable NIfTI header ({exc})") from None
    try:
        header.get_slope_inter()
    except Exception:  # nibabel: "Valid slope but invalid intercept nan"
        raise ScanError(
            header_path,
            f"invalid NIfTI value scaling (scl_slope {float(header['scl_slope']):g}, "
            f"scl_inter {float(header['scl_inter']):g}): the voxel values cannot be converted; "
            "write the file again with a finite scl_inter",
        ) from None
    shape = tuple(int(s) for s in header.get_data_shape())
    dtype = header.get_data_dtype()
    check_memory(shape, dtype.itemsize, path, params=params)
    return header, shape, dtype, check_shape(shape, path)


#: Most bytes read for a NIfTI header with its extensions (vox_offset): AFNI's attribute
#: extension is a few kB, a CIFTI XML up to a few MB.
_MAX_NIFTI_HEADER_BYTES = 64 << 20


def _with_extensions(path: Path, klass: Any, head: bytes, is_gz: bool) -> bytes:
    """``head`` (the file's first 1 kB) extended to the whole header with its extensions.

    The header was parsed from its first kilobyte, so a file whose extensions run past
    it (AFNI writes its attributes as one, often several kB) was refused as "unreadable
    NIfTI header (failed to read extension content)". The bytes before ``vox_offset``
    are read (decompressed as far as needed for ``.nii.gz``).
    """
    size = 348 if klass is nib.Nifti1Image else 540
    try:
        offset = int(klass.header_class.from_fileobj(io.BytesIO(head[:size]))["vox_offset"])
    except Exception:  # reported by the full parse
        return head
    if offset <= len(head):
        return head
    if offset > _MAX_NIFTI_HEADER_BYTES:
        raise ScanError(
            path,
            f"its header and extensions take {offset} bytes (vox_offset), more than the "
            f"{_MAX_NIFTI_HEADER_BYTES >> 20} MB a NIfTI header is read to; a damaged header?",
        )
    with open(path, "rb") as fh:
        if not is_gz:
            return fh.read(offset)
        inflate = zlib.decompressobj(31)
        out = bytearray()
        try:
            while len(out) < offset:
                chunk = fh.read(1 << 16)
                if not chunk:
                    break
                out += inflate.decompress(chunk, offset - len(out))
                while inflate.unconsumed_tail and len(out) < offset:
                    out += inflate.decompress(inflate.unconsumed_tail, offset - len(out))
        except zlib.error as exc:
            raise _gz_error(path, exc) from None
        return bytes(out)


def read_nifti(path: Path, *, params: LoadParams = LoadParams()) -> Loaded:
    """Read a ``.nii`` or ``.nii.gz`` file.

    Raises
    ------
    ScanError
        Corrupt or truncated gzip, bad header, more voxel data promised than present,
        a volume too large for memory, a 2D or multi-volume image.
    """
    with open(path, "rb") as fh:
        first = fh.read(1 << 16)
    is_gz = first[:2] == b"\x1f\x8b"
    # Header first (a few hundred bytes) so that memory is checked before reading it all.
    if is_gz:
        try:
            head = zlib.decompressobj(31).decompress(first, 1024)
        except zlib.error as exc:
            raise _gz_error(path, exc) from None
    else:
        head = first[:1024]
    klass = _nifti_class(head, path)
    magic_at = 344 if klass is nib.Nifti1Image else 4
    if head[magic_at : magic_at + 4] in (b"ni1\x00", b"ni2\x00"):
        # the header of a pair: its voxels are in another file, not after the header
        raise ScanError(
            path,
            "the header of a NIfTI pair (magic 'ni1'/'ni2'; the voxels are in a separate "
            ".img file)"
            + (
                "; decompress both files (gunzip x.hdr.gz x.img.gz) and load the .hdr"
                if is_gz
                else "; name it .hdr, with its .img beside it"
            ),
        )
    head = _with_extensions(path, klass, head, is_gz)
    header, shape, dtype, shape3 = _checked_header(klass, head, path, path, params)
    frame = nifti_affine(header, path)  # before the voxels: a header that cannot place them
    slope, inter = header.get_slope_inter()
    unscaled_header = slope in (None, 1.0) and inter in (None, 0.0)
    if (
        unscaled_header
        and len(shape) == 3
        and np.issubdtype(dtype, np.integer)
        and _itk_reads_quietly(klass, header, head)
        # niftilib goes by the name: gzip data named .nii printed "** ERROR ... bad dim[0]"
        and is_gz == path.name.lower().endswith(".gz")
    ):
        fast = _read_nifti_itk(path, header, shape3, first if is_gz else None, frame)
        if fast is not None:
            return fast
    data = path.read_bytes()
    digest = sha256_file_bytes(data)
    if is_gz:
        try:
            raw = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            raise _gz_error(path, exc) from None
    else:
        raw = data
    del data
    offset = int(header.get_data_offset())
    need = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) < need:
        raise ScanError(
            path,
            f"truncated: {len(raw)} bytes of NIfTI data but the header needs {need} "
            f"({'×'.join(map(str, shape))} voxels of {dtype.name}); copy the file again",
        )
    try:
        img = klass.from_bytes(raw)
    except Exception as exc:
        raise ScanError(path, f"cannot read voxel data ({exc})") from None
    arr = _scaled_voxels(img, shape3, path)
    affine, frame_warnings = frame
    warnings = _negative_pixdim_warnings(klass, head) + frame_warnings + _nifti_warnings(img.header)
    return Loaded(
        array=arr,
        affine=_affine_mm(header, affine),
        format="nifti",
        sha256=digest,
        warnings=warnings,
    )


def _scaled_voxels(img: Any, shape3: tuple[int, int, int], path: Path) -> np.ndarray:
    """A NIfTI image's voxels ``[i, j, k]`` with scl_slope/scl_inter applied (own memory).

    int32 for integer data shifted by a whole intercept, float32 for any other scaling,
    the file's type when unscaled.
    """
    try:
        proxy: Any = img.dataobj
        unscaled = np.asanyarray(proxy.get_unscaled())
    except Exception as exc:
        raise ScanError(path, f"cannot read voxel data ({exc})") from None
    arr = unscaled.reshape(shape3, order="F") if unscaled.ndim != 3 else unscaled
    if not arr.flags.writeable:
        arr = arr.copy(order="K")
    slope = float(proxy.slope)
    inter = float(proxy.inter)
    if slope != 1.0 or inter != 0.0:
        if np.issubdtype(arr.dtype, np.integer) and slope == 1.0 and float(inter).is_integer():
            arr = arr.astype(np.int32) + int(inter)
        else:
            arr = arr.astype(np.float32) * np.float32(slope) + np.float32(inter)
    return arr


#: Suffixes of the two files of a NIfTI (or Analyze) pair, header first.
PAIR_SUFFIXES = (".hdr", ".img")


def pair_files(path: Path) -> tuple[Path, Path | None]:
    """``(header, image)`` of the pair ``path`` belongs to; image None when it is missing.

    ``path`` may name either file; the other has the same stem and the other suffix
    (in the same letter case, else lower or upper case).
    """
    suffix = path.suffix
    other = ".img" if suffix.lower() == ".hdr" else ".hdr"
    cands = [path.with_suffix(other.upper() if suffix.isupper() else other)]
    cands += [path.with_suffix(other), path.with_suffix(other.upper())]
    found = next((c for c in cands if c.is_file()), None)
    if suffix.lower() == ".hdr":
        return path, found
    if found is None:
        raise ScanError(
            path,
            f"no header {cands[0].name} beside it: a .img of a NIfTI/Analyze pair holds only "
            "voxels, and without its .hdr nothing says their size, type or orientation; copy "
            "the pair together",
        )
    return found, path


def read_nifti_pair(path: Path, *, params: LoadParams = LoadParams()) -> Loaded:
    """Read a NIfTI-1/2 pair (``.hdr`` header + ``.img`` voxels), given either file.

    The header must carry the NIfTI magic (``ni1`` or ``ni2``): an Analyze 7.5 pair has
    none and stores no orientation, so left and right could not be trusted; it is refused.

    Raises
    ------
    ScanError
        Missing ``.img`` or ``.hdr``, Analyze 7.5, bad header, short voxel file, and the
        checks of :func:`read_nifti` (memory, shape).
    """
    hdr, img_path = pair_files(path)
    with open(hdr, "rb") as fh:
        # the whole .hdr: a pair's extensions follow its header to the end of the file
        head = fh.read(_MAX_NIFTI_HEADER_BYTES)
    try:
        klass = _nifti_class(head, hdr)
    except ScanError:
        what = foreign_header_kind(head) or (
            "not a NIfTI/Analyze header (its first 4 bytes are not the header size, 348 or 540)"
        )
        raise ScanError(path, what if hdr == path else f"its header {hdr.name} is {what}") from None
    magic_at = 344 if klass is nib.Nifti1Image else 4
    magic = head[magic_at : magic_at + 4]
    if magic in (b"n+1\x00", b"n+2\x00"):
        return read_nifti(hdr, params=params)  # a single-file NIfTI named .hdr
    if magic not in (b"ni1\x00", b"ni2\x00"):
        raise ScanError(
            path,
            "an Analyze 7.5 header (no NIfTI magic 'ni1'): it stores no orientation, so left "
            "and right cannot be trusted; convert the original data to NIfTI (e.g. dcm2niix)",
        )
    if img_path is None:
        raise ScanError(
            hdr, f"missing its .img: a NIfTI pair keeps its voxels in {hdr.stem}.img beside it"
        )
    pair_class = nib.Nifti1Pair if klass is nib.Nifti1Image else nib.Nifti2Pair
    header, shape, dtype, shape3 = _checked_header(pair_class, head, hdr, path, params)
    affine, frame_warnings = nifti_affine(header, hdr)
    need = int(header.get_data_offset()) + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    have = img_path.stat().st_size
    if have < need:
        raise ScanError(
            img_path,
            f"truncated: {have} bytes of voxel data but the header {hdr.name} needs {need} "
            f"({'×'.join(map(str, shape))} voxels of {dtype.name}); copy the pair again",
        )
    extra = (
        [
            f"{img_path.name} holds {have - need} bytes more than its header {hdr.name} "
            f"describes ({'×'.join(map(str, shape))} voxels of {dtype.name}); only the first "
            f"{need} were read: check that it is this header's voxel file"
        ]
        if have > need
        else []
    )
    hdr_bytes = hdr.read_bytes()
    img_bytes = img_path.read_bytes()
    file_map = pair_class.make_file_map(
        {"header": io.BytesIO(hdr_bytes), "image": io.BytesIO(img_bytes)}
    )
    try:
        img = pair_class.from_file_map(file_map)
    except Exception as exc:
        raise ScanError(hdr, f"unreadable NIfTI pair ({exc})") from None
    arr = _scaled_voxels(img, shape3, img_path)
    digest = sha256_of_hashes([sha256_file_bytes(hdr_bytes), sha256_file_bytes(img_bytes)])
    return Loaded(
        array=arr,
        affine=_affine_mm(header, affine),
        format="nifti",
        sha256=digest,
        n_files=2,
        warnings=extra
        + _negative_pixdim_warnings(pair_class, head)
        + frame_warnings
        + _nifti_warnings(img.header),
    )


def sha256_file_bytes(data: bytes) -> str:
    """Hex SHA-256 of bytes already in memory."""
    return hashlib.sha256(data).hexdigest()


_ITK_ITEMSIZE = {
    sitk.sitkUInt8: 1,
    sitk.sitkInt8: 1,
    sitk.sitkUInt16: 2,
    sitk.sitkInt16: 2,
    sitk.sitkUInt32: 4,
    sitk.sitkInt32: 4,
    sitk.sitkUInt64: 8,
    sitk.sitkInt64: 8,
    sitk.sitkFloat32: 4,
    sitk.sitkFloat64: 8,
}


def _itk_reason(exc: BaseException, printed: str = "") -> str:
    """Shorten ITK's multi-line exception text to its description; ``printed`` (what the
    C++ code wrote on stderr meanwhile) replaces a description that says nothing
    ("Reason: Success", a bare row of numbers)."""
    text = str(exc)
    found = re.findall(r"Description:\s*(.+)", text)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    reason = found[-1].strip() if found else lines[-1] if lines else type(exc).__name__
    says_nothing = reason.startswith("Reason:") or not re.search(r"[A-Za-z]{3}", reason)
    return printed.rstrip(".") if printed and says_nothing else reason


def itk_affine_ras(
    spacing: tuple[float, ...], origin: tuple[float, ...], direction: tuple[float, ...]
) -> np.ndarray:
    """RAS voxel-to-world affine from ITK's (LPS) spacing, origin and direction.

    Parameters
    ----------
    spacing : length-3 tuple of float
        Voxel size along i, j, k in mm.
    origin : length-3 tuple of float
        LPS position of voxel (0, 0, 0) in mm.
    direction : length-9 tuple of float
        Row-major 3x3 matrix whose columns are the LPS unit directions of i, j, k.
    """
    lps = np.eye(4)
    lps[:3, :3] = np.asarray(direction, dtype=np.float64).reshape(3, 3) @ np.diag(spacing)
    lps[:3, 3] = origin
    return LPS_TO_RAS @ lps


def _detached_data_files(path: Path) -> tuple[list[Path], list[str]]:
    """Data files named by a detached ``.nhdr`` / ``.mhd`` header: (present, missing)."""
    try:
        text = path.read_bytes()[:65536].decode("latin-1")
    except OSError:
        return [], []
    if path.suffix.lower() == ".nhdr":
        pat = r"^data ?file:\s*(.+)$"
    elif path.suffix.lower() == ".mhd":
        pat = r"^ElementDataFile\s*=\s*(.+)$"
    else:
        return [], []
    present: list[Path] = []
    missing: list[str] = []
    for m in re.finditer(pat, text, flags=re.MULTILINE | re.IGNORECASE):
        name = m.group(1).strip()
        if name.upper() in ("LOCAL", "LIST") or " " in name or "%" in name:
            continue  # inline data, lists and patterns are left to ITK
        cand = path.parent / name
        if cand.is_file():
            present.append(cand)
        else:
            missing.append(name)
    return present, missing


def read_itk(path: Path, fmt: str, *, params: LoadParams = LoadParams()) -> Loaded:
    """Read an NRRD or MetaImage file with SimpleITK.

    Parameters
    ----------
    path : Path
        ``.nrrd``/``.nhdr`` or ``.mha``/``.mhd`` file.
    fmt : {"nrrd", "mha"}
        Recorded format.

    Raises
    ------
    ScanError
        Unreadable header or data, vector pixels, too large, 2D or 4D.
    """
    present, missing = _detached_data_files(path)
    if missing:
        raise ScanError(
            path, f"the data file {missing[0]!r} named in the header is missing from {path.parent}"
        )
    with contextlib.ExitStack() as stack:
        return _read_itk(path, itk_openable(path, stack), present, fmt, params)


def _read_itk(path: Path, name: str, present: list[Path], fmt: str, params: LoadParams) -> Loaded:
    """:func:`read_itk` once the file has a ``name`` SimpleITK can open."""
    reader = sitk.ImageFileReader()
    reader.SetFileName(name)
    reader.SetImageIO("NrrdImageIO" if fmt == "nrrd" else "MetaImageIO")  # content, not suffix
    if fmt == "mha":  # MetaIO prints a bad header on stderr and misreads nan as 0
        bad = metaimage_header_problem(path)
        if bad is not None:
            raise ScanError(path, bad)
    try:
        with captured_stderr() as printed:
            reader.ReadImageInformation()
    except RuntimeError as exc:
        why = _itk_reason(exc, printed.first_line())
        if "Unknown PixelType" in why and fmt == "mha":
            why = "its ElementType is not a voxel type that ITK's MetaImage reader knows"
        raise ScanError(path, f"unreadable {fmt.upper()} header: {why}") from None
    if printed.text:
        logger.debug("ITK on reading %s's header: %s", path, printed.text.strip())
    phi = _itk_identifiers(reader)
    size = tuple(int(s) for s in reader.GetSize())
    comps = int(reader.GetNumberOfComponents())
    itemsize = _ITK_ITEMSIZE.get(reader.GetPixelID(), 8) * max(comps, 1)
    check_memory(size, itemsize, path, params=params)
    if comps != 1:
        raise ScanError(
            path, f"{comps}-component (colour or vector) voxels; twinsep needs a grey-level scan"
        )
    shape3 = check_shape(size, path)
    for name, val in (("spacing", reader.GetSpacing()), ("origin", reader.GetOrigin())):
        if not np.all(np.isfinite(val)):
            raise ScanError(path, f"header {name} is not finite: {tuple(val)}")
    bad = itk_geometry_problem(path, fmt, reader.GetSpacing(), reader.GetDirection())
    if bad is not None:  # ITK would say "Refusing to change spacing ..." or "0 0 1"
        raise ScanError(path, bad)
    if fmt == "mha":  # MetaIO prints short data on stderr: checked first (io.voxel_data)
        short = metaimage_data_problem(path, int(np.prod(size, dtype=np.int64)) * itemsize)
        if short is not None:
            raise ScanError(path, short)
    try:  # not captured: voxels take long to read, and other threads may print meanwhile
        img = reader.Execute()
    except RuntimeError as exc:
        reason = _itk_reason(exc)
        if fmt == "nrrd" and "bzip2" in reason.lower():
            # SimpleITK's NrrdIO is built without bzip2: say what to do, not only that
            reason = (
                "bzip2-encoded NRRD data, which the NRRD reader (ITK's NrrdIO) cannot "
                "decode; save it again with gzip or raw encoding (e.g. `unu save -e gzip` "
                "or 3D Slicer)"
            )
        raise ScanError(path, f"cannot read voxel data: {reason}") from None
    if img.GetDimension() > 3:
        img = img[:, :, :, 0] if img.GetDimension() == 4 else img
    arr = sitk.GetArrayFromImage(img)
    # ITK inflates damaged MetaImage/NRRD data to garbage: the stream's checksum decides
    damaged = checksum_problem(path, fmt, arr)
    if damaged is not None:
        raise ScanError(path, damaged)
    arr = arr.reshape(tuple(reversed(shape3))).transpose(2, 1, 0)
    spacing = tuple(img.GetSpacing())[:3]
    origin = tuple(img.GetOrigin())[:3]
    d = np.asarray(img.GetDirection(), dtype=np.float64)
    n = img.GetDimension()
    direction = tuple(d.reshape(n, n)[:3, :3].ravel())
    affine = itk_affine_ras(spacing, origin, direction)
    warnings: list[str] = []
    if fmt == "nrrd":  # units and the anatomical frame, which ITK does not apply
        affine, warnings = nrrd_space_to_mm(path, affine)
    else:  # a missing or contradicted direction, which ITK does not mention
        warnings = metaimage_orientation_warnings(path, np.asarray(direction))
        warnings += metaimage_spacing_warnings(path)
    hashes = [sha256_file(path)] + [sha256_file(p) for p in present]
    digest = hashes[0] if len(hashes) == 1 else sha256_of_hashes(hashes)
    return Loaded(
        array=arr,
        affine=affine,
        format=fmt,
        sha256=digest,
        n_files=len(hashes),
        warnings=warnings,
        phi=phi,
    )


#: DICOM tags that SimpleITK (and tools built on ITK: Slicer, c3d) keep as ``key:=value``
#: metadata when a DICOM series is written as NRRD or MetaImage, and their keywords.
_ITK_PHI_TAGS: dict[str, str] = {
    "0010|0010": "PatientName",
    "0010|0020": "PatientID",
    "0010|0030": "PatientBirthDate",
    "0010|1000": "OtherPatientIDs",
    "0008|0050": "AccessionNumber",
    "0008|0080": "InstitutionName",
    "0008|0081": "InstitutionAddress",
    "0008|0090": "ReferringPhysicianName",
    "0008|1050": "PerformingPhysicianName",
    "0008|1070": "OperatorsName",
    "0008|1010": "StationName",
    "0008|0020": "StudyDate",
    "0008|1030": "StudyDescription",
    "0008|103e": "SeriesDescription",
}


def _itk_identifiers(reader: sitk.ImageFileReader) -> dict[str, str]:
    """Identifying DICOM values an NRRD/MetaImage header carries as metadata.

    A series converted with SimpleITK keeps its DICOM tags (``0010|0010:=DOE^JANE``),
    and such files are named after the patient as often as the DICOM was: the values
    go where a DICOM header's go (``Loaded.phi``), so a file or folder name holding
    them is withheld from the outputs, and ``--keep-phi`` keeps them. They are never
    written anywhere else.
    """
    out: dict[str, str] = {}
    try:
        keys = list(reader.GetMetaDataKeys())
    except RuntimeError:
        return out
    for key in keys:
        keyword = _ITK_PHI_TAGS.get(key.strip().lower())
        if keyword is None:
            continue
        value = str(reader.GetMetaData(key)).strip()
        if value:
            out[keyword] = value
    return out


def _output_kind(path: Path) -> str:
    name = path.name.lower()
    for suf in SAVE_SUFFIXES:
        if name.endswith(suf):
            return suf
    raise InputError(path, f"unknown output format; use one of {', '.join(SAVE_SUFFIXES)}")


def _fortran_order(arr: np.ndarray, *, threads: int = 2, slab: int = 4) -> np.ndarray:
    """``arr`` in Fortran order, the order NIfTI stores voxels in (same values).

    nibabel reorders a C-ordered array itself while writing, one element at a time
    through the cache (0.5 s for a 512 x 512 x 400 uint8 map); copying slabs of the last
    axis on two threads takes 0.2 s, and nibabel then writes the buffer as it is.
    """
    if arr.ndim != 3 or arr.flags.f_contiguous:
        return arr
    out = np.empty(arr.shape, dtype=arr.dtype, order="F")
    out_t = out.T  # C-contiguous (K, J, I) view of the result
    n = arr.shape[2]

    def copy(k0: int) -> None:
        k1 = min(n, k0 + slab)
        out_t[k0:k1] = arr[:, :, k0:k1].transpose(2, 1, 0)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(copy, range(0, n, slab)))
    return out


def save_volume(volume: Volume, path: str | Path, *, compress_level: int = 3) -> Path:
    """Write a volume to ``.nii.gz``, ``.nii``, ``.nrrd`` or ``.mha``, atomically.

    ``.nii.gz`` output is byte-for-byte reproducible: the gzip header carries no time
    stamp or file name. NIfTI stores the affine as sform and qform (code 1, scanner),
    NRRD and MetaImage store LPS spacing/origin/direction (they cannot store shear:
    a sheared affine is refused for those formats).

    Parameters
    ----------
    volume : Volume
        The data and its RAS affine.
    path : str or Path
        Destination; the suffix chooses the format. Its folder must exist.
    compress_level : int
        gzip level for ``.nii.gz`` (1 fast .. 9 small). 3 by default: on label maps
        (long runs) it takes a third of level 6's time for about 15 % more bytes.

    Returns
    -------
    Path
        The written path.

    Raises
    ------
    InputError
        Unknown suffix, or a sheared affine for NRRD/MHA.
    OutputError
        The folder is missing or not writable.
    """
    dest = Path(path)
    kind = _output_kind(dest)
    arr = volume.array
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    if kind in (".nii.gz", ".nii"):
        img = nib.Nifti1Image(_fortran_order(arr), volume.affine)
        img.header.set_xyzt_units("mm", "sec")
        img.set_sform(volume.affine, code=1)
        img.set_qform(volume.affine, code=1)
        raw = img.to_bytes()
        if kind == ".nii.gz":
            raw = gzip.compress(raw, compresslevel=compress_level, mtime=0)
        return atomic_write_bytes(dest, raw)
    spacing = np.asarray(volume.spacing_mm)
    lps = LPS_TO_RAS @ volume.affine
    direction = lps[:3, :3] / spacing
    if not np.allclose(direction.T @ direction, np.eye(3), atol=1e-6):
        raise InputError(
            dest, f"the affine is sheared; {kind} cannot store it, save as .nii.gz instead"
        )
    img_itk = sitk.GetImageFromArray(np.ascontiguousarray(arr.transpose(2, 1, 0)))
    img_itk.SetSpacing(tuple(float(s) for s in spacing))
    img_itk.SetOrigin(tuple(float(v) for v in lps[:3, 3]))
    img_itk.SetDirection(tuple(float(v) for v in direction.ravel()))
    with atomic_output(dest) as tmp, contextlib.ExitStack() as stack:
        sitk.WriteImage(img_itk, itk_writable(tmp, stack), useCompression=True)
    return dest


_LABEL_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".nii.gz", "nifti"),
    (".nii", "nifti"),
    (".nrrd", "nrrd"),
    (".nhdr", "nrrd"),
    (".mha", "mha"),
    (".mhd", "mha"),
)


def read_label_map(path: str | Path, *, params: LoadParams = LoadParams()) -> Volume:
    """Read a label map (``labels.nii.gz``, ``twins.nii.gz``, ``separation.nii.gz``...)
    as a uint8 :class:`Volume` on its file's grid (RAS affine).

    :func:`twinsep.io.load_scan` is for scans and refuses label maps on purpose; this
    is the one reader for label maps (``.nii``/``.nii.gz``, ``.nrrd``/``.nhdr``,
    ``.mha``/``.mhd``). The file is not modified.

    Raises
    ------
    ScanError
        Missing file, unsupported suffix, unreadable data, not 3D, or values that are
        not whole numbers in 0..255.
    """
    p = Path(path)
    if not p.is_file():
        raise ScanError(p, "label map not found")
    name = p.name.lower()
    fmt = next((f for suf, f in _LABEL_SUFFIXES if name.endswith(suf)), None)
    if fmt is None:
        raise ScanError(
            p, "not a label map format (expected .nii, .nii.gz, .nrrd, .nhdr, .mha or .mhd)"
        )
    loaded = read_nifti(p, params=params) if fmt == "nifti" else read_itk(p, fmt, params=params)
    arr = np.asarray(loaded.array)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.isfinite(arr).all() or not np.array_equal(arr, np.round(arr)):
            raise ScanError(p, "is not a label map: it holds non-integer or non-finite values")
    if arr.size and (arr.min() < 0 or arr.max() > 255):
        raise ScanError(
            p,
            f"is not a label map: values {arr.min():g}..{arr.max():g} are outside 0..255",
        )
    return Volume(arr.astype(np.uint8), loaded.affine)
