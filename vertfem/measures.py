"""The measure protocol and its registry: one front door for the Python API, the CLI and the study YAML.

A measure is three things:

* an **options model** (a frozen :class:`~vertfem.options.Options`), whose
  fields are the measure's options everywhere — keyword arguments in Python,
  ``--flags`` of its command, the keys of its section in a study YAML;
* a **run function** ``run(vertebra, options=None, **overrides) -> result``
  taking a prepared :class:`~vertfem.vertebra.Vertebra`;
* a **result** with the faces of :class:`MeasureResult`: ``row()`` (a flat
  dict, units in the column names), ``save(folder)`` (one JSON record with the
  provenance block, plus its maps or fields) and ``provenance``.

:data:`MEASURES` lists them by name. The registry imports a measure's module
only when it is used, so ``vertfem texture`` never loads the mesher.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from .errors import ConfigError
from .options import Options, parse_options
from .provenance import Provenance
from .vertebra import Vertebra

__all__ = [
    "MEASURES",
    "Measure",
    "MeasureResult",
    "get_measure",
    "options_table",
    "options_table_markdown",
    "run_measure",
    "table_row",
]


@runtime_checkable
class MeasureResult(Protocol):
    """What every measure's result offers."""

    measure: ClassVar[str]

    @property
    def provenance(self) -> Provenance:
        """Where the result comes from (versions, options, inputs, calibration, flags)."""
        ...  # pragma: no cover - protocol

    def row(self) -> dict[str, Any]:
        """Scalars as one flat row; units in the column names."""
        ...  # pragma: no cover - protocol

    def save(self, folder: str | Path) -> dict[str, Path]:
        """Write one JSON record (values + provenance) and the measure's maps/fields; return the paths."""
        ...  # pragma: no cover - protocol


def _load(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class Measure:
    """One entry of the registry.

    Attributes
    ----------
    name : str
        Registry name: the CLI command, the study YAML section, the ``measure`` of its records.
    title : str
        One line for help texts and reports.
    options_path, run_path : str
        ``"module:attribute"`` of the options model and the run function (imported on use).
    calibrated : bool
        Whether the measure needs an HU → density calibration.
    """

    name: str
    title: str
    options_path: str
    run_path: str
    calibrated: bool = True

    @property
    def options_model(self) -> type[Options]:
        """The options model class."""
        model: type[Options] = _load(self.options_path)
        return model

    @property
    def run(self) -> Callable[..., MeasureResult]:
        """The run function ``run(vertebra, options=None, **overrides)``."""
        fn: Callable[..., MeasureResult] = _load(self.run_path)
        return fn

    def parse(self, data: Any = None, *, where: str | None = None, **overrides: Any) -> Options:
        """Validate options for this measure (:func:`~vertfem.options.parse_options`)."""
        return parse_options(self.options_model, data, where=where or f"{self.name} options", **overrides)


MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure("vbmd", "trabecular vBMD (mg/cm³) and ACR class", "vertfem.vbmd:VBMDOptions",
                "vertfem.vbmd:trabecular_vbmd"),
        Measure("fe", "linear FE stiffness (N/mm) and strength (N)", "vertfem.fe.options:FEOptions",
                "vertfem.fe.run:fe_analysis"),
        Measure("fe_nonlinear", "elastic–plastic FE strength (N) to 2 % apparent strain, with the load–displacement "
                "curve", "vertfem.fe.nonlinear:NonlinearFEOptions", "vertfem.fe.nonlinear:fe_nonlinear"),
        Measure("focal", "focal BMC loss maps and summary (Li et al. 2022)", "vertfem.focal.options:FocalOptions",
                "vertfem.focal.measure:focal_bmc_loss"),
        Measure("texture", "texture/radiomics features (IBSI) of the vertebra's VOIs",
                "vertfem.texture.settings:TextureOptions", "vertfem.texture.vertebra:texture_features",
                calibrated=False),
        Measure("dxa", "DXA-equivalent aBMD (g/cm²), BMC, area and TBS-like index from the CT projection",
                "vertfem.dxa.options:DXAOptions", "vertfem.dxa.measure:dxa_measure"),
        Measure("dl", "learned BMD/TBS of a trained model (Yoshida 2023 pipeline)",
                "vertfem.dl.options:DLPredictOptions", "vertfem.dl.measure:dl_predict", calibrated=False),
    )
}
"""Every measure by name."""


