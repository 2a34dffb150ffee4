"""The package's shape: imports flow one way, modules and functions stay small, the public API is one list,
errors are vertfem's own, and the light entry points do not load the heavy stacks."""

from __future__ import annotations

import ast
import collections
import subprocess
import sys
from pathlib import Path

import pytest

import vertfem

PKG = Path(vertfem.__file__).parent
REPO = PKG.parent

#: Layer of every top-level module or sub-package; a module may import from its own layer or below only.
LAYERS = {
    **dict.fromkeys(("_version", "errors", "options", "provenance", "labels"), 0),
    **dict.fromkeys(("geometry", "io", "calibration", "materials", "phantom", "ctsim", "data", "stats",
                     "phantomless"), 1),
    "vertebra": 2,
    **dict.fromkeys(("vbmd", "focal", "texture", "meshing", "solvers", "fe", "dxa", "dl"), 3),
    **dict.fromkeys(("measures", "analysis"), 4),
    **dict.fromkeys(("study", "viz", "cli", "__main__"), 5),
}
#: Measures on images never reach into the FE stack (that made ``import vertfem.texture`` load gmsh).
FORBIDDEN = {
    **{m: {"meshing", "solvers", "fe"} for m in ("vbmd", "focal", "texture", "dxa", "dl")},
    "meshing": {"solvers", "fe"},
    "solvers": {"fe"},
}
MAX_MODULE_LINES = 500
MAX_FUNCTION_CODE_LINES = 60


def _modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py"))


def _name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every vertfem module ``path`` imports (relative imports resolved; ``from . import x`` gives ``pkg.x``)."""
    mod = _name(path)
    pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.startswith("vertfem"):
                out.add(target)
                out.update(f"{target}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("vertfem"))
    return out


def _top(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_module_has_a_layer():
    tops = {_top(_name(p)) for p in _modules()} - {None}
    assert tops <= set(LAYERS), sorted(tops - set(LAYERS))
    unplaced = [p.name for p in PKG.iterdir() if p.suffix == ".py" and p.stem not in LAYERS and p.stem != "__init__"]
    assert not unplaced


def test_imports_flow_one_way():
    bad = collections.defaultdict(set)
    for p in _modules():
        src = _top(_name(p))
        if src is None:
            continue
        for target in _imports(p):
            dst = _top(target)
            if dst is None or dst == src:
                continue
            if LAYERS[dst] > LAYERS[src] or dst in FORBIDDEN.get(src, ()):
                bad[_name(p)].add(target)
    assert not bad, {k: sorted(v) for k, v in bad.items()}


def _code_lines(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    doc = node.body[0] if node.body and isinstance(node.body[0], ast.Expr) and isinstance(
        getattr(node.body[0], "value", None), ast.Constant) else None
    skip = range(doc.lineno, (doc.end_lineno or doc.lineno) + 1) if doc else range(0)
    return sum(1 for i in range(node.lineno, (node.end_lineno or node.lineno) + 1)
               if i not in skip and lines[i - 1].strip() and not lines[i - 1].strip().startswith("#"))


def test_modules_and_functions_stay_small():
    big_modules, big_functions = [], []
    for p in _modules():
        lines = p.read_text().splitlines()
        if len(lines) > MAX_MODULE_LINES:
            big_modules.append(f"{_name(p)} ({len(lines)} lines)")
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = _code_lines(lines, node)
                if n > MAX_FUNCTION_CODE_LINES:
                    big_functions.append(f"{_name(p)}.{node.name} ({n} lines of code)")
    assert not big_modules and not big_functions, big_modules + big_functions


_BUILTIN_ERRORS = {"ValueError", "KeyError", "TypeError", "RuntimeError", "FileNotFoundError", "IndexError",
                   "OSError", "Exception"}


def _validator_functions(tree: ast.AST) -> set[ast.AST]:
    """Functions decorated as pydantic validators: they must raise ValueError for pydantic to report it."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            names = {getattr(d.func if isinstance(d, ast.Call) else d, "id", None) or getattr(
                d.func if isinstance(d, ast.Call) else d, "attr", None) for d in node.decorator_list}
            if names & {"field_validator", "model_validator"}:
                out.add(node)
    return out


def test_library_raises_vertfems_own_errors():
    bad = []
    for p in _modules():
        tree = ast.parse(p.read_text())
        allowed = {id(n) for v in _validator_functions(tree) for n in ast.walk(v)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and node.exc is not None and id(node) not in allowed:
                exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(exc, ast.Name) and exc.id in _BUILTIN_ERRORS:
                    bad.append(f"{_name(p)}:{node.lineno} raises {exc.id}")
    assert not bad, bad


def test_every_exception_class_lives_in_errors():
    bad = []
    for p in _modules():
        if p.name == "errors.py" and p.parent == PKG:
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                if any(b.endswith(("Error", "Warning", "Exception")) for b in bases):
                    bad.append(f"{_name(p)}.{node.name}")
    assert not bad, bad


def test_public_api_is_one_list_and_every_name_resolves():
    stub = (PKG / "__init__.pyi").read_text()
    for name in vertfem.__all__:
        assert getattr(vertfem, name) is not None, name
        assert name in stub
    assert sorted(dir(vertfem)) == sorted(vertfem.__all__)
    for sub in ("viz", "meshing", "solvers", "study", "stats", "texture", "focal", "vertebra", "fe"):
        assert getattr(vertfem, sub).__name__ == f"vertfem.{sub}"


@pytest.mark.parametrize("package", ["meshing", "solvers", "texture", "focal", "fe", "stats", "study"])
def test_sub_package_names_resolve(package):
    import importlib

    mod = importlib.import_module(f"vertfem.{package}")
    for name in mod.__all__:
        assert getattr(mod, name) is not None, f"vertfem.{package}.{name}"


def test_image_measures_do_not_load_the_fe_or_rendering_stacks():
    code = ("import sys, vertfem as vf; vf.texture.texture_features; vf.texture.TextureOptions; "
            "vf.focal.focal_bmc_loss; vf.trabecular_vbmd; vf.prepare_vertebra; import vertfem.measures; "
            "print(sorted(m for m in ('gmsh', 'pyvista', 'vtk', 'statsmodels', 'sklearn', 'pandas', 'torch') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_import_vertfem_is_light():
    code = "import sys, vertfem; print(sorted(m for m in ('scipy', 'numba', 'SimpleITK', 'gmsh') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
