"""Comparative statistics for vertfem studies (SCIENCE §5)."""

from .precision import Precision, icc, precision

__all__ = ["Precision", "icc", "precision"]
