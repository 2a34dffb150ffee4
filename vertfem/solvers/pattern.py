"""Sparsity pattern of a TET10 vector problem and the scatter of element matrices into CSR.

The pattern is built per node (3 × 3 blocks) and laid out directly as the
scalar CSR matrix SciPy and PARDISO use, so assembly is one pass that adds
each element matrix entry into its CSR slot — no COO triplets, no sort of
25 M entries, no BSR → CSR conversion. numba, because the row-wise merge of
neighbour lists and the scatter are loops that NumPy can only express
through a global sort (three times slower on the bundled L1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp

__all__ = ["BlockPattern"]


@numba.njit(cache=True)
def _node_blocks(elements: np.ndarray, n_nodes: int):
    """Sorted neighbour lists of every node (block rows) and each element pair's block rank."""
    m, nen = elements.shape
    count = np.zeros(n_nodes + 1, np.int64)
    for e in range(m):
        for a in range(nen):
            count[elements[e, a] + 1] += 1
    for i in range(n_nodes):
        count[i + 1] += count[i]
    node_elems = np.empty(count[n_nodes], np.int64)
    node_local = np.empty(count[n_nodes], np.int64)
    fill = count[:-1].copy()
    for e in range(m):
        for a in range(nen):
            v = elements[e, a]
            node_elems[fill[v]] = e
            node_local[fill[v]] = a
            fill[v] += 1
    mark = np.full(n_nodes, -1, np.int64)
    pos = np.empty(n_nodes, np.int64)
    bptr = np.zeros(n_nodes + 1, np.int64)
    buf = np.empty(n_nodes, np.int64)
    cols = np.empty(count[n_nodes] * nen, np.int64)  # upper bound, trimmed below
    rank = np.empty((m, nen, nen), np.int64)
    for v in range(n_nodes):
        k = 0
        for t in range(count[v], count[v + 1]):
            e = node_elems[t]
            for a in range(nen):
                w = elements[e, a]
                if mark[w] != v:
                    mark[w] = v
                    buf[k] = w
                    k += 1
        row = np.sort(buf[:k])
        for q in range(k):
            pos[row[q]] = q
        cols[bptr[v]:bptr[v] + k] = row
        bptr[v + 1] = bptr[v] + k
        for t in range(count[v], count[v + 1]):
            e, a = node_elems[t], node_local[t]
            for b in range(nen):
                rank[e, a, b] = pos[elements[e, b]]
    cols = cols[: bptr[n_nodes]]
    return bptr, cols, rank


@numba.njit(cache=True)
def _csr_structure(bptr: np.ndarray, bcols: np.ndarray):
    n = len(bptr) - 1
    indptr = np.empty(3 * n + 1, np.int64)
    indices = np.empty(9 * bptr[n], np.int32)
    indptr[0] = 0
    for v in range(n):
        lo, hi = bptr[v], bptr[v + 1]
        width = 3 * (hi - lo)
        for i in range(3):
            r = 3 * v + i
            start = 9 * lo + i * width
            indptr[r + 1] = start + width
            for q in range(hi - lo):
                for j in range(3):
                    indices[start + 3 * q + j] = 3 * bcols[lo + q] + j
    return indptr, indices


@numba.njit(cache=True, nogil=True)
def _colours(elements: np.ndarray, n_nodes: int) -> np.ndarray:
    """A greedy colouring of the elements: two elements that share a node never share a colour (at most 64)."""
    m, nen = elements.shape
    used = np.zeros(n_nodes, np.uint64)  # bit c set: an element of colour c touches the node
    out = np.empty(m, np.int64)
    for e in range(m):
        taken = np.uint64(0)
        for a in range(nen):
            taken |= used[elements[e, a]]
        c = 0
        while (taken >> np.uint64(c)) & np.uint64(1):
            c += 1
        if c >= 64:
            return np.full(m, -1, np.int64)
        out[e] = c
        for a in range(nen):
            used[elements[e, a]] |= np.uint64(1) << np.uint64(c)
    return out


