"""What a MetaImage header says about its orientation, which ITK does not check.

ITK's MetaImage reader takes the voxel axes' directions from ``TransformMatrix`` (or
its synonyms ``Rotation`` and ``Orientation``) and, when the header has none, the
identity: the file is then read as left-posterior-superior without a word, though
nothing in it says where left is (a header written by hand for raw data, an export
that stores no direction). ``AnatomicalOrientation`` is not read at all: ITK writes it
from the direction, naming the side each axis comes *from* (the identity is ``RAI``),
and when it disagrees with the direction one of the two is wrong. Both get the warning
a NIfTI without qform and sform gets, since twin A depends on left and right.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twinsep.io._loaded import header_text

__all__ = ["metaimage_header_fields", "metaimage_orientation_warnings", "orientation_code"]

#: Header keys that give the direction (MetaIO synonyms), in lower case.
_DIRECTION_KEYS = ("transformmatrix", "rotation", "orientation")

#: ITK's letters for the side a voxel axis comes from, by LPS world axis and sign.
_FROM = {(0, 1): "R", (0, -1): "L", (1, 1): "A", (1, -1): "P", (2, 1): "I", (2, -1): "S"}

#: The LPS unit vector of each letter's axis (the direction it points to).
_POINTS_TO = {letter: np.eye(3)[axis] * sign for (axis, sign), letter in _FROM.items()}

#: A voxel axis more than 60 degrees from the axis its letter names disagrees with it.
_MIN_COSINE = 0.5


def metaimage_header_fields(path: Path) -> dict[str, str]:
    """The ``Key = Value`` lines of a MetaImage header, keys in lower case, up to and
    including ``ElementDataFile`` (the last key; binary data may follow)."""
    fields: dict[str, str] = {}
    for line in header_text(path).splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        fields[key.strip().lower()] = value.strip()
        if key.strip().lower() == "elementdatafile":
            break
    return fields


def orientation_code(direction: np.ndarray) -> str:
    """ITK's three-letter orientation of a direction matrix (columns: the voxel axes in
    LPS), each letter the side its axis comes from: the identity is ``"RAI"``."""
    d = np.asarray(direction, dtype=np.float64).reshape(3, 3)
    letters = []
    for col in d.T:
        axis = int(np.argmax(np.abs(col)))
        letters.append(_FROM[(axis, 1 if col[axis] > 0 else -1)])
    return "".join(letters)


def metaimage_orientation_warnings(path: Path, direction: np.ndarray) -> list[str]:
    """Warnings about the orientation of the MetaImage ``path`` as ITK read it.

    Parameters
    ----------
    path : Path
        The ``.mha`` / ``.mhd`` file (its header).
    direction : array-like
        The 3 x 3 direction ITK read (row-major, columns the voxel axes in LPS).

    Returns
    -------
    list of str
        One warning when the header gives no direction, or when its
        ``AnatomicalOrientation`` names another orientation than the direction.
    """
    fields = metaimage_header_fields(path)
    d = np.asarray(direction, dtype=np.float64).reshape(3, 3)
    if not any(k in fields for k in _DIRECTION_KEYS):
        return [
            "the MetaImage header gives no direction (no TransformMatrix): orientation is "
            "unknown and was read as left-posterior-superior, as ITK does (left-right may "
            "be wrong)"
        ]
    said = fields.get("anatomicalorientation", "").strip().upper()
    if len(said) != 3 or any(c not in _POINTS_TO for c in said):
        return []  # absent, or "???" (unknown): nothing to compare
    cosines = [float(_POINTS_TO[c] @ col) for c, col in zip(said, d.T, strict=True)]
    if min(cosines) >= _MIN_COSINE:
        return []
    return [
        f"the MetaImage header's AnatomicalOrientation {said} disagrees with its "
        f"TransformMatrix ({orientation_code(d)} in ITK's naming, the side each axis comes "
        "from): the TransformMatrix was used, as ITK does; one of the two is wrong, so "
        "left-right may be wrong"
    ]
