"""One thin ``torch.optim.Optimizer`` that runs any registered optimizer's pure transform.

It keeps what torch users expect -- param groups with their own hyperparameters, LR schedulers
that edit ``param_groups``, ``state_dict``/``load_state_dict``, closures -- and does nothing else:
every line of math lives in the transforms. State entries carry ``torch.optim``'s names
(``exp_avg``, ``momentum_buffer``, ...), plus a float64 ``step``.

Non-finite gradients: before touching anything, :meth:`Optimizer.step` checks that every gradient
is finite. If one is not, no parameter and no state tensor changes; with ``on_nonfinite="raise"``
(the default) it raises :class:`NonFiniteGradientError` naming the tensor, with ``"skip"`` it
skips the step and counts it in ``skipped_steps``. A NaN never silently enters the moments.

>>> import torch
>>> from actlab.optim import create
>>> w = torch.nn.Parameter(torch.tensor([1.0, -1.0]))
>>> opt = create("adam", [w], lr=0.1)
>>> w.grad = torch.tensor([0.5, -0.5]); _ = opt.step()
>>> [round(v, 4) for v in w.detach().tolist()]
[0.9, -0.9]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import torch
from torch import Tensor

from actlab.errors import ParameterError
from actlab.optim._core import OPTIMIZERS, OptimizerInfo
from actlab.optim.transforms import Transform

__all__ = ["NonFiniteGradientError", "Optimizer", "create", "optimizer_class"]

ON_NONFINITE = ("raise", "skip")


class NonFiniteGradientError(FloatingPointError):
    """A gradient holds NaN or inf; the step was not applied (parameters and state unchanged)."""


class Optimizer(torch.optim.Optimizer):
    """Runs the registered optimizer ``name`` as a ``torch.optim.Optimizer``.

    Args:
        params: tensors or param-group dicts, as for any ``torch.optim`` optimizer. A group may
            override any hyperparameter, including ``convention``.
        name: a registered optimizer (``actlab list optimizers``); the generated subclasses
            (:class:`actlab.optim.Adam`, ...) fill it in.
        on_nonfinite: ``"raise"`` or ``"skip"`` a step whose gradients are not all finite.
        **hparams: hyperparameters; unknown names and out-of-range values raise ``ValueError``.
    """

    optimizer_name: ClassVar[str | None] = None

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        name: str | None = None,
        *,
        on_nonfinite: str = "raise",
        **hparams: Any,
    ) -> None:
        name = name or self.optimizer_name
        if name is None:
            raise ParameterError("Optimizer needs an optimizer name (see 'actlab list optimizers')")
        if on_nonfinite not in ON_NONFINITE:
            raise ParameterError(f"on_nonfinite={on_nonfinite!r} is not one of {ON_NONFINITE}")
        self.info: OptimizerInfo = OPTIMIZERS.get(name)
        self.on_nonfinite = on_nonfinite
        self.skipped_steps = 0
        self._transforms: dict[tuple[Any, ...], Transform] = {}
        super().__init__(params, self.info.resolve(hparams))

    def __getstate__(self) -> dict[str, Any]:
        return {
            **super().__getstate__(),
            "optimizer": self.info.name,
            "on_nonfinite": self.on_nonfinite,
            "skipped_steps": self.skipped_steps,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        if "optimizer" in state:  # unpickling (load_state_dict also calls this, without it)
            self.info = OPTIMIZERS.get(state.pop("optimizer"))
            self._transforms = {}
        super().__setstate__(state)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Validate the group's hyperparameters, fill in the optimizer's, then add it."""
        declared = {p.name for p in self.info.params}
        given = {k: v for k, v in param_group.items() if k in declared}
        if "convention" in given and given["convention"] != self.defaults["convention"]:
            resolved = self.info.resolve(given)
        else:
            resolved = self.info.resolve({**self.defaults, **given})
        super().add_param_group({**param_group, **resolved})

    def _transform(self, group: dict[str, Any]) -> Transform:
        key = tuple(group[k] for k in self.info.structural)
        if key not in self._transforms:
            self._transforms[key] = self.info.transform(**dict(zip(self.info.structural, key)))
        return self._transforms[key]

    def hparams(self, group: dict[str, Any]) -> dict[str, Any]:
        """The numeric hyperparameters of a group, as the pure ``update`` takes them."""
        return {k: group[k] for k in self.info.numeric}

    def _work(self) -> list[tuple[int, int, dict[str, Any], Tensor]]:
        return [
            (gi, pi, group, p)
            for gi, group in enumerate(self.param_groups)
            for pi, p in enumerate(group["params"])
            if p.grad is not None
        ]

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Apply one update to every parameter that has a gradient; returns the closure's loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        work = self._work()
        bad = _first_nonfinite(work)
        if bad is not None:
            if self.on_nonfinite == "skip":
                self.skipped_steps += 1
                return loss
            raise NonFiniteGradientError(
                f"{self.info.name}: non-finite gradient in param_groups[{bad[0]}]['params']"
                f"[{bad[1]}]; step not applied, parameters and state unchanged"
            )
        steps = []
        for _, _, group, p in work:
            if p.grad.is_sparse:
                raise ParameterError(f"{self.info.name} does not support sparse gradients")
            transform, h = self._transform(group), self.hparams(group)
            state = self.state[p] or transform.init(p, **h)
            steps.append((p, *transform.update(p.grad, state, p, **h)))
        # Finite gradients can still overflow (a huge gradient times a momentum): then, as for a
        # non-finite gradient, nothing changes; the transforms are pure, so dropping is undoing.
        bad = _first_nonfinite([(*w[:2], {}, p + u) for w, (p, u, _) in zip(work, steps)], "")
        if bad is not None:
            if self.on_nonfinite == "skip":
                self.skipped_steps += 1
                return loss
            raise NonFiniteGradientError(
                f"{self.info.name}: the update of param_groups[{bad[0]}]['params'][{bad[1]}] "
                f"overflows (a gradient too large for {work[0][3].dtype}); step not applied, "
                "parameters and state unchanged"
            )
        for p, update, state in steps:
            self.state[p] = state
            p.add_(update)
        return loss

    @torch.no_grad()
    def preview(self) -> list[tuple[int, int, Tensor, Tensor, dict[str, Tensor]]]:
        """What the next :meth:`step` would do, without doing it: for each parameter with a
        gradient, ``(group, index, grad, update, factors)``. Used by :mod:`actlab.optim.introspect`.
        """
        out = []
        for gi, pi, group, p in self._work():
            transform, h = self._transform(group), self.hparams(group)
            state = self.state[p] or transform.init(p, **h)
            update, new_state = transform.update(p.grad, state, p, **h)
            out.append((gi, pi, p.grad, update, transform.factors(new_state, **h)))
        return out


