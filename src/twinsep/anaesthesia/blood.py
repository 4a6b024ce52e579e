"""Estimated blood volume (EBV) and maximum allowable blood loss (MABL) per twin.

Pure functions of what the team gives (weight, age, starting haematocrit); nothing here
reads the scan. The numbers are estimates for the anaesthetists' first sums, **not a
transfusion protocol**: the team transfuses on measured haemoglobin/haematocrit and the
patient.

Sources (checked 2026-11-28; ranges kept where they disagree, docs/anaesthesia.md):

* **EBV in mL/kg by age** - University of Iowa "Iowa Protocols", *Maximum allowable
  blood loss* (tabulating Roseff, Luban & Manno, Transfusion 2002;42:1398; Strauss,
  Transfusion 2008;48:209; Goobie et al. 2019; Howie 2011; Australian National Blood
  Authority 2016; WFSA 2008; Lemmens 2006): preterm neonate 90-100 (Goobie 100,
  others 90-95), term neonate 80-90 (Goobie 85, peaking at about 105 by the end of the
  first month, then falling; Howie 80; NBA 80-85), infant 70-80 (Goobie: a 10 kg infant
  80), child 70-75 (Howie/NBA 75-80), adult 65-70 (70 at a normal BMI). The ASA
  Monitor's ACE question (a 1.8 kg preterm neonate: EBV 180 mL, i.e. 100 mL/kg) and
  pharmacology teaching tables (preterm 95, term 85, infant 80, adult 75/65) fall in
  these ranges. Preterm neonates are not chosen from the age in months (a preterm
  twin's age should be given corrected for prematurity); their band is listed.
* **MABL** - three forms with the same EBV: the simple form EBV x (Hct_start -
  Hct_min) / Hct_start (Roseff 2002 via Iowa; ASA Monitor ACE), which ignores the
  dilution during the loss; Gross's (Anesthesiology 1983;58:277) EBV x (Hct_start -
  Hct_min) / mean(Hct_start, Hct_min), which corrects it (the default here); and the
  exponential (isovolaemic) form EBV x ln(Hct_start / Hct_min) (Bourke & Smith,
  Anesthesiology 1974). For 35 -> 25 % they give 0.286, 0.333 and 0.336 EBV.
* **Lowest acceptable Hct** - Roseff 2002 / Strauss 2008 (via Iowa): a healthy infant
  is rarely transfused above Hct 20-25 %, a child 20 %; TAXI (Valentine et al., Pediatr
  Crit Care Med 2018; Downey & Goobie, Anesthesiology 2022;137:604): Hb 7 g/dL (Hct
  about 21 %) for stable children; Hb 8 g/dL (about 24 %) in perioperative bleeding
  over 4 months of age, and 12 g/dL (about 36 %) for infants under 4 months with acute
  loss over 10 % of EBV (UMEM pearl 2012, citing Anaesth Intensive Care Med
  2012;13:20). Default 25 %: the top of the infants' 20-25 %, the smaller MABL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from twinsep.errors import InputError

TWINS: tuple[str, str] = ("A", "B")

#: Sane limits of the inputs (refused outside, exit 2): a live-born craniopagus twin
#: weighs more than 0.4 kg; adult craniopagus twins have been separated (to 150 kg).
WEIGHT_KG_LIMITS: tuple[float, float] = (0.4, 150.0)
#: Postnatal age in months (0 to 100 years).
AGE_MONTHS_LIMITS: tuple[float, float] = (0.0, 1200.0)
#: Haematocrit in percent (a fraction such as 0.35 is refused: it reads as 0.35 %).
HCT_PCT_LIMITS: tuple[float, float] = (15.0, 75.0)
#: The lowest acceptable haematocrit a team may set, percent.
HCT_MIN_PCT_LIMITS: tuple[float, float] = (10.0, 45.0)

Formula = Literal["gross", "simple", "log"]


@dataclass(frozen=True)
class AgeBand:
    """Blood volume per kilogram of one age band.

    Attributes
    ----------
    name : str
        Words for the report (``"infant (3 to 12 months)"``).
    from_months, to_months : float
        Postnatal ages the band covers, months: ``from_months <= age < to_months``.
    ml_per_kg : (float, float)
        Lowest and highest blood volume the sources give for the band, mL/kg.
    source : str
        Where the range comes from (short).
    """

    name: str
    from_months: float
    to_months: float
    ml_per_kg: tuple[float, float]
    source: str

    @property
    def ml_per_kg_mid(self) -> float:
        """Middle of the band's range, mL/kg (the point estimate)."""
        return 0.5 * (self.ml_per_kg[0] + self.ml_per_kg[1])


