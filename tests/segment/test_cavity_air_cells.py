"""Air beside the skull base: a notch under a thin plate is no skin, pneumatised bone is.

Bone, body and part-air masks are built here (no CT) on a 2 mm grid: a cranium (inner
radius 45 mm, 3 mm skull, 8 mm scalp) over a neck, with a pocket of air (radius 9 mm)
below and beside the skull base that reaches the air beside the head through a canal
4 mm across (narrower than the 6 mm ball of ``SegmentParams.skin_air_passage_mm``).

* A notch under a thin plate (Colin27's, under the occipital bone): the pocket has a
  2 mm bony lining against the outer table, in soft tissue. Measured from that air, the
  scalp layer (the body within the vault's depth under the skin) took the cranium
  within 8 mm of it for scalp; measured from the air around the head, it is cavity.
* Pneumatised bone (a mastoid): the pocket lies in a block of bone 18 mm around it
  whose inside is cells and septa too thin for the bone mask, i.e. part-air body
  (``SegmentParams.skin_air_cells_level``) inside a cortex. The pocket stays skin air,
  so the septa stay scalp: without the part-air test they were deep body inside the
  closed skull and the cavity took 6 mL of them (the adult real CT's 39.6 mL).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from twinsep.segment.cavity import find_cranial_cavity
from twinsep.segment.params import SegmentParams

SP_MM = 2.0
SP = (SP_MM, SP_MM, SP_MM)
VX_ML = SP_MM**3 / 1000.0
R_IN_MM = 45.0
SKULL_MM = 3.0
SCALP_MM = 8.0  # an older child's scalp (an adult's is 5-10 mm, Colin27's reads 11)
CELL_MM = 9.0


def _grid(lo: tuple[float, float, float], hi: tuple[float, float, float]) -> np.ndarray:
    """World coordinates (mm) of voxel centres on a 2 mm grid from lo to hi, (..., 3)."""
    axes = [np.arange(a, b, SP_MM) + 0.5 * SP_MM for a, b in zip(lo, hi, strict=True)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)


def _head(pneumatised: bool) -> dict[str, np.ndarray]:
    """Masks of the head with its pocket of air: bone, body, part_air, the cranium, the
    cranium within 8 mm of the pocket's lining (``near``) and the pneumatised block's
    inside (``cells``; empty beside a thin plate)."""
    x = _grid((-70.0, -64.0, -110.0), (84.0, 64.0, 60.0))
    rad = np.linalg.norm(x, axis=-1)
    off_z = np.hypot(x[..., 0], x[..., 1])
    neck = (x[..., 2] < 0.0) & (off_z <= 30.0)
    u = np.array([0.75, 0.0, -0.66])
    u /= np.linalg.norm(u)
    c = u * (R_IN_MM + SKULL_MM + CELL_MM)  # against the outer table
    d_cell = np.linalg.norm(x - c, axis=-1)
    body = (rad <= R_IN_MM + SKULL_MM + SCALP_MM) | neck | (d_cell <= 22.0)
    canal = (np.hypot(x[..., 1] - c[1], x[..., 2] - c[2]) <= 2.0) & (x[..., 0] >= c[0])
    body &= ~((d_cell <= CELL_MM) | canal)
    foramen = (x[..., 2] < 0.0) & (off_z <= 13.0)
    skull = (rad > R_IN_MM) & (rad <= R_IN_MM + SKULL_MM) & ~foramen
    lining = (d_cell > CELL_MM) & (d_cell <= CELL_MM + 2.0) & (rad > R_IN_MM)
    cells = np.zeros(body.shape, bool)
    if pneumatised:
        # a block of bone 18 mm around the pocket: cortex outside, cells and septa
        # (part air, not bone) inside, down to the inner table
        cells = (d_cell > CELL_MM + 2.0) & (d_cell <= 18.0) & (rad > R_IN_MM) & body
        cortex = (d_cell > 18.0) & (d_cell <= 20.0) & (rad > R_IN_MM)
        skull = (skull & ~cells) | cortex
    bone = (skull | lining) & body
    cranium = rad <= R_IN_MM - 1.0
    near = cranium & (d_cell <= CELL_MM + SKULL_MM + SCALP_MM)
    return {
        "bone": bone,
        "body": body,
        "part_air": cells.copy(),
        "cranium": cranium,
        "near": near,
        "cells": cells,
    }


@pytest.fixture(scope="module")
def plate() -> dict[str, np.ndarray]:
    return _head(pneumatised=False)


@pytest.fixture(scope="module")
def mastoid() -> dict[str, np.ndarray]:
    return _head(pneumatised=True)


def test_cranium_beside_a_notch_under_a_thin_plate_is_cavity(plate: dict[str, np.ndarray]) -> None:
    m = plate
    assert m["near"].sum() * VX_ML >= 1.5  # about 2 mL of cranium beside the pocket
    cav = find_cranial_cavity(m["bone"], m["body"], SP, part_air=m["part_air"]).mask
    found = float(cav[m["near"]].mean())
    assert found >= 0.97, f"{found:.3f} of the cranium beside the notch is cavity"
    assert float(cav[m["cranium"]].mean()) >= 0.99
    assert not (cav & ~m["body"]).any()
    # measured from all outside air (no part-air mask: the rule is off), that cranium
    # lies within the scalp's depth of the notch and is lost
    off = find_cranial_cavity(m["bone"], m["body"], SP).mask
    lost = 1.0 - float(off[m["near"]].mean())
    assert lost >= 0.2, f"only {lost:.3f} lost without the rule"


def test_pneumatised_bone_around_the_air_stays_out_of_the_cavity(
    mastoid: dict[str, np.ndarray],
) -> None:
    m = mastoid
    assert m["cells"].sum() * VX_ML >= 10.0
    off = find_cranial_cavity(m["bone"], m["body"], SP).mask
    cav = find_cranial_cavity(m["bone"], m["body"], SP, part_air=m["part_air"]).mask
    taken = float(cav[m["cells"]].sum()) * VX_ML
    taken_off = float(off[m["cells"]].sum()) * VX_ML
    assert taken <= taken_off + 0.05, f"{taken:.2f} mL of the cells in the cavity"
    assert taken <= 0.5
    assert float(cav[m["cranium"]].mean()) >= 0.99
    # without the part-air test (the notch rule alone) the septa become cavity
    alone = replace(SegmentParams(), skin_air_cells_share=1.0)
    bad = find_cranial_cavity(m["bone"], m["body"], SP, params=alone, part_air=m["part_air"])
    assert float(bad.mask[m["cells"]].sum()) * VX_ML >= 3.0
    # the part-air share decides: the same block read as soft tissue (no part air) is a
    # notch under bone, and the cranium beside it is found
    assert float(cav[m["near"]].mean()) <= 0.8
    none = np.zeros(m["body"].shape, bool)
    soft = find_cranial_cavity(m["bone"], m["body"], SP, part_air=none).mask
    assert float(soft[m["near"]].mean()) >= 0.97
