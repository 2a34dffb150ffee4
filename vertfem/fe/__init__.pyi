# The public names of this sub-package, read by type checkers and (through lazy_loader) at run time.
from .options import BuiltinLoadCase, FEOptions, build_load_case
from .run import fe_analysis

__all__ = ["BuiltinLoadCase", "FEOptions", "build_load_case", "fe_analysis"]
