"""Locating CalculiX for cross-check tests."""

from __future__ import annotations

import os
import shutil

import pytest


def ccx_or_skip() -> str:
    """Path of ``ccx``; skip (or fail under CI's VERTFEM_REQUIRE_CCX=1) when absent."""
    exe = shutil.which("ccx")
    if exe is None:
        if os.environ.get("VERTFEM_REQUIRE_CCX") == "1":
            pytest.fail("VERTFEM_REQUIRE_CCX=1 but CalculiX 'ccx' is not on the PATH (apt-get install calculix-ccx)")
        pytest.skip("CalculiX 'ccx' not installed (apt-get install calculix-ccx)")
    return exe
