import numpy as np
import pytest

from vertfem.calibration import (
    KernelCalibration,
    default_registry,
    fit_calibration,
    load_calibrations,
    resolve_calibration,
)
from vertfem.errors import CalibrationError, ConfigError, UnknownKernelError


def test_b40f_b70f_known_points():
    reg = default_registry()
    assert reg["B40f"].density_g_cm3(1000.0) == pytest.approx(0.6958, abs=1e-12)
    assert reg["B70f"].density_g_cm3(1000.0) == pytest.approx(0.7263, abs=1e-12)
    assert reg["B40f"].density_g_cm3(0.0) == pytest.approx(-4.2e-3)
    assert reg["B70f"].density_g_cm3(100.0) == pytest.approx(-3.7e-3 + 0.073)


def test_inverse_calibration_round_trips():
    cal = default_registry()["B70f"]
    hu = np.array([-100.0, 0.0, 250.0, 1200.0])
    np.testing.assert_allclose(cal.hu(cal.density_g_cm3(hu)), hu)


def test_phantom_fit_recovers_line_from_noisy_inserts():
    rng = np.random.default_rng(3)
    true_slope, true_icpt = 6.8e-4, -2.5e-3
    dens = np.array([0.0, 0.05, 0.1, 0.2, 0.4, 0.8])
    hu = (dens - true_icpt) / true_slope + rng.normal(0, 2.0, dens.size)
    cal = fit_calibration("FC18", hu, dens)
    assert cal.slope_g_cm3_per_HU == pytest.approx(true_slope, rel=0.01)
    assert cal.intercept_g_cm3 == pytest.approx(true_icpt, abs=2e-3)
    assert cal.r2 > 0.999
    assert len(cal.residuals_g_cm3) == dens.size
    assert np.sum(cal.residuals_g_cm3) == pytest.approx(0.0, abs=1e-12)


def test_fit_needs_two_distinct_inserts():
    with pytest.raises(CalibrationError, match="at least two inserts"):
        fit_calibration("X", [100.0], [0.1])
    with pytest.raises(CalibrationError, match="one of each"):
        fit_calibration("X", [0.0, 100.0], [0.1])


def test_invalid_slope_rejected():
    with pytest.raises(CalibrationError, match="slope"):
        KernelCalibration("X", -1.0, 0.0)


def test_yaml_calibrations(tmp_path):
    p = tmp_path / "cal.yaml"
    p.write_text(
        "kernels:\n"
        "  Br38f: {slope: 7.1e-4, intercept: -3.0e-3, source: site QA}\n"
        "  FC18:\n"
        "    inserts: {hu: [0, 100, 200, 300], density_g_cm3: [0.0, 0.07, 0.14, 0.21]}\n"
    )
    reg = load_calibrations(p)
    assert "B40f" in reg and "br38f" in reg
    assert reg["Br38f"].density_g_cm3(100) == pytest.approx(0.068)
    assert reg["FC18"].slope_g_cm3_per_HU == pytest.approx(7e-4)


def test_yaml_error_names_the_key(tmp_path):
    p = tmp_path / "cal.yaml"
    p.write_text("kernels:\n  Br38f: {slope: 7.1e-4}\n")
    with pytest.raises(ConfigError, match="Br38f"):
        load_calibrations(p)
    p.write_text("kernels:\n  Br38f: {slope: 7.1e-4, intercept: 0, colour: red}\n")
    with pytest.raises(ConfigError, match="colour"):
        load_calibrations(p)


def test_kernel_from_dicom_metadata():
    assert resolve_calibration(None, scan_kernel="B70f").kernel == "B70f"
    assert resolve_calibration(None, scan_kernel="b40f\\2").kernel == "B40f"
    assert resolve_calibration("B40f", scan_kernel="B70f").kernel == "B40f"


def test_unknown_kernel_without_calibration_is_an_error():
    with pytest.raises(UnknownKernelError, match="Br38f"):
        resolve_calibration(None, scan_kernel="Br38f")
    with pytest.raises(UnknownKernelError, match="no reconstruction kernel given"):
        resolve_calibration(None, scan_kernel=None)
