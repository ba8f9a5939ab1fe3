"""The bad-input contract, as data (issue #11, point 7): for every command and every API, one
table of (input, words the error must contain). Each CLI case must exit with code 2, print one
``error:`` line and no traceback; each ``compare`` case runs against a directory holding a
finished small study, whose store must keep its bytes. Each API case must raise one
:class:`ActlabError` whose message is one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from actlab.cli._app import app
from actlab.errors import ActlabError

TINY = [
    "--dataset", "gauss", "--width", "8", "--depth", "1",
    "--activations", "relu,tanh", "--optimizers", "sgd", "--lr", "0.1",
    "--seeds", "2", "--epochs", "2", "--batch-size", "50",
]  # fmt: skip


def _with(flag: str, value: str) -> list[str]:
    """TINY with ``flag`` set to ``value`` (replacing its value there)."""
    args = list(TINY)
    if flag in args:
        args[args.index(flag) + 1] = value
        return args
    return [*args, flag, value]


def _cases(flag: str, values: list[str], *words: str) -> list[tuple[list[str], tuple[str, ...]]]:
    return [(_with(flag, v), words) for v in values]


NOT_INT = ["x", "1.5", "", "0x10", "nan", "inf"]
NOT_NUMBER = ["x", "", "1,2,", "1e", "--"]

COMPARE = [
    *_cases("--epochs", NOT_INT, "--epochs"),
    *_cases("--epochs", ["0", "-1", "1000000000000", "10000001"], "epochs"),
    *_cases("--seeds", ["x", "0", "-1", "1e8", "100001", "inf", "nan", "1.5"], "seeds"),
    *_cases("--seeds", ["0,0", "0,-1", "0,9223372036854775808", "a,b", "0,1.5"], "seeds"),
    *_cases("--batch-size", ["x", "0", "-5", "1.5", "half", "nan", "2147483648"], "batch"),
    *_cases("--depth", NOT_INT, "--depth"),
    *_cases("--depth", ["-1", "5000"], "depth"),  # 0 is logistic regression (tests/test_sweeps.py)
    *_cases("--width", NOT_INT, "--width"),
    *_cases("--width", ["0", "-4", "100000"], "width"),
    *_cases("--lr", ["x", "-0.1", "0", "nan", "inf", ",", "sgd=x", "adam=0.1"], "lr"),
    *_cases("--lr", ["sgd=0.1,0.2", "sgd=-1", "sgd=", "=0.1"], "lr"),
    *_cases("--activations", ["", ",", " , "], "--activations", "names nothing"),
    *_cases("--activations", ["nosuch", "relu,nosuch", "rleu", "sofmax"], "activation"),
    *_cases("--optimizers", ["", ","], "--optimizers", "names nothing"),
    *_cases("--optimizers", ["nosuch", "sgd,adamm", "momentun"], "optimizer"),
    *_cases("--inits", ["", ","], "--inits", "names nothing"),
    *_cases("--inits", ["nosuch", "he_normall"], "init"),
    *_cases("--losses", ["", ","], "--losses", "names nothing"),
    *_cases("--losses", ["nosuch", "crossentropy"], "loss"),
    *_cases("--weight-decay", ["-1", "-1e-4", "nan", "0,-1"], "weight_decay"),
    *_cases("--weight-decay", ["x", "", "0,,1e-4"], "--weight-decay"),
    *_cases("--label-smoothing", ["1", "-0.1", "1.5", "0,1"], "label_smoothing"),
    *_cases("--label-smoothing", ["x", ","], "--label-smoothing"),
    *_cases("--noise", ["-0.1", "0.6", "0,0.9"], "noise"),
    *_cases("--noise", ["x", ""], "--noise"),
    *_cases("--train-size", ["-1", "251", "10,1000"], "train_size"),
    *_cases("--train-size", ["x", "1.5", ""], "--train-size"),
    *_cases("--dataset", ["nosuch", "", "spirall"], "dataset"),
    *_cases("--model", ["nosuch", "mlpp"], "model"),
    *_cases("--target", ["2", "0", "-1", "nan", "inf"], "target"),
    *_cases("--target", ["x", ""], "--target"),
    *_cases("--name", ["a/b", "..", ".", "a\\b", "x\ty"], "name"),
    *_cases("--preset", ["nosuch", "quickstartt"], "preset"),
    *_cases("--max-members", ["x", "1.5"], "--max-members"),
    (["--nosuch"], ("--nosuch",)),
    (["--epochs"], ("--epochs",)),
    ([*TINY, "extra"], ("extra",)),
    (["--config", "missing.toml"], ("missing.toml",)),
    (["--config", "x.toml", "--preset", "quickstart"], ("--config", "--preset")),
]

PLOT = [
    (["plot", "nosuch", "-o", "p.png"], ("nosuch",)),
    (["plot", "rleu", "-o", "p.png"], ("relu",)),
    (["plot", "relu:alpha=1", "-o", "p.png"], ("alpha",)),
    (["plot", "elu:alpha=x", "-o", "p.png"], ("alpha",)),
    (["plot", "elu:alpha", "-o", "p.png"], ("alpha",)),
    (["plot", "leaky_relu:negative_slope=nan", "-o", "p.png"], ("negative_slope",)),
    (["plot", "relu", "-o", "p.txt"], (".png",)),
    (["plot", "relu"], ("--out",)),
    (["plot", "-o", "p.png"], ("names",)),
    *[
        (["plot", "relu", "-o", "p.png", f"--range={r}"], ("range",))
        for r in ["a,b", "1", "5,5", "3,1", "-inf,inf", "1,nan", "0,inf", "-1e308,1e308", ""]
    ],
]

INSPECT = [
    (["inspect", "nosuch"], ("nosuch",)),
    (["inspect", "rleu"], ("relu",)),
    (["inspect", "relu", "--param", "x=1"], ("x",)),
    (["inspect", "elu", "--param", "alpha=x"], ("alpha",)),
    (["inspect", "elu", "--param", "alpha"], ("alpha",)),
    (["inspect", "elu", "--param", "=1"], ("=1",)),
    (["inspect", "leaky_relu", "--param", "negative_slope=nan"], ("negative_slope",)),
    (["inspect"], ("name",)),
]

LIST = [
    (["list", "nosuch"], ("nosuch",)),
    (["list", "activation"], ("activation",)),
    (["list", "optimisers"], ("optimisers",)),
    (["list"], ("catalog",)),
    (["list", "activations", "--nosuch"], ("--nosuch",)),
]

DEPTH_PROBE = [
    *[(["depth-probe", "--width", v], ("--width",)) for v in ["2e6", "2000000", "x"]],
    *[(["depth-probe", "--width", v], ("width",)) for v in ["0", "-1"]],
    *[(["depth-probe", "--depth", v], ("--depth",)) for v in ["100000", "x"]],
    *[(["depth-probe", "--depth", v], ("depth",)) for v in ["0", "-3"]],
    *[(["depth-probe", "--batch", v], ("--batch",)) for v in ["1000000", "x"]],
    *[(["depth-probe", "--batch", v], ("batch",)) for v in ["1", "0"]],
    *[(["depth-probe", "--seed", v], ("--seed",)) for v in ["9223372036854775808", "x"]],
    (["depth-probe", "-a", "nosuch"], ("nosuch",)),
    (["depth-probe", "-a", "softmax"], ("softmax",)),
    (["depth-probe", "-i", "nosuch"], ("nosuch",)),
    (["depth-probe", "--bias-std", "-1"], ("bias_std",)),
    (["depth-probe", "--bias-std", "nan"], ("bias_std",)),
    (["depth-probe", "--bias-std", "x"], ("--bias-std",)),
    (["depth-probe", "--param", "x=1"], ("x",)),
    (["depth-probe", "--plot", "p.txt"], ("p.txt",)),
]

RACE = [
    (["race"], ("--surface",)),
    (["race", "-o", "r.png", "-s", "nosuch"], ("nosuch",)),
    (["race", "-o", "r.png", "-s", "beale", "--optimizers", "nosuch"], ("nosuch",)),
    (["race", "-o", "r.png", "-s", "beale", "--steps", "x"], ("--steps",)),
    (["race", "-o", "r.png", "-s", "beale", "--start", "x"], ("start",)),
    (["race", "-o", "r.png", "-s", "beale", "--start", "1,nan"], ("start",)),
    (["race", "-o", "r.png", "-s", "beale", "--noise", "-1"], ("noise",)),
    (["race", "-o", "r.png", "-s", "beale", "--lr", "sgd=x"], ("lr",)),
    (["race", "-o", "r.png", "-s", "beale", "--nosuch"], ("--nosuch",)),
]

STORE_COMMANDS = [
    (["report", "nowhere"], ("nowhere",)),
    (["report"], ("out",)),
    (["diagnose", "nowhere"], ("nowhere",)),
    (["plot-loss"], ("--out",)),
    (["plot-loss", "-o", "p.png", "--min", "x"], ("--min",)),
    (["nosuch"], ("nosuch",)),
    (["--nosuch"], ("--nosuch",)),
]

OTHERS = PLOT + INSPECT + LIST + DEPTH_PROBE + RACE + STORE_COMMANDS


def _one_line(result, words: tuple[str, ...]) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "study"
    assert CliRunner().invoke(app, ["compare", *TINY, "--out", str(out)]).exit_code == 0
    return out


@pytest.mark.parametrize(("args", "words"), COMPARE, ids=[" ".join(a[-2:]) for a, _ in COMPARE])
def test_compare(finished: Path, args: list[str], words: tuple[str, ...]) -> None:
    before = {p.name: p.read_bytes() for p in finished.iterdir()}
    result = CliRunner().invoke(app, ["compare", *args, "--out", str(finished)])
    _one_line(result, words)
    assert {p.name: p.read_bytes() for p in finished.iterdir()} == before


@pytest.mark.parametrize(("args", "words"), OTHERS, ids=[" ".join(a) for a, _ in OTHERS])
def test_command(tmp_path: Path, monkeypatch, args: list[str], words: tuple[str, ...]) -> None:
    monkeypatch.chdir(tmp_path)
    _one_line(CliRunner().invoke(app, args), words)
    assert list(tmp_path.iterdir()) == []  # nothing written


# ---- the Python API --------------------------------------------------------------------------


def _activate(*args, **kwargs):
    from actlab.activations import activate

    return lambda: activate(*args, **kwargs)


def _init(*args, **kwargs):
    from actlab.init import init_

    return lambda: init_(*args, **kwargs)


def _loss(*args, **kwargs):
    from actlab.losses import loss

    return lambda: loss(*args, **kwargs)


def _optim(name, **kwargs):
    from actlab.optim import create

    return lambda: create(name, [torch.nn.Parameter(torch.zeros(2))], **kwargs)


def _study(**fields):
    from actlab.study.spec import Study

    return lambda: Study(**{"dataset": "gauss", **fields})


X = torch.randn(4, 3)
LABELS = torch.tensor([0, 1, 2, 0])
MLP = torch.nn.Sequential(torch.nn.Linear(3, 4))

API = {
    "activate a list": (_activate([1.0, 2.0], "relu"), ("Tensor",)),
    "activate a number": (_activate(1.0, "relu"), ("Tensor",)),
    "activate softmax dim=5": (_activate(X, "softmax", dim=5), ("dim=5",)),
    "activate log_softmax dim=-3": (_activate(X, "log_softmax", dim=-3), ("dim=-3",)),
    "activate maxout dim=2": (_activate(X, "maxout", dim=2), ("dim=2",)),
    "activate unknown": (_activate(X, "nosuch"), ("nosuch",)),
    "activate typo": (_activate(X, "rleu"), ("relu",)),
    "activate unknown param": (_activate(X, "relu", alpha=1.0), ("alpha",)),
    "activate bad param type": (_activate(X, "elu", alpha="x"), ("alpha",)),
    "activate nan param": (_activate(X, "leaky_relu", negative_slope=float("nan")), ("slope",)),
    "activate temperature 0": (_activate(X, "softmax", temperature=0.0), ("temperature",)),
    "init_ a tensor": (_init(torch.zeros(3, 3), "auto", activation="relu"), ("initialize_",)),
    "init_ a list": (_init([1, 2], "auto"), ("nn.Module",)),
    "init_ unknown scheme": (_init(MLP, "nosuch"), ("nosuch",)),
    "init_ unknown activation": (_init(MLP, "auto", activation="nosuch"), ("nosuch",)),
    "init_ bias_std -1": (_init(MLP, "he_normal", bias_std=-1.0), ("bias_std",)),
    "init_ bias_std nan": (_init(MLP, "he_normal", bias_std=float("nan")), ("bias_std",)),
    "loss on an empty batch": (_loss(X[:0], LABELS[:0], "cross_entropy"), ("empty",)),
    "loss on an empty batch, mse": (_loss(X[:0], X[:0], "mse"), ("empty",)),
    "loss unknown": (_loss(X, LABELS, "nosuch"), ("nosuch",)),
    "loss of a list": (_loss([1.0], LABELS, "cross_entropy"), ("tensors",)),
    "loss of integer scores": (_loss(LABELS, LABELS, "cross_entropy"), ("floating",)),
    "loss of a scalar": (_loss(torch.tensor(1.0), LABELS, "cross_entropy"), ("scalar",)),
    "loss label out of range": (_loss(X, torch.tensor([0, 1, 2, 3]), "cross_entropy"), ("3",)),
    "loss bad reduction": (_loss(X, LABELS, "cross_entropy", reduction="avg"), ("avg",)),
    "optimizer unknown": (_optim("nosuch"), ("nosuch",)),
    "optimizer typo": (_optim("adamm"), ("adam",)),
    "optimizer lr -1": (_optim("adam", lr=-1.0), ("lr",)),
    "optimizer lr nan": (_optim("sgd", lr=float("nan")), ("lr",)),
    "optimizer unknown hparam": (
        _optim("sgd", momentun=0.9),
        ("momentun", "'momentum' is an optimizer of its own"),
    ),
    "optimizer hparam typo": (_optim("sgd", lrr=0.1), ("did you mean: lr",)),
    "optimizer beta 2": (_optim("adam", betas=(2.0, 0.9)), ("beta",)),
    "study epochs 0": (_study(epochs=0), ("epochs",)),
    "study epochs 10^12": (_study(epochs=10**12), ("epochs",)),
    "study seeds 1e8": (_study(seeds=int(1e8)), ("seeds",)),
    "study seeds float 1e8": (_study(seeds=1e8), ("seeds",)),
    "study seed 2^63": (_study(seeds=[0, 2**63]), ("seeds",)),
    "study seed -1": (_study(seeds=[-1]), ("seeds",)),
    "study width 10^6": (_study(width=10**6), ("width",)),
    "study depth 10^4": (_study(depth=10**4), ("depth",)),
    "study batch 0": (_study(batch_size=0), ("batch_size",)),
    "study batch 'half'": (_study(batch_size="half"), ("batch_size",)),
    "study dtype": (_study(dtype="float16"), ("dtype",)),
    "study target 2": (_study(target=2.0), ("target",)),
    "study name a/b": (_study(name="a/b"), ("name",)),
}


@pytest.mark.parametrize("case", API)
def test_api(case: str) -> None:
    call, words = API[case]
    with pytest.raises(ActlabError) as e:
        call()
    message = str(e.value)
    assert "\n" not in message
    for word in words:
        assert word in message, (word, message)


def test_the_tables_hold_at_least_200_cases() -> None:
    assert len(COMPARE) + len(OTHERS) + len(API) >= 200


def test_batch_size_full_is_accepted_in_any_case(tmp_path: Path) -> None:
    args = [*_with("--batch-size", "FULL"), "--seeds", "1", "--epochs", "1"]
    result = CliRunner().invoke(app, ["compare", *args, "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    from actlab.study import Store

    with Store.open(tmp_path / "o") as store:
        assert store.study["batch_size"] is None


def test_a_study_whose_every_run_failed_exits_non_zero(tmp_path: Path, monkeypatch) -> None:
    import actlab.study.runner as runner

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(runner, "train", broken)
    result = CliRunner().invoke(app, ["compare", *TINY, "--out", str(tmp_path / "o")])
    assert result.exit_code == 1, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("error: all 4 runs") and "out of memory" in last
