"""Exceptions raised by vertfem.

Every class subclasses both :class:`VertfemError` (so a study can catch all of
vertfem's own failures in one place) and the matching built-in exception (so
callers that already handle ``ValueError`` or ``FileNotFoundError`` keep
working). Messages name the offending input and say what to do about it.
"""

from __future__ import annotations

__all__ = [
    "AbsurdHUError",
    "AnatomyError",
    "BoundaryConditionError",
    "CalibrationError",
    "ConfigError",
    "EmptyMaskError",
    "EmptyROIError",
    "FeatureWarning",
    "GeometryError",
    "InfrastructureError",
    "InvertedElementError",
    "LabelNotFoundError",
    "MaskImageMismatchError",
    "MaskTooSmallError",
    "MaterialLawError",
    "MeshingError",
    "MissingDependencyError",
    "MissingMaterialError",
    "NonFiniteHUError",
    "NonManifoldSurfaceError",
    "OutputError",
    "ReferenceTissueError",
    "RenderingError",
    "ResolutionWarning",
    "ScanReadError",
    "SegmentationError",
    "SolverError",
    "StatisticsInputError",
    "StatisticsWarning",
    "TissueDisagreementWarning",
    "UnderConstrainedError",
    "UnknownFieldError",
    "UnknownKernelError",
    "UnknownVertebraError",
    "UnsupportedLevelError",
    "VOITooSmallError",
    "VertebraCutByFOVError",
    "VertfemError",
]


class VertfemError(Exception):
    """Base class of every error vertfem raises on purpose."""


class ScanReadError(VertfemError, OSError):
    """A CT or label file could not be read."""


class NonFiniteHUError(VertfemError, ValueError):
    """The CT contains NaN or infinite values."""


class AbsurdHUError(VertfemError, ValueError):
    """HU values inside the bone are outside any plausible range for CT."""


class LabelNotFoundError(VertfemError, KeyError):
    """The requested label id is absent from the label map."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class UnknownVertebraError(VertfemError, KeyError):
    """A vertebra name is not part of the chosen label convention."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class EmptyMaskError(VertfemError, ValueError):
    """A mask or label has no voxels."""


class MaskImageMismatchError(VertfemError, ValueError):
    """Mask and image do not overlap in physical space."""


class VertebraCutByFOVError(VertfemError, ValueError):
    """The vertebra touches the image boundary (cut by the field of view)."""


class SegmentationError(VertfemError, ValueError):
    """The label map's segmentation of a vertebra is implausible (e.g. two vertebra-sized pieces share a label)."""


class AnatomyError(VertfemError, ValueError):
    """A vertebra's physical size lies outside the anatomical range of its level (wrong header spacing, wrong label)."""


class UnsupportedLevelError(VertfemError, ValueError):
    """A spinal level that a method does not cover (e.g. the sacrum for vertebral-body FE)."""


class UnknownKernelError(VertfemError, KeyError):
    """A reconstruction kernel has no registered calibration."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class CalibrationError(VertfemError, ValueError):
    """A calibration could not be built (too few inserts, bad fit, bad file)."""


class ReferenceTissueError(CalibrationError):
    """A reference tissue of a phantomless calibration could not be sampled (too small after erosion, or absent).

    Attributes
    ----------
    tissue : str
        The tissue that failed (``"muscle"``, ``"blood"``, ...).
    """

    def __init__(self, tissue: str, message: str) -> None:
        super().__init__(message)
        self.tissue = tissue


class GeometryError(VertfemError, ValueError):
    """An image grid is invalid (non-positive spacing, a direction matrix that is not orthonormal)."""


class MaterialLawError(VertfemError, ValueError):
    """Unknown density-modulus law or invalid law parameters."""


class ConfigError(VertfemError, ValueError):
    """A configuration file or section is invalid."""


class InfrastructureError(VertfemError, RuntimeError):
    """The machinery running a study's tasks failed (scheduler lost, no workers, pool broken); no task is to blame."""


class EmptyROIError(VertfemError, ValueError):
    """A region of interest is empty (e.g. after erosion)."""


class VOITooSmallError(EmptyROIError):
    """A volume of interest has fewer voxels than a method needs."""


class MeshingError(VertfemError, RuntimeError):
    """Surface or volume meshing failed."""


class MaskTooSmallError(MeshingError, ValueError):
    """The mask is too small to be meshed at the requested element size."""


class NonManifoldSurfaceError(MeshingError):
    """The extracted surface is not a closed 2-manifold."""


class InvertedElementError(MeshingError):
    """A mesh element has a non-positive Jacobian."""


class BoundaryConditionError(VertfemError, ValueError):
    """A load case refers to a missing node set or is inconsistent."""


class UnderConstrainedError(VertfemError, ValueError):
    """The boundary conditions leave rigid-body motion free."""


class MissingMaterialError(VertfemError, ValueError):
    """A mesh has no (or invalid) element moduli."""


class SolverError(VertfemError, RuntimeError):
    """The linear solver failed or did not converge."""


class OutputError(VertfemError, OSError):
    """An output cannot be written (existing file where a folder is needed, unsupported format, no permission)."""


class MissingDependencyError(VertfemError, ImportError):
    """An optional dependency (an extra such as ``vertfem[dl]``) is not installed; the message says which."""


class UnknownFieldError(VertfemError, KeyError):
    """A field was asked for that a result file does not carry."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class RenderingError(VertfemError, RuntimeError):
    """No off-screen rendering backend works on this machine."""


class StatisticsInputError(VertfemError, ValueError):
    """Data a statistical method cannot take (a non-0/1 outcome, a missing class, a collinear design)."""


class StatisticsWarning(UserWarning):
    """A returned estimate is unreliable (separation, no convergence); the result row is flagged as well."""


class TissueDisagreementWarning(UserWarning):
    """The reference tissues of a scan disagree with one effective energy (flagged in the calibration report)."""


class ResolutionWarning(UserWarning):
    """The image is too coarse for the measure to resolve what it measures."""


class FeatureWarning(UserWarning):
    """A feature is undefined for this input and was returned as NaN."""
