# The public names of this sub-package, read by type checkers and (through lazy_loader) at run time.
from .backend import RenderingBackend, RenderingError, new_plotter, rendering_backend
from .ct import plot_ct_overlay
from .grid import UnknownFieldError, available_fields, field_values, frame_axes, result_grid, result_info
from .options import CAMERAS, CLIPS, ViewOptions
from .scene import auto_title, compare_results, plot_field, view_options
from .style import FIELDS, ColourScale, FieldStyle, colour_scale, field_style

__all__ = [
    "CAMERAS", "CLIPS", "FIELDS", "ColourScale", "FieldStyle", "RenderingBackend", "RenderingError",
    "UnknownFieldError", "ViewOptions", "auto_title", "available_fields", "colour_scale", "compare_results",
    "field_style", "field_values", "frame_axes", "new_plotter", "plot_ct_overlay", "plot_field", "rendering_backend",
    "result_grid", "result_info", "view_options",
]
