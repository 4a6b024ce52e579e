"""``segment.leads.find_leads`` on masks: what counts as a lead is its shape.

A body slab (25 voxels thick, 2.5 mm grid) that the array's faces cut on four sides, with
a bone-bright plate on its surface (bone with no scalp over it: bright and beside the
air, but not thin), a bright plate just under its surface, two leads (one-voxel bright
wires; one with its partial volume in the next voxel column) that leave the skin and run
along it out of the array, the second lying on the skin where the array ends, and a
bright stub 10 mm long on the skin (too short for a lead). Only the wires and the halo
are a lead; the slab and its faces at the array's edge are not (the body is padded by its
edge before the opening), nor the plates or the stub.
"""

from __future__ import annotations

import numpy as np

from twinsep.segment.leads import find_leads
from twinsep.segment.params import LeadParams

SP = (2.5, 2.5, 2.5)


def _scene() -> dict[str, np.ndarray]:
    shape = (48, 40, 48)
    body = np.zeros(shape, bool)
    body[5:30] = True  # the slab: x 5..29, every y and z (cut by the array's faces)
    bright = np.zeros(shape, bool)
    bright[29, 5:15, 5:40] = True  # exposed bone on the surface
    bright[26, 20:30, 5:40] = True  # bone under 3 voxels of tissue
    wire = np.zeros(shape, bool)
    wire[30:35, 33, 10] = True  # out from the skin, 12.5 mm
    wire[34, 33, 10:] = True  # then along the body, out of the array (95 mm)
    # a 2 mm cable lying between two voxel columns: its partial volume lifts one
    # neighbour above the body threshold (a cable on a column's axis lies inside the
    # voxel and lifts none)
    halo = np.roll(wire, 1, 1) & ~body & ~wire
    # a second lead: out of the skin, along it one voxel off, and lying on it for its
    # last 7.5 mm, where the array ends (a lead on the skin is not thin for the 2.5 mm
    # ball on this grid: the ball fits in the skin and the wire together)
    wire2 = np.zeros(shape, bool)
    wire2[30:32, 20, 20] = True
    wire2[31, 20, 20:45] = True
    wire2[30, 20, 45:] = True
    wire1 = wire.copy()
    wire |= wire2
    stub = np.zeros(shape, bool)
    stub[30:34, 36, 30] = True  # 10 mm out of the skin and no farther
    body |= wire | halo | stub
    bright |= wire | stub
    return {
        "body": body,
        "bright": bright,
        "wire": wire,
        "wire1": wire1,
        "halo": halo,
        "stub": stub,
    }


def test_the_wire_is_a_lead() -> None:
    s = _scene()
    lead = find_leads(s["body"], s["bright"], SP)
    # all but the voxels beside the slab, where the wires leave or lie on the skin (they
    # stay body): 9 of 75 here
    assert int((~lead[s["wire"]]).sum()) <= 10, int((~lead[s["wire"]]).sum())
    # the halo beside the wire goes with it
    assert float(lead[s["halo"]].mean()) > 0.9


def test_nothing_of_the_slab_or_the_stub_is_a_lead() -> None:
    s = _scene()
    lead = find_leads(s["body"], s["bright"], SP)
    slab = s["body"] & ~s["wire"] & ~s["halo"] & ~s["stub"]
    # the wire's first voxel out of the skin is where it joins: one slab voxel at most
    assert int(lead[slab].sum()) <= 1, int(lead[slab].sum())
    assert not lead[s["stub"]].any()


def test_no_seed_no_work() -> None:
    """Bright voxels none of which lies beside the outside air: nothing, whatever else."""
    s = _scene()
    bright = np.zeros_like(s["bright"])
    bright[26, 20:30, 5:40] = True
    assert not find_leads(s["body"], bright, SP).any()


def test_length_and_share_gate_the_wire() -> None:
    s = _scene()
    long_only = LeadParams(min_length_mm=200.0)
    assert not find_leads(s["body"], s["bright"], SP, params=long_only).any()
    # the first wire with its halo is half bright; the second, with none, is all bright
    dense_only = LeadParams(min_bright_share=0.9)
    lead = find_leads(s["body"], s["bright"], SP, params=dense_only)
    assert not lead[s["wire1"]].any()
    assert lead[s["wire"] & ~s["wire1"]].any()
