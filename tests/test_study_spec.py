"""The study specification: grid expansion, canonical forms and keys, every bad input with its
one-line message (with file and line for TOML), presets and the example study files.
No training and no dataset loading: everything here is checked before any data exists."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from actlab.errors import ActlabError, ParameterError, UnknownNameError
from actlab.models import ModelSpec
from actlab.optim import OPTIMIZERS
from actlab.study import PRESETS, RunConfig, Study, load_study, run_key
from actlab.study.loading import KeyLines

EXAMPLES = Path(__file__).parents[1] / "examples"


class FakeData:
    """What ``RunConfig.model_spec`` reads from a dataset (MNIST-1D's shapes)."""

    input_shape = (40,)
    n_outputs = 10


def grid(study: Study) -> list[tuple]:
    return [(r.activation, r.optimizer, r.lr, r.init, r.loss, r.seed) for r in study.runs()]


# ---- the grid ------------------------------------------------------------------------------


def test_grid_order_seed_innermost_and_lrs_mapping_with_registry_default() -> None:
    s = Study(activations=["relu", "tanh"], optimizers=["sgd", "adam"], lrs={"sgd": 0.1}, seeds=2)
    adam = OPTIMIZERS.get("adam").defaults["lr"]
    assert grid(s) == [
        (act, opt, lr, "auto", "cross_entropy", seed)
        for act in ("relu", "tanh")
        for opt, lr in (("sgd", 0.1), ("adam", adam))
        for seed in (0, 1)
    ]
    assert s.varying() == ("activation", "optimizer", "lr")


def test_lr_is_crossed_with_every_optimizer() -> None:
    s = Study(optimizers=["sgd", "adam"], lr=[0.01, 0.1], seeds=[5])
    assert [(r.optimizer, r.lr) for r in s.runs()] == [
        ("sgd", 0.01),
        ("sgd", 0.1),
        ("adam", 0.01),
        ("adam", 0.1),
    ]
    assert Study(lr=0.05).lr == (0.05,)  # a single number is a list of one


def test_init_and_loss_axes_order_and_default_losses() -> None:
    s = Study(dataset="plane", inits=["xavier_uniform", "auto"], losses=["mse", "huber"], seeds=1)
    assert [(r.init, r.loss) for r in s.runs()] == [
        ("xavier_uniform", "squared_error"),
        ("xavier_uniform", "huber"),
        ("auto", "squared_error"),
        ("auto", "huber"),
    ]
    assert s.varying() == ("init", "loss")
    assert Study().resolved_losses == ("cross_entropy",)
    assert Study(dataset="plane").resolved_losses == ("squared_error",)
    assert len(Study().runs()) == 5 and Study().varying() == ()  # 5 seeds by default


def test_run_configs_are_fully_resolved() -> None:
    s = Study(
        model="cnn1d",
        activations=["leaky_relu"],
        optimizers=["adamw"],
        optimizer_params={"adamw": {"betas": [0.9, 0.99]}},
        lrs={"adamw": 0.01},
        batch_size="full",
        seeds=1,
    )
    (r,) = s.runs()
    assert (r.depth, r.width) == (3, 25)  # cnn1d's defaults
    assert r.activation_params == (("negative_slope", 0.01),)
    expected = OPTIMIZERS.get("adamw").resolve(betas=(0.9, 0.99), lr=0.01)
    assert dict(r.optimizer_params) == expected and dict(r.optimizer_params)["betas"] == (0.9, 0.99)
    assert r.init_params == (("distribution", "normal"), ("mode", "fan_in"))
    assert r.batch_size is None and s.batch_size is None


# ---- canonical forms, round trips, keys ----------------------------------------------------


def test_aliases_become_canonical_and_equal_studies_compare_equal() -> None:
    a = Study(
        dataset="mnist_1d",
        activations=["swish", "lrelu"],
        activation_params={"lrelu": {"negative_slope": 0.1}},
        optimizers=["gd"],
        lrs={"gradient_descent": 1},
        inits=["glorot_uniform"],
        losses=["ce"],
        seeds=3,
    )
    b = Study(
        dataset="mnist1d",
        activations=("silu", "leaky_relu"),
        activation_params=(("leaky_relu", (("negative_slope", 0.1),)),),
        optimizers=("sgd",),
        lrs=(("sgd", 1.0),),
        inits=("xavier_uniform",),
        losses=("cross_entropy",),
        seeds=(0, 1, 2),
    )
    assert a == b and hash(a) == hash(b)
    assert a.activations == ("silu", "leaky_relu") and a.lrs == (("sgd", 1.0),)


@pytest.mark.parametrize("name", PRESETS.names())
def test_study_to_dict_from_dict_round_trip(name: str) -> None:
    s = PRESETS.get(name).study
    d = json.loads(json.dumps(s.to_dict()))  # JSON-able
    assert Study.from_dict(d) == s


def test_rich_study_round_trips_and_from_dict_accepts_counts_and_full() -> None:
    s = Study(
        dataset_params={"num_samples": 1000},
        activations=["maxout", "elu"],
        activation_params={"maxout": {"pieces": 3}, "elu": {"alpha": 0.5}},
        optimizers=["adam", "sgd"],
        optimizer_params={"adam": {"betas": (0.8, 0.9)}},
        lr=[0.001, 0.01],
        inits=["he_normal"],
        init_params={"he_normal": {"mode": "fan_out"}},
        losses=["cross_entropy"],
        loss_params={"cross_entropy": {"label_smoothing": 0.1}},
        batch_size=None,
        dtype="float64",
        target=0.8,
        diagnostics=True,
    )
    assert Study.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    d = Study.from_dict({"seeds": 4, "batch_size": "full"})
    assert d.seeds == (0, 1, 2, 3) and d.batch_size is None
    assert s.replace(name="other").name == "other"
    with pytest.raises(ParameterError, match="epochs=0"):
        s.replace(epochs=0)


def test_run_config_round_trip_key_variant_and_stack_key() -> None:
    s = Study(activations=["relu", "tanh"], optimizers=["adam"], seeds=2)
    runs = s.runs()
    for r in runs:
        d = json.loads(json.dumps(r.to_dict()))
        assert RunConfig.from_dict(d) == r and r.key == run_key(d) and len(r.key) == 16
        assert r.variant == {k: v for k, v in d.items() if k != "seed"}
    assert len({r.key for r in runs}) == len(runs)
    assert runs[0].variant == runs[1].variant  # seeds 0 and 1 of one variant
    assert len({r.stack_key for r in runs}) == 1  # one architecture: trained together
    assert runs[0].stack_key != runs[0].replace(width=32).stack_key
    assert runs[0].key == s.runs()[0].key  # stable


@pytest.mark.parametrize(
    "change",
    [
        {"activation": "elu", "activation_params": ()},
        {"activation_params": {"negative_slope": 0.2}},
        {"optimizer_params": {"lr": 0.01}},
        {"optimizer_params": {"eps": 1e-6}},
        {"init": "xavier_normal", "init_params": ()},
        {"init_params": {"mode": "fan_out"}},
        {"loss_params": {"label_smoothing": 0.1}},
        {"dataset_params": {"num_samples": 1000}},
        {"width": 32},
        {"dropout": 0.1},
        {"epochs": 3},
        {"batch_size": None},
        {"dtype": "float64"},
        {"seed": 1},
    ],
)
def test_key_changes_with_anything_relevant(change: dict) -> None:
    base = RunConfig(activation="leaky_relu")
    assert base.replace(**change).key != base.key


def test_key_ignores_what_does_not_change_the_run() -> None:
    base = RunConfig(activation="leaky_relu")
    same = RunConfig(
        dataset="mnist_1d",
        depth=2,
        width=64,
        activation="lrelu",
        activation_params={"negative_slope": 0.01},
        optimizer_params={"lr": 1e-3, "betas": [0.9, 0.999]},
        init="variance_preserving",
        loss="ce",
    )
    assert same == base and same.key == base.key
    a, b = Study(name="a", target=0.5).runs(), Study(name="b", diagnostics=True).runs()
    assert [r.key for r in a] == [r.key for r in b]


def test_model_spec_without_loading_data() -> None:
    r = RunConfig(activation="maxout", activation_params={"pieces": 3}, width=16)
    spec = r.model_spec(FakeData())
    auto = (("distribution", "normal"), ("mode", "fan_in"))  # auto's defaults, filled in
    assert spec == ModelSpec(
        "mlp", input_shape=(40,), n_outputs=10, width=16, activation="maxout", pieces=3,
        init_params=auto,
    )  # fmt: skip
    assert RunConfig(model="cnn1d").model_spec(FakeData()).kind == "cnn1d"


def test_varying_and_labels() -> None:
    s = Study(
        activations=["relu", "leaky_relu"],
        activation_params={"leaky_relu": {"negative_slope": 0.1}},
        optimizers=["sgd", "adam"],
        lrs={"sgd": 0.1, "adam": 0.003},
        seeds=1,
    )
    axes = s.varying()
    assert axes == ("activation", "optimizer", "lr")
    assert [r.label(axes) for r in s.runs()] == [
        "relu · sgd lr=0.1",
        "relu · adam lr=0.003",
        "leaky_relu(negative_slope=0.1) · sgd lr=0.1",
        "leaky_relu(negative_slope=0.1) · adam lr=0.003",
    ]
    r = RunConfig(init="he_normal", init_params={"mode": "fan_out"}, loss="multiclass_hinge")
    assert r.label(["init", "loss"]) == "init=he_normal(mode=fan_out) · multiclass_hinge"
    assert r.label() == "relu · adam lr=0.001"
    with pytest.raises(ActlabError, match=r"unknown axis 'activations'.*did you mean: activation"):
        r.label(["activations"])
    assert Study(optimizers=["sgd", "adam"], lr=[0.1]).varying() == ("optimizer",)


# ---- bad input -----------------------------------------------------------------------------

BAD = [
    ({"activations": ["relux"]}, UnknownNameError, "unknown activation 'relux'; did you mean: re"),
    ({"activations": 3}, ParameterError, "activations=3 has type int; expected a list of activ"),
    ({"activations": []}, ParameterError, "activations is empty"),
    ({"activations": ["silu", "swish"]}, ParameterError, "lists activation 'silu' twice"),
    ({"optimizers": ["adamm"]}, UnknownNameError, "unknown optimizer 'adamm'; did you mean: adam"),
    ({"inits": ["xavier"]}, UnknownNameError, "unknown initializer 'xavier'; did you mean: xav"),
    ({"dataset": "mnist2"}, UnknownNameError, "unknown dataset 'mnist2'; did you mean: mnist"),
    ({"model": "mpl"}, UnknownNameError, "unknown model 'mpl'; did you mean: mlp"),
    ({"epochs": "ten"}, ParameterError, "epochs='ten' has type str; expected an integer >= 1"),
    ({"epochs": 0}, ParameterError, "epochs=0 must be an integer >= 1"),
    ({"batch_size": 0}, ParameterError, "batch_size=0 must be an integer >= 1"),
    ({"batch_size": "half"}, ParameterError, "batch_size='half' must be .* or 'full'"),
    ({"seeds": []}, ParameterError, "seeds is empty"),
    ({"seeds": [0, 0]}, ParameterError, r"seeds=\[0, 0\] repeats a seed"),
    ({"seeds": [0.5]}, ParameterError, "seeds=0.5 has type float"),
    ({"seeds": "3"}, ParameterError, "seeds='3' has type str"),
    ({"dtype": "float16"}, ParameterError, "dtype='float16' is not one of float32, float64"),
    ({"target": 0}, ParameterError, r"target=0 must be a number in \(0, 1\]"),
    ({"target": 1.5}, ParameterError, r"target=1.5 must be a number in \(0, 1\]"),
    ({"diagnostics": "yes"}, ParameterError, "diagnostics='yes' has type str; expected true"),
    ({"name": ""}, ParameterError, "name is empty"),
    ({"depth": -1}, ParameterError, "depth=-1 must be an integer >= 0"),
    ({"dropout": 1.0}, ParameterError, r"dropout=1 is out of range; valid range is \[0, 1\)"),
    ({"model": "cnn1d", "residual": True}, ParameterError, "residual=True is not one of"),
    ({"normalization": "group"}, ParameterError, "normalization='group' is not one of"),
    ({"dataset_params": {"num_sample": 9}}, ParameterError, "did you mean: num_samples"),
    ({"activation_params": {"elu": {}}}, ParameterError, r"sets 'elu', .* not in activations"),
    ({"lrs": {"sgd": 0.1}}, ParameterError, r"lrs sets 'sgd', which is not in optimizers \(adam"),
    ({"lr": [0.1], "lrs": {"adam": 0.1}}, ParameterError, "give either 'lr' .* or 'lrs'"),
    ({"lr": [-1]}, ParameterError, "lr=-1 must be a number > 0"),
    ({"lr": [0.1, 0.1]}, ParameterError, "repeats a learning rate"),
    ({"lrs": {"adam": "fast"}}, ParameterError, "lrs.adam='fast' has type str"),
    ({"optimizer_params": {"adam": {"lr": 0.1}}}, ParameterError, "set learning rates with 'lrs'"),
    ({"optimizer_params": {"adam": {"betas": [0.9, 1.5]}}}, ParameterError, "betas=.* out of"),
    ({"optimizer_params": {"adam": 0.1}}, ParameterError, "optimizer_params.adam=0.1 has type"),
    (
        {"activations": ["leaky_relu"], "activation_params": {"lrelu": {"slope": 0.1}}},
        ParameterError,
        "leaky_relu has no parameter 'slope'; did you mean: negative_slope",
    ),
    (
        {"activations": ["softmax"], "activation_params": {"softmax": {"dim": 0}}},
        ParameterError,
        "dim is set by the model",
    ),
    ({"init_params": {"auto": {"activation": "tanh"}}}, ParameterError, "set by the model"),
    ({"loss_params": {"huber": {}}}, ParameterError, r"sets 'huber', .* not in losses"),
]

LOSS_TASKS = [
    ({"losses": ["mse"]}, "'squared_error' is a regression loss but dataset 'mnist1d' is a class"),
    ({"losses": ["zero_one"]}, "'zero_one' is a metric, not a training loss"),
    ({"losses": ["multilabel_logistic"]}, "'multilabel_logistic' needs several 0/1 labels"),
    ({"losses": ["kl_div"]}, "'kl_div' compares probability distributions"),
    ({"dataset": "plane", "losses": ["ce"]}, "'cross_entropy' is a classification loss but data"),
    ({"dataset": "plane"} | {"losses": ["kl_div"]}, "'kl_div' is a distribution loss but dataset"),
]


@pytest.mark.parametrize(("fields", "kind", "message"), BAD)
def test_bad_input_gets_one_clear_line(fields: dict, kind: type, message: str) -> None:
    with pytest.raises(kind, match=message) as info:
        Study(**fields)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("fields", "message"), LOSS_TASKS)
