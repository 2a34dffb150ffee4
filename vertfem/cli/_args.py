"""Command-line arguments generated from the options models, so every option has one name and one set of bounds.

A field ``mesh_size_mm`` of an options model becomes ``--mesh-size-mm``; its
type gives the argument's type (``bool`` → ``--x/--no-x``, ``Literal`` →
choices, tuples → several values), its ``description`` the help text. Values
the user does not give stay unset, so the model's defaults apply; the values
given are validated by the model through :func:`~vertfem.options.parse_options`.
"""

from __future__ import annotations

import argparse
import types
import typing
from typing import Any, Literal, Union

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ..options import flag_name, parse_options

__all__ = ["add_options", "options_from_args"]

_DEST = "opt__{model}__{name}"


def _literal_choices(tp: Any) -> list[Any] | None:
    if typing.get_origin(tp) is Literal:
        return list(typing.get_args(tp))
    if typing.get_origin(tp) in (Union, types.UnionType):
        for arg in typing.get_args(tp):
            choices = _literal_choices(arg)
            if choices:
                return choices
    return None


def _scalar(tp: Any) -> tuple[type | None, str | int | None]:
    """Argument type and nargs of an annotation (None when the field has no command-line form)."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        simple = [a for a in args if a in (int, float, str, bool) or typing.get_origin(a) in (tuple, Literal)]
        return _scalar(simple[0]) if simple else (None, None)
    if origin is tuple:
        inner = typing.get_args(tp)[0]
        return (inner if inner in (int, float, str) else str), "+"
    if origin is Literal:
        return type(typing.get_args(tp)[0]), None
    if tp in (int, float, str, bool):
        return tp, None
    return None, None


def add_options(parser: argparse.ArgumentParser, model: type[BaseModel], *, exclude: tuple[str, ...] = (),
                title: str | None = None) -> None:
    """Add one ``--flag`` per field of ``model`` (fields with no command-line form are skipped)."""
    group = parser.add_argument_group(title or f"{model.__name__} options")
    for name, field in model.model_fields.items():
        if name in exclude:
            continue
        _add(group, model, name, field)


def _add(group: argparse._ArgumentGroup, model: type[BaseModel], name: str, field: FieldInfo) -> None:
    tp, nargs = _scalar(field.annotation)
    if tp is None:
        return
    default = field.default if not isinstance(field.default, BaseModel) else None
    help_text = (field.description or name.replace("_", " ")) + f" (default: {default})"
    dest = _DEST.format(model=model.__name__, name=name)
    if tp is bool:
        group.add_argument(flag_name(name), dest=dest, action=argparse.BooleanOptionalAction, default=None,
                           help=help_text)
        return
    choices = _literal_choices(field.annotation)
    group.add_argument(flag_name(name), dest=dest, type=tp, nargs=nargs, choices=choices, default=None,
                       metavar=None if choices else name.split("_")[-1].upper(), help=help_text)


def options_from_args(model: type[BaseModel], args: argparse.Namespace, *, where: str, **fixed: Any) -> Any:
    """The options model from the arguments the user gave (others keep the model's defaults)."""
    prefix = _DEST.format(model=model.__name__, name="")
    given = {k[len(prefix):]: v for k, v in vars(args).items() if k.startswith(prefix) and v is not None}
    return parse_options(model, {**given, **fixed}, where=where)
