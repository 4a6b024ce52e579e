"""MR alone: the head's dark/bright T1 level (``segment.mr_dark.dark_bright_level``).

The level was the Bayes boundary between the darkest and the heaviest class of a
three-class mixture of the head's values, used unchecked. On a generated head whose
cortex is a uniform 3 mm shell (white matter 82 % of the brain) the darkest class took
air, bone, CSF, marrow, skin and grey matter at once, was also the heaviest, and the level
came out at -172: no CSF at all, brain Dice 0.69, and no warning. Without a fat layer
the level came out at 524, above the grey matter (470), and CSF Dice was 0.13. Here the
fit is checked (the darkest class separated from the next, the level between them) and
a mixture with more classes is used when it fails. Generated heads: 1.5 mm voxels, 96^3,
2^3 points per voxel, the T1 levels of the blind MR phantom (bone 30, marrow 330, CSF 140,
grey 470, deep grey 540, white 640, fat 950, skin 420), Rician noise 3 % of white matter.
"""

from __future__ import annotations

import numpy as np
import pytest

from twinsep import labels as L
from twinsep.segment import mr as M
from twinsep.segment.mr_dark import dark_bright_level, fit_classes
from twinsep.segment.params import MRParams
from twinsep.volume import Volume

SP = 1.5
N = 96
SUB = 2
CENTRE = np.array([72.0, 72.0, 72.0], np.float32)