def test_losses_that_do_not_fit_the_dataset_are_refused(fields: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message) as info:
        Study(**fields)
    fits = "regression loss: squared" if "plane" in str(fields) else "classification loss: cross"
    assert f"; use a {fits}" in str(info.value)


def test_unknown_keys_list_the_closest() -> None:
    with pytest.raises(ActlabError, match="unknown study key 'activation'; did you mean: activ"):
        Study.from_dict({"activation": ["relu"]})
    with pytest.raises(ActlabError, match=r"^my.toml: unknown study key 'epoch'.*epochs"):
        Study.from_dict({"epoch": 3}, source="my.toml")
    with pytest.raises(ActlabError, match="unknown run config key 'seeds'; did you mean: seed"):
        RunConfig.from_dict({"seeds": 1})
    with pytest.raises(UnknownNameError, match=r"unknown preset 'quickstrat'.*quickstart"):
        PRESETS.get("quickstrat")


# ---- TOML files ----------------------------------------------------------------------------

TOML_ERRORS = [
    ('name = "x"\nactivations = [\n  "relu",\n  "relux",\n]\n', ":4: unknown activation 'relux'"),
    ('name = "x"\nepochs = "ten"\n', ":2: epochs='ten' has type str; expected an integer >= 1"),
    ("activations = 3\n", ":1: activations=3 has type int; expected a list of activation names"),
    ("\n[activation_params.lrelu]\nslope = 0.1\n", ":2: activation_params sets 'leaky_relu'"),
    (
        'activations = ["leaky_relu"]\n[activation_params.lrelu]\n\nslope = 0.1\n',
        ":4: leaky_relu has no parameter 'slope'; did you mean: negative_slope?",
    ),
    (
        'activations = ["leaky_relu"]\n[activation_params]\nlrelu.slope = 0.1\n',
        ":3: leaky_relu has no parameter 'slope'",
    ),
    (
        'activations = ["leaky_relu"]\nactivation_params = { lrelu = { slope = 0.1 } }\n',
        ":2: leaky_relu has no parameter 'slope'",
    ),
    ('optimizers = ["sgd"]\n\n[lrs]\nsgd = 0.1\nadam = 0.1\n', ":5: lrs sets 'adam', which is not"),
    ('seeds = 2\n# a comment\nlosses = ["mse"]  # wrong task\n', ":3: loss 'squared_error' is a"),
    ("activation = 1\n", ":1: unknown study key 'activation'; did you mean: activations"),
    ("seeds = [0, 0]\n", ":1: seeds=[0, 0] repeats a seed"),
    ('batch_size = "half"\n', ":1: batch_size='half' must be an integer >= 1 or 'full'"),
    ("[dataset_params]\nnum_samples = -5\n", ":2: mnist1d: num_samples=-5 is out of range"),
    ('name = "x"\nepochs =\n', ":2:9: Invalid value"),
    ('name = "x"\nname = "y"\n', ":2:11: Cannot overwrite a value"),
    ("activations = [\n", ": Invalid value at the end of the file"),
]


