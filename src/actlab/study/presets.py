"""Ready-made studies, declared once each in :data:`PRESETS` (``actlab compare --preset NAME``).

``quickstart`` -- the default of ``actlab compare``: seven activations x three optimizers on
MNIST-1D with a 40-100-100-10 MLP, 3 seeds, 20 epochs (63 small runs, minutes on a laptop CPU).
MNIST-1D is small enough to train in seconds yet, unlike toy 2-D sets, separates activations and
optimizers (Greydanus 2020). The learning rates are starting values, one per optimizer, chosen so
each optimizer takes steps of a similar size -- not tuned per activation, so the comparison is of
"the same recipe, different function":

- ``sgd = 0.1``: plain SGD on standardized inputs with variance-preserving (``auto``) weights
  tolerates a large step; 0.1 is the usual stable value for small MLPs.
- ``momentum = 0.02``: heavy-ball momentum 0.9 multiplies the steady-state step by
  1/(1-0.9) = 10, so 0.02 moves about twice as far per step as SGD at 0.1.
- ``adam = 0.002``: Adam's step is about ``lr`` per coordinate whatever the gradient's scale;
  1e-3..3e-3 is the usual range for networks this size.

The target accuracy 0.5 is reached by most reasonable settings within a few epochs on MNIST-1D,
so "epochs to target" ranks speed while the final accuracy ranks quality.

``mnist1d-mlp`` and ``mnist1d-cnn`` -- the MNIST-1D paper's recipes (Greydanus & Kobak): the
40-100-100-10 ReLU MLP and the CNN of three 1-D convolutions with 25 channels, both with Adam at
lr 0.01 and batch 100, for 30 and 40 epochs (the paper trains 6000 steps, 150 epochs, and
reports 68% and 94%). The test suite trains seed 0 of each and checks the published range:
55-72% for the MLP, at least 88% for the CNN.

``deep-sigmoid`` -- vanishing gradients and their cure by initialization: a 6-layer width-64 MLP
with sigmoid, tanh and ReLU, trained by plain SGD (lr 0.5, 20 epochs, 5 seeds) from two starts.
The naive one is the old advice "small random numbers", ``normal`` with std 0.01: each layer then
multiplies the signal by about ``0.01 * sqrt(64) * max f'`` (0.02 for sigmoid), so after six
layers neither the input nor the gradient reaches across, and every activation stays at chance
(about 10%). The cure is ``auto``, which scales the weights by each activation's computed gain so
the signal keeps its size through depth. The test suite checks that for every activation the cure
ranks above the naive start with 95% confidence intervals apart.

``toy-2d`` -- the recipe for the two-dimensional toy sets (spiral, circle, xor, gauss, moons and
the Playground's two regressions): ``actlab compare --dataset spiral`` without ``--preset`` or
``--config`` starts from it rather than from the MNIST-1D quickstart. A toy set has only a few
hundred training points, so the quickstart's 20 epochs of batch 100 would make about 60 steps and
leave the spiral at chance; here 100 epochs of batch 25 make 1000 steps (seconds on a CPU) with a
2x64 MLP, ReLU/tanh/ELU x SGD (lr 0.1)/Adam (lr 0.01) over 5 seeds. The best variant reaches about
99% test accuracy on the spiral; plain SGD at the same number of steps is well behind (the test
suite checks both).

``optimizers`` -- eight optimizers on the quickstart network with ReLU, each at its own learning
rate, tuned on a validation split over 0.001 to 0.1 (a study comparing methods at one shared or
hand-picked rate measures the rates as much as the methods). The quickstart and ``toy-2d`` stay
untuned to stay fast: one preset rate per optimizer, which their reports say.

>>> PRESETS.get("quickstart").study.varying()
('activation', 'optimizer', 'lr')
"""

from __future__ import annotations

from dataclasses import dataclass, field

from actlab._registry import Info, Registry
from actlab.data import DATASETS
from actlab.data.toy import TWO_D
from actlab.study.spec import Study

__all__ = ["PRESETS", "PresetInfo", "recipe_for", "register"]


@dataclass(frozen=True)
class PresetInfo(Info):
    """A named, ready-made study (``summary`` says what it shows)."""

    study: Study = field(default_factory=Study)
    datasets: tuple[str, ...] = ()
    """Datasets this preset is the starting recipe for: ``actlab compare --dataset NAME`` with
    no ``--preset`` or ``--config`` starts from it (see :func:`recipe_for`)."""


PRESETS: Registry[PresetInfo] = Registry("preset")


def register(
    name: str, summary: str, *, datasets: tuple[str, ...] = (), **study: object
) -> PresetInfo:
    """Declare a preset: its name, a one-line summary, the datasets it is the starting recipe
    for, and the :class:`Study` fields."""
    info = PresetInfo(
        name=name, summary=summary, study=Study(name=name, **study), datasets=datasets
    )
    return PRESETS.register(info)


def recipe_for(dataset: str, default: str = "quickstart") -> PresetInfo:
    """The preset a study on ``dataset`` starts from when none is named: the one declaring
    ``dataset`` among its ``datasets``, else ``default``.

    >>> recipe_for("spiral").name, recipe_for("mnist1d").name
    ('toy-2d', 'quickstart')
    """
    name = DATASETS.canonical(dataset)
    return next((p for p in PRESETS if name in p.datasets), PRESETS.get(default))


MLP_100 = {"dataset": "mnist1d", "model": "mlp", "depth": 2, "width": 100}

