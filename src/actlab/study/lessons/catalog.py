"""The nine lessons: each claim of the source texts, the study that tests it, and its judge.

Every study is sized to run in a few minutes on a laptop CPU (MNIST-1D with 2000 signals, small
MLPs; ``bench/lessons.py`` runs them all), and shrunk by ``reduced`` to seconds for CI. Where a
lesson compares methods, each variant gets its own learning rate, chosen on a held-out
validation split from a small grid (``tune_lr``, first seed), then run over every seed: a shared
rate would favour whichever method it suits. The judges only read the store; the thresholds
they apply are the rule of :mod:`actlab.study.lessons._core`.
"""

from __future__ import annotations

from actlab.diagnostics import rows as R
from actlab.study.lessons._core import Finding, register

__all__: list[str] = []

M1D = {"dataset": "mnist1d", "dataset_params": {"num_samples": 2000}, "model": "mlp"}
SGD_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
SEEDS = (0, 1, 2, 3, 4, 5)
TINY = {  # CI: 3 seeds, 2 epochs, 3 rates, 400 signals, narrow layers, a closed-form init
    "dataset_params": {"num_samples": 400},
    "inits": ("xavier_normal",),
    "width": 8,
    "seeds": (0, 1, 2),
    "epochs": 2,
}
POINTS = " points"  # accuracies are compared in percentage points


def _speed(m, metric: str, fast: str, slow: str, **common) -> Finding:
    """``fast`` (an activation, optimizer, ... named by ``common``'s single free key) against
    ``slow``: the speed-up to the target the slower of the two reaches on average."""
    (axis,) = [k for k, v in common.items() if v is None]
    fixed = {k: v for k, v in common.items() if v is not None}
    a, b = m.variant(**fixed, **{axis: fast}), m.variant(**fixed, **{axis: slow})
    target = m.target([a, b], metric)
    return m.speedup(_reach(metric, target), str(fast), str(slow), a, b, metric, target)


def _reach(metric: str, target: float | None) -> str:
    return f"{metric.replace('_', ' ')} {target:g}" if target is not None else ""


def _accuracy(m, a_name: str, b_name: str, expect: int = 1, **match) -> Finding:
    """Final validation accuracy of two variants (named by ``match`` plus the one free key)."""
    (axis,) = [k for k, v in match.items() if v is None]
    fixed = {k: v for k, v in match.items() if v is not None}
    a, b = m.variant(**fixed, **{axis: a_name}), m.variant(**fixed, **{axis: b_name})
    return m.paired(
        "final validation accuracy", a_name, b_name, m.final(a), m.final(b),
        expect=expect, unit=POINTS, scale=100.0,
    )  # fmt: skip


# ---- 1. ReLU converges faster than sigmoid and tanh ----------------------------------------


def _relu_speed(m) -> list[Finding]:
    return [_speed(m, "train_loss", "relu", slow, activation=None) for slow in ("sigmoid", "tanh")]


register(
    "relu-speed",
    "ReLU trains faster than sigmoid and tanh: it reaches the same training loss in fewer epochs",
    source=("000", "002"),
    setup="3x48 MLP on MNIST-1D (2000 signals), plain SGD, batch 100, 12 epochs; each "
    "activation at its own rate from {0.03, 0.1, 0.3, 1, 3} chosen on validation; speed = epochs "
    "until the training loss has come 90% of the way from its initial value to the slower "
    "activation's mean final loss.",
    judge=_relu_speed,
    reduced={**TINY, "tune_lr": (0.1, 0.3, 1.0)},
    figure=(("curve", "train_loss"), ("curve", "val_acc")),
    **M1D,
    depth=3,
    width=48,
    activations=("relu", "tanh", "sigmoid"),
    optimizers=("sgd",),
    tune_lr=SGD_GRID,
    seeds=SEEDS,
    epochs=12,
    batch_size=100,
)


# ---- 2. tanh beats sigmoid ----------------------------------------------------------------


def _tanh_sigmoid(m) -> list[Finding]:
    return [_accuracy(m, "tanh", "sigmoid", activation=None)]


