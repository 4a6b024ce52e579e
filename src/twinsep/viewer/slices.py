"""CT slices with the twin / tissue overlay, rendered server-side as PNG.

Orientation (written down once): volumes are first brought to the voxel order closest
to RAS (nibabel ``io_orientation``; exact for axis-aligned scans, nearest axis for
oblique ones), so canonical index ``[x, y, z]`` grows toward patient Right, Anterior,
Superior whatever the file's own order. Images follow the radiological convention:

* axial (slice along S): anterior at the top, patient right on the screen's left;
* coronal (slice along A): superior at the top, patient right on the screen's left;
* sagittal (slice along R): superior at the top, anterior on the screen's left.

Slice ``index`` counts from the Left / Posterior / Inferior end. Pixels are voxels (no
resampling); the pixel size in mm is returned so that the page draws true proportions.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from twinsep.cases import CASE_CACHE_DIR as DEMO_CASE_CACHE
from twinsep.errors import ConfigError, InputError
from twinsep.io._loaded import sha256_file
from twinsep.labels import DEFAULT_COLOUR_A, DEFAULT_COLOUR_B, TISSUE_COLOURS, hex_to_rgb
from twinsep.viewer.png import encode_png

logger = logging.getLogger(__name__)

__all__ = [
    "AXES",
    "OVERLAYS",
    "SEPARATION_COLOUR",
    "SliceImage",
    "SliceParams",
    "SliceStack",
    "canonical_ras",
]

Axis = Literal["axial", "coronal", "sagittal"]
Overlay = Literal["twins", "labels", "none"]

#: Slice orientations and the canonical (RAS) array axis each one cuts across.
AXES: dict[str, int] = {"sagittal": 0, "coronal": 1, "axial": 2}
OVERLAYS: tuple[str, ...] = ("twins", "labels", "none")

#: Colour of the separation surface (voxels on the cut) in slices and in the 3D scene:
#: a teal far in hue from both default twin colours and from tissue colours.
SEPARATION_COLOUR = "#12A4A4"


@dataclass(frozen=True)
class SliceParams:
    """Display defaults of the slice view.

    Attributes
    ----------
    window_hu, level_hu : float
        Default CT window width and centre in HU. 2000 / 400 shows bone and, dimly, the
        soft tissues and brain at once, which is what the separation is planned on
        (standard "bone" preset of CT viewers; the page offers brain 80/40 and soft
        tissue 400/40 as presets too).
    overlay_alpha : float
        Opacity (0-1) of the twin / tissue colours over the grey image. 0.45 keeps the
        anatomy under the colour readable (chosen by eye on CT slices).
    label_grey : dict
        Grey level (0-255) per tissue label, used instead of CT when the scan cannot be
        found (its full path is in the plan only with ``--keep-phi``).
    """

    window_hu: float = 2000.0
    level_hu: float = 400.0
    overlay_alpha: float = 0.45
    label_grey: dict[int, int] = field(
        default_factory=lambda: {0: 0, 1: 110, 2: 245, 3: 165, 4: 60, 5: 205}
    )


def canonical_ras(array: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reorder / flip array axes to the voxel order closest to RAS.

    Parameters
    ----------
    array : (I, J, K) ndarray
    affine : (4, 4) ndarray
        Voxel to world RAS mm.

    Returns
    -------
    array : ndarray
        A view (no copy) whose axes grow toward R, A, S.
    affine : (4, 4) ndarray
        The matching voxel-to-world matrix.
    """
    from nibabel import orientations as ornt_mod

    ornt = ornt_mod.io_orientation(affine)
    out = ornt_mod.apply_orientation(array, ornt)
    new_affine = affine @ ornt_mod.inv_ornt_aff(ornt, array.shape)
    return out, new_affine


@dataclass(frozen=True)
class SliceImage:
    """One rendered slice.

    Attributes
    ----------
    png : bytes
        The image (RGB PNG).
    width, height : int
        Size in pixels.
    pixel_mm : (float, float)
        Pixel size in mm along a row (columns) and down a column (rows).
    position_mm : float
        World coordinate (RAS mm) of the slice along its normal axis.
    """

    png: bytes
    width: int
    height: int
    pixel_mm: tuple[float, float]
    position_mm: float


