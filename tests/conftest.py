from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from types import SimpleNamespace

from vertfem.ctsim import simulate_ct
from vertfem.data import example_paths
from vertfem.io import read_labels, read_scan
from vertfem.phantom import PhantomSpec, render_phantom
from vertfem.vertebra import prepare_vertebra


@pytest.fixture(scope="session")
def example():
    """The bundled example CT (3 mm, TotalSegmentator labels): paths, scan, labels and the prepared L1 (B40f)."""
    p = example_paths()
    scan, labels = read_scan(p["ct"]), read_labels(p["labels"])
    return SimpleNamespace(paths=p, scan=scan, labels=labels,
                           l1=prepare_vertebra(scan, labels, "L1", kernel="B40f"))


@pytest.fixture(scope="session")
def phantom_05():
    """The default textured phantom rendered at 0.5 mm (shared: rendering takes seconds)."""
    return render_phantom(PhantomSpec(), spacing_mm=0.5)


@pytest.fixture(scope="session")
def phantom_ct_pair(phantom_05):
    """The 0.5 mm phantom scanned with the smooth and the sharp kernel."""
    return simulate_ct(phantom_05, "smooth", seed=1), simulate_ct(phantom_05, "sharp", seed=1)