register(
    "quickstart",
    "7 activations x sgd/momentum/adam on MNIST-1D, 40-100-100-10 MLP, 3 seeds, 20 epochs; "
    "one starting lr per optimizer (sgd 0.1, momentum 0.02, adam 0.002) giving similar step sizes",
    **MLP_100,
    activations=("relu", "leaky_relu", "elu", "swish", "gelu", "tanh", "sigmoid"),
    optimizers=("sgd", "momentum", "adam"),
    lrs={"sgd": 0.1, "momentum": 0.02, "adam": 0.002},
    seeds=(0, 1, 2),
    epochs=20,
    batch_size=100,
    target=0.5,
)

register(
    "mnist1d-mlp",
    "the MNIST-1D paper's MLP recipe: 40-100-100-10, ReLU, Adam lr 0.01, batch 100, 30 epochs "
    "(checked by the tests: 55-72% test accuracy; the paper reports 68%)",
    **MLP_100,
    activations=("relu",),
    optimizers=("adam",),
    lrs={"adam": 0.01},
    seeds=(0, 1, 2),
    epochs=30,
    batch_size=100,
)

register(
    "mnist1d-cnn",
    "the MNIST-1D paper's CNN: 3 conv layers of 25 channels, ReLU, Adam lr 0.01, batch 100, "
    "40 epochs (checked by the tests: >= 88% test accuracy; the paper reports 94%)",
    dataset="mnist1d",
    model="cnn1d",
    depth=3,
    width=25,
    activations=("relu",),
    optimizers=("adam",),
    lrs={"adam": 0.01},
    seeds=(0, 1, 2),
    epochs=40,
    batch_size=100,
)

PAPER = {  # Greydanus & Kobak's training loop: Adam 1e-2, batch 100, 6000 steps in fixed order
    "dataset": "mnist1d",
    "dataset_params": {"standardize": False},  # the paper feeds the signals as generated
    "activations": ("relu",),
    "inits": ("torch_default",),  # PyTorch's own layer initialization
    "optimizers": ("adam",),
    "lrs": {"adam": 0.01},
    "batch_size": 100,
    "epochs": 150,  # 150 x 40 steps of 100 of the 4000 training signals = 6000 steps
    "shuffle": False,  # batch i of every epoch is the same 100 signals
    "seeds": (0, 1, 2, 3, 4),
}
PUBLISHED = {"mnist1d-paper-logreg": 0.32, "mnist1d-paper-mlp": 0.68, "mnist1d-paper-cnn": 0.94}
"""Test accuracy the MNIST-1D paper reports for its recipes (its benchmark table)."""

register(
    "mnist1d-paper-logreg",
    "the MNIST-1D paper's logistic regression as written: one linear layer (depth 0), PyTorch "
    "init, Adam 1e-2, batch 100, 6000 steps unshuffled, raw signals; the paper reports 32%",
    model="mlp",
    depth=0,
    **PAPER,
)

register(
    "mnist1d-paper-mlp",
    "the MNIST-1D paper's MLP as written: 40-100-100-10 ReLU with a residual second layer, "
    "PyTorch init, Adam 1e-2, batch 100, 6000 steps unshuffled, raw signals; the paper reports 68%",
    model="mlp",
    depth=2,
    width=100,
    residual=True,
    **PAPER,
)

register(
    "mnist1d-paper-cnn",
    "the MNIST-1D paper's CNN as written: conv 5/3/3 x 25 channels, stride 2, 5,210 parameters, "
    "PyTorch init, Adam 1e-2, batch 100, 6000 steps unshuffled, raw signals; the paper reports 94%",
    model="actlab.models.recipes:mnist1d_cnn",
    **PAPER,
)

register(
    "deep-sigmoid",
    "vanishing gradients: 6-layer sigmoid/tanh/relu MLP, naive N(0, 0.01^2) weights vs the "
    "variance-preserving 'auto' init, plain SGD, 5 seeds",
    dataset="mnist1d",
    model="mlp",
    depth=6,
    width=64,
    activations=("sigmoid", "tanh", "relu"),
    inits=("normal", "auto"),
    init_params={"normal": {"std": 0.01}},
    optimizers=("sgd",),
    lrs={"sgd": 0.5},
    seeds=(0, 1, 2, 3, 4),
    epochs=20,
    batch_size=100,
)

register(
    "toy-2d",
    "the 2-D toy sets' recipe (spiral shown): 2x64 MLP, relu/tanh/elu x sgd 0.1/adam 0.01, "
    "5 seeds, 100 epochs of batch 25 (1000 steps); the default of 'compare --dataset spiral'",
    datasets=tuple(TWO_D),
    dataset="spiral",
    model="mlp",
    depth=2,
    width=64,
    activations=("relu", "tanh", "elu"),
    optimizers=("sgd", "adam"),
    lrs={"sgd": 0.1, "adam": 0.01},
    seeds=(0, 1, 2, 3, 4),
    epochs=100,
    batch_size=25,
)

register(
    "optimizers",
    "8 optimizers (sgd, momentum, nag, adagrad, rmsprop, adam, adamw, nadam) on the quickstart "
    "MLP with ReLU, each at its own learning rate tuned on validation (0.001 to 0.1)",
    **MLP_100,
    activations=("relu",),
    optimizers=("sgd", "momentum", "nag", "adagrad", "rmsprop", "adam", "adamw", "nadam"),
    tune_lr=(0.001, 0.003, 0.01, 0.03, 0.1),  # spans each one's usual rate (rmsprop .. sgd)
    seeds=(0, 1, 2),
    epochs=20,
    batch_size=100,
)

# The lessons (one study per claim of the source texts) register themselves as lesson-NAME.
from actlab.study import lessons  # noqa: E402,F401
