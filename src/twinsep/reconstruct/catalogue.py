"""Catalogue of scalp tissue expanders the planner chooses from.

Each entry is one product size: shape, base (width x length, mm) and nominal volume
(mL, the fill the manufacturer rates the envelope for). The default catalogue is a
representative range of standard paediatric scalp expanders -- rectangular and crescent
bases from about 4 x 6 cm to 8 x 16 cm, round ones up to 10 cm across, nominal volumes
from 15 mL to 500 mL -- plus two made-to-measure sizes of the kind craniopagus teams
ordered (UC Davis 2020 placed custom expanders about four months before separation,
``NOTES.md``). The nominal volumes were set so that the expander, modelled as in
:mod:`twinsep.reconstruct.expander_geometry`, inflates to a dome 0.85-0.97 of a
hemisphere high (round: spherical cap; crescent: circular-segment section) or to a box
0.4-0.6 of its width high (rectangular), which is how such envelopes look at their
rated volume. They
are not the part numbers of any maker: a team replaces the catalogue by its own stock
(``ExpanderParams.catalogue``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from twinsep.errors import InputError
from twinsep.reconstruct import expander_geometry as eg


@dataclass(frozen=True)
class CatalogueExpander:
    """One expander size.

    Attributes
    ----------
    code : str
        Short name shown in the plan, e.g. ``"R60x120"``.
    shape : {"round", "rectangular", "crescent"}
    width_mm : float
        Base width, mm (diameter of a round expander).
    length_mm : float
        Base length, mm (along the centreline for a crescent; the diameter for round).
    nominal_ml : float
        Rated fill volume, mL; the planner never targets more.
    custom : bool
        True for made-to-measure sizes (longer lead time; the plan says so).
    """

    code: str
    shape: str
    width_mm: float
    length_mm: float
    nominal_ml: float
    custom: bool = False

    def __post_init__(self) -> None:
        eg.check_shape(self.shape, name=f"catalogue.{self.code}.shape")
        if not (math.isfinite(self.nominal_ml) and self.nominal_ml > 0):
            raise InputError(f"catalogue.{self.code}.nominal_ml", f"{self.nominal_ml} must be > 0")
        base = self.base()
        h = eg.height_for_volume_mm(base, self.nominal_ml)
        # the dome models describe a cap up to a hemisphere (a box up to a cube)
        limit = base.width_mm if base.is_box else base.half_width_mm
        if h > limit * (1 + 1e-9):
            raise InputError(
                f"catalogue.{self.code}.nominal_ml",
                f"{self.nominal_ml} mL on a {self.width_mm:g} x {self.length_mm:g} mm base "
                f"needs a {h:.0f} mm dome, beyond the {limit:g} mm the expander model covers",
            )

    def base(self, rectangular_model: str = "box") -> eg.ExpanderBase:
        """The flat base of this size (:class:`~twinsep.reconstruct.expander_geometry.ExpanderBase`)."""
        return eg.ExpanderBase(
            self.shape,  # type: ignore[arg-type]
            float(self.width_mm),
            float(self.length_mm),
            rectangular_model=rectangular_model,  # type: ignore[arg-type]
        )


def _c(
    code: str, shape: str, w: float, length: float, ml: float, custom: bool = False
) -> CatalogueExpander:
    return CatalogueExpander(code, shape, w, length, ml, custom)


#: Default catalogue (see the module docstring for where the numbers come from).
DEFAULT_CATALOGUE: tuple[CatalogueExpander, ...] = (
    _c("O40", "round", 40, 40, 15),
    _c("O50", "round", 50, 50, 30),
    _c("O60", "round", 60, 60, 50),
    _c("O70", "round", 70, 70, 80),
    _c("O80", "round", 80, 80, 120),
    _c("O100", "round", 100, 100, 250),
    _c("R40x60", "rectangular", 40, 60, 50),
    _c("R50x80", "rectangular", 50, 80, 100),
    _c("R50x100", "rectangular", 50, 100, 120),
    _c("R60x100", "rectangular", 60, 100, 180),
    _c("R60x120", "rectangular", 60, 120, 250),
    _c("R70x140", "rectangular", 70, 140, 350),
    _c("R80x160", "rectangular", 80, 160, 500),
    _c("C40x100", "crescent", 40, 100, 45),
    _c("C50x120", "crescent", 50, 120, 90),
    _c("C60x140", "crescent", 60, 140, 150),
    _c("C70x160", "crescent", 70, 160, 230),
    _c("C80x160", "crescent", 80, 160, 300),
    _c("R100x200-custom", "rectangular", 100, 200, 800, custom=True),
    _c("C100x240-custom", "crescent", 100, 240, 700, custom=True),
)
