"""A :class:`StackRecorder` records per-layer diagnostics of every member of a stack while the
batched trainer (:func:`actlab.train.train`) trains it: the :class:`~actlab.train.Recorder`
that ``Study.diagnostics`` turns on.

It records the metrics a :class:`~actlab.diagnostics.Monitor` records on a plain model, under the
same names (:mod:`~actlab.diagnostics.rows`), so :func:`~actlab.diagnostics.findings` and
:func:`~actlab.diagnostics.health_table` read ``rows_of(k)`` unchanged. Each metric is computed
once for the whole stack with the pure functions of :mod:`~actlab.diagnostics.metrics` on
``[K, ...]`` tensors (one value per member), never member by member:

- :class:`~actlab.models.StackedMLP` and :class:`~actlab.models.StackedCNN1d`: every metric. The
  activation's input ``z`` and output ``f(z)`` are read at each hidden layer's per-member
  activation module as ``[K, examples, units]`` (a convolution's channels are its units, each
  position of each example an example); ``f'(z)`` for the saturated and inactive fractions
  comes from the catalog, ``ACTIVATIONS.get(name).df(z, **params)``, once per activation group.
- :class:`~actlab.models.ModuleStack` (the generic fallback): weight, gradient and update metrics
  for the whole stack at once; activation statistics per member (its forward pass already runs
  one plain module per member), read by hooks on each member's activation modules. The same
  for :class:`~actlab.models.vmapped.VmapStack` (your own models), whose forward runs member by
  member while these hooks are installed: with ``data`` (as the runner records) only the
  probe's forward, outside the training step; without it the recorded steps' forward, which
  then rounds as the member-by-member forward does (within 1e-15, not bit for bit).

Recorded steps: step 1 (training's start) and the last step of every ``every``-th epoch. Given
``data``, activation statistics are measured on a fixed probe -- the first ``probe_size``
training examples -- in ``eval()`` mode without gradients at the start of the recorded step, as
``Monitor(probe=...)`` does, so that epochs are compared on the same examples; without it, on the
step's training batch. Norms are read after ``backward()``; the update ratio
``||dw|| / ||w||`` and the effective learning rate (median ``|dw| / |g|``) from the update the
optimizer applied. Rows of a member that diverged at a step are not kept for that step.

It only observes: no random numbers, no in-place change, statistics on detached tensors; the
stack trains bit for bit as without it.

>>> import torch
>>> from actlab.data import load
>>> from actlab.models import ModelSpec
>>> from actlab.train import Member, train
>>> data = load("gauss", n=64)
>>> spec = ModelSpec.for_data(data, depth=2, width=8)
>>> members = [Member(spec, seed=s, optimizer="sgd", optimizer_params={"lr": 0.1}) for s in (0, 1)]
>>> recorder = StackRecorder([m.spec for m in members], ["sgd", "sgd"], data=data)
>>> _ = train(data, members, epochs=2, batch_size=16, recorder=recorder)
>>> sorted({step for step, *_ in recorder.rows_of(1)})  # step 1 and the end of each epoch
[1, 2, 4]
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from actlab.diagnostics import metrics
from actlab.diagnostics import rows as R
from actlab.diagnostics.monitor import activation_of, discover_layers
from actlab.errors import ActlabError
from actlab.models import ModelSpec
from actlab.models.stacked import PerMember, StackedMLP
from actlab.models.stacked_cnn import StackedCNN1d
from actlab.models.stacks import ModuleStack
from actlab.optim import OPTIMIZERS

__all__ = ["PROBE_SIZE", "StackRecorder"]

PROBE_SIZE = 256
"""Training examples in the probe batch when ``data`` is given."""

Key = tuple[str, str]  # (layer, metric)


@dataclass(frozen=True, eq=False)
class _Site:
    """One weight layer of a stack: its stacked weight ``[K, ...]`` (row = stack position), and
    where its activation's input and output are read: a ``PerMember`` module with ``units``
    mapping its tensors to ``[K, examples, units]``, or, in a ModuleStack, the paths of the
    activation module and of the module whose output is ``z`` inside each member's network."""

    name: str
    weight: Tensor
    act: nn.Module | None = None
    units: Callable[[Tensor], Tensor] | None = None
    paths: tuple[str, str | None] | None = None


def _same(x: Tensor) -> Tensor:
    return x


def _channels(channels: int) -> Callable[[Tensor], Tensor]:
    """``[K, B, C*L]`` (channel-major per example) -> ``[K, B*L, C]``."""

    def units(x: Tensor) -> Tensor:
        K, B = x.shape[:2]
        return x.reshape(K, B, channels, -1).transpose(-1, -2).reshape(K, -1, channels)

    return units