@numba.njit(cache=True, parallel=True, nogil=True)
def _scatter(ke: np.ndarray, elements: np.ndarray, rank: np.ndarray, bptr: np.ndarray, data: np.ndarray,
             order: np.ndarray, starts: np.ndarray) -> None:
    """Add ``ke[e, a, i, b, j]`` (any strides) into the CSR values ``data``.

    Elements go colour by colour (``order[starts[c]:starts[c + 1]]``); the elements of one colour share no node,
    so they write disjoint entries and run in parallel, and every entry sums its contributions in colour order
    whatever the number of threads.
    """
    nen = elements.shape[1]
    for c in range(len(starts) - 1):
        for t in numba.prange(starts[c], starts[c + 1]):
            e = order[t]
            for a in range(nen):
                r = elements[e, a]
                lo = bptr[r]
                width = 3 * (bptr[r + 1] - lo)
                for b in range(nen):
                    base = 9 * lo + 3 * rank[e, a, b]
                    for i in range(3):
                        off = base + i * width
                        for j in range(3):
                            data[off + j] += ke[e, a, i, b, j]


@dataclass(frozen=True, eq=False)
class BlockPattern:
    """Sparsity pattern of a mesh's vector stiffness matrix, reusable across assemblies.

    Attributes
    ----------
    n_nodes : int
    indptr, indices : ndarray
        Scalar CSR structure (3n × 3n, node-major DOFs, sorted columns).
    elements : ndarray (m, k)
    bptr, bcols : ndarray
        Node-level CSR structure: the neighbours of each node, sorted.
    rank : ndarray (m, k, k)
        Position of node ``b`` among the neighbours of node ``a`` of each element.
    colour : ndarray (m,)
        Element colours: elements of one colour share no node (parallel assembly).
    order : ndarray (m,)
        The elements sorted by colour.

    Examples
    --------
    >>> pattern = BlockPattern.of(mesh.elements, mesh.n_nodes)  # doctest: +SKIP
    >>> k1 = assemble_stiffness(x, mesh.elements, E1, 0.3, pattern=pattern)  # doctest: +SKIP
    """

    n_nodes: int
    indptr: np.ndarray
    indices: np.ndarray
    elements: np.ndarray
    bptr: np.ndarray
    bcols: np.ndarray
    rank: np.ndarray
    colour: np.ndarray
    order: np.ndarray

    @classmethod
    def of(cls, elements: np.ndarray, n_nodes: int) -> BlockPattern:
        el = np.ascontiguousarray(elements, dtype=np.int64)
        bptr, bcols, rank = _node_blocks(el, int(n_nodes))
        indptr, indices = _csr_structure(bptr, bcols)
        colour = _colours(el, int(n_nodes))
        if colour[0] < 0:  # more than 64 colours (a degenerate mesh): one element per colour, in order
            colour = np.arange(len(el))
        return cls(int(n_nodes), indptr, indices, el, bptr, bcols, rank, colour, np.argsort(colour, kind="stable"))

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    def add(self, data: np.ndarray, element_matrices: np.ndarray,
            elements: slice | np.ndarray = slice(None)) -> None:
        """Add element matrices of the elements ``elements`` into CSR ``data`` in place.

        ``element_matrices`` is ``(k, 3n_e, 3n_e)`` or, without a copy, any
        strided ``(k, n_e, 3, n_e, 3)`` view (node, component, node, component).
        """
        ke = element_matrices
        if ke.ndim == 3:
            k, n3 = ke.shape[:2]
            ke = ke.reshape(k, n3 // 3, 3, n3 // 3, 3)
        colour = self.colour[elements]
        order = np.argsort(colour, kind="stable")
        cuts = np.flatnonzero(np.diff(colour[order])) + 1
        starts = np.concatenate([[0], cuts, [len(order)]])
        _scatter(ke, self.elements[elements], self.rank[elements], self.bptr, data, order, starts)

    def scalar_matrix(self, element_matrices: np.ndarray) -> sp.csr_matrix:
        """Assemble scalar element matrices ``(m, n_e, n_e)`` (one unknown per node) into an n × n CSR matrix."""
        pos = self.bptr[self.elements][:, :, None] + self.rank
        data = np.bincount(pos.ravel(), weights=element_matrices.ravel(), minlength=len(self.bcols))
        out = sp.csr_matrix((data, self.bcols, self.bptr), shape=(self.n_nodes, self.n_nodes))
        out.has_sorted_indices = True
        return out

    def matrix(self, data: np.ndarray) -> sp.csr_matrix:
        """The CSR matrix (3n × 3n) with this pattern and values ``data``."""
        n = 3 * self.n_nodes
        out = sp.csr_matrix((data, self.indices, self.indptr), shape=(n, n))
        out.has_sorted_indices = True
        return out
