"""A :class:`Monitor` records per-layer diagnostics of any ``torch.nn`` model through hooks.

It only observes: hooks return nothing, every statistic is computed at once on detached tensors
and kept as a Python float (no tensor, so no graph, outlives a hook), forward hooks exist only
inside :meth:`Monitor.record`, and no random numbers are drawn. Training with and without a
monitor gives bit-identical weights.

Per layer and recorded step (names in :mod:`actlab.diagnostics.rows`):

- ``pre_mean``, ``pre_std``, ``act_mean``, ``act_std``: :func:`~.metrics.moments` of the
  activation's input z and output f(z), over examples and units;
- ``dead_fraction``: units whose output is zero on every example of the batch;
- ``saturation_fraction``: entries with ``|f'(z)| < saturation_threshold`` (elementwise
  activations only; f' from the catalog for :class:`actlab.nn.Activation`, from autograd for
  torch's own activation modules);
- ``inactive_fraction``: units with ``|f'(z)| <= 0.1 max |f'|`` on every example (the same f';
  ``max |f'|`` by :func:`~.metrics.peak_slope`);
- ``weight_norm``, ``grad_norm``: of the layer's weight tensor after ``backward()``;
- ``update_ratio`` (``||dw|| / ||w||``) and ``effective_lr`` (median ``|dw| / |g|``): measured
  from the weights before and after the optimizer step.

Layers are found in registration order: each weight layer (``actlab.init.LAYERS``: Linear, Conv,
...; or an :class:`actlab.nn.Maxout`) opens a layer, and the first activation module after it is
its activation. They are named ``layer1 .. layerN``, and the last is ``output`` when no activation
follows it. Activations applied as functions inside ``forward`` are not seen.

>>> import torch
>>> from torch import nn
>>> model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
>>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
>>> monitor = Monitor(model, optimizer=opt)
>>> with monitor.record(step=0):
...     model(torch.randn(8, 3)).pow(2).mean().backward()
>>> opt.step()
>>> monitor.layers, sorted({m for _, _, m, _ in monitor.rows})[:3]
(('layer1', 'output'), ['act_mean', 'act_std', 'dead_fraction'])
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from actlab.diagnostics import metrics, rows
from actlab.errors import ActlabError
from actlab.init import LAYERS
from actlab.nn import Activation, Maxout

__all__ = ["TORCH_ACTIVATIONS", "Monitor"]

TORCH_ACTIVATIONS: dict[type[nn.Module], str] = {
    nn.ReLU: "relu",
    nn.LeakyReLU: "leaky_relu",
    nn.PReLU: "prelu",
    nn.ReLU6: "relu6",
    nn.ELU: "elu",
    nn.CELU: "celu",
    nn.SELU: "selu",
    nn.GELU: "gelu",
    nn.SiLU: "silu",
    nn.Mish: "mish",
    nn.Softplus: "softplus",
    nn.Sigmoid: "sigmoid",
    nn.Tanh: "tanh",
    nn.Hardtanh: "hardtanh",
    nn.Hardsigmoid: "hardsigmoid",
    nn.Hardswish: "hardswish",
    nn.Softsign: "softsign",
    nn.LogSigmoid: "logsigmoid",
    nn.Tanhshrink: "tanhshrink",
}
"""Deterministic elementwise torch activation modules (exact type) and their catalog names.

Their f' comes from autograd on the module itself, so any parameters they hold are honoured."""

Derivative = Callable[[Tensor], Tensor]


@dataclass(frozen=True, eq=False)
class _Layer:
    """One monitored layer: its weight, where its pre-activation is read, and its activation."""

    name: str
    weight: Tensor
    act: nn.Module | None = None
    pre: nn.Module | None = None  # read z from this module's output, not from ``act``'s input
    activation: str | None = None
    derivative: Derivative | None = None


def _catalog_derivative(module: Activation) -> Derivative | None:
    info = module.info
    if info.kind != "elementwise" or info.df is None:
        return None

    def df(z: Tensor) -> Tensor:
        params = dict(module.params)
        if "training" in params:
            params["training"] = module.training
        params.update({key: getattr(module, key) for key in module.learned})
        return info.df(z, **params)

    return df


def _autograd_derivative(module: nn.Module) -> Derivative:
    def df(z: Tensor) -> Tensor:
        with torch.enable_grad():
            leaf = z.detach().requires_grad_(True)
            # forward() skips the module's hooks; clone() lets in-place modules (ReLU(True)) run
            (grad,) = torch.autograd.grad(module.forward(leaf.clone()).sum(), leaf)
        return grad

    return df


def activation_of(module: nn.Module) -> tuple[str, Derivative | None] | None:
    if isinstance(module, Activation):
        return module.info.name, _catalog_derivative(module)
    name = TORCH_ACTIVATIONS.get(type(module))
    return None if name is None else (name, _autograd_derivative(module))


