"""Ventricle size per twin (hydrocephalus): ventricular CSF volume, Evans' index, FOHR."""

from twinsep.ventricles.measure import (
    VentricleMeasure,
    VentricleParams,
    measure_twin,
    measure_ventricles,
)

__all__ = ["VentricleMeasure", "VentricleParams", "measure_twin", "measure_ventricles"]