#: Age bands by postnatal age (sources in the module docstring).
AGE_BANDS: tuple[AgeBand, ...] = (
    AgeBand("newborn (under 1 month)", 0.0, 1.0, (80.0, 90.0), "Roseff 2002; Goobie 2019 85"),
    AgeBand(
        "young infant (1 to 3 months)",
        1.0,
        3.0,
        (80.0, 105.0),
        "term-newborn 80-90 until 3 months in most tables; Goobie 2019: about 105 "
        "at the end of the first month, then falling",
    ),
    AgeBand("infant (3 to 12 months)", 3.0, 12.0, (70.0, 80.0), "Roseff 2002 70-80; Goobie 80"),
    AgeBand("child (1 to 2 years)", 12.0, 24.0, (70.0, 80.0), "Roseff 2002 70-75; Howie 75-80"),
    AgeBand("child (2 to 12 years)", 24.0, 144.0, (70.0, 80.0), "Roseff 2002 70-75; Howie 75-80"),
    AgeBand("adolescent or adult", 144.0, math.inf, (65.0, 75.0), "Roseff 2002 65-70; 75 men"),
)

#: Preterm neonates: listed, never chosen from the age (needs the gestation at birth).
PRETERM_BAND = AgeBand(
    "preterm neonate", 0.0, 1.0, (90.0, 105.0), "Roseff 2002 90-100; Goobie 2019 100"
)


@dataclass(frozen=True)
class BloodParams:
    """Numbers of the blood estimate (recorded in plan.json ``parameters.blood``).

    Attributes
    ----------
    hct_min_pct : float
        Lowest acceptable haematocrit, percent, when the team gives none (``--hct-min``):
        25, the top of the 20-25 % the sources give for infants (Roseff 2002, Strauss
        2008), so the smaller MABL.
    hct_min_range_pct : (float, float)
        The thresholds the sources give for stable infants and children, percent (Hb 7
        g/dL about 21 %, TAXI 2018; 20-25 %, Roseff 2002): shown beside the figure.
    formula : {"gross", "simple", "log"}
        The MABL shown first (Gross 1983); the other two give the range.
    young_infant_months : float
        Below this age the report notes the higher threshold some sources give for
        acute loss (Hb 12 g/dL, about Hct 36 %, under 4 months), months.
    large_vessel_mm : float
        A vessel crossing at least this wide makes its stage's bleeding risk high, mm,
        compared with its width as the outputs write it (whole mm, ``twinsep.readout``:
        a 2.6 mm section reads "3 mm" and is high). A judgement, not a sourced figure: an
        infant's major dural sinuses are wider, its emissary and bridging veins mostly
        narrower.
    """

    hct_min_pct: float = 25.0
    hct_min_range_pct: tuple[float, float] = (20.0, 25.0)
    formula: Formula = "gross"
    young_infant_months: float = 4.0
    large_vessel_mm: float = 3.0


