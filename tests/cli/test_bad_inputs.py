"""The corpus of bad inputs, through ``vertfem.cli.main``: each is refused by name, or computed with a recorded flag.

Every case states the exit code, the exception class printed and a fragment of its message; a refused case must
leave no output that claims success (no record, no table row with status "done").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from vertfem.cli import main


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]  # {ct}, {mask}, {out}, {d} (the corpus folder) are filled in
    code: int
    error: str | None = None
    fragment: str = ""
    flag: str | None = None  # for exit 0/3: a flag the table must record


def _write(img: sitk.Image, path: Path) -> str:
    sitk.WriteImage(img, str(path))
    return str(path)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, example) -> dict[str, str]:
    """The bundled CT and label map, and every bad variant of them, written once."""
    d = tmp_path_factory.mktemp("corpus")
    ct = sitk.ReadImage(str(example.paths["ct"]))
    lab = sitk.ReadImage(str(example.paths["labels"]))
    la = sitk.GetArrayFromImage(lab)
    f: dict[str, str] = {"ct": str(example.paths["ct"]), "mask": str(example.paths["labels"]), "d": str(d)}

    def like(arr: np.ndarray, ref: sitk.Image) -> sitk.Image:
        img = sitk.GetImageFromArray(arr)
        img.CopyInformation(ref)
        return img

    ca = sitk.GetArrayFromImage(ct)
    f["raw"] = _write(like((ca + 1024).astype(np.int16), ct), d / "raw.nii.gz")
    f["ct_u8"] = _write(sitk.Cast(sitk.Clamp(ct, sitk.sitkInt16, 0, 255), sitk.sitkUInt8), d / "ct_u8.nii.gz")
    f["ct_i8"] = _write(sitk.Cast(sitk.Clamp(ct, sitk.sitkInt16, -128, 127), sitk.sitkInt8), d / "ct_i8.nii.gz")
    nan = ca.astype(np.float32)
    nan[0, 0, :5] = np.nan
    f["ct_nan"] = _write(like(nan, ct), d / "ct_nan.nii.gz")  # ITK's NIfTI reader would read these NaNs as 0
    f["ct_nan_mha"] = _write(like(nan, ct), d / "ct_nan.mha")
    f["ct_2d"] = _write(ct[:, :, 40], d / "ct_2d.nii.gz")
    f["ct_4d"] = _write(sitk.JoinSeries([ct, ct]), d / "ct_4d.nii.gz")
    other = sitk.Image(lab)
    other.SetOrigin(tuple(np.add(lab.GetOrigin(), (0.0, 40.0, 0.0))))  # LPS origin +40 mm: direction −1 on y
    f["other_scan"] = _write(other, d / "other_scan.nii.gz")
    far = sitk.Image(lab)
    far.SetOrigin((5000.0, 5000.0, 5000.0))
    f["far"] = _write(far, d / "far.nii.gz")
    f["empty"] = _write(like(np.zeros_like(la), lab), d / "empty.nii.gz")
    island = la.copy()
    island[5:10, 5:10, 5:10] = 31  # 125 voxels (3.4 cm³), far from L1
    f["island"] = _write(like(island, lab), d / "island.nii.gz")
    twin = la.copy()
    twin[twin == 30] = 31  # L2 carries L1's label too
    f["twin"] = _write(like(twin, lab), d / "twin.nii.gz")
    k = np.flatnonzero((la == 31).any(axis=(1, 2)))
    cropped = lab[:, :, : int(k.min() + 3)]  # ends 9 mm into L1 (3 mm slices); the CT goes on
    f["cropped"] = _write(cropped, d / "cropped.nii.gz")
    f["binary"] = _write(like((la == 32).astype(np.uint8), lab), d / "binary.nii.gz")
    ten_ct, ten_lab = sitk.Image(ct), sitk.Image(lab)
    for img in (ten_ct, ten_lab):
        img.SetSpacing((10.0, 10.0, 10.0))
    f["ct_10mm"], f["mask_10mm"] = _write(ten_ct, d / "ct_10mm.nii.gz"), _write(ten_lab, d / "mask_10mm.nii.gz")
    f["six_ct"] = _write(sitk.Shrink(ct, (2, 2, 2)), d / "ct_6mm.nii.gz")
    f["six_mask"] = _write(sitk.Shrink(lab, (2, 2, 2)), d / "mask_6mm.nii.gz")
    frac = like(la.astype(np.float32) + 0.5, lab)
    f["fractional"] = _write(frac, d / "fractional.nii.gz")
    (d / "empty_dir").mkdir()
    f["empty_dir"] = str(d / "empty_dir")
    (d / "mg.yaml").write_text("kernels:\n  B40f: {slope: 0.7, intercept: -4.2, source: site file in mg}\n")
    (d / "broken.yaml").write_text("kernels: [unclosed\n")
    (d / "tagged.yaml").write_text("kernels: !!python/object/apply:os.system ['true']\n")
    (d / "dupkey.yaml").write_text("kernels:\n  X1: {slope: 7e-4, intercept: 0.0, slope: 8e-4}\n")
    (d / "a_file").write_text("not a folder")
    (d / "study_broken.yaml").write_text("name: [unclosed\n")
    (d / "study_tagged.yaml").write_text("name: !!python/name:os.system\ncohort: c.csv\n")
    (d / "study_unknown.yaml").write_text("name: x\ncohort: c.csv\nmeasures: {vbmdd: {}}\n")
    return f


V = ("--kernel", "B40f")
CASES = [
    # files that cannot be read, or are not CT
    Case("missing_ct", ("vbmd", "{d}/nope.nii.gz", "{mask}", *V), 1, "ScanReadError", "does not exist"),
    Case("missing_mask", ("vbmd", "{ct}", "{d}/nope.nii.gz", *V), 1, "ScanReadError", "does not exist"),
    Case("ct_2d", ("vbmd", "{ct_2d}", "{mask}", *V), 1, "ScanReadError", "is 2D"),
    Case("ct_4d", ("vbmd", "{ct_4d}", "{mask}", *V), 1, "ScanReadError", "is 4D"),
    Case("empty_dicom_dir", ("vbmd", "{empty_dir}", "{mask}", *V), 1, "ScanReadError", "no DICOM series"),
    Case("ct_nan", ("vbmd", "{ct_nan}", "{mask}", *V), 1, "NonFiniteHUError", "has 5 non-finite voxels"),
    Case("ct_nan_mha", ("vbmd", "{ct_nan_mha}", "{mask}", *V), 1, "NonFiniteHUError", "has 5 non-finite voxels"),
    Case("ct_uint8", ("vbmd", "{ct_u8}", "{mask}", *V), 1, "AbsurdHUError", "8-bit unsigned integer"),
    Case("ct_int8", ("vbmd", "{ct_i8}", "{mask}", *V), 1, "AbsurdHUError", "8-bit signed integer"),
    Case("unrescaled_ct", ("vbmd", "{raw}", "{mask}", *V), 1, "AbsurdHUError", "RescaleIntercept"),
    Case("unrescaled_ct_fe", ("fe", "{raw}", "{mask}", *V, "--mesh-size-mm", "4"), 1, "AbsurdHUError",
         "not in Hounsfield units"),
    Case("labels_as_ct", ("vbmd", "{mask}", "{mask}", *V), 1, "AbsurdHUError",
         "if this is a label map, give the CT first"),
    Case("fractional_labels", ("vbmd", "{ct}", "{fractional}", *V), 1, "ScanReadError", "non-integer values"),
    # label maps that do not fit the CT or the request
    Case("labels_of_another_scan", ("vbmd", "{ct}", "{other_scan}", *V), 1, "MaskImageMismatchError",
         "does not lie on bone"),
    Case("no_overlap", ("vbmd", "{ct}", "{far}", *V), 1, "MaskImageMismatchError", "does not overlap"),
    Case("empty_labels", ("vbmd", "{ct}", "{empty}", *V), 1, "EmptyMaskError", "is empty"),
    Case("unknown_level", ("vbmd", "{ct}", "{mask}", "--vertebra", "L9", *V), 1, "UnknownVertebraError",
         "not in the 'totalsegmentator' convention"),
    Case("absent_level", ("vbmd", "{ct}", "{mask}", "--vertebra", "C3", *V), 1, "LabelNotFoundError",
         "labels present"),
    Case("wrong_convention", ("vbmd", "{ct}", "{mask}", "--convention", "verse", *V), 1, "LabelNotFoundError",
         "'verse' convention"),
    Case("unknown_convention", ("vbmd", "{ct}", "{mask}", "--convention", "mine", *V), 1, "ConfigError",
         "unknown label convention"),
    Case("second_vertebra_same_label", ("vbmd", "{ct}", "{twin}", *V), 1, "SegmentationError",
         "neighbouring vertebra carries the same label"),
    Case("cut_by_ct_fov", ("vbmd", "{ct}", "{mask}", "--vertebra", "T11", *V), 1, "VertebraCutByFOVError",
         "--allow-cut"),
    Case("label_map_ends_in_vertebra", ("vbmd", "{ct}", "{cropped}", *V), 1, "VertebraCutByFOVError",
         "which ends inside it"),
    Case("binary_mask_without_label", ("vbmd", "{ct}", "{binary}", "--vertebra", "T12", *V), 1,
         "LabelNotFoundError", "--mask-label 1 --vertebra"),
    Case("ten_mm_header", ("fe", "{ct_10mm}", "{mask_10mm}", *V), 1, "AnatomyError", "voxel spacing in the header"),
    Case("six_mm_ct_vbmd", ("vbmd", "{six_ct}", "{six_mask}", *V, "--opening-mm", "7"), 1, "VOITooSmallError",
         "too coarse for vBMD"),
    # calibration
    Case("unknown_kernel", ("vbmd", "{ct}", "{mask}", "--kernel", "B99f"), 1, "UnknownKernelError",
         "no calibration for reconstruction kernel 'B99f'"),
    Case("no_kernel", ("vbmd", "{ct}", "{mask}"), 1, "UnknownKernelError", "--kernel B40f"),
    Case("calibration_in_mg", ("vbmd", "{ct}", "{mask}", "--calibration", "{d}/mg.yaml", *V), 1,
         "CalibrationError", "did you give the line in mg/cm³"),
    Case("calibration_broken_yaml", ("vbmd", "{ct}", "{mask}", "--calibration", "{d}/broken.yaml", *V), 1,
         "ConfigError", "is not valid YAML"),
    Case("calibration_yaml_tag", ("vbmd", "{ct}", "{mask}", "--calibration", "{d}/tagged.yaml", *V), 1,
         "ConfigError", "could not determine a constructor for the tag"),
    Case("calibration_duplicate_key", ("vbmd", "{ct}", "{mask}", "--calibration", "{d}/dupkey.yaml", *V), 1,
         "ConfigError", "duplicate key 'slope'"),
    Case("calibration_missing_file", ("vbmd", "{ct}", "{mask}", "--calibration", "{d}/none.yaml", *V), 1,
         "ConfigError", "cannot read calibration file"),
    # options out of range: one message naming option, flag, value and bound
    Case("negative_erosion", ("vbmd", "{ct}", "{mask}", *V, "--erosion-mm", "-3"), 1, "ConfigError",
         "erosion_mm (--erosion-mm) = -3.0: must be ≥ 0"),
    Case("zero_mesh_size", ("fe", "{ct}", "{mask}", *V, "--mesh-size-mm", "0"), 1, "ConfigError",
         "mesh_size_mm (--mesh-size-mm) = 0.0: must be > 0.3"),
    Case("negative_mesh_size", ("analyze", "{ct}", "{mask}", *V, "--mesh-size-mm", "-2", "-o", "{out}"), 1,
         "ConfigError", "must be > 0.3"),
    Case("nan_mesh_size", ("fe", "{ct}", "{mask}", *V, "--mesh-size-mm", "nan"), 1, "ConfigError",
         "must be a finite number"),
    Case("zero_voxel", ("focal", "{ct}", "{mask}", *V, "--voxel-mm", "0"), 1, "ConfigError",
         "voxel_mm (--voxel-mm) = 0.0: must be > 0.05"),
    Case("zero_opening", ("vbmd", "{ct}", "{mask}", *V, "--opening-mm", "0"), 1, "ConfigError", "opening_mm"),
    Case("unknown_law", ("fe", "{ct}", "{mask}", *V, "--law", "hooke"), 1, "ConfigError",
         "unknown density–modulus law"),
    Case("unknown_preset", ("texture", "{ct}", "{mask}", "--preset", "nope"), 1, "ConfigError", "unknown preset"),
    Case("bad_choice", ("fe", "{ct}", "{mask}", *V, "--solver", "gauss"), 2),
    # outputs checked before any work
    Case("output_is_a_file", ("analyze", "{ct}", "{mask}", *V, "-o", "{d}/a_file"), 1, "OutputError",
         "is an existing file"),
    Case("mesh_to_stl", ("mesh", "{ct}", "{mask}", *V, "-o", "{out}/l1.stl"), 1, "OutputError",
         "cannot hold a TET10 mesh"),
    Case("view_missing_file", ("view", "{d}/nothing.vtu"), 1, "OutputError", "no result file"),
    Case("view_nifti", ("view", "{ct}"), 1, "UnknownFieldError", "is not a VTU result"),
    # studies
    Case("study_missing", ("study", "run", "{d}/none.yaml"), 1, "ConfigError", "cannot read study file"),
    Case("study_broken_yaml", ("study", "run", "{d}/study_broken.yaml"), 1, "ConfigError", "not valid YAML"),
    Case("study_yaml_tag", ("study", "run", "{d}/study_tagged.yaml"), 1, "ConfigError", "not valid YAML"),
    Case("study_unknown_measure", ("study", "run", "{d}/study_unknown.yaml"), 1, "ConfigError",
         "measures.vbmdd"),
    # computed, and the caveat recorded in the outputs
    Case("stray_island", ("vbmd", "{ct}", "{island}", *V, "-o", "{out}"), 0, flag="islands_removed"),
    Case("allow_cut", ("vbmd", "{ct}", "{mask}", "--vertebra", "T12", "--allow-cut", *V, "-o", "{out}"), 0,
         flag="cut_by_fov"),
    Case("binary_mask_with_label", ("vbmd", "{ct}", "{binary}", "--vertebra", "T12", "--mask-label", "1",
                                    "--allow-cut", *V, "-o", "{out}"), 0, flag="cut_by_fov"),
    Case("some_levels_refused", ("vbmd", "{ct}", "{mask}", "--vertebra", "T11-L1", *V, "-o", "{out}"), 3),
]


def _claims_success(out: Path) -> bool:
    if not out.exists():
        return False
    records = [p for p in out.rglob("*.json") if p.name != "vbmd.json" or p.parent != out]
    tables = list(out.glob("*.csv"))
    return bool(records) or any("done" in t.read_text() for t in tables)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, corpus, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [a.format(out=out, **corpus) for a in case.argv]
    if case.code != 2:
        code = main(argv)
    else:
        with pytest.raises(SystemExit) as ex:
            main(argv)
        code = ex.value.code
    text = capsys.readouterr()
    printed = " ".join((text.out + text.err).split())
    assert code == case.code, printed[-2000:]
    if case.error:
        assert f"error ({case.error})" in printed, printed[-2000:]
        assert " ".join(case.fragment.split()) in printed, printed[-2000:]
        assert not _claims_success(out)
    if case.flag:
        table = next(out.glob("*.csv")).read_text()
        assert case.flag in table and "done" in table
        record = json.loads(next(out.glob("*/vbmd.json")).read_text())
        assert case.flag in {f["code"] for f in record["provenance"]["flags"]}


def test_corpus_has_at_least_forty_cases():
    assert len(CASES) >= 40
