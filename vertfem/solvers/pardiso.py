"""MKL PARDISO Cholesky in single or double precision, with mixed-precision refinement.

pypardiso exposes only double-precision solves. MKL's single-precision
factorisation (``iparm(28) = 1``) does the same symbolic work with half the
bytes and twice the SIMD width: on the bundled L1 (120 k free DOF) it
factored in ~4.5 s instead of ~8.5 s on 2 cores. Used as the preconditioner
of a double-precision conjugate-gradient iteration it gives the
double-precision solution in two or three iterations
(:func:`mixed_precision_solve`), so accuracy is unchanged.

The binding here drives the same ``pardiso`` entry point pypardiso uses, on
the ``mkl_rt`` library of the ``mkl`` wheel pypardiso depends on, with the
upper triangle of a symmetric positive-definite CSR matrix (``mtype = 2``),
METIS ordering and zero-based indices.
"""

from __future__ import annotations

import ctypes
import os
from functools import lru_cache
from importlib import metadata

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import SolverError

__all__ = ["PardisoCholesky", "mixed_precision_solve"]

_ERRORS = {
    -1: "input inconsistent",
    -2: "not enough memory",
    -3: "reordering problem",
    -4: "zero pivot (the matrix is singular or not positive definite)",
    -5: "unclassified internal error",
    -6: "reordering failed",
    -7: "diagonal matrix is singular",
    -8: "32-bit integer overflow",
    -9: "not enough memory for out-of-core",
    -11: "read/write problem with out-of-core data",
}


def _mkl_rt_path() -> str:
    """Where ``mkl_rt`` lives: ``PYPARDISO_MKL_RT``, else the ``mkl`` wheel's file list, else pypardiso's search.

    pypardiso, when imported, walks all of ``sys.prefix/lib`` with a recursive
    glob to find the library (3.2 s per import on this machine, twice per
    run); the installed ``mkl`` distribution lists the file directly.
    """
    path = os.environ.get("PYPARDISO_MKL_RT")
    if path:
        return path
    try:
        files = metadata.files("mkl") or []
    except metadata.PackageNotFoundError:
        files = []
    found = sorted((f for f in files if "mkl_rt" in f.name), key=lambda f: len(str(f)))
    if found:
        return str(found[0].locate())
    import pypardiso

    return pypardiso.PyPardisoSolver(mtype=2).libmkl._name


@lru_cache(maxsize=1)
def _pardiso():
    """MKL's ``pardiso`` entry point (own handle, own signature)."""
    fn = ctypes.CDLL(_mkl_rt_path()).pardiso
    fn.argtypes = [ctypes.c_void_p] * 16
    fn.restype = None
    return fn


@lru_cache(maxsize=1)
def _set_threads_local():
    """MKL's ``MKL_Set_Num_Threads_Local``: the calling thread's MKL thread count (0 = the global setting)."""
    fn = ctypes.CDLL(_mkl_rt_path()).MKL_Set_Num_Threads_Local
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


