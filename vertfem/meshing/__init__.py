"""Meshing and material mapping: vertebra mask → mapped TET10 mesh in scanner space."""

from .body import cortical_split, isolate_body
from .endplates import endplate_height_mm, endplate_node_sets
from .export import read_mesh, write_abaqus, write_mesh
from .frame import VertebralFrame, vertebral_frame
from .mapping import map_element_materials, sample_image
from .model import REGIONS, VertebraMesh, boundary_faces
from .pipeline import MeshOptions, mesh_vertebra
from .surface import Surface, cut_surface, mask_to_surface
from .volume import MeshQuality, TetMesh, check_jacobians, scaled_jacobian, tetrahedralize

__all__ = [
    "MeshOptions", "MeshQuality", "REGIONS", "Surface", "TetMesh", "VertebraMesh", "VertebralFrame",
    "boundary_faces", "check_jacobians", "cortical_split", "cut_surface", "endplate_height_mm",
    "endplate_node_sets", "isolate_body", "map_element_materials", "mask_to_surface", "mesh_vertebra",
    "read_mesh", "sample_image", "scaled_jacobian", "tetrahedralize", "vertebral_frame", "write_abaqus",
    "write_mesh",
]
