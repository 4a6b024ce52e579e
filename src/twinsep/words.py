"""Counted nouns for the messages a person reads ("1 stage", "2 stages", not "stage(s)")."""

from __future__ import annotations


def noun(n: int, singular: str, plural: str | None = None) -> str:
    """The form of a noun that goes with a count.

    Parameters
    ----------
    n : int
        The count.
    singular : str
        The noun for one ("stage", "gap").
    plural : str, optional
        The noun for any other count; ``singular + "s"`` when not given.

    Returns
    -------
    str
        ``singular`` when ``n`` is 1, else the plural.
    """
    if n == 1:
        return singular
    return plural if plural is not None else singular + "s"


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """A count and its noun: ``counted(1, "stage")`` is "1 stage", 2 gives "2 stages".

    Parameters
    ----------
    n : int
        The count.
    singular, plural : str
        As in :func:`noun`.

    Returns
    -------
    str
        ``f"{n} {noun(n, singular, plural)}"``.
    """
    return f"{n} {noun(n, singular, plural)}"