def _first_nonfinite(
    work: list[tuple[int, int, dict[str, Any], Tensor]], of: str = "grad"
) -> tuple[int, int] | None:
    """The first ``(group, index)`` whose gradient (or, with ``of=""``, tensor) is not finite."""
    if not work:
        return None
    finite = torch.stack([torch.isfinite(getattr(p, of) if of else p).all() for *_, p in work])
    if bool(finite.all()):
        return None
    index = int((~finite).nonzero()[0, 0])
    return work[index][0], work[index][1]


def optimizer_class(name: str) -> type[Optimizer]:
    """The ``torch.optim.Optimizer`` subclass for optimizer ``name`` (``Adam``, ``NAG``, ...)."""
    info = OPTIMIZERS.get(name)
    return _CLASSES[info.name]


def create(name: str, params: Iterable[Tensor] | Iterable[dict[str, Any]], **hparams: Any):
    """A ready ``torch.optim`` optimizer: ``create("adadelta", model.parameters())``."""
    return optimizer_class(name)(params, **hparams)


def _make_class(info: OptimizerInfo) -> type[Optimizer]:
    defaults = ", ".join(f"{p.name}={p.default!r}" for p in info.params)

    def __init__(self, params, lr=None, *, on_nonfinite: str = "raise", **hparams: Any) -> None:
        if lr is not None:  # positional lr, as torch.optim allows
            hparams["lr"] = lr
        Optimizer.__init__(self, params, info.name, on_nonfinite=on_nonfinite, **hparams)

    doc = f"{info.summary}\n\nUpdate: ``{info.formula}``\n\nDefaults: {defaults}.\n\n"
    doc += f"Reference: {info.reference}."
    cls = type(
        info.class_name,
        (Optimizer,),
        {"optimizer_name": info.name, "__init__": __init__, "__doc__": doc},
    )
    cls.__module__ = "actlab.optim"
    return cls


_CLASSES: dict[str, type[Optimizer]] = {}


def make_classes() -> dict[str, type[Optimizer]]:
    """Generate one subclass per registered optimizer (called once the catalog is loaded)."""
    for info in OPTIMIZERS:
        if info.name not in _CLASSES:
            _CLASSES[info.name] = _make_class(info)
    return {cls.__name__: cls for cls in _CLASSES.values()}
