"""Your own model from the command line (``--model package.module:factory`` for ``compare`` and
``diagnose``), bad factories refused before anything is stored, and the model's fingerprint:
one changed line of the factory's source changes it, and a refusal names what changed."""

from __future__ import annotations

import importlib
import json
import re
import sqlite3
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actlab.cli._app import app
from actlab.errors import ActlabError
from actlab.models import ModelSpec
from actlab.study import Store
from actlab.study.identity import claim, model_fingerprint, study_identity

CNN = textwrap.dedent(
    """
    from torch import nn


    def make_cnn(activation, width=4, n_outputs=10):
        return nn.Sequential(
            nn.Unflatten(1, (1, 40)),
            nn.Conv1d(1, width, 5, stride=2, padding=2), activation(),
            nn.Conv1d(width, width, 3, stride=2, padding=1), activation(),
            nn.Flatten(), nn.Linear(width * 10, n_outputs),
        )


    def wrong_outputs(activation):
        return nn.Sequential(nn.Flatten(), nn.Linear(40, 3), activation())
    """
)


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def mymod(tmp_path, monkeypatch):
    """A user's module ``mymod_<hex>.py`` in the current directory (which actlab puts on
    ``sys.path``, as it does for ``actlab`` run from a shell)."""
    name = f"mymod_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(CNN)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    yield name
    sys.modules.pop(name, None)


def test_compare_and_diagnose_a_user_cnn(mymod, tmp_path):
    out = tmp_path / "study"
    result = invoke(
        "compare", "--model", f"{mymod}:make_cnn", "-a", "relu,tanh", "--seeds", "2",
        "--epochs", "2", "--dataset", "mnist1d", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "ranking" in result.output and "│ relu" in result.output and "│ tanh" in result.output
    assert (out / "report.html").is_file()
    with Store.open(out) as store:
        assert store.study["model"] == f"{mymod}:make_cnn" and len(store.runs()) == 12

    result = invoke(
        "diagnose", "--model", f"{mymod}:make_cnn", "--dataset", "mnist1d", "-a", "tanh",
        "-o", "adam", "--epochs", "1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("│ ")]
    assert [r.split()[1] for r in rows] == ["layer1", "layer2", "output"], result.output


@pytest.mark.parametrize(
    "factory, needle",
    [
        ("wrong_outputs", "the data needs (2, 10)"),
        ("make_cnm", "did you mean: make_cnn"),
        ("make_cnn --depth 3", "does not take depth"),
    ],
)
def test_bad_factory_exits_2_before_anything_is_stored(mymod, tmp_path, factory, needle):
    out = tmp_path / "study"
    name, *more = factory.split()
    result = invoke(
        "compare", "--model", f"{mymod}:{name}", *more, "--dataset", "mnist1d", "--epochs", "1",
        "--out", out,
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines
    assert not (out / "study.db").exists()


def test_unknown_module_is_one_line(tmp_path):
    result = invoke("compare", "--model", "no_such_mod_q:make", "--out", tmp_path / "s")
    assert result.exit_code == 2 and "no module named 'no_such_mod_q'" in result.output


def test_changing_one_line_of_the_factory_changes_its_fingerprint(mymod, tmp_path):
    spec = ModelSpec(f"{mymod}:make_cnn", input_shape=(40,), n_outputs=10)  # imports it
    module = importlib.import_module(mymod)
    before = model_fingerprint(spec)
    assert before == model_fingerprint([spec, spec.replace(init="he_normal")])
    assert set(before) == {"reference", "sources", "tree"} and mymod in before["sources"]
    assert model_fingerprint(ModelSpec()) is None  # a catalog model: actlab's own code

    path = tmp_path / f"{mymod}.py"
    path.write_text(CNN.replace("n_outputs),\n", "n_outputs),  # same model, one line edited\n"))
    importlib.reload(module)
    comment = model_fingerprint(spec)
    assert comment["sources"] != before["sources"] and comment["tree"] == before["tree"]

    path.write_text(CNN.replace("stride=2, padding=1)", "stride=2, padding=1, bias=False)"))
    importlib.reload(module)
    layer = model_fingerprint(spec)
    assert layer["sources"] != before["sources"] and layer["tree"] != before["tree"]
    tanh = model_fingerprint(spec.replace(activation="tanh"))
    assert tanh["sources"] == layer["sources"] and tanh["tree"] != layer["tree"]
    assert model_fingerprint(f"{mymod}:make_cnn")["sources"] == layer["sources"]
    assert model_fingerprint(module.make_cnn)["tree"] is None

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE runs (key TEXT)")
    conn.execute("INSERT INTO runs VALUES ('a')")
    old = json.dumps(study_identity(["a"], "d" * 64, False, model=before))
    source = json.dumps(study_identity(["a"], "d" * 64, False, layer))
    with pytest.raises(ActlabError, match=rf"the model's source changed \({mymod}\)"):
        claim(conn, tmp_path, source, old, False)
    tree = json.dumps(study_identity(["a"], "d" * 64, False, {**before, "tree": tanh["tree"]}))
    with pytest.raises(ActlabError, match="the model's module tree changed"):
        claim(conn, tmp_path, tree, old, False)


def test_the_guide_factory_and_error_lines_are_what_actlab_does(tmp_path, monkeypatch):
    """docs/your-model.md: its ``mymodel.py`` builds a model that fits MNIST-1D, and the error
    lines it shows are the ones actlab prints."""
    guide = (Path(__file__).resolve().parents[1] / "docs" / "your-model.md").read_text()
    name = f"mymodel_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(re.findall(r"```python\n(.*?)```", guide, re.S)[0])
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        spec = ModelSpec(f"{name}:make_cnn", input_shape=(40,), n_outputs=10, activation="elu")
        assert spec.width == 16
        shown = re.findall(r"^\$ actlab (.*)\n(error: .*)$", guide, re.M)
        assert len(shown) == 2
        for command, line in shown:
            result = invoke(*command.replace("mymodel", name).split())
            assert result.exit_code == 2 and result.output.strip() == line.replace("mymodel", name)
    finally:
        sys.modules.pop(name, None)


def test_a_rerun_after_one_changed_line_of_the_factory_is_refused_with_the_reason(mymod, tmp_path):
    out = tmp_path / "study"
    args = ["compare", "--model", f"{mymod}:make_cnn", "-a", "relu", "--seeds", "1",
            "--epochs", "1", "--dataset", "mnist1d", "--out", out]  # fmt: skip
    assert invoke(*args).exit_code == 0
    assert invoke(*args).exit_code == 0  # unchanged: everything reused
    (tmp_path / f"{mymod}.py").write_text(
        CNN.replace("stride=2, padding=1)", "stride=1, padding=1)").replace(
            "width * 10", "width * 20"
        )
    )
    sys.modules.pop(mymod, None)
    before = (out / "study.db").read_bytes()
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and f"the model's source changed ({mymod})" in lines[0], lines
    assert (out / "study.db").read_bytes() == before
    sys.modules.pop(mymod, None)
    result = invoke(*args, "--force")
    assert result.exit_code == 0, result.output
