"""The batched trainer: K variants of one architecture trained at once, as one stacked model.

Each member is a :class:`Member` -- a :class:`~actlab.models.ModelSpec` (activation, initializer,
...), a seed, an optimizer with its hyperparameters and a loss. All members share the data, the
architecture's sizes, the batch size and the number of epochs; :func:`actlab.models.stack` holds
them as stacked weights, one forward and one backward serve all K, and a
:class:`~actlab.train.stacked_optim.StackedOptimizer` steps each member's rows with its own rule.
The K members' mean losses are *summed* before ``backward()``: member k's parameters feed only
member k's loss, so each gradient is exactly that member's own.

Member k, alone, is this loop on the plain model ``build(spec, seed=seed)`` (the test suite runs
it and compares):

    order = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        for batch in torch.randperm(n_train, generator=order).split(batch_size):
            loss(model(x_train[batch]), y_train[batch], name).backward()
            opt.step(); opt.zero_grad()           # opt = actlab.optim.create(name, ..., **hparams)

``batch_size=None`` is full-batch gradient descent (every step sees the training set in order),
``1`` is stochastic gradient descent, ``N`` mini-batch.

Divergence: when a member's loss, or any of its gradients, is NaN or infinite at some step, the
member is marked diverged at that step (1-based global step count) and frozen: that step is not
applied to it and it is never updated again. Its metrics stop at the last completed epoch. The
other members' arithmetic does not involve it, so their results are the same as without it.

Checkpoints: given ``checkpoints`` (a :class:`Checkpoints`), the trainer offers its whole state
after every step and every epoch; when ``checkpoints.due(...)`` says so it hands
:func:`train` 's state -- stacked weights and buffers, optimizer state, each member's batch-order
generator, torch's global generator (dropout), metrics, divergence, the recorder's rows -- to
``checkpoints.save``. ``train(..., resume=state)`` continues from such a state exactly: the
results equal those of the uninterrupted call bit for bit (same device and threads).

Metrics, per epoch, for each live member: ``test_loss`` / ``test_acc`` on the whole test set in
eval mode after the epoch; ``train_loss`` / ``train_acc`` as the mean over the epoch's batches
(weighted by batch size) of the values each step saw before its update -- the running figure
Keras and most training loops report, free to compute. Epoch 0 evaluates both sets before any
step. Accuracy is for classification only. A dataset with a validation split (``x_val``) also
gets ``val_loss`` / ``val_acc``, evaluated like the test set.

Evaluation schedule and step budget: with ``eval_every=N`` the trainer also evaluates after
every N-th optimizer step inside an epoch -- test and validation sets as at an epoch's end;
``train_loss`` / ``train_acc`` as the running mean over the epoch's batches *so far* (Keras's
progress-bar figure: free, no extra pass over the training set) -- so a metric curve has points
at step resolution. Such rows go to ``MemberResult.curve`` only; ``MemberResult.metrics`` keeps
one row per epoch, the same rows as without ``eval_every`` (evaluating changes no training
number: eval mode, no gradients, no random draws). With ``steps=N`` instead of ``epochs``,
training stops after exactly N optimizer steps, mid-epoch if need be; the last (partial)
epoch's row is evaluated at step N, its train figures the mean over the batches it ran.
``MemberResult.curve`` holds every evaluation row (epoch 0, the ends of epochs and the finer
ones) with its ``step`` and ``seconds``: training time so far, evaluation and checkpoint saving
left out, so that time to a target does not assume a uniform speed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from actlab.data import Dataset
from actlab.errors import ActlabError
from actlab.losses import LOSSES
from actlab.losses import loss as loss_fn
from actlab.models import ModelSpec, stack
from actlab.train.stacked_optim import StackedOptimizer

__all__ = ["Checkpoints", "Member", "MemberResult", "Recorder", "TrainResult", "train"]

STATE_VERSION = 1  # of the state dict handed to Checkpoints.save

EVAL_CHUNK = 512  # examples per evaluation forward: large chunks are memory-bound


@dataclass(frozen=True)
class Member:
    """One variant to train: its network, seed, optimizer and loss."""

    spec: ModelSpec
    seed: int
    optimizer: str = "adam"
    optimizer_params: Mapping[str, Any] = field(default_factory=dict)
    loss: str = "cross_entropy"
    loss_params: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class MemberResult:
    """What one member did: per-epoch metrics (epoch 0 = before training), its fate, and every
    evaluation row with its ``step`` and training ``seconds`` (``curve``: the epoch rows and,
    with ``eval_every``, the finer ones)."""

    metrics: list[dict[str, float | None]]
    status: str = "done"  # "done" | "diverged"
    diverged_step: int | None = None
    curve: list[dict[str, float | None]] = field(default_factory=list)


@dataclass
class TrainResult:
    """The members' results, the trained stack (``model.member(k)`` is member k's network), the
    wall time of the whole batch and the number of steps each member was given."""

    members: list[MemberResult]
    model: nn.Module
    wall_s: float
    steps: int
    positions: list[int] = field(default_factory=list)
    snapshots: list[list[tuple[int, dict[str, Tensor]]]] = field(default_factory=list)

    def network(self, k: int) -> nn.Module:
        """Member ``k``'s trained network as a plain model (the stack may hold the members in
        another order: grouped by activation and optimizer, so that each group is contiguous)."""
        return self.model.member(self.positions[k] if self.positions else k)


Progress = Callable[[int], None]


class Recorder(Protocol):
    """Diagnostics inside the batched trainer (see :mod:`actlab.diagnostics`); it observes only.

    ``start(model, optimizer, order)`` once, before the first step: the stack, its
    :class:`StackedOptimizer` (``params``, ``row_members``) and ``order[position] = member``
    (the stack keeps members grouped; results are reported per given member). Then for every step
    ``wants(step, epoch, last_of_epoch)``; for a step it wants, the forward and backward run
    inside ``capture()`` (a context manager: install hooks) and, after the optimizer step,
    ``after_step(step, epoch, updates, alive)`` gets the update applied to each parameter (zero
    on frozen rows) and the ``[K]`` mask of live members (stack order). Gradients are still in
    ``param.grad`` then.
    """

    def start(self, model: nn.Module, optimizer: StackedOptimizer, order: list[int]) -> None: ...

    def wants(self, step: int, epoch: int, last_of_epoch: bool) -> bool: ...

    def capture(self) -> contextlib.AbstractContextManager[Any]: ...

    def after_step(self, step: int, epoch: int, updates: list[Tensor], alive: Tensor) -> None: ...


class Checkpoints(Protocol):
    """Where :func:`train` saves its state, and when (e.g. a study's store; see the runner).

    After every step ``due(epoch, batch, end_of_epoch)`` is asked (``batch`` steps of ``epoch``
    done; ``end_of_epoch`` once the epoch's metrics are recorded) and, when it says so,
    ``save(state, epoch, batch)`` gets the trainer's state -- a dict of tensors and plain Python
    values that :func:`torch.save` / ``torch.load(weights_only=True)`` round-trip; it holds
    references to live tensors, so ``save`` must serialize it before it returns. Then, if
    ``stopping()``, training stops with :class:`KeyboardInterrupt` (a clean Ctrl-C: nothing done
    is lost). The last epoch is never offered: the caller stores the finished results instead.
    """

    def due(self, epoch: int, batch: int, end_of_epoch: bool) -> bool: ...

    def save(self, state: dict[str, Any], epoch: int, batch: int) -> None: ...

    def stopping(self) -> bool: ...


def train(
    data: Dataset,
    members: Sequence[Member],
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device | None = None,
    on_step: Progress | None = None,
    recorder: Recorder | None = None,
    checkpoints: Checkpoints | None = None,
    resume: Mapping[str, Any] | None = None,
    snapshots: int = 0,
    shuffle: bool = True,
    steps: int | None = None,
    eval_every: int | None = None,
) -> TrainResult:
    """Train ``members`` together on ``data`` (see the module docstring).

    Args:
        data: the dataset (moved to ``device`` and cast to ``dtype``).
        members: the K variants; they must share everything :func:`actlab.models.stack` needs.
        epochs: passes over the training set (or give ``steps``).
        batch_size: examples per step; ``None`` for full batch.
        dtype, device: where and in what precision to train (default: the data's device).
        on_step: called after every step with the number of members in the stack (progress).
        recorder: diagnostics, or ``None``: a :class:`Recorder` (it only observes). To resume
            with one, it needs ``state_dict()`` / ``load_state_dict()``.
        checkpoints: where to save the training state, and when (:class:`Checkpoints`).
        resume: a state saved through ``checkpoints`` by a call with the same arguments:
            training continues from it (the results equal the uninterrupted call's).
        shuffle: draw each epoch's batch order from the member's seed (``False``: the
            training set in its stored order, every epoch, for every member).
        snapshots: keep each member's parameters at ``snapshots + 1`` evenly spaced steps, the
            initial and final ones included (``TrainResult.snapshots``; a diverged member's
            stop at its last good step); 0 for none.
        steps: a step budget instead of ``epochs``: exactly this many optimizer steps, the
            last epoch cut short if need be, evaluated at the last step.
        eval_every: also evaluate every this many optimizer steps inside an epoch (rows in
            ``MemberResult.curve``; see the module docstring); ``None``: at epoch ends only.

    Returns:
        a :class:`TrainResult`: one :class:`MemberResult` per member, in order, and the stack.

    Raises:
        KeyboardInterrupt: ``checkpoints.stopping()`` after a save.
    """
    if not members:
        raise ActlabError("train: no members to train")
    device = torch.device(device) if device is not None else data.device
    data = data.to(device)
    x_train, x_test = data.x_train.to(dtype), data.x_test.to(dtype)
    val = None
    if data.x_val is not None:
        val = (data.x_val.to(dtype), _targets(data.y_val, dtype))
    y_train, y_test = _targets(data.y_train, dtype), _targets(data.y_test, dtype)
    n = len(x_train)
    if batch_size is not None and batch_size < 1:
        raise ActlabError(f"train: batch_size={batch_size} must be at least 1 (or None: full)")
    B = n if batch_size is None else min(batch_size, n)
    K = len(members)
    per_epoch = -(-n // B)
    epochs, budget = _schedule(epochs, steps, per_epoch)
    if eval_every is not None and (isinstance(eval_every, bool) or eval_every < 1):
        raise ActlabError(f"train: eval_every={eval_every!r} must be at least 1 (or None)")
    snap_at = _snapshot_steps(snapshots, budget)
    start = time.perf_counter()
    order = sorted(range(K), key=lambda k: _group_key(members[k]))
    given, members = members, [members[k] for k in order]

    model = stack([m.spec for m in members], [m.seed for m in members]).to(device, dtype)
    opt = StackedOptimizer(
        model.parameter_members(), [(m.optimizer, m.optimizer_params) for m in members]
    )
    losses = _LossGroups(members, data.task)
    orders = [torch.Generator().manual_seed(m.seed) for m in members]
    alive = torch.ones(K, dtype=torch.bool)
    results = [MemberResult([]) for _ in members]
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        # training-mode randomness (dropout, RReLU) draws from torch's global generator: seeded
        # from the members' seeds, so that a unit's results do not depend on what ran before
        torch.manual_seed(_unit_seed(members))
        if resume is None:
            train0 = _evaluate(model, losses, x_train, y_train)
            _record(
                results,
                alive,
                0,
                train0,
                _evaluate(model, losses, x_test, y_test),
                val and _evaluate(model, losses, *val),
                step=0,
                seconds=0.0,
            )
        if recorder is not None:
            recorder.start(model, opt, order)
        step, first, skip, seen, hits, spent, trained = 0, 1, 0, None, None, 0.0, 0.0
        snaps: list[list[tuple[int, list[Tensor]]]] = [[] for _ in members]
        if resume is not None:
            step, first, skip, seen, hits, spent, trained = _restore(
                resume, model, opt, orders, alive, results, recorder, device
            )
            snaps = [[(t, list(w)) for t, w in member] for member in resume["snapshots"]]
        elif 0 in snap_at:
            _snapshot(model, alive, snaps, 0)

        clock = _Clock(trained)

        def evaluate(epoch: int, count: int, end_of_epoch: bool) -> None:
            """Record the live members' metrics now: the running train figures over the
            ``count`` examples of the epoch so far, the test and validation sets in full."""
            seconds = clock()
            with clock.pause():
                running = (seen / count, hits / count if losses.classification else None)
                test = _evaluate(model, losses, x_test, y_test)
                held = val and _evaluate(model, losses, *val)
                _record(results, alive, epoch, running, test, held, step=step, seconds=seconds,
                        epoch_end=end_of_epoch)  # fmt: skip

        def save(epoch: int, batch: int, epoch_orders: list[Tensor] | None) -> None:
            with clock.pause():
                _save(epoch, batch, epoch_orders)
            if checkpoints.stopping():
                raise KeyboardInterrupt

        def _save(epoch: int, batch: int, epoch_orders: list[Tensor] | None) -> None:
            state = {
                "version": STATE_VERSION,
                "K": K,
                "order": order,  # order[position] = the member given at that index
                "epoch": epoch,
                "batch": batch,
                "step": step,
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "orders": epoch_orders or [g.get_state() for g in orders],
                "rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                "alive": alive.clone(),
                "results": [dataclasses.asdict(r) for r in results],
                "seen": None if seen is None or batch == 0 else seen.cpu(),
                "hits": None if hits is None or batch == 0 else hits.cpu(),
                "recorder": None if recorder is None else recorder.state_dict(),
                "snapshots": snaps,
                "wall_s": spent + time.perf_counter() - start,
                "train_s": clock(),
            }
            checkpoints.save(state, epoch, batch)

        for epoch in range(first, epochs + 1):
            model.train()
            epoch_orders = None
            if checkpoints is not None and batch_size is not None:
                epoch_orders = [g.get_state() for g in orders]
            if batch_size is None:
                batches = [None]
            elif not shuffle:  # the same order every epoch, shared by all members
                batches = list(torch.arange(n, device=device).split(B))
            else:
                perms = torch.stack([torch.randperm(n, generator=g) for g in orders]).to(device)
                batches = list(perms.split(B, dim=1))
            batches = batches[: budget - (epoch - 1) * per_epoch]  # a step budget ends mid-epoch
            if skip == 0:
                seen = torch.zeros(K, dtype=torch.float64, device=device)
                hits = torch.zeros(K, dtype=torch.float64, device=device)
            for i, index in enumerate(batches):
                if i < skip:
                    continue
                step += 1
                watch = recorder is not None and recorder.wants(step, epoch, i == len(batches) - 1)
                with recorder.capture() if watch else contextlib.nullcontext():
                    if index is None:
                        out, target = model(x_train), y_train
                    else:
                        out, target = model(x_train[index]), y_train[index]
                    values = losses.per_member(out, target)
                    ok = torch.isfinite(values).cpu() & alive
                    total = torch.where(ok.to(device), values, torch.zeros_like(values)).sum()
                    total.backward()
                with torch.no_grad():
                    seen += values.detach() * (n if index is None else index.shape[-1])
                    if losses.classification:
                        hits += (out.detach().argmax(-1) == target).sum(-1)
                ok &= _finite_gradients(opt, K)
                _diverge(results, opt, alive & ~ok, step, alive)
                updates = opt.step(updates=watch)
                if watch:
                    recorder.after_step(step, epoch, updates, alive)
                opt.zero_grad()
                if step in snap_at:
                    _snapshot(model, alive, snaps, step)
                if on_step is not None:
                    on_step(K)
                if eval_every is not None and step % eval_every == 0 and i < len(batches) - 1:
                    evaluate(epoch, min((i + 1) * B, n), False)
                if (
                    checkpoints is not None
                    and i < len(batches) - 1
                    and checkpoints.due(epoch, i + 1, False)
                ):
                    save(epoch, i + 1, epoch_orders)
            skip = 0
            evaluate(epoch, min(len(batches) * B, n), True)
            if checkpoints is not None and epoch < epochs and checkpoints.due(epoch, 0, True):
                save(epoch + 1, 0, None)
    positions = [0] * K
    for position, k in enumerate(order):
        positions[k] = position
    mine = [results[positions[k]] for k in range(len(given))]
    wall = spent + time.perf_counter() - start
    kept = [_named(model, positions[k], snaps[positions[k]]) for k in range(K)] if snap_at else []
    return TrainResult(mine, model, wall, step, positions, kept)


def _schedule(epochs: int | None, steps: int | None, per_epoch: int) -> tuple[int, int]:
    """``(epochs, optimizer steps)`` of a run given ``epochs`` or a step budget ``steps``."""
    if (epochs is None) == (steps is None):
        raise ActlabError("train: give epochs or steps (a step budget), exactly one of them")
    for name, value in (("epochs", epochs), ("steps", steps)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):  # fmt: skip
            raise ActlabError(f"train: {name}={value!r} must be an integer >= 1")
    if steps is not None:
        return -(-steps // per_epoch), steps
    return epochs, epochs * per_epoch


class _Clock:
    """Training seconds: time since the clock started (plus ``before``, from a resumed state),
    less the pauses -- evaluations and checkpoint saves."""

    def __init__(self, before: float = 0.0) -> None:
        self.before, self.start, self.paused = before, time.perf_counter(), 0.0

    def __call__(self) -> float:
        return self.before + time.perf_counter() - self.start - self.paused

    @contextlib.contextmanager
    def pause(self):
        began = time.perf_counter()
        try:
            yield
        finally:
            self.paused += time.perf_counter() - began


def _snapshot_steps(snapshots: int, total: int) -> frozenset[int]:
    """``snapshots + 1`` evenly spaced steps from 0 to ``total`` (fewer if steps are few)."""
    if isinstance(snapshots, bool) or not isinstance(snapshots, int) or snapshots < 0:
        raise ActlabError(f"train: snapshots={snapshots!r} must be an integer >= 0")
    if snapshots == 0:
        return frozenset()
    return frozenset(round(i * total / snapshots) for i in range(snapshots + 1))


def _snapshot(model, alive: Tensor, snaps, step: int) -> None:
    """Copy every live member's parameters (stack order)."""
    for position in alive.nonzero().flatten().tolist():
        weights = [p.detach().clone() for p in model.member_parameters(position)]
        snaps[position].append((step, weights))


def _named(model, position: int, snaps) -> list[tuple[int, dict[str, Tensor]]]:
    """A member's snapshots with its plain model's parameter names."""
    names = [name for name, _ in model.member(position).named_parameters()]
    return [(step, dict(zip(names, weights, strict=True))) for step, weights in snaps]


def _unit_seed(members: Sequence[Member]) -> int:
    """A seed for torch's global generator from the members' seeds (in stack order)."""
    digest = hashlib.sha256(repr([m.seed for m in members]).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def _restore(state, model, opt, orders, alive, results, recorder, device):
    """Load a saved training state into the fresh stack, optimizer, generators and results;
    return ``(step, epoch to start, batches of it done, seen, hits, wall seconds spent,
    training seconds spent)``."""
    if not isinstance(state, Mapping) or state.get("version") != STATE_VERSION:
        raise ActlabError("train: the state to resume is not one this actlab saves")
    if state["K"] != len(results):
        raise ActlabError(
            f"train: the state to resume has {state['K']} members; this stack has {len(results)}"
        )
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as e:
        raise ActlabError(f"train: the state to resume does not fit this stack ({e})") from None
    opt.load_state_dict(state["optimizer"])
    for g, s in zip(orders, state["orders"], strict=True):
        g.set_state(s)
    torch.set_rng_state(state["rng"])
    if state.get("cuda_rng") is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda_rng"], device)
    alive.copy_(state["alive"])
    for r, saved in zip(results, state["results"], strict=True):
        r.metrics, r.status = saved["metrics"], saved["status"]
        r.diverged_step, r.curve = saved["diverged_step"], saved.get("curve", [])
    if recorder is not None:
        recorder.load_state_dict(state["recorder"])
    seen, hits = state["seen"], state["hits"]
    if seen is not None:
        seen, hits = seen.to(device), hits.to(device)
    wall = float(state["wall_s"])
    trained = float(state.get("train_s", wall))  # a state saved before training seconds
    return state["step"], state["epoch"], state["batch"], seen, hits, wall, trained


def _group_key(m: Member) -> tuple[str, str, str]:
    """Members with equal keys share activation code and one optimizer update: keeping them
    adjacent lets the stack and the optimizer work on contiguous views instead of gathered
    copies. (The order changes no member's numbers, only the speed.)"""
    spec = m.spec
    hparams = repr(sorted(m.optimizer_params.items()))
    return repr((spec.activation, spec.activation_params)), m.optimizer, hparams


def _targets(y: Tensor, dtype: torch.dtype) -> Tensor:
    return y.to(dtype) if y.is_floating_point() else y


def _finite_gradients(opt: StackedOptimizer, K: int) -> Tensor:
    """``[K]`` bool: every gradient row of the member is finite.

    The common case -- everything finite -- costs one read-only sum per gradient and one host
    read: inf or NaN anywhere makes the sum of sums non-finite (a finite sum that overflows
    only sends the step to the exact row-by-row check below)."""
    finite = torch.ones(K, dtype=torch.bool)
    sums = [p.grad.sum(dtype=_wide(p.grad)) for p in opt.params if p.grad is not None]
    if not sums or math.isfinite(torch.stack(sums).sum(dtype=torch.float64).item()):
        return finite
    for p, owners in zip(opt.params, opt.row_members):
        if p.grad is None:
            continue
        rows_ok = torch.isfinite(p.grad).reshape(p.shape[0], -1).all(1).cpu()
        if not bool(rows_ok.all()):
            bad = owners[~rows_ok]
            finite[bad] = False
    return finite


def _wide(t: Tensor) -> torch.dtype | None:
    """A sum's accumulation type: float16 sums into float32 (whose range bfloat16 has)."""
    return torch.float32 if t.dtype == torch.float16 else None


def _diverge(results, opt, newly: Tensor, step: int, alive: Tensor) -> None:
    gone = newly.nonzero().flatten().tolist()
    for k in gone:
        results[k].status, results[k].diverged_step = "diverged", step
    alive[gone] = False
    opt.freeze(gone)


class _LossGroups:
    """Per-member mean losses of a stacked output, one batched loss call per distinct loss."""

    def __init__(self, members: Sequence[Member], task: str) -> None:
        groups: dict[tuple[str, tuple], list[int]] = {}
        for k, m in enumerate(members):
            info = LOSSES.get(m.loss)
            params = info.bind(dict(m.loss_params))
            if info.mean_denominator is not None and params.get("weight") is not None:
                raise ActlabError(f"{info.name}: class weights are not supported in studies")
            if info.reduction not in ("mean", "batchmean"):
                raise ActlabError(f"{info.name}: its default reduction is not a mean")
            groups.setdefault((info.name, tuple(sorted(params.items()))), []).append(k)
        self.classification = task == "classification"
        self.groups = [
            (LOSSES.get(name), dict(params), torch.tensor(ks))
            for (name, params), ks in groups.items()
        ]

    def per_member(self, out: Tensor, target: Tensor) -> Tensor:
        """``[K]`` mean loss of each member on its batch; ``target`` is ``[B, ...]`` (shared) or
        ``[K, B, ...]``."""
        K = out.shape[0]
        if target.dim() < out.dim() - self.classification:  # shared by all members
            target = target.expand(K, *target.shape)
        if len(self.groups) == 1:
            return self._group_values(self.groups[0], out, target)
        values = out.new_empty(K)
        for group in self.groups:
            ks = group[2].to(out.device)
            values[ks] = self._group_values(group, out[ks], target[ks])
        return values

    @staticmethod
    def _group_values(group, out: Tensor, target: Tensor) -> Tensor:
        info, params, _ = group
        n, B = out.shape[:2]
        scores, target = (
            out.reshape(n * B, *out.shape[2:]),
            target.reshape(n * B, *target.shape[2:]),
        )
        values = loss_fn(scores, target, info, reduction="none", **params).reshape(n, B, -1)
        if info.reduction == "batchmean":
            return values.sum(-1).mean(1)
        return values.mean((1, 2))

    def evaluate(self, out: Tensor, target: Tensor) -> tuple[Tensor, Tensor | None]:
        """Summed (not mean) per-member losses over a chunk, and correct-prediction counts."""
        B = out.shape[1]
        losses = self.per_member(out, target) * B
        if not self.classification:
            return losses, None
        correct = (out.argmax(-1) == target).sum(-1)
        return losses, correct


@torch.no_grad()
def _evaluate(model, losses, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor | None]:
    """``[K]`` mean loss and accuracy (``None`` for regression) over a whole split, eval mode."""
    model.eval()
    total, correct = None, None
    for xs, ys in zip(x.split(EVAL_CHUNK), y.split(EVAL_CHUNK)):
        s, c = losses.evaluate(model(xs), ys)
        total = s if total is None else total + s
        if c is not None:
            correct = c if correct is None else correct + c
    model.train()
    return total / len(x), None if correct is None else correct.to(torch.float64) / len(x)


def _record(
    results, alive, epoch, train, test, val=None, *, step=None, seconds=None, epoch_end=True
) -> None:
    """Append each live member's row: to ``metrics`` at an epoch's end, and to ``curve`` with
    its ``step`` and training ``seconds`` whenever a step is given."""
    row = {"train_loss": train[0], "train_acc": train[1], "test_loss": test[0], "test_acc": test[1]}
    if val is not None:
        row |= {"val_loss": val[0], "val_acc": val[1]}
    for k in alive.nonzero().flatten().tolist():
        values = {"epoch": epoch, **{m: None if v is None else float(v[k]) for m, v in row.items()}}
        if epoch_end:
            results[k].metrics.append(values)
        if step is not None:
            results[k].curve.append({"step": step, "seconds": seconds, **values})
