# The public names of this sub-package, read by type checkers and (through lazy_loader) at run time.
from .caps import add_caps
from .endplates import HEIGHT_DEFINITION, EndplateSelection, select_endplates
from .export import read_mesh, write_abaqus, write_mesh
from .mapping import map_element_materials, sample_image
from .model import REGIONS, VertebraMesh, boundary_faces
from .options import MeshOptions
from .pipeline import mesh_vertebra
from .surface import Surface, cut_surface, mask_to_surface
from .volume import MeshQuality, TetMesh, check_jacobians, scaled_jacobian, tetrahedralize

__all__ = [
    "HEIGHT_DEFINITION",
    "REGIONS",
    "EndplateSelection",
    "MeshOptions",
    "MeshQuality",
    "Surface",
    "TetMesh",
    "VertebraMesh",
    "add_caps",
    "boundary_faces",
    "check_jacobians",
    "cut_surface",
    "map_element_materials",
    "mask_to_surface",
    "mesh_vertebra",
    "read_mesh",
    "sample_image",
    "scaled_jacobian",
    "select_endplates",
    "tetrahedralize",
    "write_abaqus",
    "write_mesh",
]
