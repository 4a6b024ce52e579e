"""The case report: ``report.html`` (self-contained) and ``report.pdf`` on request."""

from __future__ import annotations

from twinsep.report.render import render_report

__all__ = ["render_report"]