register(
    "tanh-sigmoid",
    "tanh beats sigmoid: with a zero-centred output the next layer's gradients are not all of "
    "one sign, so the same network ends more accurate",
    source=("000", "001", "002"),
    setup="3x48 MLP on MNIST-1D (2000 signals), plain SGD, batch 100, 12 epochs; each "
    "activation at its own rate from {0.03, 0.1, 0.3, 1, 3} chosen on validation; compared on the "
    "final validation accuracy (paired over seeds).",
    judge=_tanh_sigmoid,
    reduced={**TINY, "tune_lr": (0.1, 0.3, 1.0)},
    figure=(("curve", "val_acc"), ("curve", "train_loss")),
    **M1D,
    depth=3,
    width=48,
    activations=("tanh", "sigmoid"),
    optimizers=("sgd",),
    tune_lr=SGD_GRID,
    seeds=SEEDS,
    epochs=12,
    batch_size=100,
)


# ---- 3. Leaky ReLU against dying ReLUs ----------------------------------------------------


def _dying_relu(m) -> list[Finding]:
    relu, leaky = m.variant(activation="relu"), m.variant(activation="leaky_relu")
    dead = m.paired(
        "dead hidden units (%)", "relu", "leaky_relu",
        m.diagnostic(relu, R.DEAD), m.diagnostic(leaky, R.DEAD), unit=POINTS, scale=100.0,
    )  # fmt: skip
    return [dead, _accuracy(m, "leaky_relu", "relu", activation=None)]


register(
    "dying-relu",
    "ReLU units can die (output 0 for every input, so they never learn again) after a too-large "
    "step; Leaky ReLU keeps a small slope, so its units cannot die and the network does better",
    source=("000", "001", "002", "003"),
    setup="3x48 MLP on MNIST-1D (2000 signals), Adam at a deliberately high rate (0.1, a hundred "
    "times its usual 0.001, not tuned: the high rate is the provocation; Adam's steps have that "
    "size whatever the gradient, so the run does not diverge), batch 100, 10 epochs, "
    "diagnostics on; dead units = "
    "hidden units whose output is 0 on every probe example at the end of training; accuracy "
    "on a 10% validation split.",
    judge=_dying_relu,
    reduced=TINY,
    figure=(("diag", R.DEAD, "hidden"), ("curve", "val_acc")),
    **M1D,
    depth=3,
    width=48,
    activations=("relu", "leaky_relu"),
    optimizers=("adam",),
    lrs={"adam": 0.1},
    seeds=SEEDS,
    epochs=10,
    batch_size=100,
    validation=0.1,
    diagnostics=True,
)


# ---- 4. Swish and Mish against ReLU as depth grows ----------------------------------------


def _swish_depth(m) -> list[Finding]:
    shallow, deep = m.values("depth")[0], m.values("depth")[-1]
    out = []
    for smooth in ("silu", "mish"):
        gain = {}
        for depth in (shallow, deep):
            a, b = (
                m.variant(activation=smooth, depth=depth),
                m.variant(activation="relu", depth=depth),
            )
            fa, fb = m.final(a), m.final(b)
            gain[depth] = {k: fa[k] - fb[k] for k in fa if k in fb}
        out.append(
            m.paired(f"final validation accuracy at depth {deep}", smooth, "relu",
                     m.final(m.variant(activation=smooth, depth=deep)),
                     m.final(m.variant(activation="relu", depth=deep)), unit=POINTS, scale=100.0)
        )  # fmt: skip
        lead = f"{smooth}'s lead over relu in final validation accuracy"
        out.append(
            m.paired(lead, f"at depth {deep}", f"at depth {shallow}", gain[deep], gain[shallow],
                     unit=POINTS, scale=100.0)
        )  # fmt: skip
    return out


register(
    "swish-depth",
    "Swish (SiLU) and Mish beat ReLU on deeper networks, and their lead grows with depth",
    source=("000", "002"),
    setup="MLPs of depth 2 and 8, width 32, on MNIST-1D (2000 signals), Adam, batch 100, 10 "
    "epochs; each activation and depth at its own rate from {0.001, 0.003, 0.01, 0.03} chosen on "
    "validation; compared on final validation accuracy at depth 8, and on the lead's change "
    "from depth 2 to 8 (per seed).",
    judge=_swish_depth,
    reduced={**TINY, "depth": (1, 3), "tune_lr": (0.001, 0.003, 0.01)},
    figure=(("axis", "val_acc", "depth"), ("curve", "val_acc")),
    **M1D,
    depth=(2, 8),
    width=32,
    activations=("relu", "silu", "mish"),
    optimizers=("adam",),
    tune_lr=(0.001, 0.003, 0.01, 0.03),
    seeds=(0, 1, 2, 3, 4),
    epochs=10,
    batch_size=100,
)


# ---- 5. AdaGrad's effective rate decays; RMSProp's and AdaDelta's level off ---------------


