from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from vertfem.ctsim import simulate_ct  # noqa: E402
from vertfem.phantom import PhantomSpec, render_phantom  # noqa: E402


@pytest.fixture(scope="session")
def phantom_05():
    """The default textured phantom rendered at 0.5 mm (shared: rendering takes seconds)."""
    return render_phantom(PhantomSpec(), spacing_mm=0.5)


@pytest.fixture(scope="session")
def phantom_ct_pair(phantom_05):
    """The 0.5 mm phantom scanned with the smooth and the sharp kernel."""
    return simulate_ct(phantom_05, "smooth", seed=1), simulate_ct(phantom_05, "sharp", seed=1)
