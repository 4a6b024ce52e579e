"""For the anaesthetists: each twin's estimated blood volume and maximum allowable blood
loss (:mod:`twinsep.anaesthesia.blood`), and where in the staged separation the blood
loss is expected (:mod:`twinsep.anaesthesia.bleeding`); the ``blood`` plan stage
(:mod:`twinsep.anaesthesia.stage`). Estimates, not a transfusion protocol.
"""

from twinsep.anaesthesia.bleeding import SinusFacts, StageBleeding, stage_bleeding
from twinsep.anaesthesia.blood import (
    AGE_BANDS,
    PRETERM_BAND,
    AgeBand,
    BloodParams,
    TwinBlood,
    age_band,
    ebv_ml,
    mabl_ml,
    twin_blood,
)

__all__ = [
    "AGE_BANDS",
    "PRETERM_BAND",
    "AgeBand",
    "BloodParams",
    "SinusFacts",
    "StageBleeding",
    "TwinBlood",
    "age_band",
    "ebv_ml",
    "mabl_ml",
    "stage_bleeding",
    "twin_blood",
]
