"""Segmentation and twin assignment on thick-slice, tilted and permuted CT grids.

Clinical head CT is often anisotropic (0.4-0.9 mm in-plane, 1.25-5 mm slices), sometimes
gantry-tilted (a sheared affine once the tilt is kept) and sometimes acquired coronally or
sagittally with the array axes permuted and flipped against RAS. The accuracy benchmark
(``bench_segment``) is isotropic only; this sweep measures the same Dice per label and twin
accuracy outside the 15 mm band on such grids and the drop against the isotropic grid of
the same case.

How a thick-slice case is made (so that partial volume across the slice is real, not the
phantom's thin-slice edge model sampled at wide steps):

1. the phantom is rendered once, noise free, on an isotropic ``RENDER_MM`` grid
   (0.833 mm = 2.5 / 3, PSF blur included) - this is the "continuous" image and truth;
2. each target grid is a 4x4 affine (in-plane columns of ``RENDER_MM``, a slice column of
   the slice spacing, optionally sheared or permuted/flipped); a target voxel's HU is the
   mean of trilinear samples of the render at ``n`` points spread evenly across the slice
   thickness along the slice normal (a box slice profile as thick as the slice spacing,
   i.e. contiguous slices), its labels and twins are the render's at the voxel centre
   (nearest), which is how the phantom defines its truth;
3. seeded Gaussian noise (``NOISE_HU``) is added after resampling and the HU are rounded to
   int16 like a CT series.

The isotropic reference of the same case is the render itself plus the same noise
(``iso-0.83``); ``iso-192`` is ``make_phantom(kind, size=192, seed=0, noise_hu=10)`` as in
the accuracy benchmark. Colin27 (``real-vertical``) is rendered at 1.5 mm by
``twinsep.realanatomy`` (noise free) and resampled the same way (in-plane 1.5 mm).
A tilted (sheared) grid goes through :func:`twinsep.io.shear.orthogonal_grid` as in
``load_scan`` and is scored on the corrected grid against the render's truth at its voxel
centres; those centres are off the render's lattice, so its truth is up to 0.42 mm off
along each in-plane axis and its CT interpolated, and the tilted rows are lower bounds
(docs/segmentation.md gives the control). Plain-blood rows (no contrast) check that thick slices do not flip contrast
detection. Each row also gives the oracle: the Dice of the best intensity-only rule on
the noise-free CT of the grid (:func:`oracle_dice`).
"""

from __future__ import annotations

import importlib.util
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage as ndi

from twinsep import labels as L
from twinsep.io import LoadParams
from twinsep.io.shear import orthogonal_grid
from twinsep.volume import Volume, apply_affine

RENDER_MM = 2.5 / 3.0
"""Isotropic render grid (mm): a third of the 2.5 mm slice, so 2.5 mm slabs are 3 exact samples."""
NOISE_HU = 10.0
"""Gaussian noise sigma (HU) added after resampling (the benchmark's low-noise level)."""
TILT_DEG = 18.0
"""Gantry tilt of the tilted row (deg); clinical head CT tilts 0-30 deg to spare the eyes."""
KINDS = ("vertical-II", "angular-parietal", "vertical-partial")
"""Phantom kinds: a total vertical, a total angular and a partial form."""


