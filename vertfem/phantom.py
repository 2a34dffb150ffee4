"""Synthetic vertebra phantom with known geometry and density, in physical space.

The phantom is defined analytically in a *body frame* (mm): ``x`` lateral,
``y`` posterior, ``z`` cranial, origin at the body centre. A
:class:`PhantomSpec` fixes its anatomy and bone; :func:`render_phantom` samples
it on any :class:`~vertfem.geometry.ImageGeometry` (any spacing, any direction
cosines), placed in the scanner by a rigid pose, averaging ``oversample³``
sub-samples per voxel so that partial-volume effects are exact to the
sub-sample resolution.

Anatomy
-------
* Vertebral body: elliptic cylinder (semi-axes ``width/2``, ``depth/2``) with
  endplates ``z = ±(H/2 − c(1 − r²) + t·y_ant)`` (``r`` elliptic radius, ``t = tan(wedge_deg/2)``: > 0 a lordotic
  wedge, taller anteriorly); volume exactly ``π·a·b·(H − c)`` (:meth:`PhantomSpec.body_volume_mm3`).
* Cortical shell of given thickness and density.
* Trabecular bone: thin plates at the zero level set of a band-limited random
  field (wavelength ``trabecular_spacing_mm``, elongated along the cranial
  axis as in vertebrae), thresholded to the bone volume fraction that gives
  the prescribed trabecular vBMD with the given tissue density. Plate
  thickness comes out at about 0.1–0.3 mm.
* Optional rod microstructure (``microstructure="rods"``): a random network of
  cylindrical rods, one per cell and direction on a grid of cells
  ``trabecular_spacing_mm`` wide (``/ vertical_anisotropy`` tall): a vertical
  rod in every cell, a lateral and an antero-posterior one each present with
  probability ``rod_connectivity``; each rod is one cell long, centred at a
  random point of its cell and tilted by up to 15°, and all rods share the
  radius that gives the prescribed BV/TV. Lowering ``rod_connectivity`` at
  equal vBMD removes horizontal rods and thickens the rest — fewer, thicker,
  less connected trabeculae at equal BMD, the pattern of vertebral
  osteoporosis (horizontal trabeculae are lost first).
* Optional posterior elements (pedicles, lamina, spinous and transverse
  processes) and spherical focal voids of known size and position.

Densities are K2HPO4-equivalent, mg/cm³ (the scale of
:mod:`vertfem.calibration`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numba
import numpy as np

from .errors import ConfigError
from .geometry import ImageGeometry

__all__ = ["REGION_CODES", "PhantomImage", "PhantomSpec", "Pose", "phantom_geometry", "render_phantom"]

#: Region codes of :attr:`PhantomImage.region` (majority over sub-samples).
REGION_CODES = {"outside": 0, "trabecular": 1, "cortical": 2, "posterior": 3, "void": 4}


@dataclass(frozen=True)
class PhantomSpec:
    """Anatomy and bone of a synthetic vertebra (lengths mm, densities mg/cm³).

    Examples
    --------
    >>> spec = PhantomSpec(width_mm=40, depth_mm=30, height_mm=25, endplate_concavity_mm=1)
    >>> round(spec.body_volume_mm3(), 1)
    22619.5
    """

    width_mm: float = 42.0
    depth_mm: float = 32.0
    height_mm: float = 26.0
    endplate_concavity_mm: float = 1.5
    wedge_deg: float = 0.0
    cortical_thickness_mm: float = 0.8
    cortical_density_mg_cm3: float = 700.0
    trabecular_vbmd_mg_cm3: float = 120.0
    tissue_density_mg_cm3: float = 1000.0
    marrow_density_mg_cm3: float = 0.0
    background_density_mg_cm3: float = 20.0
    trabecular_spacing_mm: float = 0.8
    vertical_anisotropy: float = 0.6
    texture: bool = True
    microstructure: Literal["plates", "rods"] = "plates"
    rod_connectivity: float = 1.0
    posterior_elements: bool = False
    posterior_density_mg_cm3: float = 350.0
    voids: tuple[tuple[float, float, float, float], ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("width_mm", "depth_mm", "height_mm", "trabecular_spacing_mm", "tissue_density_mg_cm3"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"PhantomSpec.{name} must be positive, got {getattr(self, name)}")
        if not 0 <= self.endplate_concavity_mm < self.height_mm / 2:
            raise ConfigError("endplate_concavity_mm must be in [0, height_mm/2)")
        if self.height_mm - self.endplate_concavity_mm - self.depth_mm * abs(self.wedge_tan) <= 0:
            raise ConfigError(f"wedge_deg={self.wedge_deg} closes the body: the short side's height must stay positive")
        bvtv = self.bone_volume_fraction
        if not 0 < bvtv < 1:
            raise ConfigError(
                f"trabecular_vbmd_mg_cm3={self.trabecular_vbmd_mg_cm3} gives bone volume fraction {bvtv:.3f}; "
                "it must lie between marrow and tissue density"
            )
        if self.microstructure not in ("plates", "rods"):
            raise ConfigError(f"microstructure must be 'plates' or 'rods', got {self.microstructure!r}")
        if not 0 < self.rod_connectivity <= 1:
            raise ConfigError(f"rod_connectivity must be in (0, 1], got {self.rod_connectivity}")
        for v in self.voids:
            if len(v) != 4 or v[3] <= 0:
                raise ConfigError(f"each void is (x_mm, y_mm, z_mm, radius_mm) with radius > 0, got {v}")

    @property
    def bone_volume_fraction(self) -> float:
        """BV/TV of the trabecular texture that yields the prescribed vBMD."""
        return (self.trabecular_vbmd_mg_cm3 - self.marrow_density_mg_cm3) / (
            self.tissue_density_mg_cm3 - self.marrow_density_mg_cm3
        )

    @property
    def wedge_tan(self) -> float:
        """``tan(wedge_deg / 2)``: the slope of each endplate against the body's axis."""
        return float(np.tan(np.radians(self.wedge_deg) / 2.0))

    def body_volume_mm3(self) -> float:
        """Exact vertebral-body volume π·a·b·(H − c), mm³."""
        a, b = self.width_mm / 2, self.depth_mm / 2
        return float(np.pi * a * b * (self.height_mm - self.endplate_concavity_mm))

    def extent_mm(self) -> tuple[np.ndarray, np.ndarray]:
        """Body-frame bounding box of the whole phantom, mm."""
        a, b, h = self.width_mm / 2, self.depth_mm / 2, self.height_mm / 2 + self.depth_mm / 2 * abs(self.wedge_tan)
        if self.posterior_elements:
            return np.array([-a - 22.0, -b, -h]), np.array([a + 22.0, b + 40.0, h])
        return np.array([-a, -b, -h]), np.array([a, b, h])


