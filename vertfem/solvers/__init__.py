"""FE solver: TET10 linear elasticity, load cases, linear solvers, results.

Names are imported from their modules on first use (the list is ``__init__.pyi``), so importing an options
module of this package does not load its numerical stack."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
