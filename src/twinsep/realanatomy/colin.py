"""A real head (Colin27 T1, Debian ``mricron-data``) as a :class:`HeadModel`, and the
built-in craniopagus cases ``real-vertical`` and ``real-angular`` made from it.

Truth classes are derived from the real MR (documented, reproducible):

* head: T1 above half the Otsu threshold, largest component, holes filled;
* cranial cavity: the brain mask ``ch2bet`` (largest component, holes filled, closed by
  4 mm to include sulci, kept > 5 mm under the skin to drop the mask's streaks at the
  skull base) grown by 1.5 mm for the subarachnoid space;
* CSF: cavity voxels darker than the CSF/grey-matter Bayes boundary of a 3-class EM
  mixture of the T1 inside the brain mask, plus the 1.5 mm subarachnoid shell;
* brain: the rest of the cavity;
* bone: head voxels outside the cavity, within 10 mm of it, at least 2.5 mm under the
  skin and dark on T1 (below the same boundary), closed by 2 mm inside that band to
  take in the bright diploe between the two dark tables;
* the brainstem cut by the image's lower edge is capped by 6 mm of bone, so the cavity
  is closed as in a scan whose canal continues out of the field of view;
* T1-bright voxels within 2 mm outside the cavity and > 4 mm under the skin: CSF/dura;
* soft tissue: the rest of the head; vessels: none (the T1 shows no sinuses).

The synthetic CT (:func:`labels_to_ct`) uses these classes with a T1-derived texture
(bright scalp = fat; grey vs white matter), so the CT pipeline runs on real shapes:
real skull curvature, gyri, ventricles, face and skull base.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from twinsep import labels as L
from twinsep.errors import InputError
from twinsep.realanatomy.fuse import FusedCase, FusionConfig, fuse_heads, write_fused_case
from twinsep.realanatomy.head import HeadModel
from twinsep.realanatomy.synth_ct import labels_to_ct
from twinsep.segment import morph
from twinsep.segment.gmm import fit_gmm_1d
from twinsep.volume import Volume

logger = logging.getLogger(__name__)

INSTALL_HINT = (
    "the real-anatomy cases need the Colin27 head from Debian's mricron-data: run "
    "'make realdata' (or: apt-get download mricron-data && dpkg -x mricron-data_*.deb "
    ".data/mricron-data)"
)

#: The two real-anatomy configurations: vertex to vertex with 30 deg axial twist
#: (faces 30 deg apart about the union axis: O'Connell type I), and frontal-parietal to
#: parietal-occipital (long axes ~90 deg apart: angular).
CONFIGS: dict[str, FusionConfig] = {
    "real-vertical": FusionConfig(
        contact_a=(0.0, 0.0, 1.0), contact_b=(0.0, 0.0, 1.0), twist_deg=30.0, overlap_mm=18.0
    ),
    "real-angular": FusionConfig(
        contact_a=(0.0, 0.6, 1.0), contact_b=(0.0, -0.6, 1.0), twist_deg=0.0, overlap_mm=18.0
    ),
}


def colin_paths(extra: list[Path] | None = None) -> tuple[Path, Path] | None:
    """Paths of ``ch2.nii.gz`` and ``ch2bet.nii.gz`` if installed, else None."""
    roots = list(extra or [])
    here = Path(__file__).resolve()
    roots += [Path.cwd() / ".data", here.parents[3] / ".data", Path("/")]
    for r in roots:
        for sub in ("mricron-data/usr/share/mricron/templates", "usr/share/mricron/templates"):
            d = r / sub
            if (d / "ch2.nii.gz").is_file() and (d / "ch2bet.nii.gz").is_file():
                return d / "ch2.nii.gz", d / "ch2bet.nii.gz"
    return None


def colin_head(t1_path: Path, bet_path: Path) -> HeadModel:
    """Derive tissue classes of the Colin27 head (see module docstring)."""
    import nibabel as nib

    t1_img: Any = nib.load(str(t1_path))
    bet_img: Any = nib.load(str(bet_path))
    t1 = np.asarray(t1_img.dataobj, dtype=np.float32)
    bet = np.asarray(bet_img.dataobj) > 0
    aff = np.asarray(t1_img.affine, dtype=np.float64)
    sp = tuple(float(v) for v in np.linalg.norm(aff[:3, :3], axis=0))
    from twinsep.segment.mr import _otsu

    t_fg = _otsu(t1[::2, ::2, ::2].ravel())
    head = morph.largest_components(t1 > 0.5 * t_fg)
    # the image is cut through the neck, so dark interior (skull, CSF, airways) reaches
    # the lower edge: fill holes slice by slice along the axial axis, then in 3D
    from scipy import ndimage as ndi

    kz0 = int(np.argmax(np.abs(aff[2, :3])))
    head = np.moveaxis(head, kz0, 0).copy()
    for i in range(head.shape[0]):
        head[i] = ndi.binary_fill_holes(head[i])
    head = morph.fill_holes(np.moveaxis(head, 0, kz0))
    brain_mask = morph.largest_components(morph.open_mm(bet, 1.0, sp))  # type: ignore[arg-type]
    brain_mask = morph.fill_holes(morph.close_mm(brain_mask, 4.0, sp))  # type: ignore[arg-type]
    depth_head = morph.distance_mm(head, sp)  # type: ignore[arg-type]
    # brain lies under at least ~5 mm of scalp and skull; the brain mask of ch2bet has
    # streaks reaching the skin near the skull base, which this removes
    brain_mask &= depth_head > 5.0
    brain_mask = morph.largest_components(brain_mask)
    cavity = morph.dilate_mm(brain_mask, 1.5, sp) & (depth_head > 4.0)  # type: ignore[arg-type]
    # The scan ends below the foramen magnum, cutting the brainstem. A real twin CT
    # continues into the neck (the canal runs out of the field of view); here the
    # cut would open the cavity to the air around the fused heads, so the lowest
    # 10 mm of the canal are capped with bone (like the ring of C1).
    kz = int(np.argmax(np.abs(aff[2, :3])))
    idx = np.indices(t1.shape)[kz]
    low = (
        idx < int(np.ceil(6.0 / sp[kz]))
        if aff[2, kz] > 0
        else idx >= t1.shape[kz] - int(np.ceil(6.0 / sp[kz]))
    )
    cap = cavity & low
    cavity &= ~cap
    brain_mask &= ~cap
    rng = np.random.default_rng(0)
    vals = t1[brain_mask]
    x = rng.choice(vals, size=min(200_000, vals.size), replace=False)
    q = np.percentile(x, [5, 50, 90])
    mix = fit_gmm_1d(x, (float(q[0]), float(q[1]), float(q[2])), init_sigma=float(x.std()) / 4)
    t_csf = mix.boundary(0, 1)
    csf = (cavity & (t1 < t_csf)) | (cavity & ~brain_mask)
    band = head & ~cavity & morph.dilate_mm(cavity, 10.0, sp) & (depth_head > 2.5)  # type: ignore[arg-type]
    bone = band & (t1 < t_csf)
    bone = morph.close_mm(bone, 2.0, sp) & band  # type: ignore[arg-type]
    lab = np.zeros(t1.shape, np.uint8)
    lab[head] = L.SOFT_TISSUE
    lab[bone | cap] = L.BONE
    lab[cavity] = L.BRAIN
    lab[csf] = L.CSF
    # T1-bright voxels just outside the cavity but under the skull (dura, bridging
    # veins, marrow-free inner table partial volume) are not scalp: CSF/dura
    dura = (lab == L.SOFT_TISSUE) & morph.dilate_mm(cavity, 2.0, sp) & (depth_head > 4.0)  # type: ignore[arg-type]
    lab[dura] = L.CSF
    # texture: scalp fat is bright on T1; grey matter darker than white matter
    wm = mix.means[2]
    gm = mix.means[1]
    tex = np.zeros(t1.shape, np.float32)
    soft = lab == L.SOFT_TISSUE
    tex[soft] = -np.clip((t1[soft] - wm) / max(wm, 1.0), 0, 1)
    br = lab == L.BRAIN
    tex[br] = np.clip((wm - t1[br]) / max(wm - gm, 1.0), 0, 1) * 2 - 1
    centre = Volume(lab, aff).centroid_mm(cavity)
    return HeadModel(labels=lab, texture=tex, mr=t1, affine=aff, centre_mm=centre)


def build_real_case(
    name: str, *, spacing_mm: float = 1.5, noise_hu: float = 15.0
) -> tuple[FusedCase, Volume, dict]:
    """Fused Colin27 craniopagus ``name``: (case, synthetic CT, truth facts).

    Raises
    ------
    InputError
        Unknown name, or the Colin27 data is not installed (says how to install it).
    """
    if name not in CONFIGS:
        raise InputError(
            "--case", f"unknown real-anatomy case {name!r}; choose one of {', '.join(CONFIGS)}"
        )
    paths = colin_paths()
    if paths is None:
        raise InputError(name, INSTALL_HINT)
    head = colin_head(*paths)
    cfg = CONFIGS[name]
    cfg = FusionConfig(**{**cfg.__dict__, "spacing_mm": spacing_mm})
    case = fuse_heads(head, cfg)
    rng = np.random.default_rng(0)
    ct = labels_to_ct(
        case.labels.array,
        case.labels.spacing_mm,
        rng=rng,
        noise_hu=noise_hu,
        contrast=False,
        texture=case.texture,
        table=case.table,
    )
    truth = {
        "case": name,
        "source": "Colin27 T1 (Debian mricron-data ch2.nii.gz, ch2bet.nii.gz)",
        "type": "vertical" if case.axis_angle_deg >= 140 else "angular",
        "axis_angle_deg": round(case.axis_angle_deg, 1),
        "face_angle_deg": round(case.face_angle_deg, 1),
        "overlap_mm": cfg.overlap_mm,
        "spacing_mm": spacing_mm,
        "noise_hu": noise_hu,
        "contrast": False,
    }
    return case, Volume(ct, case.labels.affine.copy(), {"kind": "CT"}), truth


def write_real_case(name: str, folder: Path) -> Path:
    """Write ``ct.nii.gz``, ``mr.nii.gz``, ``labels.nii.gz``, ``twins.nii.gz`` and
    ``truth.json`` of case ``name`` into ``folder`` (atomically); return the CT path."""
    case, ct, truth = build_real_case(name)
    return write_fused_case(folder, case, ct, "truth.json", truth)
