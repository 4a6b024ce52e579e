"""Air cells under the skull base: the scalp depth is measured from the air around the head.

Bone and body masks are built here (no CT): a cranium (inner radius 45 mm, 3 mm
skull, 8 mm scalp) over a neck, with a mastoid-like air cell (radius 9 mm)
under the skull base, against the outer table, in a lump of soft tissue behind the ear; the cell reaches the outside air
through a canal 4 mm across (an ear canal and middle ear). That air is connected to the
outside, so before ``SegmentParams.skin_air_passage_mm`` the scalp layer (the body
shallower than the vault's depth under the skin) was measured from it too and the
cranium within that depth of the cell was left out of the cavity: what Colin27's skull
base showed (37 mL of cerebellum beside a notch of air under the occipital bone).
"""

from __future__ import annotations

import numpy as np

from twinsep.segment.cavity import _skin_air, find_cranial_cavity
from twinsep.segment.params import SegmentParams

SP_MM = 2.0
R_IN_MM = 45.0
SCALP_MM = 8.0  # an older child's scalp (an adult's is 5-10 mm, Colin27's reads 11)


def _grid(lo: tuple[float, float, float], hi: tuple[float, float, float]) -> np.ndarray:
    """World coordinates (mm) of voxel centres on a 2 mm grid from lo to hi, (..., 3)."""
    axes = [np.arange(a, b, SP_MM) + 0.5 * SP_MM for a, b in zip(lo, hi, strict=True)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)


def _head_with_air_cell(
    canal_mm: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(bone, body, cranium, cranium within 8 mm of the cell) for a canal ``canal_mm``
    across from the cell to the air beside the head."""
    x = _grid((-70.0, -64.0, -110.0), (70.0, 64.0, 60.0))
    rad = np.linalg.norm(x, axis=-1)
    off_z = np.hypot(x[..., 0], x[..., 1])
    neck = (x[..., 2] < 0.0) & (off_z <= 30.0)
    # the cell's centre below and to the side of the skull base, against the outer table
    u = np.array([0.75, 0.0, -0.66])
    u /= np.linalg.norm(u)
    c = u * (R_IN_MM + 3.0 + 9.0)
    d_cell = np.linalg.norm(x - c, axis=-1)
    lump = np.linalg.norm(x - c, axis=-1) <= 20.0  # mastoid process and its soft tissue
    body = (rad <= R_IN_MM + 3.0 + SCALP_MM) | neck | lump
    # canal from the cell outwards along +x to beyond the lump
    canal = (np.hypot(x[..., 1] - c[1], x[..., 2] - c[2]) <= canal_mm / 2.0) & (x[..., 0] >= c[0])
    air = (d_cell <= 9.0) | canal
    body &= ~air
    foramen = (x[..., 2] < 0.0) & (off_z <= 13.0)
    skull = (rad > R_IN_MM) & (rad <= R_IN_MM + 3.0) & ~foramen
    # the cell's bony lining (pneumatised bone): 2 mm of bone around the air
    lining = (d_cell > 9.0) & (d_cell <= 11.0) & body & (rad > R_IN_MM)
    bone = (skull | lining) & body
    cranium = rad <= R_IN_MM - 1.0
    near = cranium & (d_cell <= 9.0 + 3.0 + 8.0)
    return bone, body, cranium, near


def test_cranium_beside_an_air_cell_is_cavity() -> None:
    sp = (SP_MM,) * 3
    bone, body, cranium, near = _head_with_air_cell(canal_mm=4.0)
    assert near.sum() * SP_MM**3 / 1000.0 >= 1.5  # about 2 mL of cranium beside the cell
    cav = find_cranial_cavity(bone, body, sp).mask
    found = float(cav[near].mean())
    assert found >= 0.97, f"{found:.3f} of the cranium beside the cell is cavity"
    assert float(cav[cranium].mean()) >= 0.99
    # measured from all outside air (the rule off), the cranium beside the cell is scalp
    off = find_cranial_cavity(bone, body, sp, params=SegmentParams(skin_air_passage_mm=0.0))
    lost = 1.0 - float(off.mask[near].mean())
    assert lost >= 0.2, f"only {lost:.3f} lost without the rule"
    # the cavity does not follow the canal or the cell (they are air, not body)
    assert not (cav & ~body).any()


def test_skin_air_drops_a_bone_lined_channel_and_keeps_a_skin_lined_one() -> None:
    sp = (SP_MM,) * 3
    x = _grid((-40.0, -40.0, -40.0), (40.0, 40.0, 40.0))
    body = np.linalg.norm(x, axis=-1) <= 30.0
    # a blind channel 4 mm across into the body (narrower than the 6 mm ball), and a
    # wide notch 16 mm across
    off = np.hypot(x[..., 1], x[..., 2])
    chan = (off <= 2.0) & (x[..., 0] >= 10.0)
    wide = (np.hypot(x[..., 0], x[..., 2]) <= 8.0) & (x[..., 1] >= 14.0)
    outside = ~body | chan | wide
    inner = chan & body & (np.linalg.norm(x, axis=-1) <= 26.0)
    no_bone = np.zeros(body.shape, bool)
    lining = body & ~outside & (off <= 5.0) & (x[..., 0] >= 10.0)  # bone round the channel
    for bone, kept in ((lining, False), (no_bone, True)):
        air = _skin_air(outside, bone, sp, 3.0, 0.25)
        assert not (air & ~outside).any()
        assert bool(air[inner].all()) is kept and bool(air[inner].any()) is kept
        # the wide notch is skin air but for its floor's corners (the ball's radius)
        notch = wide & body & (x[..., 1] >= 14.0 + 3.0 + SP_MM)
        assert air[notch].all()
        assert air[np.linalg.norm(x, axis=-1) > 31.0].all()
    assert (_skin_air(outside, lining, sp, 0.0, 0.25) == outside).all()