def discover_layers(model: nn.Module) -> list[_Layer]:
    """The model's weight layers, each with the activation that follows it, named as documented."""
    found: list[dict[str, Any]] = []
    inside_maxout: set[int] = set()
    for module in model.modules():
        if isinstance(module, Maxout):
            inside_maxout.update(id(m) for m in module.modules() if m is not module)
            found.append(
                dict(
                    weight=module.linear.weight, act=module, pre=module.linear, activation="maxout"
                )
            )
        elif isinstance(module, LAYERS) and id(module) not in inside_maxout:
            found.append(dict(weight=module.weight))
        elif found and "act" not in found[-1] and (act := activation_of(module)) is not None:
            found[-1].update(act=module, activation=act[0], derivative=act[1])
    if not found:
        raise ActlabError(
            f"Monitor: {type(model).__name__} has no weight layer (Linear, Conv or Maxout)"
        )
    names = [rows.layer_name(i + 1) for i in range(len(found))]
    if "act" not in found[-1]:
        names[-1] = rows.OUTPUT
    return [_Layer(name=n, **f) for n, f in zip(names, found)]


class Monitor:
    """Records per-layer diagnostics of ``model`` at the steps you ask for.

    Args:
        model: any ``nn.Module`` (see the module docstring for what is found in it).
        optimizer: the optimizer that trains it. Given, the monitor hooks its ``step()`` to
            measure update ratios and effective learning rates by itself; without it, call
            :meth:`after_step` after ``optimizer.step()``, outside the ``record`` block.
        every: record only steps that are multiples of ``every``; other ``record`` calls do
            nothing.
        probe: a fixed input batch. Given, activation statistics are measured on it (in
            ``eval()`` mode, without gradients, at the start of each recorded step) instead of
            on the training batch, so that steps are compared on the same examples.
        saturation_threshold: see :data:`actlab.diagnostics.metrics.SATURATION_THRESHOLD`.

    Use::

        monitor = Monitor(model, optimizer=opt)
        with monitor.record(step):
            loss_fn(model(x), y).backward()
        opt.step()

    ``monitor.rows`` holds ``(step, layer, metric, value)`` tuples (the form
    ``Store.add_diagnostics`` takes); :meth:`frame` groups them. :meth:`close` (or leaving a
    ``with Monitor(...)`` block) removes every hook.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        optimizer: torch.optim.Optimizer | None = None,
        every: int = 1,
        probe: Tensor | None = None,
        saturation_threshold: float = metrics.SATURATION_THRESHOLD,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise ActlabError(f"Monitor needs a torch.nn.Module, got {type(model).__name__}")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ActlabError(f"every={every!r} must be an integer >= 1")
        if probe is not None and not isinstance(probe, Tensor):
            raise ActlabError(f"probe must be a tensor batch, got {type(probe).__name__}")
        if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
            raise ActlabError(f"optimizer must be a torch.optim.Optimizer, got {optimizer!r}")
        metrics.saturation_fraction(torch.zeros(1, 1), saturation_threshold)  # validates it
        self.model = model
        self.optimizer = optimizer
        self.every = every
        self.probe = probe
        self.saturation_threshold = saturation_threshold
        self.rows: list[tuple[int, str, str, float]] = []
        self._layers = discover_layers(model)
        self._step: int | None = None
        self._last_step: int | None = None
        self._seen: set[tuple[str, str]] = set()
        self._hooks: list[Any] = []
        self._captured = False
        self._pending: list[tuple[_Layer, Tensor, Tensor]] = []
        self._step_hooks = []
        if optimizer is not None:
            self._step_hooks = [
                optimizer.register_step_pre_hook(lambda *_: self._before_update()),
                optimizer.register_step_post_hook(lambda *_: self.after_step()),
            ]
        self._closed = False

    # -- what is monitored ---------------------------------------------------------------------

    @property
    def layers(self) -> tuple[str, ...]:
        """Layer names, input to output."""
        return tuple(layer.name for layer in self._layers)

    @property
    def activations(self) -> dict[str, str]:
        """Catalog name of each layer's activation (layers without one left out)."""
        return {la.name: la.activation for la in self._layers if la.activation is not None}

    @property
    def activation(self) -> str | None:
        """The one catalog activation all hidden layers use, or ``None`` (none, or mixed)."""
        names = set(self.activations.values())
        return names.pop() if len(names) == 1 else None

    @property
    def steps(self) -> list[int]:
        """The recorded steps, in order."""
        return sorted({step for step, *_ in self.rows})

    def frame(self) -> rows.Frame:
        """The rows as ``{metric: {layer: {step: value}}}`` (see :func:`rows.frame`)."""
        return rows.frame(self.rows)

    # -- recording -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def record(self, step: int) -> Iterator[bool]:
        """Record the forward and backward passes run inside the block as step ``step``.

        Yields whether the step is recorded (``step % every == 0``). Only the first forward
        pass in the block is measured (a second one, e.g. on test data, is ignored). Gradients
        are read when the block ends, or when ``optimizer.step()`` starts inside it.

        Raises:
            ActlabError: ``step`` is not an integer >= 0, is not after the last recorded step,
                or the monitor is closed.
        """
        if self._closed:
            raise ActlabError("Monitor is closed; create a new one to record again")
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ActlabError(f"step={step!r} must be an integer >= 0")
        if step % self.every:
            yield False
            return
        if self._last_step is not None and step <= self._last_step:
            raise ActlabError(f"step {step} is not after the last recorded step {self._last_step}")
        self._begin(step)
        try:
            yield True
        except BaseException:
            self._remove_forward_hooks()
            self._step = None
            raise
        if not self._captured:
            self._capture()
        self._remove_forward_hooks()
        self._step = None

    def after_step(self) -> None:
        """Measure the step just applied: update ratio and effective learning rate per layer.

        Called by the optimizer hook when the monitor was given the optimizer; a no-op when no
        recorded step awaits its update.
        """
        pending, self._pending = self._pending, []
        for layer, before, grad in pending:
            update = layer.weight.detach() - before
            self._add(layer.name, rows.UPDATE_RATIO, metrics.update_ratio(update, before))
            self._add(layer.name, rows.EFFECTIVE_LR, metrics.effective_lr(grad, update))

    def close(self) -> None:
        """Remove every hook; the recorded rows stay."""
        self._remove_forward_hooks()
        for handle in self._step_hooks:
            handle.remove()
        self._step_hooks = []
        self._pending = []
        self._closed = True

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------------

    def _begin(self, step: int) -> None:
        self._step, self._last_step = step, step
        self._seen, self._captured, self._pending = set(), False, []
        self._add_forward_hooks()
        if self.probe is None:
            return
        modes = [(m, m.training) for m in self.model.modules()]
        try:
            self.model.eval()
            with torch.no_grad():
                self.model(self.probe)
        finally:
            for m, training in modes:
                m.training = training
            self._remove_forward_hooks()

    def _add_forward_hooks(self) -> None:
        for layer in self._layers:
            if layer.act is None:
                continue
            if layer.pre is not None:
                hook = layer.pre.register_forward_hook(
                    lambda m, i, out, la=layer: self._on_pre(la, out)
                )
            else:
                hook = layer.act.register_forward_pre_hook(
                    lambda m, inputs, la=layer: self._on_pre(la, inputs[0])
                )
            self._hooks.append(hook)
            self._hooks.append(
                layer.act.register_forward_hook(lambda m, i, out, la=layer: self._on_act(la, out))
            )

    def _remove_forward_hooks(self) -> None:
        for handle in self._hooks:
            handle.remove()
        self._hooks = []

    def _first(self, layer: _Layer, what: str) -> bool:
        key = (layer.name, what)
        if self._step is None or key in self._seen:
            return False
        self._seen.add(key)
        return True

    @torch.no_grad()
    def _on_pre(self, layer: _Layer, z: Tensor) -> None:
        if not self._first(layer, "pre"):
            return
        z = metrics.examples_by_units(z.detach())
        mean, std = metrics.moments(z)
        self._add(layer.name, rows.PRE_MEAN, mean)
        self._add(layer.name, rows.PRE_STD, std)
        if layer.derivative is not None:
            df = layer.derivative(z)
            saturated = metrics.saturation_fraction(df, self.saturation_threshold)
            self._add(layer.name, rows.SATURATION, saturated)
            peak = metrics.peak_of(layer.derivative, z)
            if peak is not None:
                self._add(layer.name, rows.INACTIVE, metrics.inactive_fraction(df, peak))

    @torch.no_grad()
    def _on_act(self, layer: _Layer, y: Tensor) -> None:
        if not self._first(layer, "act"):
            return
        y = metrics.examples_by_units(y.detach())
        mean, std = metrics.moments(y)
        self._add(layer.name, rows.ACT_MEAN, mean)
        self._add(layer.name, rows.ACT_STD, std)
        self._add(layer.name, rows.DEAD, metrics.dead_fraction(y))

    def _before_update(self) -> None:
        if self._step is not None and not self._captured:
            self._capture()

    @torch.no_grad()
    def _capture(self) -> None:
        """Weight and gradient norms and quantiles now; snapshots for the update measured by
        after_step."""
        self._captured = True
        for layer in self._layers:
            w = layer.weight.detach()
            self._add(layer.name, rows.WEIGHT_NORM, metrics.norm(w))
            self._quantiles(layer.name, "weight", w)
            if layer.weight.grad is None:
                continue
            grad = layer.weight.grad.detach()
            self._add(layer.name, rows.GRAD_NORM, metrics.norm(grad))
            self._quantiles(layer.name, "grad", grad)
            self._pending.append((layer, w.clone(), grad.clone()))

    def _quantiles(self, layer: str, kind: str, t: Tensor) -> None:
        levels = metrics.quantiles(t, rows.QUANTILE_LEVELS).tolist()
        self.rows.extend(
            (self._last_step, layer, name, value)
            for name, value in zip(rows.DISTRIBUTIONS[kind], levels)
        )

    def _add(self, layer: str, metric: str, value: Tensor) -> None:
        self.rows.append((self._last_step, layer, metric, float(value)))