def _sites(model: nn.Module) -> list[_Site]:
    """The stack's weight layers, input to output, named as :class:`Monitor` names them."""
    if isinstance(model, StackedMLP | StackedCNN1d):
        cnn = isinstance(model, StackedCNN1d)
        units = _channels(model.spec.width) if cnn and not model.channels_last else _same
        head = model.head_weight if cnn else model.weights[-1]
        hidden = [
            _Site(R.layer_name(i + 1), w, act, units)
            for i, (w, act) in enumerate(zip(model.weights, model.acts))
        ]
        return [*hidden, _Site(R.OUTPUT, head)]
    if isinstance(model, ModuleStack):
        plain = model.member(0)  # every member has the same layers (ModuleStack checks)
        params = {id(p): n for n, p in plain.named_parameters()}
        modules = {id(m): n for n, m in plain.named_modules()}
        sites = []
        for layer in discover_layers(plain):
            weight = model.params[model.names.index(params[id(layer.weight)])]
            paths = None
            if layer.act is not None:
                pre = None if layer.pre is None else modules[id(layer.pre)]
                paths = (modules[id(layer.act)], pre)
            sites.append(_Site(layer.name, weight, paths=paths))
        return sites
    raise ActlabError(
        f"StackRecorder records a StackedMLP, StackedCNN1d or ModuleStack, not "
        f"{type(model).__name__}"
    )


def _group_slopes(act: PerMember, z: Tensor, threshold: float) -> tuple[Tensor, Tensor]:
    """``[K]`` saturated fraction ``mean [|f'(z)| < threshold]`` and ``[K]`` inactive fraction
    (units with ``|f'(z)| <= 0.1 max |f'|`` on every example) per member, f' from the catalog
    once per activation group; NaN for members whose activation has no elementwise f'."""
    saturated = torch.full((z.shape[0],), math.nan, dtype=torch.float64, device=z.device)
    inactive = saturated.clone()
    for group in act.groups:
        info = group.info
        if info.kind != "elementwise" or info.df is None:
            continue
        params = dict(group.params)
        if "training" in params:
            params["training"] = group.training
        params.update({key: getattr(group, key).detach() for key in group.learned})
        mine = z if len(act.groups) == 1 else z.index_select(0, group.index)
        df = info.df(mine, **params)
        saturated[group.index] = metrics.saturation_fraction(df, threshold).to(torch.float64)
        peak = metrics.peak_of(functools.partial(info.df, **params), z)
        if peak is not None:
            inactive[group.index] = metrics.inactive_fraction(df, peak).to(torch.float64)
    return saturated, inactive


