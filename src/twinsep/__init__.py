"""twinsep: plans the surgical separation of craniopagus twins from their scans.

A planning aid for surgical teams, not a medical device. See ``README.md`` and
``docs/`` for the data contracts.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
