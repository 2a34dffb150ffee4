"""A trained predictor: its networks, target scaling, input settings and versions, saved in one file.

The file (``torch.save`` of plain containers and tensors, read back with ``weights_only=True``) carries the slab
settings, so a loaded model prepares its inputs exactly as in training, and a probe: the outputs of the
networks on a fixed input at save time. :func:`load_model` recomputes them and warns when they differ by more
than 1e-5 (another torch build or CPU whose kernels round differently); on the machine that trained it a loaded
model predicts bit for bit what the trained one did.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError, OutputError
from ..provenance import package_versions
from ..vertebra import Vertebra
from .net import build_network, resolve_device, torch_threads
from .options import SlabOptions, TrainOptions
from .slab import prepare_slabs

__all__ = ["FORMAT", "DLModel", "load_model", "probe_image"]

FORMAT = "vertfem-dl-model/1"


def probe_image(size_px: int) -> np.ndarray:
    """The fixed input whose outputs a saved model records (a smooth pattern in [0.1, 0.9]).

    Examples
    --------
    >>> probe_image(4).shape
    (1, 1, 4, 4)
    """
    y, x = np.mgrid[0:size_px, 0:size_px] / max(size_px - 1, 1)
    return (0.5 + 0.4 * np.sin(6.0 * x) * np.cos(4.0 * y))[None, None].astype(np.float32)


@dataclass(eq=False)
class DLModel:
    """Networks that predict targets from mid-plane slabs.

    Attributes
    ----------
    targets : tuple of str
        Output order (``bmd``, ``tbs``).
    groups : tuple of tuple of str
        The targets each network group predicts (one group with shared heads, or one per target).
    networks : list of list of Module
        Per group, the networks averaged (one with ``ensemble="best_fold"``).
    mean, sd : dict of str → float
        Target scaling of the training data (outputs are de-standardised with them).
    slab : SlabOptions
    train : TrainOptions
    meta : dict
        Versions, split, per-fold validation losses, chosen folds.
    """

    targets: tuple[str, ...]
    groups: tuple[tuple[str, ...], ...]
    networks: list[list[nn.Module]]
    mean: dict[str, float]
    sd: dict[str, float]
    slab: SlabOptions
    train: TrainOptions
    meta: dict[str, Any] = field(default_factory=dict)

    @torch.inference_mode()
    def predict(self, images: np.ndarray, *, batch_size: int = 32, device: str = "cpu",
                threads: int | None = None) -> np.ndarray:
        """Predictions ``(n, len(targets))`` for mid-plane slabs ``(n, h, w)`` in [0, 1].

        Parameters
        ----------
        images : ndarray
            Slabs as :func:`~vertfem.dl.slab.prepare_slabs` makes them.
        batch_size : int
            Slabs per forward pass; give all the vertebrae of a scan at once (:meth:`predict_vertebrae`): one
            batch of 4 costs less than 4 batches of 1.
        device : str
            ``cpu``, ``cuda``, ``cuda:N`` or ``auto``.
        threads : int, optional
            CPU threads for torch during the call (default: torch's setting, one per core). On a machine whose
            cores are busy with other work, fewer threads than cores is faster: torch's threads wait for each
            other at every layer (``benchmarks/bench_dl.py`` measures both).

        Examples
        --------
        >>> from vertfem.dl.net import build_network
        >>> m = DLModel(("bmd",), (("bmd",),), [[build_network("resnet18", 1).eval()]], {"bmd": 0.5},
        ...             {"bmd": 0.1}, SlabOptions(size_px=64), TrainOptions(arch="resnet18"))
        >>> m.predict(probe_image(64)[:, 0], threads=1).shape
        (1, 1)
        """
        dev = resolve_device(device)
        x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).reshape(len(images), 1,
                                                                                    *images.shape[-2:])
        out = np.zeros((len(images), len(self.targets)))
        with torch_threads(threads):
            for group, nets in zip(self.groups, self.networks):
                cols = [self.targets.index(t) for t in group]
                acc = np.zeros((len(images), len(group)))
                for net in nets:
                    net.to(dev).eval()
                    acc += np.concatenate([net(x[i:i + batch_size].to(dev)).double().cpu().numpy()
                                           for i in range(0, len(x), batch_size)])
                out[:, cols] = acc / len(nets)
        scale = np.array([self.sd[t] for t in self.targets])
        return out * scale + np.array([self.mean[t] for t in self.targets])

    def predict_vertebrae(self, vertebrae: Sequence[Vertebra], *, device: str = "cpu",
                          threads: int | None = None) -> list[dict[str, float]]:
        """Predicted targets of several prepared vertebrae (e.g. the L1–L4 of one scan) in one batch."""
        if not vertebrae:
            return []
        img = np.concatenate([prepare_slabs(v, self.slab, offsets_mm=(0.0,)) for v in vertebrae])
        return [dict(zip(self.targets, map(float, row))) for row in self.predict(img, device=device,
                                                                                  threads=threads)]

    def predict_vertebra(self, vertebra: Vertebra, *, device: str = "cpu",
                         threads: int | None = None) -> dict[str, float]:
        """Predicted targets of one prepared vertebra (its mid-plane slab)."""
        return self.predict_vertebrae([vertebra], device=device, threads=threads)[0]

    def _probe(self) -> np.ndarray:
        return self.predict(probe_image(self.slab.size_px)[:, 0])

    def save(self, path: str | Path) -> Path:
        """Write the model file (networks, scaling, settings, versions, probe)."""
        p = Path(path)
        doc = {"format": FORMAT, "targets": list(self.targets), "groups": [list(g) for g in self.groups],
               "states": [[{k: v.detach().cpu().clone() for k, v in net.state_dict().items()} for net in nets]
                          for nets in self.networks],
               "mean": dict(self.mean), "sd": dict(self.sd), "slab": self.slab.model_dump(mode="json"),
               "train": self.train.model_dump(mode="json"), "meta": self.meta,
               "versions": package_versions() | {"torchvision": _torchvision_version()},
               "probe": self._probe().tolist()}
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            torch.save(doc, p)
        except OSError as exc:
            raise OutputError(f"cannot write the model file {p}: {exc}") from exc
        return p


def _torchvision_version() -> str:
    import torchvision

    return str(torchvision.__version__)


def load_model(path: str | Path) -> DLModel:
    """Read a model file written by :meth:`DLModel.save` (tensors and plain data only: ``weights_only=True``).

    Raises
    ------
    ConfigError
        Not a vertfem model file.
    """
    p = Path(path)
    try:
        doc = torch.load(p, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError) as exc:
        raise ConfigError(f"cannot read the model file {p}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ConfigError(f"{p} is not a vertfem model file ({FORMAT})")
    train = TrainOptions.model_validate(doc["train"])
    networks = []
    for group, states in zip(doc["groups"], doc["states"]):
        nets = []
        for state in states:
            net = build_network(train.arch, len(group))
            net.load_state_dict(state)
            nets.append(net.eval())
        networks.append(nets)
    model = DLModel(tuple(doc["targets"]), tuple(tuple(g) for g in doc["groups"]), networks, doc["mean"],
                    doc["sd"], SlabOptions.model_validate(doc["slab"]), train,
                    {**doc["meta"], "versions": doc["versions"], "path": str(p)})
    diff = float(np.max(np.abs(model._probe() - np.asarray(doc["probe"]))))
    if diff > 1e-5 * max(1.0, float(np.max(np.abs(doc["probe"])))):
        warnings.warn(f"model {p}: the probe input gives outputs {diff:.2e} away from those recorded at save time "
                      f"(saved with torch {doc['versions'].get('torch')}, loaded with {torch.__version__}); "
                      "predictions are not identical to the training machine's", stacklevel=2)
    return model