@dataclass(frozen=True)
class Pose:
    """Rigid placement of the body frame in the scanner.

    ``p_scanner = centre_mm + rotation @ p_body``; ``rotation`` columns are the
    body axes (lateral, posterior, cranial) in scanner coordinates.
    """

    centre_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rotation: tuple[float, ...] = (1, 0, 0, 0, 1, 0, 0, 0, 1)

    @property
    def matrix(self) -> np.ndarray:
        return np.asarray(self.rotation, dtype=float).reshape(3, 3)

    @classmethod
    def tilted(cls, angle_deg: float, axis: str = "x", centre_mm=(0.0, 0.0, 0.0)) -> Pose:
        """A pose rotated by ``angle_deg`` about a scanner axis."""
        t = np.deg2rad(angle_deg)
        c, s = np.cos(t), np.sin(t)
        r = {
            "x": [[1, 0, 0], [0, c, -s], [0, s, c]],
            "y": [[c, 0, s], [0, 1, 0], [-s, 0, c]],
            "z": [[c, -s, 0], [s, c, 0], [0, 0, 1]],
        }[axis]
        return cls(tuple(centre_mm), tuple(np.ravel(r)))


@dataclass(frozen=True, eq=False)
class PhantomImage:
    """A rendered phantom: exact densities and masks on a grid.

    Attributes
    ----------
    density_mg_cm3 : ndarray of float32
        Voxel-averaged ground-truth density.
    region : ndarray of uint8
        Majority region code per voxel (see :data:`REGION_CODES`).
    body_fraction : ndarray of float32
        Fraction of each voxel inside the vertebral body.
    geometry : ImageGeometry
    spec : PhantomSpec
    pose : Pose
    """

    density_mg_cm3: np.ndarray
    region: np.ndarray
    body_fraction: np.ndarray
    geometry: ImageGeometry
    spec: PhantomSpec
    pose: Pose = field(default_factory=Pose)

    @property
    def body_mask(self) -> np.ndarray:
        """Voxels more than half inside the vertebral body."""
        return self.body_fraction > 0.5

    @property
    def vertebra_mask(self) -> np.ndarray:
        """Body plus posterior elements."""
        return self.body_mask | (self.region == REGION_CODES["posterior"])

    @property
    def trabecular_mask(self) -> np.ndarray:
        return self.body_mask & (self.region != REGION_CODES["cortical"])


