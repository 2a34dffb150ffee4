"""Study files: errors with key and line, duplicate keys, the documented example."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel

from vertfem.errors import ConfigError
from vertfem.study import load_study
from vertfem.study.config import Analysis, Columns, Execution, ReportOptions, Study
from vertfem.vertebra import VertebraOptions

from .conftest import EXAMPLE


def test_yaml_errors_name_key_and_line(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("name: x\ncohort: c.csv\nmeasures:\n  fe:\n    mesh_size_mm: -1\n    colour: red\n")
    with pytest.raises(ConfigError) as e:
        load_study(p)
    msg = str(e.value)
    assert "measures.fe.mesh_size_mm (line 5)" in msg and "measures.fe.colour (line 6)" in msg
    p.write_text("name: x\ncohort: c.csv\nanalyses:\n  - {type: roc, measures: [a]}\n")
    with pytest.raises(ConfigError, match=r"analyses.0 \(line 4\).*needs outcome"):
        load_study(p)
    p.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_study(p)
    p.write_text("name: x\ncohort: c.csv\nmeasures: {texture: {preset: nope}}\n")
    with pytest.raises(ConfigError, match=r"measures\.texture\.preset.*unknown preset"):
        load_study(p)
    p.write_text("name: x\ncohort: c.csv\nmeasures: {fe: {mesh_size_mm: 2.5, cap_thickness_mm: 5}}\n")
    opts = load_study(p).enabled()["fe"].mesh_options()
    assert opts.cap_thickness_mm == 5.0 and opts.mesh_size_mm == 2.5
    p.write_text("name: x\ncohort: c.csv\nconvention: verse\n")
    with pytest.raises(ConfigError, match="convention"):
        load_study(p)


@pytest.mark.parametrize("text, key, first, again", [
    ("name: x\ncohort: c.csv\nname: y\n", "name", 1, 3),
    ("name: x\ncohort: c.csv\nmeasures:\n  fe: {mesh_size_mm: 3}\n  vbmd: {}\n  fe: {mesh_size_mm: 4}\n", "fe", 4, 6),
    ("name: x\ncohort: c.csv\nmeasures:\n  vbmd:\n    erosion_mm: 6\n    erosion_mm: 3\n", "erosion_mm", 5, 6),
])
def test_duplicate_key_rejected_with_its_lines(tmp_path, text, key, first, again):
    """PyYAML keeps the last of two equal keys; a study file must not silently drop the first."""
    p = tmp_path / "s.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=rf"duplicate key '{key}' \(first on line {first}, again on line {again}\)"):
        load_study(p)


def _fields(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields) - {"root", "source"}


def test_example_study_documents_every_field():
    """The README promises that examples/kernel_comparison/study.yaml documents every field of a study file."""
    text = (EXAMPLE / "study.yaml").read_text()
    study = load_study(EXAMPLE / "study.yaml")
    assert study.enabled().keys() == {"vbmd", "fe", "focal", "texture"}
    missing = {}
    for model in (Study, Columns, Execution, ReportOptions, Analysis, VertebraOptions):
        absent = sorted(f for f in _fields(model) if not re.search(rf"(^|[\s{{,#]){re.escape(f)}:", text, re.M))
        if absent:
            missing[model.__name__] = absent
    assert not missing, f"fields not documented in the example study file: {missing}"
    # the measures' own options are documented once, in the README's options table (kept in step by its own test)
    assert "One name per option" in text and "One name per option" in (EXAMPLE.parents[1] / "README.md").read_text()
