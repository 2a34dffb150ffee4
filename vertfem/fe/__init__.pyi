# The public names of this sub-package, read by type checkers and (through lazy_loader) at run time.
from .options import BuiltinLoadCase, FEOptions, LoadCaseOptions, build_load_cases
from .run import fe_analysis

__all__ = ["BuiltinLoadCase", "FEOptions", "LoadCaseOptions", "build_load_cases", "fe_analysis"]
