"""Option models: one validation path for the Python API, the command line and the study YAML.

Every stage and measure describes its options as a frozen pydantic model
derived from :class:`Options`. :func:`parse_options` is the one place where
user input (keyword overrides, parsed YAML, command-line values) becomes such
a model; a bad value raises :class:`~vertfem.errors.ConfigError` naming the
option, its command-line flag, the value given and the allowed range, never a
raw pydantic traceback.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import ConfigError

__all__ = ["Options", "describe_errors", "flag_name", "load_yaml", "options_sha256", "parse_options"]

T = TypeVar("T", bound=BaseModel)

_BOUNDS = {
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be ≥ {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be ≤ {le}",
    "finite_number": "must be a finite number",
}


class Options(BaseModel):
    """Base of every options model: immutable, unknown keys rejected, NaN and infinity rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def flag_name(option: str) -> str:
    """Command-line flag of an option name.

    Examples
    --------
    >>> flag_name("mesh_size_mm")
    '--mesh-size-mm'
    """
    return "--" + option.replace("_", "-")


def _message(err: Mapping[str, Any], model: type[BaseModel]) -> str:
    loc = [str(x) for x in err["loc"] if not (isinstance(x, str) and x.startswith("function-"))]
    name = ".".join(loc) or "(options)"
    where = f"{name} ({flag_name(loc[0])})" if loc and loc[0] in model.model_fields else name
    kind = err["type"]
    if kind == "extra_forbidden":
        known = ", ".join(sorted(model.model_fields))
        return f"{where}: unknown option; known options: {known}"
    value = err.get("input")
    template = _BOUNDS.get(kind)
    ctx = {k: (f"{v:g}" if isinstance(v, (int, float)) else v) for k, v in err.get("ctx", {}).items()}
    text = template.format(**ctx) if template else err["msg"]
    return f"{where} = {value!r}: {text}"


def describe_errors(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    """One line per validation error: option, flag, value given and the rule it breaks."""
    return [_message(e, model) for e in exc.errors()]


def parse_options(model: type[T], data: Mapping[str, Any] | BaseModel | None = None, /, *, where: str = "",
                  **overrides: Any) -> T:
    """Validate options from a mapping, an existing model and keyword overrides.

    Parameters
    ----------
    model : type
        The options model.
    data : mapping or model, optional
        Base values (parsed YAML, or an options object to start from).
    where : str
        Where the values come from, for the message (``"vbmd options"``, a file name).
    **overrides
        Individual options; ``None`` values are ignored so that unset
        command-line arguments keep the model's defaults.

    Raises
    ------
    ConfigError
        Naming each bad option with its flag, the value and the allowed range.

    Examples
    --------
    >>> from pydantic import Field
    >>> class Demo(Options):
    ...     mesh_size_mm: float = Field(2.0, gt=0)
    >>> parse_options(Demo, mesh_size_mm=1.5).mesh_size_mm
    1.5
    >>> parse_options(Demo, mesh_size_mm=-2, where="demo")
    Traceback (most recent call last):
    ...
    vertfem.errors.ConfigError: invalid demo: mesh_size_mm (--mesh-size-mm) = -2: must be > 0
    """
    base: dict[str, Any]
    if data is None:
        base = {}
    elif isinstance(data, BaseModel):
        base = data.model_dump(exclude_unset=True) if isinstance(data, model) else dict(data.model_dump())
    elif isinstance(data, Mapping):
        base = dict(data)
    else:
        raise ConfigError(f"invalid {where or model.__name__}: expected a mapping of options, "
                          f"got {type(data).__name__}")
    base.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return model.model_validate(base)
    except ValidationError as exc:
        lines = describe_errors(exc, model)
        head = f"invalid {where or model.__name__}: "
        raise ConfigError(head + lines[0] if len(lines) == 1 else head + "\n  " + "\n  ".join(lines)) from None


def options_sha256(options: BaseModel | Mapping[str, Any]) -> str:
    """SHA-256 of the options' canonical JSON (sorted keys): the identity of a set of settings.

    Examples
    --------
    >>> options_sha256({"b": 1, "a": 2}) == options_sha256({"a": 2, "b": 1})
    True
    """
    data = options.model_dump(mode="json") if isinstance(options, BaseModel) else dict(options)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key]}, again on line "
                            f"{key_node.start_mark.line + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def load_yaml(path: str | Path, *, what: str = "file") -> Any:
    r"""Read a YAML file safely: no tags that build Python objects, no key given twice.

    Raises
    ------
    ConfigError
        The file cannot be read, is not valid YAML, or repeats a key (with its lines).

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.yaml")
    >>> with open(p, "w") as f:
    ...     _ = f.write("a: 1\nb: 2\na: 3\n")
    >>> load_yaml(p, what="study file")
    Traceback (most recent call last):
    ...
    vertfem.errors.ConfigError: study file ... is not valid YAML: duplicate key 'a' (first on line 1, again on
    line 3)...
    """
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {p}: {exc.strerror or exc}") from exc
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {p} is not valid YAML: {exc}") from exc