def phantom_geometry(
    spec: PhantomSpec,
    *,
    spacing_mm: float | tuple[float, float, float] = 0.5,
    pose: Pose = Pose(),
    direction: tuple[float, ...] = (1, 0, 0, 0, 1, 0, 0, 0, 1),
    margin_mm: float = 8.0,
) -> ImageGeometry:
    """A grid with the given direction cosines that covers the posed phantom."""
    lo, hi = spec.extent_mm()
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    pts = corners @ pose.matrix.T + np.asarray(pose.centre_mm)
    d = np.asarray(direction, dtype=float).reshape(3, 3)
    local = pts @ d  # coordinates along the grid's index axes
    sp = np.broadcast_to(np.asarray(spacing_mm, dtype=float), (3,))
    lo_l = local.min(axis=0) - margin_mm
    size = np.ceil((local.max(axis=0) + margin_mm - lo_l) / sp).astype(int) + 1
    origin = d @ lo_l
    return ImageGeometry(tuple(size), tuple(origin), tuple(sp), tuple(d.ravel()))


def _texture_waves(spec: PhantomSpec, n_waves: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(spec.seed)
    v = rng.normal(size=(n_waves, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    v[:, 2] *= spec.vertical_anisotropy
    mag = (1.0 / spec.trabecular_spacing_mm) * rng.uniform(0.85, 1.15, size=(n_waves, 1))
    return 2.0 * np.pi * v * mag, rng.uniform(0, 2 * np.pi, size=n_waves)


@numba.njit(cache=True)
def _field(x, y, z, waves, phases):
    s = 0.0
    for w in range(waves.shape[0]):
        s += np.cos(waves[w, 0] * x + waves[w, 1] * y + waves[w, 2] * z + phases[w])
    return s * np.sqrt(2.0 / waves.shape[0])


@numba.njit(cache=True)
def _rod_dist2(x, y, z, rods, cptr, cidx, grid):
    # squared distance to the nearest rod axis among the candidates of the point's cell (inf outside the grid)
    ix = int(np.floor((x - grid[0]) / grid[3]))
    iy = int(np.floor((y - grid[1]) / grid[4]))
    iz = int(np.floor((z - grid[2]) / grid[5]))
    nx, ny, nz = int(grid[6]), int(grid[7]), int(grid[8])
    if ix < 0 or iy < 0 or iz < 0 or ix >= nx or iy >= ny or iz >= nz:
        return np.inf
    c = (ix * ny + iy) * nz + iz
    best = np.inf
    for q in range(cptr[c], cptr[c + 1]):
        r = cidx[q]
        dx, dy, dz = rods[r, 3] - rods[r, 0], rods[r, 4] - rods[r, 1], rods[r, 5] - rods[r, 2]
        px, py, pz = x - rods[r, 0], y - rods[r, 1], z - rods[r, 2]
        t = min(max((px * dx + py * dy + pz * dz) / (dx * dx + dy * dy + dz * dz), 0.0), 1.0)
        ex, ey, ez = px - t * dx, py - t * dy, pz - t * dz
        d2 = ex * ex + ey * ey + ez * ez
        if d2 < best:
            best = d2
    return best


@numba.njit(cache=True)
def _point(x, y, z, p, waves, phases, thr, voids, rods, cptr, cidx, grid):
    # p: a, b, h, c, tc, rho_cort, rho_trab, rho_tissue, rho_marrow, rho_bg, texture, posterior, rho_post, tan(wedge/2),
    # rods (1: the texture is the rod network, thr its radius)
    a, b, h, c, t = p[0], p[1], p[2], p[3], p[13]
    r2 = (x / a) ** 2 + (y / b) ** 2
    half = h - c * (1.0 - r2)
    ztop, zbot = half - t * y, -half + t * y  # y is posterior: a lordotic wedge (t > 0) is taller anteriorly
    if r2 < 1.0 and zbot < z < ztop:
        r = np.sqrt(r2)
        g = np.sqrt((x / (a * a)) ** 2 + (y / (b * b)) ** 2)
        d = (1.0 - r) * r / g if g > 1e-12 else min(a, b)
        d = min(d, (ztop - z) / np.sqrt(1.0 + t * t), (z - zbot) / np.sqrt(1.0 + t * t))
        if d < p[4]:
            return p[5], 2
        for v in range(voids.shape[0]):
            if (x - voids[v, 0]) ** 2 + (y - voids[v, 1]) ** 2 + (z - voids[v, 2]) ** 2 < voids[v, 3] ** 2:
                return p[8], 4
        if p[10] > 0.5:
            if p[14] > 0.5:
                return (p[7] if _rod_dist2(x, y, z, rods, cptr, cidx, grid) < thr * thr else p[8]), 1
            f = _field(x, y, z, waves, phases)
            return (p[7] if abs(f) < thr else p[8]), 1
        return p[6], 1
    if p[11] > 0.5:
        xp = 0.55 * a
        ped = (abs(abs(x) - xp) ** 2 + (z - 0.1 * h) ** 2 < 4.5**2) and (0.6 * b < y < b + 14.0)
        lam = (abs(x) < xp + 4.5) and (b + 10.0 < y < b + 17.0) and (-0.6 * h < z < 0.5 * h)
        spin = (abs(x) < 3.0) and (b + 14.0 < y < b + 40.0) and (-0.7 * h < z < 0.2 * h)
        trans = (xp < abs(x) < a + 22.0) and (b + 8.0 < y < b + 15.0) and (abs(z - 0.1 * h) < 3.5)
        if ped or lam or spin or trans:
            return p[12], 3
    return p[9], 0


@numba.njit(parallel=True, cache=True)
def _render(shape, affine, rot, centre, ns, p, waves, phases, thr, voids, rods, rod_ptr, rod_idx, grid):
    nk, nj, ni = shape
    dens = np.zeros(nk * nj * ni, dtype=np.float32)
    frac = np.zeros(nk * nj * ni, dtype=np.float32)
    region = np.zeros(nk * nj * ni, dtype=np.uint8)
    inv = 1.0 / (ns * ns * ns)
    for flat in numba.prange(nk * nj * ni):
        k = flat // (nj * ni)
        j = (flat // ni) % nj
        i = flat % ni
        acc = 0.0
        counts = np.zeros(5, dtype=np.int64)
        for sa in range(ns):
            fi = i - 0.5 + (sa + 0.5) / ns
            for sb in range(ns):
                fj = j - 0.5 + (sb + 0.5) / ns
                for sc in range(ns):
                    fk = k - 0.5 + (sc + 0.5) / ns
                    q = np.empty(3)
                    for r in range(3):
                        q[r] = affine[r, 0] * fi + affine[r, 1] * fj + affine[r, 2] * fk + affine[r, 3] - centre[r]
                    bx = rot[0, 0] * q[0] + rot[1, 0] * q[1] + rot[2, 0] * q[2]
                    by = rot[0, 1] * q[0] + rot[1, 1] * q[1] + rot[2, 1] * q[2]
                    bz = rot[0, 2] * q[0] + rot[1, 2] * q[1] + rot[2, 2] * q[2]
                    rho, code = _point(bx, by, bz, p, waves, phases, thr, voids, rods, rod_ptr, rod_idx, grid)
                    acc += rho
                    counts[code] += 1
        dens[flat] = acc * inv
        inside = counts[1] + counts[2] + counts[4]
        frac[flat] = inside * inv
        best = 0
        for cidx in range(1, 5):
            if counts[cidx] > counts[best]:
                best = cidx
        region[flat] = best
    return dens, region, frac


@numba.njit(cache=True)
def _sample_field(pts, waves, phases):
    out = np.empty(pts.shape[0])
    for n in range(pts.shape[0]):
        out[n] = abs(_field(pts[n, 0], pts[n, 1], pts[n, 2], waves, phases))
    return out


def _threshold(spec: PhantomSpec, waves: np.ndarray, phases: np.ndarray) -> float:
    rng = np.random.default_rng(spec.seed + 1)
    lo, hi = spec.extent_mm()
    pts = rng.uniform(lo, hi, size=(400_000, 3))
    return float(np.quantile(_sample_field(pts, waves, phases), spec.bone_volume_fraction))


#: Largest tilt of a rod from its cell axis, degrees (the network is random, not a crystal lattice).
ROD_TILT_DEG = 15.0
#: Largest rod radius / smallest cell side: beyond it rods merge into blobs and reach past the 3×3×3 cells searched.
ROD_MAX_RADIUS = 0.3


@numba.njit(cache=True)
def _rod_candidates(rods, grid, pad):
    # CSR lists: for every cell, the rods whose bounding box grown by `pad` meets it
    nx, ny, nz = int(grid[6]), int(grid[7]), int(grid[8])
    counts = np.zeros(nx * ny * nz + 1, dtype=np.int64)
    lo = np.empty((rods.shape[0], 3), dtype=np.int64)
    hi = np.empty((rods.shape[0], 3), dtype=np.int64)
    dims = (nx, ny, nz)
    for r in range(rods.shape[0]):
        for a in range(3):
            m0 = min(rods[r, a], rods[r, a + 3]) - pad
            m1 = max(rods[r, a], rods[r, a + 3]) + pad
            lo[r, a] = max(int(np.floor((m0 - grid[a]) / grid[3 + a])), 0)
            hi[r, a] = min(int(np.floor((m1 - grid[a]) / grid[3 + a])), dims[a] - 1)
        for ix in range(lo[r, 0], hi[r, 0] + 1):
            for iy in range(lo[r, 1], hi[r, 1] + 1):
                for iz in range(lo[r, 2], hi[r, 2] + 1):
                    counts[(ix * ny + iy) * nz + iz + 1] += 1
    cptr = np.cumsum(counts)
    fill = cptr[:-1].copy()
    cidx = np.empty(cptr[-1], dtype=np.int64)
    for r in range(rods.shape[0]):
        for ix in range(lo[r, 0], hi[r, 0] + 1):
            for iy in range(lo[r, 1], hi[r, 1] + 1):
                for iz in range(lo[r, 2], hi[r, 2] + 1):
                    c = (ix * ny + iy) * nz + iz
                    cidx[fill[c]] = r
                    fill[c] += 1
    return cptr, cidx


@numba.njit(cache=True)
def _sample_rods(pts, rods, cptr, cidx, grid):
    out = np.empty(pts.shape[0])
    for n in range(pts.shape[0]):
        out[n] = np.sqrt(_rod_dist2(pts[n, 0], pts[n, 1], pts[n, 2], rods, cptr, cidx, grid))
    return out


def _rod_network(spec: PhantomSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """The rods of ``microstructure="rods"`` (end points, body frame, mm), their cell lists and radius (mm).

    Returns ``(rods, cptr, cidx, grid, radius)``; ``grid`` is the cells' origin, size (mm) and counts along x, y, z.
    The radius is the BV/TV-quantile of the distance to the nearest rod axis over 400 000 random points.
    """
    s = spec.trabecular_spacing_mm
    cell = np.array([s, s, s / spec.vertical_anisotropy])
    lo_e, hi_e = spec.extent_mm()
    half = np.array([spec.width_mm / 2, spec.depth_mm / 2, max(abs(lo_e[2]), abs(hi_e[2]))])
    lo = -half - cell
    dims = np.ceil((2 * half + 2 * cell) / cell).astype(np.int64)
    rng = np.random.default_rng([spec.seed, 2024])
    idx = np.stack(np.meshgrid(*(np.arange(n) for n in dims), indexing="ij"), axis=-1).reshape(-1, 1, 3)
    centres = lo + (idx + rng.uniform(size=(idx.shape[0], 3, 3))) * cell  # (cell, direction, xyz)
    disk = rng.uniform(size=(idx.shape[0], 3, 2))
    rad, ang = np.tan(np.radians(ROD_TILT_DEG)) * np.sqrt(disk[..., 0]), 2 * np.pi * disk[..., 1]
    axes = np.zeros((idx.shape[0], 3, 3))
    for d in range(3):  # each rod's axis: its cell axis d, tilted within a cone
        p1, p2 = [q for q in range(3) if q != d]
        axes[:, d, d] = 1.0
        axes[:, d, p1] = rad[:, d] * np.cos(ang[:, d])
        axes[:, d, p2] = rad[:, d] * np.sin(ang[:, d])
    axes /= np.linalg.norm(axes, axis=-1, keepdims=True)
    # a rod along axis d spans one cell along d
    half_len = 0.5 * cell[None, :, None] / np.abs(np.take_along_axis(axes, np.arange(3)[None, :, None], -1)) * axes
    present = np.ones((idx.shape[0], 3), bool)
    present[:, :2] = rng.uniform(size=(idx.shape[0], 2)) < spec.rod_connectivity  # lateral and AP rods
    ends = np.concatenate([centres - half_len, centres + half_len], axis=-1)[present]
    grid = np.concatenate([lo, cell, dims.astype(float)])
    cap = ROD_MAX_RADIUS * cell.min()
    cptr, cidx = _rod_candidates(ends, grid, cap)
    pts = np.random.default_rng(spec.seed + 1).uniform(-half, half, size=(400_000, 3))
    radius = float(np.quantile(_sample_rods(pts, ends, cptr, cidx, grid), spec.bone_volume_fraction))
    if radius >= cap:
        raise ConfigError(f"rods of spacing {s} mm at connectivity {spec.rod_connectivity} need radius {radius:.3f} mm "
                          f"for BV/TV {spec.bone_volume_fraction:.3f}, more than {cap:.3f} mm: raise the connectivity "
                          "or the spacing, or lower the vBMD")
    cptr, cidx = _rod_candidates(ends, grid, radius)
    return ends, cptr, cidx, grid, radius


def render_phantom(
    spec: PhantomSpec = PhantomSpec(),
    geometry: ImageGeometry | None = None,
    *,
    spacing_mm: float = 0.5,
    pose: Pose = Pose(),
    oversample: int | None = None,
) -> PhantomImage:
    """Sample the phantom on a grid in scanner space.

    Parameters
    ----------
    spec : PhantomSpec
    geometry : ImageGeometry, optional
        Target grid; default: an identity-direction grid of ``spacing_mm``
        around the posed phantom (:func:`phantom_geometry`).
    spacing_mm : float
        Voxel size of the default grid.
    pose : Pose
        Placement of the body frame in the scanner.
    oversample : int, optional
        Sub-samples per voxel axis; default odd, ~0.17 mm apart for textured
        phantoms (at most 13), ~0.3 mm otherwise (at most 9).

    Returns
    -------
    PhantomImage

    Examples
    --------
    >>> img = render_phantom(PhantomSpec(texture=False), spacing_mm=2.0)
    >>> img.density_mg_cm3.shape == img.geometry.shape
    True
    """
    geom = geometry or phantom_geometry(spec, spacing_mm=spacing_mm, pose=pose)
    if oversample is None:
        # odd counts: a voxel's inside-fraction is never exactly one half, so masks are unbiased
        step = 0.25 if spec.texture else 0.5
        oversample = min(2 * round(max(geom.spacing_mm) / step) + 1, 13 if spec.texture else 9)
    waves, phases = _texture_waves(spec)
    rods, cptr, cidx, grid = np.zeros((0, 6)), np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(9)
    rod_mode = spec.texture and spec.microstructure == "rods"
    if rod_mode:
        rods, cptr, cidx, grid, thr = _rod_network(spec)
    else:
        thr = _threshold(spec, waves, phases) if spec.texture else 0.0
    a, b, h = spec.width_mm / 2, spec.depth_mm / 2, spec.height_mm / 2
    params = np.array(
        [
            a, b, h, spec.endplate_concavity_mm, spec.cortical_thickness_mm,
            spec.cortical_density_mg_cm3, spec.trabecular_vbmd_mg_cm3, spec.tissue_density_mg_cm3,
            spec.marrow_density_mg_cm3, spec.background_density_mg_cm3, float(spec.texture),
            float(spec.posterior_elements), spec.posterior_density_mg_cm3, spec.wedge_tan, float(rod_mode),
        ]
    )
    voids = np.asarray(spec.voids, dtype=float).reshape(-1, 4)
    dens, region, frac = _render(
        np.asarray(geom.shape, dtype=np.int64), geom.affine, pose.matrix, np.asarray(pose.centre_mm, dtype=float),
        int(oversample), params, waves, phases, thr, voids, rods, cptr, cidx, grid,
    )
    dens, region, frac = (arr.reshape(geom.shape) for arr in (dens, region, frac))
    return PhantomImage(dens, region, frac, geom, spec, pose)