def _adagrad_decay(m) -> list[Finding]:
    ratio = {
        o: m.ratio(m.variant(optimizer=o), R.EFFECTIVE_LR)
        for o in ("adagrad", "rmsprop", "adadelta")
    }
    what = "effective rate at the end / at mid-training"
    flat = {k: 1.0 for k in ratio["adagrad"]}
    return [
        m.paired(what, "adagrad", "1 (no decay)", ratio["adagrad"], flat, expect=-1),
        m.paired(what, "adagrad", "rmsprop", ratio["adagrad"], ratio["rmsprop"], expect=-1),
        m.paired(what, "adagrad", "adadelta", ratio["adagrad"], ratio["adadelta"], expect=-1),
    ]  # fmt: skip


register(
    "adagrad-decay",
    "AdaGrad's effective learning rate keeps shrinking as squared gradients pile up, while "
    "RMSProp's and AdaDelta's moving averages let theirs level off",
    source=("000",),
    setup="2x32 MLP on MNIST-1D (2000 signals), batch 100, 12 epochs, diagnostics on; each "
    "optimizer at its own rate from {0.001, 0.01, 0.1, 1, 3} chosen on validation; effective "
    "rate = median |update| / |gradient| of each hidden layer, compared between the middle and "
    "the end of training (per seed).",
    judge=_adagrad_decay,
    reduced={**TINY, "epochs": 4, "tune_lr": (0.001, 0.01, 0.1)},
    figure=(("diag", R.EFFECTIVE_LR, "hidden"), ("curve", "train_loss")),
    **M1D,
    depth=2,
    width=32,
    activations=("relu",),
    optimizers=("adagrad", "rmsprop", "adadelta"),
    tune_lr=(0.001, 0.01, 0.1, 1.0, 3.0),
    seeds=(0, 1, 2, 3, 4),
    epochs=12,
    batch_size=100,
    diagnostics=True,
)


# ---- 6. momentum and NAG accelerate along a ravine ----------------------------------------


def _ravine(m) -> list[Finding]:
    return [_speed(m, "train_loss", fast, "sgd", optimizer=None) for fast in ("momentum", "nag")]


register(
    "momentum-ravine",
    "momentum and Nesterov's look-ahead accelerate gradient descent where the loss curves far "
    "more steeply in some directions than in others (a ravine)",
    source=("000",),
    setup="softmax regression (a linear model, depth 0) on MNIST-1D's raw, unstandardized "
    "signals (2000): neighbouring samples of a signal are strongly correlated, so the loss is "
    "a narrow ravine; full-batch gradient descent (one step per epoch), 150 steps; each "
    "optimizer at its own rate from {0.003, 0.01, 0.03, 0.1, 0.3, 1, 3} chosen on validation; "
    "speed = steps until the training loss has come 90% of the way from its initial value to the "
    "slower optimizer's mean final loss.",
    judge=_ravine,
    reduced={
        "dataset_params": {"num_samples": 400, "standardize": False},
        "seeds": (0, 1, 2),
        "epochs": 6,
        "tune_lr": (0.01, 0.03, 0.1),
    },
    figure=(("curve", "train_loss"),),
    dataset="mnist1d",
    dataset_params={"num_samples": 2000, "standardize": False},
    model="mlp",
    depth=0,
    activations=("relu",),
    optimizers=("sgd", "momentum", "nag"),
    tune_lr=(0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0),
    seeds=(0, 1, 2, 3, 4),
    epochs=150,
    batch_size=None,
)


# ---- 7. batch vs stochastic vs mini-batch gradient descent --------------------------------


def _batch_size(m) -> list[Finding]:
    mini = max(b for b in m.values("batch_size") if b is not None)
    return [_batch_speed(m, mini, other) for other in (None, 1)]


def _batch_speed(m, mini: int, other: int | None) -> Finding:
    a, b = m.variant(batch_size=mini), m.variant(batch_size=other)
    target = m.target([a, b], "train_loss")
    name = lambda v: "full batch" if v is None else f"batch {v}"  # noqa: E731
    return m.speedup(
        _reach("train_loss", target), name(mini), name(other), a, b, "train_loss", target
    )


