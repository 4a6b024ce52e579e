from __future__ import annotations

import pytest

from twinsep.words import counted, noun


@pytest.mark.parametrize(
    ("n", "expected"), [(0, "0 stages"), (1, "1 stage"), (2, "2 stages"), (11, "11 stages")]
)
def test_counted_regular(n: int, expected: str) -> None:
    assert counted(n, "stage") == expected


def test_irregular_plural_and_bare_noun() -> None:
    assert counted(1, "relay") == "1 relay"
    assert counted(3, "gap") == "3 gaps"
    assert noun(1, "image") == "image"
    assert noun(2, "localizer (scout) image", "localizer (scout) images").endswith("images")
    assert counted(2, "vessel crossing") == "2 vessel crossings"
    assert counted(1, "piece", "pieces") == "1 piece"
    assert counted(5, "analysis", "analyses") == "5 analyses"
