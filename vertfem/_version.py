"""The package version: the single source that ``pyproject.toml`` and every provenance record read."""

__version__ = "0.2.0"
