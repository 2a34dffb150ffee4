import numpy as np
import pytest
from scipy import ndimage

from vertfem.phantom import PhantomSpec, Pose, phantom_geometry, render_phantom
from vertfem.vertebra import cortical_split, isolate_body, prepare_vertebra, vertebral_frame

SPEC = PhantomSpec(texture=False, posterior_elements=True)


def _angle_deg(a, b):
    return np.degrees(np.arccos(np.clip(abs(np.dot(a, b)), -1, 1)))


@pytest.mark.parametrize("axis", ["x", "y"])
def test_tilted_vertebra_gives_same_frame_relative_to_bone(axis):
    pose = Pose.tilted(20.0, axis, centre_mm=(3.0, -4.0, 50.0))
    img = render_phantom(SPEC, phantom_geometry(SPEC, spacing_mm=1.0, pose=pose), pose=pose)
    body = isolate_body(img.vertebra_mask, img.geometry)
    f = vertebral_frame(body, img.geometry, vertebra_mask=img.vertebra_mask)
    r = pose.matrix  # body axes: lateral, posterior, cranial
    assert _angle_deg(f.cranial, r[:, 2]) < 1.5 and np.dot(f.cranial, r[:, 2]) > 0
    assert _angle_deg(f.anterior, -r[:, 1]) < 1.5 and np.dot(f.anterior, -r[:, 1]) > 0
    np.testing.assert_allclose(f.centroid_mm, pose.centre_mm, atol=1.0)
    assert f.height_mm == pytest.approx(SPEC.height_mm, abs=1.5)


@pytest.mark.parametrize("spacing", [0.5, 1.0, 3.0])
def test_body_isolation_recovers_phantom_body_volume(spacing):
    img = render_phantom(SPEC, spacing_mm=spacing)
    body = isolate_body(img.vertebra_mask, img.geometry)
    assert body.sum() * img.geometry.voxel_volume_mm3 == pytest.approx(SPEC.body_volume_mm3(), rel=0.05)
    assert (body & (img.region == 3)).sum() < 0.05 * body.sum()


def test_body_only_mask_passes_through():
    img = render_phantom(PhantomSpec(texture=False), spacing_mm=1.0)
    body = isolate_body(img.body_mask, img.geometry)
    assert body.sum() == img.body_mask.sum()


def test_cortical_split_thickness():
    img = render_phantom(PhantomSpec(texture=False), spacing_mm=0.5)
    shell, core = cortical_split(img.body_mask, img.geometry, shell_mm=1.0)
    assert not (shell & core).any() and ((shell | core) == img.body_mask).all()
    area = 2 * np.pi * 21 * 16 + 2 * np.pi * np.sqrt((21**2 + 16**2) / 2) * 26  # approx surface, mm²
    assert shell.sum() * 0.125 == pytest.approx(area * 1.0, rel=0.15)


@pytest.mark.parametrize("name", ["L1", "L2", "L3", "L4"])
def test_real_ct_body_isolation_removes_posterior_elements(name, example):
    v = prepare_vertebra(example.scan, example.labels, name)
    body, f, g = v.body, v.frame, v.geometry
    assert ndimage.label(body)[1] == 1

    def ap(mask):
        pts = g.index_to_physical(np.argwhere(mask)[:, ::-1].astype(float))
        return (pts - np.asarray(f.centroid_mm)) @ np.asarray(f.anterior)

    body_ap, whole_ap = ap(body), ap(v.mask)
    # a lumbar body is 30-40 mm deep; the whole vertebra with its spinous process ~ 80-100 mm
    assert np.ptp(body_ap) < 50.0
    assert whole_ap.min() < body_ap.min() - 25.0  # the spinous process was removed
    assert 0.55 < body.sum() / v.mask.sum() < 0.95


def test_frame_is_right_handed_with_lateral_to_the_patients_right(example):
    """LPS scanner space: anterior ≈ −y, cranial ≈ +z, so lateral = anterior × cranial ≈ −x (patient's right)."""
    f = example.l1.frame
    np.testing.assert_allclose(np.cross(f.anterior, f.cranial), f.lateral, atol=1e-12)
    assert np.dot(f.lateral, [-1.0, 0.0, 0.0]) > 0.95