class StackRecorder:
    """Per-layer diagnostics of every member of a batched-trainer stack (module docstring).

    Args:
        specs: the members' :class:`~actlab.models.ModelSpec` s, in the order given to
            :func:`~actlab.train.train`.
        optimizers: their optimizer names, in that order.
        data: the dataset trained on; given, activation statistics are measured on its first
            ``probe_size`` training examples (eval mode, no gradients) instead of the batch.
        every: record the last step of every ``every``-th epoch (and step 1).
        probe_size: examples in the probe batch.
        saturation_threshold: see :data:`~actlab.diagnostics.metrics.SATURATION_THRESHOLD`.

    After training, ``rows_of(k)`` are member k's ``(step, layer, metric, value)`` rows.
    """

    def __init__(
        self,
        specs: Sequence[ModelSpec],
        optimizers: Sequence[str],
        *,
        data: Any = None,
        every: int = 1,
        probe_size: int = PROBE_SIZE,
        saturation_threshold: float = metrics.SATURATION_THRESHOLD,
    ) -> None:
        self.specs = tuple(specs)
        if not self.specs or not all(isinstance(s, ModelSpec) for s in self.specs):
            raise ActlabError("StackRecorder needs one ModelSpec per member")
        if len(optimizers) != len(self.specs):
            raise ActlabError(
                f"StackRecorder: {len(self.specs)} specs but {len(optimizers)} optimizer names"
            )
        self.optimizers = tuple(OPTIMIZERS.get(name).name for name in optimizers)
        for what, value in (("every", every), ("probe_size", probe_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ActlabError(f"StackRecorder: {what}={value!r} must be an integer >= 1")
        metrics.saturation_fraction(torch.zeros(1, 1), saturation_threshold)  # validates it
        self.data, self.every, self.probe_size = data, every, probe_size
        self.saturation_threshold = saturation_threshold
        self._rows: list[list[R.Row]] = [[] for _ in self.specs]
        self._position = list(range(len(self.specs)))
        self._model: nn.Module | None = None
        self._sites: list[_Site] = []
        self._param: list[int] = []  # each site's weight: its index in the optimizer's params
        self._probe: Tensor | None = None
        self._values: dict[Key, Tensor | dict[int, Tensor]] = {}
        self._before: list[Tensor] = []

    # -- the trainer's Recorder protocol -------------------------------------------------------

    def start(self, model: nn.Module, optimizer: Any, order: list[int]) -> None:
        """Find the stack's layers; ``order[position]`` is the member at each stack position."""
        if sorted(order) != list(range(len(self.specs))):
            raise ActlabError(
                f"StackRecorder has {len(self.specs)} members; the stack has {len(order)}"
            )
        stacked = getattr(model, "specs", None)
        if stacked is not None and tuple(stacked) != tuple(self.specs[k] for k in order):
            raise ActlabError("StackRecorder: its specs are not those of the stack's members")
        self._model, self._sites = model, _sites(model)
        self._position = [0] * len(order)
        for position, k in enumerate(order):
            self._position[k] = position
        self._rows = [[] for _ in order]
        index = {id(p): i for i, p in enumerate(optimizer.params)}
        self._param = [index[id(site.weight)] for site in self._sites]
        weight = self._sites[0].weight
        if self.data is not None:
            probe = self.data.x_train[: self.probe_size]
            self._probe = probe.to(device=weight.device, dtype=weight.dtype)

    def wants(self, step: int, epoch: int, last_of_epoch: bool) -> bool:
        """Step 1, and the last step of every ``every``-th epoch."""
        return step == 1 or (last_of_epoch and epoch % self.every == 0)

    @contextlib.contextmanager
    def capture(self) -> Iterator[None]:
        """Around the step's forward and backward: activation statistics (on the probe, or on
        the batch), then weight and gradient norms once ``backward()`` has run."""
        self._values = {}
        if self._probe is None:
            with self._hooks():
                yield
        else:
            modes = [(m, m.training) for m in self._model.modules()]
            try:
                self._model.eval()
                with self._hooks(), torch.no_grad():
                    self._model(self._probe)
            finally:
                for m, training in modes:
                    m.training = training
            yield
        self._capture_weights()

    @torch.no_grad()
    def after_step(self, step: int, epoch: int, updates: list[Tensor], alive: Tensor) -> None:
        """Update ratio and effective learning rate from the applied ``updates``; keep the
        step's rows of the members still ``alive`` (``[K]`` mask, stack order)."""
        for site, i, before in zip(self._sites, self._param, self._before):
            update = updates[i]
            self._put(site.name, R.UPDATE_RATIO, metrics.update_ratio(update, before, 1))
            self._put(site.name, R.EFFECTIVE_LR, metrics.effective_lr(site.weight.grad, update, 1))
        self._emit(step, alive)
        self._values, self._before = {}, []

    def state_dict(self) -> dict[str, Any]:
        """The rows recorded so far (to resume training from a checkpoint)."""
        return {"rows": [list(rows) for rows in self._rows]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict` 's rows (after :meth:`start`)."""
        rows = state.get("rows") if isinstance(state, dict) else None
        if rows is None or len(rows) != len(self._rows):
            raise ActlabError("StackRecorder: the saved rows do not fit this stack")
        self._rows = [[tuple(r) for r in member] for member in rows]

    # -- results -------------------------------------------------------------------------------

    def rows_of(self, k: int) -> list[R.Row]:
        """Member ``k``'s rows (``k`` as given to the trainer), in recording order."""
        if not 0 <= k < len(self.specs):
            raise ActlabError(f"member {k} is out of range; the recorder has {len(self.specs)}")
        return list(self._rows[self._position[k]])

    # -- internals -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _hooks(self) -> Iterator[None]:
        handles = []
        for site in self._sites:
            if site.act is not None:
                handles += [
                    site.act.register_forward_pre_hook(
                        lambda m, args, s=site: self._on_pre(s, args[0])
                    ),
                    site.act.register_forward_hook(lambda m, a, y, s=site: self._on_act(s, y)),
                ]
            elif site.paths is not None:
                for k, shell in enumerate(self._model.shells):
                    handles += self._member_hooks(site, k, shell)
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()

    def _member_hooks(self, site: _Site, k: int, shell: nn.Module) -> list[Any]:
        """ModuleStack: hooks on member k's own activation (and pre-activation) module."""
        act_path, pre_path = site.paths
        act = shell.get_submodule(act_path)
        found = activation_of(act)
        df = None if found is None else found[1]

        def on_pre(z: Tensor) -> None:
            self._on_member_pre(site, k, z, df)

        pre = (
            shell.get_submodule(pre_path).register_forward_hook(lambda m, a, z: on_pre(z))
            if pre_path is not None
            else act.register_forward_pre_hook(lambda m, args: on_pre(args[0]))
        )
        post = act.register_forward_hook(lambda m, a, y: self._on_member_act(site, k, y))
        return [pre, post]

    @torch.no_grad()
    def _on_pre(self, site: _Site, z: Tensor) -> None:
        z = site.units(z.detach())
        for metric, value in zip((R.PRE_MEAN, R.PRE_STD), metrics.moments(z)):
            self._put(site.name, metric, value)
        saturated, inactive = _group_slopes(site.act, z, self.saturation_threshold)
        self._put(site.name, R.SATURATION, saturated)
        self._put(site.name, R.INACTIVE, inactive)

    @torch.no_grad()
    def _on_act(self, site: _Site, y: Tensor) -> None:
        y = site.units(y.detach())
        for metric, value in zip((R.ACT_MEAN, R.ACT_STD), metrics.moments(y)):
            self._put(site.name, metric, value)
        self._put(site.name, R.DEAD, metrics.dead_fraction(y))

    @torch.no_grad()
    def _on_member_pre(self, site: _Site, k: int, z: Tensor, df: Any) -> None:
        z = metrics.examples_by_units(z.detach())
        for metric, value in zip((R.PRE_MEAN, R.PRE_STD), metrics.moments(z)):
            self._put(site.name, metric, value, k)
        if df is not None:
            slopes = df(z)
            saturated = metrics.saturation_fraction(slopes, self.saturation_threshold)
            self._put(site.name, R.SATURATION, saturated, k)
            peak = metrics.peak_of(df, z)
            if peak is not None:
                self._put(site.name, R.INACTIVE, metrics.inactive_fraction(slopes, peak), k)

    @torch.no_grad()
    def _on_member_act(self, site: _Site, k: int, y: Tensor) -> None:
        y = metrics.examples_by_units(y.detach())
        for metric, value in zip((R.ACT_MEAN, R.ACT_STD), metrics.moments(y)):
            self._put(site.name, metric, value, k)
        self._put(site.name, R.DEAD, metrics.dead_fraction(y), k)

    @torch.no_grad()
    def _capture_weights(self) -> None:
        """Weight and gradient norms and quantiles after ``backward()``; the weights kept for
        the update."""
        self._before = []
        for site in self._sites:
            weight = site.weight.detach()
            self._put(site.name, R.WEIGHT_NORM, metrics.norm(weight, 1))
            self._put(site.name, R.GRAD_NORM, metrics.norm(site.weight.grad, 1))
            for kind, tensor in (("weight", weight), ("grad", site.weight.grad)):
                levels = metrics.quantiles(tensor, R.QUANTILE_LEVELS, 1)
                for i, name in enumerate(R.DISTRIBUTIONS[kind]):
                    self._put(site.name, name, levels[:, i])
            self._before.append(weight.clone())

    def _put(self, layer: str, metric: str, value: Tensor, member: int | None = None) -> None:
        """A ``[K]`` value for the whole stack, or member ``member``'s 0-d value."""
        if member is None:
            self._values[(layer, metric)] = value
        else:
            self._values.setdefault((layer, metric), {})[member] = value

    def _column(self, value: Tensor | dict[int, Tensor], K: int, device: Any) -> Tensor:
        if isinstance(value, Tensor):
            return value.to(device, torch.float64)
        out = torch.full((K,), math.nan, dtype=torch.float64, device=device)
        for k, v in value.items():
            out[k] = v.to(device, torch.float64)
        return out

    def _emit(self, step: int, alive: Tensor) -> None:
        """One host transfer for the step: every ``[K]`` value to a Python float, per member."""
        K, device = len(self._rows), self._sites[0].weight.device
        keys = list(self._values)
        table = torch.stack([self._column(v, K, device) for v in self._values.values()])
        table = table.cpu().tolist()
        for position in alive.nonzero().flatten().tolist():
            out = self._rows[position]
            for (layer, metric), column in zip(keys, table):
                value = column[position]
                if metric in (R.SATURATION, R.INACTIVE) and math.isnan(value):
                    continue  # this member's activation has no elementwise f'
                out.append((step, layer, metric, value))
