"""Studies from YAML: cohort tables, a pre-flight check, a resumable task runner (local pool or dask), analyses,
QC images and one self-contained HTML report.

Names are loaded on first use (``lazy_loader``, from ``__init__.pyi``): a worker process that only runs tasks
does not import the statistics, the figures or the report.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
