"""DXA from CT, the physics route: projected areal BMD, BMC and area per vertebra and for L1–L4, T-score and %YAM
against a young-adult reference, and a TBS-like index from the log–log variogram of the projection.

Names are imported from their modules on first use (the list is ``__init__.pyi``).
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