def get_measure(name: str) -> Measure:
    """The registry entry of a measure.

    Raises
    ------
    ConfigError
        An unknown name, listing the known ones.

    Examples
    --------
    >>> get_measure("vbmd").title
    'trabecular vBMD (mg/cm³) and ACR class'
    """
    try:
        return MEASURES[name]
    except KeyError:
        raise ConfigError(f"unknown measure {name!r}; known measures: {', '.join(MEASURES)}") from None


def run_measure(name: str, vertebra: Vertebra, options: Any = None, **overrides: Any) -> MeasureResult:
    """Run a measure by name on a prepared vertebra.

    Examples
    --------
    >>> import vertfem as vf
    >>> p = vf.example_paths()
    >>> v = vf.prepare_vertebra(p["ct"], p["labels"], "L1", kernel="B40f")
    >>> round(run_measure("vbmd", v, erosion_mm=6).row()["vbmd_mg_cm3"], 1)
    80.0
    """
    m = get_measure(name)
    return m.run(vertebra, m.parse(options, **overrides))


def table_row(result: MeasureResult) -> dict[str, Any]:
    """A result's row plus its provenance columns (hashes, calibration, flags), options hash named by measure."""
    prov = result.provenance.row()
    prov[f"{result.measure}_options_sha256"] = prov.pop("options_sha256")
    return {**result.row(), **prov}


def _default(field: Any) -> str:
    d = field.default
    return "—" if d is None else (f"{d:g}" if isinstance(d, float) else str(d))


def _bounds(field: Any) -> str:
    words = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤"}
    parts = []
    for m in field.metadata:
        for attr, sign in words.items():
            value = getattr(m, attr, None)
            if value is not None:
                parts.append(f"{sign} {value:g}")
    return ", ".join(parts)


def options_table() -> list[dict[str, str]]:
    """Every option of the vertebra stage and of every measure: its one name in Python, CLI and YAML.

    Returns
    -------
    list of dict
        ``section`` (YAML section: ``vertebra`` or ``measures.<name>``), ``option`` (Python keyword and YAML
        key), ``flag`` (command-line flag), ``default``, ``bounds``, ``description``.

    Examples
    --------
    >>> row = next(r for r in options_table() if r["option"] == "mesh_size_mm")
    >>> row["flag"], row["section"], row["default"], row["bounds"]
    ('--mesh-size-mm', 'measures.fe', '2', '> 0.3, ≤ 8')
    """
    from .options import flag_name
    from .vertebra.model import VertebraOptions

    sections: list[tuple[str, type[Options]]] = [("vertebra", VertebraOptions)]
    sections += [(f"measures.{name}", m.options_model) for name, m in MEASURES.items()]
    return [{"section": section, "option": name,
             "flag": flag_name(name) + (f" / --no-{flag_name(name)[2:]}" if isinstance(f.default, bool) else ""),
             "default": _default(f),
             "bounds": _bounds(f), "description": f.description or ""}
            for section, model in sections for name, f in model.model_fields.items()]


def options_table_markdown() -> str:
    """:func:`options_table` as the Markdown table of the README (``python -c "import vertfem.measures as m;
    print(m.options_table_markdown())"`` regenerates it; a test keeps the README in step)."""
    head = ("| YAML section | option (Python, YAML) | CLI flag | default | allowed | meaning |\n"
            "|---|---|---|---|---|---|")
    rows = [f"| {r['section']} | `{r['option']}` | `{r['flag']}` | {r['default']} | {r['bounds']} | "
            f"{r['description']} |" for r in options_table()]
    return "\n".join([head, *rows])
