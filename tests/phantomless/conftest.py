from __future__ import annotations

import pytest

from vertfem.phantom import PhantomSpec
from vertfem.phantomless.simulate import render_body_phantom


@pytest.fixture(scope="package")
def body_2mm():
    """A 2 mm body phantom, homogeneous trabecular bone (renders in about a second)."""
    return render_body_phantom(PhantomSpec(texture=False, posterior_elements=True), spacing_mm=2.0)
