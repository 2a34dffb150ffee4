"""The FE measure: options (:mod:`.options`, light) and the run (:mod:`.run`: mesh, load case, solve, provenance).

Names are imported from their modules on first use (the list is ``__init__.pyi``).
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