@pytest.mark.parametrize(("text", "message"), TOML_ERRORS)
def test_toml_errors_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "study.toml"
    path.write_text(text)
    with pytest.raises(ActlabError) as info:
        load_study(path)
    assert str(info.value).startswith(f"{path}{message}")
    assert "\n" not in str(info.value)


def test_toml_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ActlabError, match=r"nope\.toml: no such study file$"):
        load_study(tmp_path / "nope.toml")
    with pytest.raises(ActlabError, match="is a directory, not a study file"):
        load_study(tmp_path)
    (tmp_path / "bin.toml").write_bytes(b"name = '\xff'\n")
    with pytest.raises(ActlabError, match=r"bin\.toml: not UTF-8 text"):
        load_study(tmp_path / "bin.toml")
    with pytest.raises(UnknownNameError):  # the specific kind is kept, with the location added
        (tmp_path / "a.toml").write_text('optimizers = ["adamm"]\n')
        load_study(tmp_path / "a.toml")


def test_toml_study_equals_the_python_study(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        'activations = ["relu", "lrelu"]\noptimizers = ["sgd", "adam"]\nseeds = 2\n'
        'batch_size = "full"\n[lrs]\nsgd = 0.1\n[activation_params.lrelu]\nnegative_slope = 0.1\n'
        "[optimizer_params.adam]\nbetas = [0.9, 0.99]\n"
    )
    assert load_study(path) == Study(
        activations=("relu", "leaky_relu"),
        activation_params={"leaky_relu": {"negative_slope": 0.1}},
        optimizers=("sgd", "adam"),
        optimizer_params={"adam": {"betas": (0.9, 0.99)}},
        lrs={"sgd": 0.1},
        seeds=(0, 1),
        batch_size=None,
    )


