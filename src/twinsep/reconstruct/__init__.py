"""Scalp tissue-expander and bone-defect (cranioplasty) planning, per twin (issue 6)."""