def _load_bench_segment() -> Any:
    """The sibling module ``bench_segment`` (its ``_score`` and ``TARGETS``)."""
    path = Path(__file__).with_name("bench_segment.py")
    spec = importlib.util.spec_from_file_location("bench_segment", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


TARGETS: dict[str, float] = _load_bench_segment().TARGETS
"""Issue-4 targets per row key (``bench_segment.TARGETS``)."""


@dataclass(frozen=True)
class Grid:
    """A target grid: voxel axes (columns, mm) given the in-plane step ``s`` and slice ``t``."""

    name: str
    axes: Callable[[float, float], np.ndarray]
    slice_mm: float
    note: str


def _axis_aligned(thick_axis: int) -> Callable[[float, float], np.ndarray]:
    def make(s: float, t: float) -> np.ndarray:
        d = [s, s, s]
        d[thick_axis] = t
        return np.diag(d)

    return make


def _tilted(s: float, t: float) -> np.ndarray:
    """Axial slices tilted about x: rows along x, columns along the tilted y, table along z."""
    a = math.radians(TILT_DEG)
    return np.array([[s, 0.0, 0.0], [0.0, s * math.cos(a), 0.0], [0.0, s * math.sin(a), t]])


def _sagittal(s: float, t: float) -> np.ndarray:
    """Sagittal stack as a DICOM reader gives it: i toward posterior, j toward inferior, k = x."""
    return np.array([[0.0, 0.0, t], [-s, 0.0, 0.0], [0.0, -s, 0.0]])


def _coronal(s: float, t: float) -> np.ndarray:
    """Coronal stack: i toward the patient's left, j toward inferior, k toward anterior."""
    return np.array([[-s, 0.0, 0.0], [0.0, 0.0, t], [0.0, -s, 0.0]])


AXES = "xyz"
GRIDS: tuple[Grid, ...] = (
    *(Grid(f"thick-2.5-{AXES[a]}", _axis_aligned(a), 2.5, "RAS axes") for a in range(3)),
    *(Grid(f"thick-5.0-{AXES[a]}", _axis_aligned(a), 5.0, "RAS axes") for a in range(3)),
    Grid(f"tilt-{TILT_DEG:.0f}deg-2.5", _tilted, 2.5, "sheared affine, slab along the normal"),
    Grid("sagittal-2.5", _sagittal, 2.5, "axes permuted and flipped (PIR + R slices)"),
    Grid("coronal-5.0", _coronal, 5.0, "axes permuted and flipped (LI + A slices)"),
)


def target_affine(src: Volume, axes_mm: np.ndarray) -> tuple[tuple[int, int, int], np.ndarray]:
    """Shape and affine of a grid with voxel axes ``axes_mm`` covering ``src``'s box.

    The origin is snapped to a voxel centre of ``src`` so that axis-aligned in-plane
    samples fall on render voxels (no in-plane interpolation blur).
    """
    n = np.asarray(src.shape)
    corners = np.array(
        [[i, j, k] for i in (0, n[0] - 1) for j in (0, n[1] - 1) for k in (0, n[2] - 1)]
    )
    world = src.world_coords(corners)
    idx = world @ np.linalg.inv(axes_mm).T
    lo = np.floor(idx.min(axis=0))
    hi = np.ceil(idx.max(axis=0))
    origin = axes_mm @ lo
    src_idx = np.rint(np.linalg.solve(src.affine[:3, :3], origin - src.affine[:3, 3]))
    origin = src.affine[:3, :3] @ src_idx + src.affine[:3, 3]
    shape = tuple(int(v) + 1 for v in (hi - lo))
    aff = np.eye(4)
    aff[:3, :3] = axes_mm
    aff[:3, 3] = origin
    return (shape[0], shape[1], shape[2]), aff


def resample_thick(
    hu: Volume, labels: Volume, twins: Volume, affine: np.ndarray, shape: tuple[int, int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noise-free HU (slab mean), labels and twins (nearest) of ``hu``'s render on a new grid.

    The slice axis is the affine's longest column; the slab is as thick as the distance
    between slice planes (that column's component along the normal of the two in-plane
    columns) and sampled every ~``RENDER_MM``.
    """
    m = affine[:3, :3]
    sl = int(np.argmax(np.linalg.norm(m, axis=0)))  # the slice axis: the longest column
    a, b = (c for c in range(3) if c != sl)
    normal = np.cross(m[:, a], m[:, b])
    normal /= np.linalg.norm(normal)
    thick_mm = abs(float(m[:, sl] @ normal))
    n_sub = max(1, round(thick_mm / RENDER_MM))
    offsets = ((np.arange(n_sub) + 0.5) / n_sub - 0.5) * thick_mm
    inv = np.linalg.inv(hu.affine)
    src = hu.array.astype(np.float32)
    out_hu = np.empty(shape, np.float32)
    out_lab = np.empty(shape, np.uint8)
    out_tw = np.empty(shape, np.uint8)
    jj, kk = np.meshgrid(np.arange(shape[1]), np.arange(shape[2]), indexing="ij")
    for i in range(shape[0]):
        ijk = np.stack([np.full(jj.shape, i), jj, kk], axis=-1).reshape(-1, 3).astype(np.float64)
        world = ijk @ m.T + affine[:3, 3]
        centre = (world @ inv[:3, :3].T + inv[:3, 3]).T
        acc = np.zeros(world.shape[0], np.float64)
        for off in offsets:
            p = ((world + off * normal) @ inv[:3, :3].T + inv[:3, 3]).T
            acc += ndi.map_coordinates(src, p, order=1, mode="constant", cval=-1000.0)
        out_hu[i] = (acc / n_sub).reshape(jj.shape)
        c = np.rint(centre).astype(np.intp)
        ok = np.all((c >= 0) & (c < np.asarray(hu.shape)[:, None]), axis=0)
        lab = np.zeros(world.shape[0], np.uint8)
        tw = np.zeros(world.shape[0], np.uint8)
        lab[ok] = labels.array[c[0, ok], c[1, ok], c[2, ok]]
        tw[ok] = twins.array[c[0, ok], c[1, ok], c[2, ok]]
        out_lab[i] = lab.reshape(jj.shape)
        out_tw[i] = tw.reshape(jj.shape)
    return out_hu, out_lab, out_tw


def truth_on(
    labels: Volume, twins: Volume, affine: np.ndarray, shape: tuple[int, int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and twins of the render at the voxel centres of another grid (nearest)."""
    ijk = np.indices(shape).reshape(3, -1).T
    c = np.rint(apply_affine(np.linalg.inv(labels.affine) @ affine, ijk)).astype(np.intp)
    ok = np.all((c >= 0) & (c < np.asarray(labels.shape)), axis=1)
    lab = np.zeros(len(ijk), np.uint8)
    tw = np.zeros(len(ijk), np.uint8)
    sel = tuple(c[ok].T)
    lab[ok] = labels.array[sel]
    tw[ok] = twins.array[sel]
    return lab.reshape(shape), tw.reshape(shape)


def oracle_dice(hu: np.ndarray, truth: np.ndarray) -> dict[str, float | None]:
    """Dice per label of the best intensity-only rule on the noise-free CT.

    Every 1 HU bin of the noise-free image gets the label most frequent among its truth
    voxels (the rule with the fewest wrong voxels of any voxel-wise function of the HU).
    It is not a bound for methods that use neighbourhoods, but when it is low the loss is
    partial volume of the grid (a thin wall averaged with its neighbours across a thick
    slice), not a weakness of the segmentation.
    """
    b = np.clip(np.rint(hu), -1100, 3100).astype(np.int64).ravel() + 1100
    t = truth.ravel().astype(np.int64)
    nb = 4201
    counts = np.bincount(b * 6 + t, minlength=nb * 6).reshape(nb, 6)
    best = np.argmax(counts, axis=1)
    pred = best[b]
    out: dict[str, float | None] = {}
    for v, n in L.TISSUE_NAMES.items():
        tp = int(counts[best == v, v].sum())
        denom = int((pred == v).sum() + (t == v).sum())
        out[f"oracle_{n}"] = None if denom == 0 else round(2 * tp / denom, 4)
    return out


def _noisy(hu: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noisy = hu + rng.normal(0.0, NOISE_HU, size=hu.shape).astype(np.float32)
    return np.clip(np.rint(noisy), -1024, 3071).astype(np.int16)


def _case_rows(
    bs: Any,
    case: str,
    hu: Volume,
    labels: Volume,
    twins: Volume,
    in_plane_mm: float,
    grids: tuple[Grid, ...],
) -> list[dict]:
    rows = []
    ref = bs._score(
        case,
        labels.array,
        twins.array,
        Volume(_noisy(hu.array.astype(np.float32), 0), hu.affine.copy(), {"modality": "CT"}),
        {
            "grid": f"iso-{in_plane_mm:.2f}",
            "spacing_mm": [round(in_plane_mm, 3)] * 3,
            **oracle_dice(hu.array, labels.array),
        },
    )
    rows.append(ref)
    for g in grids:
        t0 = time.perf_counter()
        shape, aff = target_affine(hu, g.axes(in_plane_mm, g.slice_mm))
        h, lab, tw = resample_thick(hu, labels, twins, aff, shape)
        vol = Volume(_noisy(h, 1), aff, {"modality": "CT"})
        # a sheared grid goes through the tilt correction of twinsep.io.load_scan and is
        # scored on the corrected grid against the render's truth at its voxel centres
        max_drift = LoadParams().tilt_max_fraction_of_pixel * min(vol.spacing_mm)
        arr, aff2, corr = orthogonal_grid(vol.array, vol.affine, max_drift_mm=max_drift)
        extra: dict[str, Any] = {}
        if corr is not None:
            vol = Volume(arr, aff2, {"modality": "CT"})
            lab, tw = truth_on(labels, twins, aff2, vol.shape)
            extra["tilt_corrected_deg"] = round(corr.tilt_deg, 2)
            extra["corrected_shape"] = list(vol.shape)
        t_resample = round(time.perf_counter() - t0, 2)
        extra.update(oracle_dice(h, lab) if corr is None else {})
        row = bs._score(
            case,
            lab,
            tw,
            vol,
            {
                "grid": g.name,
                "spacing_mm": [round(v, 3) for v in vol.spacing_mm],
                "orientation": vol.orientation,
                "shape": list(shape),
                "resample_s": t_resample,
                "note": g.note,
                **extra,
            },
        )
        for key in TARGETS:
            if row.get(key) is not None and ref.get(key) is not None:
                row[f"drop_{key}"] = round(ref[key] - row[key], 4)
        rows.append(row)
    return rows


def phantom_rows(
    kinds: tuple[str, ...] = KINDS, grids: tuple[Grid, ...] = GRIDS, *, contrast: bool = True
) -> list[dict]:
    """Rows of every phantom kind on the isotropic reference and every target grid.

    ``contrast=False`` renders plain blood (40-60 HU): the rows then check that thick
    slices do not make contrast detection flip (bone partial volume in the contrast band).
    """
    from twinsep.phantom import make_phantom

    bs = _load_bench_segment()
    rows = []
    for kind in kinds:
        name = f"phantom-{kind}" + ("" if contrast else "-plain")
        ph = make_phantom(kind, size=192, seed=0, noise_hu=NOISE_HU, contrast=contrast)
        rows.append(
            bs._score(
                name,
                ph.labels.array,
                ph.twins.array,
                ph.ct,
                {"grid": "iso-192", "spacing_mm": [round(v, 3) for v in ph.ct.spacing_mm]},
            )
        )
        render = make_phantom(kind, seed=0, noise_hu=0.0, spacing_mm=RENDER_MM, contrast=contrast)
        rows += _case_rows(bs, name, render.ct, render.labels, render.twins, RENDER_MM, grids)
        del render
    return rows


PLAIN_GRIDS = tuple(g for g in GRIDS if g.name in ("thick-2.5-z", "thick-5.0-x", "thick-5.0-z"))
"""Grids of the plain-blood (no contrast) rows."""


def colin_rows() -> list[dict]:
    """Colin27 real-vertical at 1.5 mm, resampled to 4.5 mm slices along z and x, and tilted."""
    from twinsep.realanatomy.colin import CONFIGS, colin_head, colin_paths
    from twinsep.realanatomy.fuse import FusionConfig, fuse_heads
    from twinsep.realanatomy.synth_ct import labels_to_ct

    paths = colin_paths()
    if paths is None:
        return [{"case": "real-vertical", "error": "Colin27 not installed (make realdata)"}]
    bs = _load_bench_segment()
    cfg = FusionConfig(**{**CONFIGS["real-vertical"].__dict__, "spacing_mm": 1.5})
    case = fuse_heads(colin_head(*paths), cfg)
    hu = labels_to_ct(
        case.labels.array,
        case.labels.spacing_mm,
        rng=np.random.default_rng(0),
        noise_hu=0.0,
        contrast=False,
        texture=case.texture,
        table=case.table,
    )
    grids = (
        Grid("thick-4.5-z", _axis_aligned(2), 4.5, "RAS axes"),
        Grid("thick-4.5-x", _axis_aligned(0), 4.5, "RAS axes"),
        Grid(f"tilt-{TILT_DEG:.0f}deg-3.0", _tilted, 3.0, "sheared affine"),
        Grid("sagittal-3.0", _sagittal, 3.0, "axes permuted and flipped"),
    )
    aff = case.labels.affine
    return _case_rows(
        bs,
        "real-vertical",
        Volume(hu, aff.copy()),
        case.labels,
        case.twins,
        1.5,
        grids,
    )


def _markdown(rows: list[dict]) -> str:
    keys = list(TARGETS)
    short = {k: k.removeprefix("dice_").replace("twin_acc_outside_band", "twin") for k in keys}
    cols = ["case", "grid", "spacing_mm", "orientation"] + [short[k] for k in keys]
    cols += ["contrast", "oracle soft/bone/brain/csf/vessel", "seconds"]
    lines = [
        "Dice per label and twin accuracy outside the 15 mm band; in brackets the drop "
        "against the isotropic render of the same case (positive = worse). Oracle: Dice of "
        "the best intensity-only rule on the noise-free CT of that grid (partial-volume "
        "limit of voxel-wise rules; not computed on tilt-corrected grids).",
        "",
        "| " + " | ".join(cols) + " |",
        "|" + "---|" * len(cols),
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['case']} | {r.get('grid', '-')} | failed: {r['error']} |")
            continue
        cells = [
            r["case"],
            r["grid"],
            "x".join(str(v) for v in r["spacing_mm"]),
            r.get("orientation", "RAS"),
        ]
        for k in keys:
            v = r.get(k)
            d = r.get(f"drop_{k}")
            cells.append("-" if v is None else (f"{v} ({d:+.4f})" if d is not None else str(v)))
        cells.append({True: "yes", False: "no"}.get(r.get("contrast"), "-"))
        orc = [r.get(f"oracle_{n}") for n in L.TISSUE_NAMES.values()]
        cells.append(
            "-"
            if all(v is None for v in orc)
            else "/".join("-" if v is None else f"{v:.3f}" for v in orc)
        )
        cells.append(str(r.get("seconds", "-")))
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    worst = {}
    for k in keys:
        drops = [r[f"drop_{k}"] for r in rows if r.get(f"drop_{k}") is not None]
        if drops:
            worst[k] = max(drops)
    lines += [
        "",
        "Largest drop per label: " + ", ".join(f"{short[k]} {v:+.4f}" for k, v in worst.items()),
    ]
    return "\n".join(lines)


def run(out_dir: Path) -> dict[str, Any]:
    """Run the sweep; ``run_all.write_result`` writes ``grids.json`` and ``grids.md``."""
    rows = phantom_rows() + phantom_rows(KINDS[2:], PLAIN_GRIDS, contrast=False) + colin_rows()
    md = _markdown(rows)
    result: dict[str, Any] = {
        "title": "Thick-slice, tilted and permuted grids",
        "rows": rows,
        "markdown": md,
    }
    return result


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out = Path(args[0] if args else "benchmarks/results")
    if "--quick" in sys.argv:
        res = phantom_rows(kinds=KINDS[:1])
        print(_markdown(res))
    else:
        from run_all import write_result  # benchmarks/ is sys.path[0] for a script

        result = run(out)
        write_result(out, "grids", result)
        print(result["markdown"])