def _head(fat: float | None, cortex_mm: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """(T1, truth labels): skin, fat (none when ``fat`` is None), a 4 mm skull (outer
    table, marrow, inner table), a 3 mm CSF layer, a uniform cortex ``cortex_mm`` thick
    over white matter, deep grey nuclei (540), two ventricles of 10 mm radius."""
    shells = [(64.0, 420.0, L.SOFT_TISSUE)]
    if fat is not None:
        shells.append((62.0, fat, L.SOFT_TISSUE))
    shells += [
        (59.0, 30.0, L.BONE),
        (57.5, 330.0, L.BONE),
        (55.5, 30.0, L.BONE),
        (54.0, 140.0, L.CSF),
        (51.0, 470.0, L.BRAIN),  # the cortex, as thick everywhere
        (51.0 - cortex_mm, 640.0, L.BRAIN),
    ]

    def tissue(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = np.linalg.norm(p - CENTRE, axis=-1)
        val = np.zeros(r.shape, np.float32)
        lab = np.zeros(r.shape, np.uint8)
        for radius, value, code in shells:
            inside = r < radius
            val[inside], lab[inside] = value, code
        for dx in (-16.0, 16.0):  # deep grey nuclei, 7 x 10 x 6 mm half-axes
            q = (p - CENTRE - np.array([dx, 0.0, -8.0], np.float32)) / np.array([7, 10, 6])
            deep = np.linalg.norm(q, axis=-1) < 1.0
            val[deep], lab[deep] = 540.0, L.BRAIN
        for dx in (-14.0, 14.0):
            vent = np.linalg.norm(p - CENTRE - np.array([dx, 0.0, 8.0], np.float32), axis=-1)
            val[vent < 10.0], lab[vent < 10.0] = 140.0, L.CSF
        return val, lab

    fine = (np.indices((N * SUB,) * 3, dtype=np.float32) + 0.5) * (SP / SUB)
    img = tissue(np.moveaxis(fine, 0, -1))[0].reshape(N, SUB, N, SUB, N, SUB).mean(axis=(1, 3, 5))
    lab = tissue(np.moveaxis((np.indices((N,) * 3, dtype=np.float32) + 0.5) * SP, 0, -1))[1]
    rng = np.random.default_rng(0)
    sigma = 0.03 * 640.0
    t1 = np.hypot(img + rng.normal(0.0, sigma, img.shape), rng.normal(0.0, sigma, img.shape))
    return t1.astype(np.float32), lab


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / float(a.sum() + b.sum())


@pytest.mark.parametrize(
    ("fat", "cortex_mm"),
    [
        # measured CSF 0.886, brain 0.996, level 208 (before: -172, CSF 0.0, brain 0.69)
        (950.0, 3.0),
        # measured CSF 0.884, brain 0.996, level 243 (before: 524, CSF 0.13, brain 0.95)
        (None, 3.0),
        # the level passes (406, three classes) but lies above the CSF/grey level 301:
        # measured CSF 0.878, brain 0.996 (before the brain's growth through the voxels
        # between the two levels: CSF 0.44, its layer labelled bone)
        (950.0, 4.0),
    ],
    ids=["uniform-cortex", "uniform-cortex-no-fat", "uniform-4mm-cortex"],
)
def test_uniform_cortex_head_keeps_its_csf(fat: float | None, cortex_mm: float) -> None:
    t1, truth = _head(fat, cortex_mm)
    res = M.segment_mr_t1(Volume(t1, np.diag([SP, SP, SP, 1.0]), {"source": "t1.nii"}))
    out = res.labels.array
    level = res.hu_thresholds["dark_tissue"]
    assert 140.0 < level < 470.0, level  # between the CSF and the grey matter
    assert _dice(out == L.CSF, truth == L.CSF) >= 0.85
    assert _dice(out == L.BRAIN, truth == L.BRAIN) >= 0.99
    assert len(res.warnings) == 1  # the level was trusted: no second warning


def _values(classes: list[tuple[float, float, float]], n: int = 100_000) -> np.ndarray:
    """``n`` values from a mixture of (mean, sigma, weight) classes (seeded)."""
    rng = np.random.default_rng(7)
    parts = [rng.normal(m, s, int(round(w * n))) for m, s, w in classes]
    return np.concatenate(parts).astype(np.float32)


#: Colin27 twins' head, as its three-class fit reads it (means 36 / 86 / 146, sigmas
#: 8 / 23 / 26, weights 0.12 / 0.83 / 0.05): separated by 6.4 sigmas, kept.
COLIN = [(36.0, 8.0, 0.12), (86.0, 23.0, 0.83), (146.0, 26.0, 0.05)]
#: Blind MR phantom's head (fit 181 / 355 / 636, sigmas 69 / 21 / 153, weights 0.25 /
#: 0.20 / 0.54): 2.5 sigmas, kept.
BLIND = [(181.0, 69.0, 0.25), (355.0, 21.0, 0.20), (636.0, 153.0, 0.54)]


@pytest.mark.parametrize("classes", [COLIN, BLIND], ids=["colin27", "blind-phantom"])
def test_separated_three_class_fit_keeps_its_level(
    classes: list[tuple[float, float, float]],
) -> None:
    """Heads whose three-class fit passes: the level is that fit's boundary between its
    darkest and heaviest class, unchanged."""
    vals = _values(classes)
    params = MRParams()
    mix = fit_classes(vals, 3, params)
    ib = int(np.argmax(mix.weights))
    got = dark_bright_level(vals, params)
    assert got.classes == 3 and got.trusted
    assert got.level == mix.boundary(0, ib)


def test_infant_contrast_level_between_csf_and_white_matter() -> None:
    """An unmyelinated infant T1: white matter (380) darker than grey (520). The dark
    tissues are air and bone (30), CSF (140); the level must lie above the CSF and below
    the white matter, the darker brain tissue."""
    vals = _values(
        [
            (30.0, 20.0, 0.10),
            (140.0, 20.0, 0.12),
            (330.0, 20.0, 0.05),
            (380.0, 20.0, 0.45),
            (520.0, 20.0, 0.18),
            (950.0, 25.0, 0.10),
        ]
    )
    got = dark_bright_level(vals, MRParams())
    assert got.trusted
    assert 140.0 + 2 * 20.0 < got.level < 380.0 - 2 * 20.0, got


def test_no_tissue_contrast_is_not_trusted() -> None:
    """One broad class of values (an image without tissue contrast): no mixture's
    darkest class is clear of the next (3 classes: 416 + 2 x 83 against 499), and the
    level says it is not trusted; the plan then warns."""
    vals = np.random.default_rng(3).normal(500.0, 100.0, 100_000).astype(np.float32)
    got = dark_bright_level(vals, MRParams())
    assert not got.trusted
    words = M._dark_level_warning(got)
    assert len(words) == 1 and "not trusted" in words[0]
    assert M._dark_level_warning(dark_bright_level(_values(COLIN), MRParams())) == ()