class PardisoCholesky:
    """A PARDISO factorisation of an SPD matrix, held until :meth:`free`.

    Parameters
    ----------
    a : sparse matrix (n, n)
        Symmetric positive definite; only its upper triangle is read.
    single : bool
        Factorise in single precision (solutions then carry ~1e-6 relative
        error; use :func:`mixed_precision_solve` for double accuracy).
    threads : int, optional
        MKL threads for this factor's calls (set thread-locally around each
        call and restored after, so nothing global changes); default MKL's.
        One thread suits small systems: on the 20 k-unknown coarse system of
        the bundled L1's multigrid, a solve took 6 ms of CPU on one thread
        and 49 ms on two, the factorisation 260 ms against 460 ms.

    Raises
    ------
    SolverError
        PARDISO reported an error (message includes PARDISO's code).
    """

    def __init__(self, a: sp.spmatrix, *, single: bool = False, threads: int | None = None) -> None:
        self.threads = threads
        upper = sp.triu(a, format="csr")
        upper.sort_indices()
        self.n = upper.shape[0]
        self.dtype = np.float32 if single else np.float64
        self._data = np.ascontiguousarray(upper.data, dtype=self.dtype)
        self._indptr = np.ascontiguousarray(upper.indptr, dtype=np.int32)
        self._indices = np.ascontiguousarray(upper.indices, dtype=np.int32)
        self._pt = np.zeros(64, dtype=np.int64)
        self.iparm = np.zeros(64, dtype=np.int32)
        self.iparm[0] = 1  # no solver defaults: every value below is ours
        self.iparm[1] = 2  # METIS nested dissection
        self.iparm[9] = 8  # pivot perturbation 1e-8
        self.iparm[27] = 1 if single else 0
        self.iparm[34] = 1  # zero-based indices
        self._call(12, np.zeros(self.n, self.dtype))

    def _call(self, phase: int, b: np.ndarray) -> np.ndarray:
        x = np.zeros_like(b)
        err = ctypes.c_int32(0)
        i32 = ctypes.c_int32
        ref = ctypes.byref
        nrhs = 1 if b.ndim == 1 else b.shape[1]
        previous = _set_threads_local()(self.threads) if self.threads else None
        try:
            _pardiso()(
                self._pt.ctypes.data, ref(i32(1)), ref(i32(1)), ref(i32(2)), ref(i32(phase)), ref(i32(self.n)),
                self._data.ctypes.data, self._indptr.ctypes.data, self._indices.ctypes.data, None, ref(i32(nrhs)),
                self.iparm.ctypes.data, ref(i32(0)), b.ctypes.data, x.ctypes.data, ref(err),
            )
        finally:
            if previous is not None:
                _set_threads_local()(previous)
        if err.value != 0:
            raise SolverError(
                f"PARDISO phase {phase} failed: error {err.value}, {_ERRORS.get(err.value, 'unknown')}; "
                "check that the load case fixes rigid-body motion and every modulus is positive"
            )
        return x

    def solve(self, b: np.ndarray) -> np.ndarray:
        """``A⁻¹ b`` in the factor's precision, returned as float64."""
        rhs = np.asfortranarray(b, dtype=self.dtype)
        return self._call(33, rhs).astype(np.float64)

    def free(self) -> None:
        """Release PARDISO's memory."""
        if self._pt.any():
            self._call(-1, np.zeros(self.n, self.dtype))
            self._pt[:] = 0

    def __del__(self) -> None:
        try:
            self.free()
        except Exception:  # interpreter shutdown: the library may be gone
            pass


def mixed_precision_solve(
    a: sp.csr_matrix, b: np.ndarray, *, rtol: float = 1e-12, maxiter: int = 30
) -> tuple[np.ndarray, int, str]:
    """Solve an SPD system to double precision with a single-precision PARDISO factor.

    Conjugate gradients on ``a`` (float64) preconditioned by the float32
    Cholesky factor. Falls back to a double-precision factorisation when the
    single-precision one fails (e.g. a modulus range beyond float32) or CG
    does not reach ``rtol`` within ``maxiter`` iterations.

    Returns
    -------
    x : ndarray
    iterations : int
        CG iterations (0 after the double-precision fallback).
    mode : str
        ``"mixed"`` or ``"double"``.
    """
    try:
        factor = PardisoCholesky(a, single=True)
    except SolverError:
        factor = None
    if factor is not None:
        try:
            its = [0]

            def count(_):
                its[0] += 1

            m = spla.LinearOperator(a.shape, matvec=factor.solve, dtype=np.float64)
            x, info = spla.cg(a, b, rtol=rtol, atol=0.0, maxiter=maxiter, M=m, callback=count)
            if info == 0:
                return x, its[0], "mixed"
        finally:
            factor.free()
    factor = PardisoCholesky(a, single=False)
    try:
        return factor.solve(b), 0, "double"
    finally:
        factor.free()
