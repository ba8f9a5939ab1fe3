"""The optimizer record, the registry every optimizer is declared in, and the shared parameters.

An optimizer is declared once: its hyperparameters (names and defaults of ``torch.optim`` where
torch has the algorithm), the LaTeX of its update rule, a ``build`` function that chains pure
transforms for a given set of structural options, and the overrides that the ``keras`` convention
applies. Everything else -- the ``torch.optim`` shell, ``actlab list optimizers``, the docs and the
parametrized tests -- reads this registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from actlab._registry import Info, Param, Registry
from actlab.errors import ParameterError
from actlab.optim.transforms import Transform

__all__ = ["CONVENTIONS", "OPTIMIZERS", "OptimizerInfo", "functional", "register"]

CONVENTIONS = ("torch", "keras")


@dataclass(frozen=True)
class OptimizerInfo(Info):
    """One optimizer, declared once.

    Attributes:
        formula: the update rule in LaTeX (``torch`` convention, L2 decay folded into ``g``).
        build: ``build(**options) -> Transform`` for the structural options (the ``bool`` and
            ``str`` parameters); numeric hyperparameters are passed to ``update`` at each step.
        presets: convention name -> hyperparameter overrides (``"keras"``: Keras 3's defaults
            and formulas); the ``torch`` convention is the declared defaults.
        class_name: the name of the generated ``torch.optim.Optimizer`` subclass.
        torch_ref: ``torch_ref(params, hparams)`` builds the equivalent ``torch.optim`` optimizer
            (``None`` where torch has no such algorithm); used by the parity tests.
        torch_equivalent: the same, as text for the docs.
        factors: names of the internal factors that introspection reports.
        convergence: surface name -> ``(lr, steps)``: the documented learning rate with which
            this optimizer, without weight decay, ends within the surface's ``converge_tol`` of
            the minimum after ``steps`` steps from the surface's start (checked by the tests).
    """

    formula: str = ""
    build: Callable[..., Transform] | None = field(default=None, compare=False)
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False)
    class_name: str = ""
    torch_ref: Callable[[Iterable[Tensor], dict[str, Any]], torch.optim.Optimizer] | None = field(
        default=None, compare=False
    )
    torch_equivalent: str = ""
    factors: tuple[str, ...] = ()
    convergence: Mapping[str, tuple[float, int]] = field(default_factory=dict, compare=False)

    @property
    def structural(self) -> tuple[str, ...]:
        """Options that choose code paths (bool/str parameters); all others are numeric."""
        return tuple(p.name for p in self.params if p.type in (bool, str))

    @property
    def numeric(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params if p.type not in (bool, str))

    def resolve(self, params: Mapping[str, Any] | None = None, /, **kwargs: Any) -> dict[str, Any]:
        """All hyperparameters, validated: declared defaults, then the convention's preset, then
        the values given (so ``convention="keras", eps=1e-8`` keeps Keras's formulas but your eps).
        """
        given = {**(params or {}), **kwargs}
        convention = self.param("convention").validate(given.get("convention", "torch"), self.name)
        return self.bind({**self.presets.get(convention, {}), **given})

    def transform(self, **options: Any) -> Transform:
        """The pure transform for these structural options (missing ones: the defaults)."""
        resolved = self.resolve({k: v for k, v in options.items() if k in self.structural})
        return self.build(**{k: resolved[k] for k in self.structural if k != "convention"})


OPTIMIZERS: Registry[OptimizerInfo] = Registry("optimizer")


def register(**fields: Any) -> OptimizerInfo:
    """Declare an optimizer: ``register(name=..., params=..., formula=..., build=..., ...)``."""
    fields.setdefault("check", _check_betas)
    return OPTIMIZERS.register(OptimizerInfo(**fields))


def functional(name: str, **hparams: Any) -> tuple[Transform, dict[str, Any]]:
    """The pure transform of optimizer ``name`` and its numeric hyperparameters.

    Numeric values may be tensors (one value per stacked member, broadcastable to the parameter);
    those are range-checked elementwise. The scalar factors an update derives from them
    (``1 - beta1``, ``lr / (1 - beta1^t)``) are then computed in the tensor's dtype, not in
    double precision as from Python numbers, so in float32 they differ from the plain
    optimizer's in the last bits; :class:`actlab.train.StackedOptimizer`, which must match it
    exactly, passes Python numbers (one update per distinct set of hyperparameters). Example::

        t, h = functional("adam", lr=torch.tensor([1e-3, 1e-2]).view(2, 1, 1))
        state = t.init(w, **h)
        u, state = t.update(w_grad, state, w, **h)
    """
    info = OPTIMIZERS.get(name)
    tensors = {k: v for k, v in hparams.items() if _has_tensor(v)}
    resolved = info.resolve({k: v for k, v in hparams.items() if k not in tensors})
    for key, value in tensors.items():
        _check_tensor(info, key, value)
    numeric = {k: tensors.get(k, resolved[k]) for k in info.numeric}
    return info.transform(**{k: resolved[k] for k in info.structural}), numeric


def _has_tensor(value: Any) -> bool:
    return isinstance(value, Tensor) or (
        isinstance(value, tuple | list) and any(isinstance(v, Tensor) for v in value)
    )


def _check_tensor(info: OptimizerInfo, key: str, value: Any) -> None:
    param = info.param(key)
    if param.type in (bool, str):
        raise ParameterError(f"{info.name}: {key} is a structural option; it cannot be a tensor")
    values = value if isinstance(value, tuple | list) else (value,)
    bounds = Param(key, 0.5, low=0.0, high=1.0, high_open=True) if key == "betas" else param
    for v in values:
        for x in torch.as_tensor(v).detach().reshape(-1).tolist():
            bounds.validate(float(x), info.name)


def _check_betas(p: dict[str, Any]) -> str | None:
    betas = p.get("betas")
    if betas is None:
        return None
    if len(betas) != 2:
        return f"betas={betas!r} must be a pair (beta1, beta2)"
    if not all(isinstance(b, int | float) and 0.0 <= b < 1.0 for b in betas):
        return f"betas={tuple(betas)!r} is out of range; valid range is [0, 1) for each beta"
    return None


# -- parameters shared by several optimizers --------------------------------------------------


def lr(default: float) -> Param:
    return Param("lr", default, "learning rate", low=0.0)


def eps(default: float) -> Param:
    return Param("eps", default, "added to the denominator for numerical stability", low=0.0)


def weight_decay(default: float = 0.0) -> Param:
    return Param("weight_decay", default, "weight decay coefficient (L2 or decoupled)", low=0.0)


def betas(default: tuple[float, float] = (0.9, 0.999)) -> Param:
    return Param("betas", default, "decay rates of the first and second moment", kind=tuple)


def momentum(default: float) -> Param:
    return Param("momentum", default, "momentum factor", low=0.0, high=1.0)


def decoupled(default: bool = False) -> Param:
    return Param(
        "decoupled_weight_decay", default, "decay weights directly (AdamW) instead of L2 in g"
    )


def eps_inside(default: bool = False) -> Param:
    return Param("eps_inside", default, "epsilon inside the square root (or Adamax's max)")


def lr_in_buffer(default: bool = False) -> Param:
    return Param(
        "lr_in_buffer", default, "learning rate inside the momentum buffer (Sutskever / Keras)"
    )


CONVENTION = Param("convention", "torch", "preset of defaults and formulas", choices=CONVENTIONS)


def nesterov_check(p: dict[str, Any]) -> str | None:
    if p["nesterov"] and (p["momentum"] <= 0 or p.get("dampening", 0.0) != 0):
        return (
            f"nesterov=True needs momentum in (0, 1] and dampening=0 "
            f"(got momentum={p['momentum']:g}, dampening={p.get('dampening', 0.0):g})"
        )
    return None
