"""Staging of a total union whose shared sinus is not seen (CT without contrast)."""

from __future__ import annotations

from twinsep.separate.staging import StagingFacts, propose_stages


def _facts(*, total: bool, unseen: bool) -> StagingFacts:
    return StagingFacts(
        total=total,
        vertical=True,
        bridge_area_mm2=5000.0,
        bridge_length_mm=30.0,
        brain_contact_area_mm2=2000.0,
        sinus_unseen=unseen,
    )


def test_inferred_total_is_staged_and_asks_for_a_venogram() -> None:
    stages = propose_stages(_facts(total=True, unseen=True), [])
    seps = [s for s in stages if s.kind == "separation"]
    # no crossing is visible: two separation stages, the first names no vessel
    assert [s.name for s in seps] == ["Staged division 1", "Final separation"]
    assert "not visible" in seps[0].rationale and "venogram" in seps[0].rationale
    # a seen total (contrast, no vessel on the cut) does not carry the sentence
    seen = propose_stages(_facts(total=True, unseen=False), [])
    assert not any("venogram" in s.rationale for s in seen)
    # partial: one separation stage, no sentence
    part = propose_stages(_facts(total=False, unseen=False), [])
    assert [s.name for s in part if s.kind == "separation"] == ["Separation"]
