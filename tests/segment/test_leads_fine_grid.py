"""``segment.leads.find_leads`` on a fine grid, where a lead's own halo wraps its core.

On a 0.75 mm grid a 2 mm cable (2500 HU, PSF 0.6 mm) reads bone-bright over about 2 x 2
voxels and lifts a ring of voxels around them above the body threshold but not to bone:
no bright voxel of the lead lies beside the outside air (1.06-1.5 mm from it, measured on
the generated hand of test_leads_fingers rendered at 0.75 mm), and a search seeded only
from bright voxels beside the air found no lead at all (the cable stayed 51 % bone, 49 %
soft tissue). ``LeadParams.seed_reach_mm`` seeds from bright voxels within 1.5 mm of the
air. Masks: a body slab cut by the array's faces, bone 2 voxels under its surface (within
the reach, but under the slab: not thin), and a lead - a bright core 2 x 2 voxels in a
one-voxel halo - that leaves the skin and runs along it out of the array.
"""

from __future__ import annotations

import numpy as np

from twinsep.segment.leads import find_leads
from twinsep.segment.params import LeadParams

SP = (0.75, 0.75, 0.75)


def _scene() -> dict[str, np.ndarray]:
    shape = (60, 30, 160)
    body = np.zeros(shape, bool)
    body[:30] = True  # the slab: x 0..29, its surface at x = 29
    bright = np.zeros(shape, bool)
    bright[27, 5:25, 10:60] = True  # bone 2 voxels (1.5 mm) under the surface
    core = np.zeros(shape, bool)
    core[30:40, 14:16, 70:72] = True  # out of the skin, 7.5 mm
    core[38:40, 14:16, 70:] = True  # then along the skin, out of the array (67.5 mm)
    halo = np.zeros(shape, bool)
    for ax in range(3):
        for d in (-1, 1):
            halo |= np.roll(core, d, ax)
    halo &= ~core & ~body
    body |= core | halo
    bright |= core
    return {"body": body, "bright": bright, "core": core, "halo": halo}


def test_a_wrapped_core_is_found() -> None:
    s = _scene()
    lead = find_leads(s["body"], s["bright"], SP)
    # all but the voxels beside the slab where the lead leaves the skin
    assert float(lead[s["core"]].mean()) > 0.9, float(lead[s["core"]].mean())
    assert float(lead[s["halo"]].mean()) > 0.9, float(lead[s["halo"]].mean())
    slab = s["body"] & ~s["core"] & ~s["halo"]
    assert not lead[slab].any()


def test_only_bright_voxels_beside_the_air_miss_it() -> None:
    """The reach of one voxel (what the rule read before): no seed, no lead."""
    s = _scene()
    lead = find_leads(s["body"], s["bright"], SP, params=LeadParams(seed_reach_mm=0.0))
    assert not lead.any()