@dataclass(frozen=True)
class TwinBlood:
    """One twin's blood volume and allowable loss (numbers None when not given).

    Attributes
    ----------
    twin : {"A", "B"}
    weight_kg, age_months, hct_start_pct : float or None
        What the team gave.
    hct_min_pct : float
        The threshold used, percent.
    band : AgeBand or None
        The age band (None without an age).
    ebv_ml, ebv_ml_range : float, (float, float) or None
        EBV at the band's middle and over the band's range, mL (weight and age needed).
    mabl_ml : float or None
        MABL by ``BloodParams.formula`` at the band's middle, mL (EBV and Hct needed;
        0 when the starting Hct is at or below the threshold).
    mabl_ml_range : (float, float) or None
        Smallest and largest MABL over the band's range and the three formulas, mL.
    missing : tuple of str
        The options not given that a number needs (``"--weight-kg"``, ...).
    notes : tuple of str
        Plain-words remarks (threshold at or above the start, young infant).
    """

    twin: str
    weight_kg: float | None
    age_months: float | None
    hct_start_pct: float | None
    hct_min_pct: float
    band: AgeBand | None
    ebv_ml: float | None
    ebv_ml_range: tuple[float, float] | None
    mabl_ml: float | None
    mabl_ml_range: tuple[float, float] | None
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def age_band(age_months: float) -> AgeBand:
    """The age band of a postnatal age.

    Parameters
    ----------
    age_months : float
        Postnatal age, months (corrected for prematurity when born preterm), >= 0.

    Returns
    -------
    AgeBand
        The band with ``from_months <= age_months < to_months``.

    Raises
    ------
    ValueError
        For a negative or non-finite age.
    """
    if not math.isfinite(age_months) or age_months < 0:
        raise ValueError(f"age {age_months} months is not a postnatal age")
    return next(b for b in AGE_BANDS if b.from_months <= age_months < b.to_months)


def ebv_ml(weight_kg: float, ml_per_kg: float) -> float:
    """Estimated blood volume, mL: ``weight_kg * ml_per_kg``."""
    return float(weight_kg) * float(ml_per_kg)


def mabl_ml(ebv: float, hct_start_pct: float, hct_min_pct: float, formula: Formula) -> float:
    """Maximum allowable blood loss, mL, before the haematocrit falls to ``hct_min_pct``.

    Parameters
    ----------
    ebv : float
        Estimated blood volume, mL.
    hct_start_pct, hct_min_pct : float
        Starting and lowest acceptable haematocrit, percent (any common unit: only the
        ratio and difference matter).
    formula : {"gross", "simple", "log"}
        ``"gross"``: EBV (Hs - Hm) / ((Hs + Hm) / 2) (Gross 1983); ``"simple"``:
        EBV (Hs - Hm) / Hs; ``"log"``: EBV ln(Hs / Hm) (Bourke & Smith 1974).

    Returns
    -------
    float
        mL; 0 when the starting haematocrit is at or below the threshold.
    """
    hs, hm = float(hct_start_pct), float(hct_min_pct)
    if hs <= hm:
        return 0.0
    if formula == "gross":
        return ebv * (hs - hm) / (0.5 * (hs + hm))
    if formula == "simple":
        return ebv * (hs - hm) / hs
    if formula == "log":
        return ebv * math.log(hs / hm)
    raise ValueError(f"unknown MABL formula {formula!r}; choose gross, simple or log")


