"""Label values, names and default colours shared by every stage (see DESIGN.md)."""

from __future__ import annotations

from typing import Final

BACKGROUND: Final = 0
SOFT_TISSUE: Final = 1
BONE: Final = 2
BRAIN: Final = 3
CSF: Final = 4
VESSEL: Final = 5

#: Tissue label value -> name used in plan.json keys and file names.
TISSUE_NAMES: Final[dict[int, str]] = {
    SOFT_TISSUE: "soft_tissue",
    BONE: "bone",
    BRAIN: "brain",
    CSF: "csf",
    VESSEL: "vessel",
}

TWIN_NONE: Final = 0
TWIN_A: Final = 1
TWIN_B: Final = 2
TWIN_NAMES: Final[dict[int, str]] = {TWIN_A: "A", TWIN_B: "B"}

#: Code colours of the UC Davis team (DESIGN.md): twin A purple, twin B orange.
DEFAULT_COLOUR_A: Final = "#7B3FA0"
DEFAULT_COLOUR_B: Final = "#F28C28"

#: Neutral colours for tissue overlays (used where twin colours do not apply).
TISSUE_COLOURS: Final[dict[int, str]] = {
    SOFT_TISSUE: "#E8B796",
    BONE: "#F2EEDC",
    BRAIN: "#D98C8C",
    CSF: "#7FB8E6",
    VESSEL: "#2F5DA8",
}


def hex_to_rgb(hex_colour: str) -> tuple[int, int, int]:
    """``"#7B3FA0"`` -> ``(123, 63, 160)``.

    Raises
    ------
    ValueError
        If the text is not ``#RRGGBB``.
    """
    h = hex_colour.strip()
    if len(h) != 7 or h[0] != "#":
        raise ValueError(f"colour {hex_colour!r} is not of the form #RRGGBB")
    try:
        return (int(h[1:3], 16), int(h[3:5], 16), int(h[5:7], 16))
    except ValueError as exc:
        raise ValueError(f"colour {hex_colour!r} is not of the form #RRGGBB") from exc


def shade(hex_colour: str, factor: float) -> str:
    """Darken (factor < 1) or lighten (factor > 1) a ``#RRGGBB`` colour."""
    r, g, b = hex_to_rgb(hex_colour)
    if factor <= 1:
        vals = [round(c * factor) for c in (r, g, b)]
    else:
        t = min(factor - 1.0, 1.0)
        vals = [round(c + (255 - c) * t) for c in (r, g, b)]
    return "#{:02X}{:02X}{:02X}".format(*vals)
