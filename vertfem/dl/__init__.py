"""The learned route (Yoshida et al. 2023): automatic slab preparation in the vertebral frame, ResNet regression
of DXA BMD and TBS with patient-level cross-validation, evaluation through :mod:`vertfem.stats`, saved models
that carry their preprocessing.

Only :mod:`.net`, :mod:`.train` and :mod:`.model` import torch (``pip install vertfem[dl]``); names are imported
from their modules on first use (the list is ``__init__.pyi``).
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