register(
    "batch-size",
    "mini-batch gradient descent converges faster than batch gradient descent (one step per "
    "pass over the data) and than stochastic gradient descent (one example per step)",
    source=("000",),
    setup="2x32 MLP on MNIST-1D (1000 signals), plain SGD with batches of the full training "
    "set, 1 and 32 examples, each at its own rate from {0.003, 0.01, 0.03, 0.1, 0.3, 1, 3} chosen "
    "on validation; equal epochs (6), i.e. the same number of examples seen and gradients "
    "computed, since the text compares how fast each converges for the data it processes; "
    "speed = epochs until the training loss has come 90% of the way from its initial value to "
    "the slower one's mean final loss.",
    judge=_batch_size,
    reduced={
        "dataset_params": {"num_samples": 200},
        "width": 8,
        "seeds": (0, 1, 2),
        "epochs": 2,
        "inits": ("xavier_normal",),
        "tune_lr": (0.01, 0.1, 1.0),
    },
    figure=(("curve", "train_loss"), ("curve", "val_acc")),
    dataset="mnist1d",
    dataset_params={"num_samples": 1000},
    model="mlp",
    depth=2,
    width=32,
    activations=("relu",),
    optimizers=("sgd",),
    tune_lr=(0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0),
    seeds=(0, 1, 2, 3, 4),
    epochs=6,
    batch_size=(None, 1, 32),
)


# ---- 8. naive vs Glorot/He initialization -------------------------------------------------


INITS = ("normal", "xavier_normal", "he_normal")


def _init(m) -> list[Finding]:
    out = []
    for act in ("tanh", "relu"):
        for good in ("xavier_normal", "he_normal"):
            a, b = m.variant(activation=act, init=good), m.variant(activation=act, init="normal")
            out.append(m.paired(f"{act}: final validation accuracy", good, "N(0, 0.01^2)",
                                m.final(a), m.final(b), unit=POINTS, scale=100.0))  # fmt: skip
    return out


register(
    "init",
    "small random weights (N(0, 0.01^2)) starve a deep network of signal and gradient; Glorot "
    "(Xavier) and He initialization scale the weights to the layer's width so it learns",
    source=("002", "003"),
    setup="6x32 MLP on MNIST-1D (2000 signals), tanh and ReLU, plain SGD, batch 100, 8 "
    "epochs; each activation and init at its own rate from {0.01, 0.1, 1} chosen on "
    "validation; compared on final validation accuracy (paired over seeds).",
    judge=_init,
    reduced={**TINY, "depth": 3, "inits": INITS, "tune_lr": (0.01, 0.1, 1.0)},
    figure=(("curve", "val_acc"), ("curve", "train_loss")),
    **M1D,
    depth=6,
    width=32,
    activations=("tanh", "relu"),
    inits=INITS,
    init_params={"normal": {"std": 0.01}},
    optimizers=("sgd",),
    tune_lr=(0.01, 0.1, 1.0),
    seeds=(0, 1, 2, 3, 4),
    epochs=8,
    batch_size=100,
)


# ---- 9. hinge vs cross-entropy ------------------------------------------------------------


def _hinge(m) -> list[Finding]:
    ce, hinge = m.variant(loss="cross_entropy"), m.variant(loss="multiclass_hinge")
    what = "output-layer weight norm at the end / at mid-training"
    growth = m.paired(what, "cross_entropy", "multiclass_hinge",
                      m.ratio(ce, R.WEIGHT_NORM, layers="output"),
                      m.ratio(hinge, R.WEIGHT_NORM, layers="output"))  # fmt: skip
    return [growth]


register(
    "hinge-ce",
    "the hinge loss is satisfied once every example clears the margin, while cross-entropy "
    "always wants a larger one: on separable data its weights keep growing and the hinge's "
    "level off",
    source=("002",),
    setup="2x32 MLP on the two moons (500 points, noise 0.1), plain SGD, batch 25, 40 epochs, "
    "diagnostics on; each loss at its own rate from {0.01, 0.03, 0.1, 0.3} chosen on "
    "validation; compared on how much the output layer's weight norm grows from the middle to "
    "the end of training (per seed).",
    judge=_hinge,
    reduced={
        "width": 8,
        "seeds": (0, 1, 2),
        "epochs": 4,
        "inits": ("xavier_normal",),
        "tune_lr": (0.03, 0.1, 0.3),
    },
    figure=(("diag", R.WEIGHT_NORM, "output"), ("curve", "val_acc")),
    dataset="moons",
    model="mlp",
    depth=2,
    width=32,
    activations=("relu",),
    losses=("cross_entropy", "multiclass_hinge"),
    optimizers=("sgd",),
    tune_lr=(0.01, 0.03, 0.1, 0.3),
    seeds=(0, 1, 2, 3, 4),
    epochs=40,
    batch_size=25,
    diagnostics=True,
)