def _load_nifti(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import nibabel as nib

    try:
        img: Any = nib.load(str(path))
        arr = np.asanyarray(img.dataobj)
        aff = np.asarray(img.affine, dtype=np.float64)
    except Exception as exc:  # nibabel raises many types for broken files
        raise InputError(path, f"cannot be read as NIfTI ({exc})") from None
    if arr.ndim != 3:
        raise InputError(path, f"must be a 3D volume, got shape {arr.shape}")
    return arr, aff


def _load_scan(path: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """Read the CT through ``twinsep.io`` (any supported format), NIfTI as fallback."""
    loader: Any
    try:
        from twinsep.io import load_scan as loader
    except ImportError:
        loader = None
    if loader is not None:
        scan = loader(path)
        vol = scan.volume
        return np.asarray(vol.array), np.asarray(vol.affine), str(scan.info.modality)
    if path.name.endswith((".nii", ".nii.gz")):
        arr, aff = _load_nifti(path)
        return arr, aff, "CT"
    raise InputError(path, "cannot be read: twinsep.io is not available for this format")


def find_scan(plan_dir: Path, plan: dict[str, Any], scan_path: Path | None) -> Path | None:
    """Where the plan's scan is, if it can be found.

    Looks at ``scan_path`` (given by the user), then ``input.path`` of the plan as
    written (absolute only with ``--keep-phi``), relative to the plan folder and to
    its parent folder; for a plan of ``twinsep demo`` (``options.case``), the file of
    that name in the demo's case cache beside the plan folder whose SHA-256 is the
    plan's ``input.sha256`` (the demo printed ``twinsep view DIR``, whose slices then
    showed grey tissue labels: the plan keeps only the scan's file name).
    """
    if scan_path is not None:
        return Path(scan_path)
    recorded = (plan.get("input") or {}).get("path")
    if not recorded:
        return None
    p = Path(str(recorded))
    for cand in (p, plan_dir / p, plan_dir.parent / p):
        if cand.exists():
            return cand
    want = (plan.get("input") or {}).get("sha256")
    cache = plan_dir.parent / DEMO_CASE_CACHE
    if (plan.get("options") or {}).get("case") and want and cache.is_dir():
        for cand in sorted(cache.glob(f"*/{p.name}")):
            if cand.is_file() and sha256_file(cand) == want:
                return cand
    return None


class SliceStack:
    """The volumes of one plan, ready to be cut into slices.

    Build it with :meth:`from_plan`; it reads ``labels.nii.gz``, ``twins.nii.gz`` and
    ``separation.nii.gz`` from the plan folder (each optional) and the CT from
    :func:`find_scan`. Reading happens once, on the first request (thread-safe).
    """

    def __init__(
        self,
        plan_dir: Path,
        plan: dict[str, Any],
        *,
        scan_path: Path | None = None,
        params: SliceParams = SliceParams(),
    ) -> None:
        self.plan_dir = Path(plan_dir)
        self.plan = plan
        self.scan_path = scan_path
        self.params = params
        colours = plan.get("colours") or {}
        self.colour_a = str(colours.get("A", DEFAULT_COLOUR_A))
        self.colour_b = str(colours.get("B", DEFAULT_COLOUR_B))
        self._lock = threading.Lock()
        self._loaded = False
        self._ct: np.ndarray | None = None
        self._labels: np.ndarray | None = None
        self._twins: np.ndarray | None = None
        self._cut: np.ndarray | None = None
        self._affine: np.ndarray | None = None
        self._modality = "CT"
        self.notes: list[str] = []

    # -- loading ------------------------------------------------------------------
    def load(self) -> None:
        """Read the volumes (idempotent, thread-safe)."""
        with self._lock:
            if not self._loaded:
                self._load_locked()
                self._loaded = True

    def _load_locked(self) -> None:
        grid_shape: tuple[int, ...] | None = None
        grid_affine: Any = None
        for name, attr in (
            ("labels.nii.gz", "_labels"),
            ("twins.nii.gz", "_twins"),
            ("separation.nii.gz", "_cut"),
        ):
            path = self.plan_dir / name
            if not path.is_file():
                continue
            arr, aff = _load_nifti(path)
            if grid_shape is None:
                grid_shape, grid_affine = arr.shape, aff
            elif arr.shape != grid_shape or not np.allclose(aff, grid_affine, atol=1e-3):
                self.notes.append(f"{name} is not on the grid of the other label maps: ignored")
                continue
            can, can_aff = canonical_ras(arr.astype(np.uint8, copy=False), aff)
            setattr(self, attr, can)
            self._affine = can_aff
        scan = find_scan(self.plan_dir, self.plan, self.scan_path)
        if scan is None:
            self.notes.append(
                "the CT was not found (its full path is kept in plan.json only with "
                "--keep-phi): slices show the tissue labels in grey instead; give the "
                "CT with twinsep view DIR --scan FILE"
            )
        else:
            try:
                arr, aff, modality = _load_scan(scan)
            except InputError as exc:
                self.notes.append(f"the CT could not be read ({exc.one_line()})")
            except Exception as exc:  # a viewer shows what it can; the log says why
                logger.debug("CT read failed", exc_info=True)
                self.notes.append(f"the CT {scan.name} could not be read ({exc})")
            else:
                if grid_shape is not None and (
                    arr.shape != grid_shape or not np.allclose(aff, grid_affine, atol=1e-2)
                ):
                    self.notes.append(
                        f"{scan.name} is not on the grid of the label maps: not shown"
                    )
                else:
                    self._ct, self._affine = canonical_ras(arr, aff)
                    self._modality = modality
        for note in self.notes:
            logger.warning("viewer slices: %s", note)

    @property
    def loaded(self) -> bool:
        """True once the volumes have been read (the first slice request reads them)."""
        return self._loaded

    @property
    def available(self) -> bool:
        """True when at least one volume could be read."""
        self.load()
        return self._affine is not None

    def _base(self) -> np.ndarray:
        for arr in (self._ct, self._labels, self._twins, self._cut):
            if arr is not None:
                return arr
        raise ConfigError("slices", "the plan folder holds no volume to show")

    # -- description ----------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """JSON-ready description for the page: counts, spacing, presets, notes."""
        self.load()
        if self._affine is None:
            return {"available": False, "notes": list(self.notes)}
        base = self._base()
        spacing = np.linalg.norm(self._affine[:3, :3], axis=0)
        ct_values: dict[str, float] | None = None
        if self._ct is not None:
            sub = self._ct[::4, ::4, ::4]
            ct_values = {
                "p1": float(np.percentile(sub, 1)),
                "p99": float(np.percentile(sub, 99)),
            }
        return {
            "available": True,
            "focus_index": self.focus_index(),
            "source": "ct" if self._ct is not None else "labels",
            "modality": self._modality,
            "count": {axis: int(base.shape[ax]) for axis, ax in AXES.items()},
            "spacing_mm": [float(s) for s in spacing],
            "overlays": [o for o in OVERLAYS if o == "none" or getattr(self, f"_{o}") is not None],
            "has_cut": self._cut is not None,
            "window_hu": self.params.window_hu,
            "level_hu": self.params.level_hu,
            "value_range": ct_values,
            "colours": {
                "A": self.colour_a,
                "B": self.colour_b,
                "separation": SEPARATION_COLOUR,
                "tissue": {str(k): v for k, v in TISSUE_COLOURS.items()},
            },
            "notes": list(self.notes),
        }

    def focus_index(self) -> dict[str, int] | None:
        """Slice numbers through the bridge centre (``fusion.bridge_centroid_mm``).

        The page opens the slices there: the junction is what the plan is about.
        None when the plan has no bridge centre or no volume was read.
        """
        self.load()
        centre = (self.plan.get("fusion") or {}).get("bridge_centroid_mm")
        if self._affine is None or not isinstance(centre, list | tuple) or len(centre) != 3:
            return None
        try:
            world = np.asarray([float(c) for c in centre], dtype=np.float64)
        except (TypeError, ValueError):
            return None
        if not np.all(np.isfinite(world)):
            return None
        ijk = np.linalg.solve(self._affine[:3, :3], world - self._affine[:3, 3])
        shape = self._base().shape
        out = {}
        for axis, ax in AXES.items():
            out[axis] = int(np.clip(np.rint(ijk[ax]), 0, shape[ax] - 1))
        return out

    # -- rendering ------------------------------------------------------------------
    def render(
        self,
        axis: str,
        index: int,
        *,
        window_hu: float | None = None,
        level_hu: float | None = None,
        overlay: str = "twins",
        alpha: float | None = None,
    ) -> SliceImage:
        """Render one slice as PNG.

        Parameters
        ----------
        axis : {"axial", "coronal", "sagittal"}
        index : int
            Slice number from the Left / Posterior / Inferior end.
        window_hu, level_hu : float, optional
            CT window width (> 0) and centre in HU (defaults from :class:`SliceParams`).
        overlay : {"twins", "labels", "none"}
            Colour twin A / B, or tissues, over the grey image. Voxels on the
            separation surface are drawn in :data:`SEPARATION_COLOUR` unless "none".
        alpha : float, optional
            Overlay opacity in [0, 1].

        Raises
        ------
        ConfigError
            If a parameter is out of range (the message names it).
        """
        if axis not in AXES:
            raise ConfigError("axis", f"{axis!r} is not one of {', '.join(AXES)}")
        if overlay not in OVERLAYS:
            raise ConfigError("overlay", f"{overlay!r} is not one of {', '.join(OVERLAYS)}")
        window = self.params.window_hu if window_hu is None else float(window_hu)
        level = self.params.level_hu if level_hu is None else float(level_hu)
        a = self.params.overlay_alpha if alpha is None else float(alpha)
        if not np.isfinite(window) or window <= 0:
            raise ConfigError("window_hu", f"{window} must be a finite number > 0")
        if not np.isfinite(level):
            raise ConfigError("level_hu", f"{level} must be a finite number")
        if not 0.0 <= a <= 1.0:
            raise ConfigError("alpha", f"{a} must lie between 0 and 1")
        self.load()
        if self._affine is None:
            raise ConfigError("slices", "the plan folder holds no volume to show")
        ax = AXES[axis]
        n = self._base().shape[ax]
        if not 0 <= index < n:
            raise ConfigError("index", f"{index} is outside 0..{n - 1} for {axis} slices")

        def cut2d(arr: np.ndarray | None) -> np.ndarray | None:
            return None if arr is None else _orient(np.take(arr, index, axis=ax), axis)

        if self._ct is not None:
            ct = cut2d(self._ct)
            assert ct is not None
            lo = level - window / 2.0
            grey = np.clip((ct.astype(np.float32) - lo) * (255.0 / window), 0, 255)
        else:
            lab = cut2d(self._labels)
            lut = np.zeros(256, dtype=np.float32)
            for value, g in self.params.label_grey.items():
                lut[value] = g
            if lab is None:
                tw = cut2d(self._twins)
                assert tw is not None
                lab = (tw > 0).astype(np.uint8)
            grey = lut[lab]
        rgb = np.repeat(grey[..., None], 3, axis=2)
        if overlay != "none":
            if overlay == "twins" and self._twins is not None:
                tw = cut2d(self._twins)
                assert tw is not None
                _blend(rgb, tw == 1, self.colour_a, a)
                _blend(rgb, tw == 2, self.colour_b, a)
            elif overlay == "labels" and self._labels is not None:
                lab = cut2d(self._labels)
                assert lab is not None
                for value, colour in TISSUE_COLOURS.items():
                    _blend(rgb, lab == value, colour, a)
            if self._cut is not None:
                cut = cut2d(self._cut)
                assert cut is not None
                _blend(rgb, cut > 0, SEPARATION_COLOUR, 1.0)
        img = np.ascontiguousarray(np.rint(rgb).astype(np.uint8))
        spacing = np.linalg.norm(self._affine[:3, :3], axis=0)
        row_ax, col_ax = _display_axes(axis)
        centre = (np.asarray(self._base().shape, dtype=np.float64) - 1) / 2.0
        centre[ax] = index
        world = self._affine[:3, :3] @ centre + self._affine[:3, 3]
        return SliceImage(
            png=encode_png(img),
            width=int(img.shape[1]),
            height=int(img.shape[0]),
            pixel_mm=(float(spacing[col_ax]), float(spacing[row_ax])),
            position_mm=float(world[ax]),
        )


def _display_axes(axis: str) -> tuple[int, int]:
    """Canonical array axes shown down the rows and along the columns."""
    return {"axial": (1, 0), "coronal": (2, 0), "sagittal": (2, 1)}[axis]


def _orient(plane: np.ndarray, axis: str) -> np.ndarray:
    """Turn a canonical 2D cut into display order (see module docstring)."""
    # plane axes are the two remaining canonical axes in increasing order, e.g. [x, y]
    # for axial; transpose to [rows, cols], then flip so that up is A (axial) or S, and
    # left is R (axial, coronal) or A (sagittal): every axis is shown high-to-low.
    return plane.T[::-1, ::-1]


def _blend(rgb: np.ndarray, mask: np.ndarray, colour: str, alpha: float) -> None:
    if not mask.any():
        return
    c = np.asarray(hex_to_rgb(colour), dtype=np.float32)
    rgb[mask] = rgb[mask] * (1.0 - alpha) + c * alpha