def twin_blood(
    twin: str,
    *,
    weight_kg: float | None,
    age_months: float | None,
    hct_start_pct: float | None,
    hct_min_pct: float | None = None,
    params: BloodParams = BloodParams(),
) -> TwinBlood:
    """One twin's EBV and MABL from what was given (None: not given).

    Parameters
    ----------
    twin : {"A", "B"}
    weight_kg : float or None
        Weight on the day of the operation, kg.
    age_months : float or None
        Postnatal age, months (corrected for prematurity when born preterm).
    hct_start_pct : float or None
        Starting haematocrit, percent.
    hct_min_pct : float or None
        Lowest acceptable haematocrit, percent (None: ``params.hct_min_pct``).
    params : BloodParams

    Returns
    -------
    TwinBlood
        EBV needs weight and age; MABL needs EBV and the starting haematocrit. Nothing
        missing is guessed: its numbers are None and ``missing`` names the options.
    """
    hm = params.hct_min_pct if hct_min_pct is None else float(hct_min_pct)
    band = None if age_months is None else age_band(age_months)
    missing = tuple(
        name
        for name, value in (
            ("--weight-kg", weight_kg),
            ("--age-months", age_months),
            ("--hct", hct_start_pct),
        )
        if value is None
    )
    ebv = ebv_range = mabl = mabl_range = None
    notes: list[str] = []
    if weight_kg is not None and band is not None:
        ebv = ebv_ml(weight_kg, band.ml_per_kg_mid)
        ebv_range = (ebv_ml(weight_kg, band.ml_per_kg[0]), ebv_ml(weight_kg, band.ml_per_kg[1]))
        if hct_start_pct is not None:
            mabl = mabl_ml(ebv, hct_start_pct, hm, params.formula)
            every = [
                mabl_ml(e, hct_start_pct, hm, f)
                for e in ebv_range
                for f in ("gross", "simple", "log")
            ]
            mabl_range = (min(every), max(every))
            if hct_start_pct <= hm:
                notes.append(
                    f"the starting haematocrit {hct_start_pct:g} % is at or below the "
                    f"threshold {hm:g} %: no loss is allowable before transfusion"
                )
    if age_months is not None and age_months < params.young_infant_months:
        notes.append(
            f"under {params.young_infant_months:g} months some sources transfuse at Hb 12 "
            "g/dL (Hct about 36 %) once acute loss exceeds 10 % of the blood volume"
        )
    return TwinBlood(
        twin=twin,
        weight_kg=None if weight_kg is None else float(weight_kg),
        age_months=None if age_months is None else float(age_months),
        hct_start_pct=None if hct_start_pct is None else float(hct_start_pct),
        hct_min_pct=hm,
        band=band,
        ebv_ml=ebv,
        ebv_ml_range=ebv_range,
        mabl_ml=mabl,
        mabl_ml_range=mabl_range,
        missing=missing,
        notes=tuple(notes),
    )


def check_pair(
    option: str, values: tuple[float, ...] | None, limits: tuple[float, float], unit: str
) -> tuple[float, float] | None:
    """Check a per-twin option (one value for twin A, one for twin B).

    Parameters
    ----------
    option : str
        The option's name for the message (``"--weight-kg"``).
    values : tuple of float or None
        What was given (None: not given).
    limits : (float, float)
        Smallest and largest sane value, inclusive.
    unit : str
        Unit words for the message (``"kg"``).

    Returns
    -------
    (float, float) or None

    Raises
    ------
    InputError
        Naming the option: not two values, a value not finite or outside the limits.
    """
    if values is None:
        return None
    if len(values) != 2:
        raise InputError(
            option,
            f"needs one value per twin, A,B (e.g. {option} {_example(option)}); "
            f"{len(values)} given",
        )
    for twin, v in zip(TWINS, values, strict=True):
        if not math.isfinite(v) or not limits[0] <= v <= limits[1]:
            raise InputError(
                option,
                f"twin {twin}'s value {v:g} {unit} is outside {limits[0]:g}-{limits[1]:g} {unit}"
                + (" (give percent, e.g. 35, not 0.35)" if unit == "%" and 0 < v < 1 else ""),
            )
    return (float(values[0]), float(values[1]))


def check_hct_min(value: float | None) -> float | None:
    """Check ``--hct-min`` (one threshold for both twins, percent).

    Raises
    ------
    InputError
        Naming ``--hct-min`` when the value is not finite or outside its limits.
    """
    if value is None:
        return None
    lo, hi = HCT_MIN_PCT_LIMITS
    if not math.isfinite(value) or not lo <= value <= hi:
        raise InputError("--hct-min", f"{value:g} % is outside {lo:g}-{hi:g} %")
    return float(value)


def _example(option: str) -> str:
    return {"--weight-kg": "8.2,7.9", "--age-months": "10,10", "--hct": "35,33"}.get(option, "A,B")