def test_key_lines_index() -> None:
    index = KeyLines(
        '# head\nname = "a"  # [not.a.table]\nactivations = [\n  "relu", # x\n  "elu",\n]\n'
        '[init_params."he_normal"]\nmode = "fan_out"\n[lrs]\nsgd.x = 1\n'
    )
    assert index.find(("name",)) == 2
    assert index.find(("activations",), "elu") == 5 and index.find(("activations",)) == 3
    assert index.find(("init_params", "he_normal", "mode")) == 8
    assert index.find(("init_params", "he_normal", "gain")) == 7
    assert index.find(("lrs", "sgd")) == 10 and index.find(("not",)) is None


# ---- presets and examples ------------------------------------------------------------------


@pytest.mark.parametrize("name", PRESETS.names())
def test_every_preset_builds_and_has_runs(name: str) -> None:
    info = PRESETS.get(name)
    assert info.summary and info.study.name == name
    runs = info.study.runs()
    assert runs and len({r.key for r in runs}) == len(runs)
    swept = [len(v) for v in info.study.sweeps().values()]  # one stack per swept combination
    assert len({r.stack_key for r in runs}) == int(np.prod(swept))
    for r in runs[:: len(info.study.seeds)]:
        r.model_spec(FakeData())  # every variant builds for MNIST-1D's shapes


def test_quickstart_is_the_documented_grid() -> None:
    s = PRESETS.get("quickstart").study
    assert s.activations == ("relu", "leaky_relu", "elu", "silu", "gelu", "tanh", "sigmoid")
    assert dict(s.lrs) == {"sgd": 0.1, "momentum": 0.02, "adam": 0.002}
    assert (s.dataset, s.depth, s.width, s.epochs, s.batch_size, s.target) == (
        "mnist1d", 2, 100, 20, 100, 0.5
    )  # fmt: skip
    assert len(s.runs()) == 7 * 3 * 3


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_example_study_files_load(path: Path) -> None:
    s = load_study(path)
    assert s.runs() and s.varying()
    assert Study.from_dict(s.to_dict()) == s


def test_there_are_example_files() -> None:
    assert len(list(EXAMPLES.glob("*.toml"))) >= 3
