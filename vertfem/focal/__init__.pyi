# The public names of this sub-package, read by type checkers and (through lazy_loader) at run time.
from .lines import FocalMaps, focal_maps
from .measure import MAP_NAMES, FocalResult, focal_bmc_loss
from .options import FocalOptions, star_directions
from .plot import plot_focal_section

__all__ = ["MAP_NAMES", "FocalMaps", "FocalOptions", "FocalResult", "focal_bmc_loss", "focal_maps",
           "plot_focal_section", "star_directions"]
