"""``actlab compare`` end to end on tiny studies: the table, the report, the store, resuming, and
the bad-input contract (one line, exit code 2, nothing stored damaged)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from typer.testing import CliRunner

from actlab.cli._app import app
from actlab.errors import ActlabError
from actlab.study import Store
from actlab.study.presets import PRESETS
from actlab.study.runner import run_study
from actlab.study.spec import Study

TINY = [
    "--dataset", "gauss", "--width", "8", "--depth", "1",
    "--activations", "relu,tanh", "--optimizers", "sgd", "--lr", "0.1",
    "--seeds", "2", "--epochs", "2", "--batch-size", "50",
]  # fmt: skip


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in result.output


def test_compare_trains_ranks_and_reports(tmp_path):
    out = tmp_path / "study"
    result = invoke("compare", *TINY, "--out", out)
    assert result.exit_code == 0, result.output
    assert "4 runs" in result.output and "ranking" in result.output
    assert "│ relu " in result.output and "│ tanh " in result.output
    for name in ("study.db", "report.html", "curves.png", "comparison.png"):
        assert (out / name).is_file()
    with Store.open(out) as store:
        runs = store.runs()
        assert len(runs) == 4 and {r.status for r in runs} == {"done"}
        assert {r.config["activation"] for r in runs} == {"relu", "tanh"}
        epochs = {m["run"]: m["epoch"] for m in store.metrics()}
        assert set(epochs.values()) == {2}
    again = invoke("compare", *TINY, "--out", out)  # the same study: nothing left to do
    assert again.exit_code == 0, again.output
    with Store.open(out) as store:
        assert len(store.runs()) == 4
    shown = invoke("report", out)
    assert shown.exit_code == 0 and "relu" in shown.output


def test_a_different_study_in_the_same_out_needs_force(tmp_path):
    out = tmp_path / "study"
    assert invoke("compare", *TINY, "--out", out).exit_code == 0
    before = (out / "study.db").read_bytes()
    changed = [*TINY[:-2], "--batch-size", "25"]
    one_line_error(invoke("compare", *changed, "--out", out), "--force")
    assert (out / "study.db").read_bytes() == before
    forced = invoke("compare", *changed, "--out", out, "--force")
    assert forced.exit_code == 0, forced.output
    with Store.open(out) as store:
        assert {r.config["batch_size"] for r in store.runs()} == {25}


@pytest.mark.parametrize(
    "args, needles",
    [
        (["--activations", "relu,swishh"], ["swishh", "swish"]),
        (["--optimizers", "adamm"], ["adamm", "adam"]),
        (["--dataset", "gaus"], ["gaus", "gauss"]),
        (["--lr", "sgd=0.1,0.2"], ["--lr"]),
        (["--lr", "fast"], ["--lr", "fast"]),
        (["--seeds", "x"], ["--seeds"]),
        (["--epochs", "0"], ["epochs"]),
        (["--batch-size", "0"], ["batch_size"]),
        (["--losses", "squared_error"], ["squared_error"]),
        (["--model", "cnn2d"], ["cnn2d"]),
        (["--device", "cuda:7"], ["cuda"]),
        (["--preset", "quickstrat"], ["quickstart"]),
        (["--preset", "quickstart", "--config", "x.toml"], ["--config", "--preset"]),
        (["--config", "missing.toml"], ["missing.toml"]),
    ],
)
def test_bad_input_is_one_line_and_stores_nothing(tmp_path, args, needles):
    if args[:1] == ["--device"] and __import__("torch").cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    out = tmp_path / "study"
    one_line_error(invoke("compare", *TINY, *args, "--out", out), *needles)
    assert not (out / "study.db").exists()


def test_malformed_toml_names_file_and_line(tmp_path):
    bad = tmp_path / "study.toml"
    bad.write_text('dataset = "gauss"\nactivations = ["relu",\nepochs = 3\n')
    result = invoke("compare", "--config", bad, "--out", tmp_path / "o")
    one_line_error(result, "study.toml:3")
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('dataset = "gauss"\nactivations = [\n  "relu",\n  "rleu",\n]\n')
    one_line_error(invoke("compare", "--config", unknown), "unknown.toml:4", "rleu", "relu")


def test_config_file_and_flags(tmp_path):
    config = tmp_path / "s.toml"
    config.write_text(
        textwrap.dedent(
            """
            name = "from-file"
            dataset = "gauss"
            width = 8
            depth = 1
            activations = ["relu"]
            optimizers = ["sgd", "adam"]
            seeds = 1
            epochs = 1
            batch_size = "full"
            [lrs]
            sgd = 0.1
            adam = 0.01
            """
        )
    )
    out = tmp_path / "o"
    result = invoke("compare", "--config", config, "--optimizers", "adam", "--out", out)
    assert result.exit_code == 0, result.output
    with Store.open(out) as store:
        (run,) = store.runs()
        assert run.config["optimizer"] == "adam" and run.config["optimizer_params"]["lr"] == 0.01
        assert run.config["batch_size"] is None and store.study["name"] == "from-file"


def test_list_presets_and_quickstart_is_the_default():
    result = invoke("list", "presets", "--plain")
    assert result.exit_code == 0
    assert [line.split("\t")[0] for line in result.output.splitlines()] == list(PRESETS.names())
    quick = PRESETS.get("quickstart").study
    assert quick.dataset == "mnist1d" and (quick.depth, quick.width) == (2, 100)
    seven = {"relu", "leaky_relu", "elu", "silu", "gelu", "tanh", "sigmoid"}
    assert set(quick.activations) == seven
    assert quick.optimizers == ("sgd", "momentum", "adam") and len(quick.seeds) == 3


def _stored(out) -> int:
    """Runs stored so far (0 while the child is still creating the store)."""
    try:
        with Store.open(out) as store:
            return len(store)
    except ActlabError:
        return 0


RESUME = """
import sys
from actlab.study.runner import run_study
from actlab.study.spec import Study
study = Study.from_dict({study!r})
run_study(study, sys.argv[1], max_members=1).close()
"""


def test_a_killed_study_resumes_to_the_same_results(tmp_path):
    study = Study(
        dataset="gauss",
        width=16,
        depth=2,
        activations=("relu", "tanh", "elu"),
        optimizers=("sgd",),
        lr=(0.1,),
        seeds=(0, 1),
        epochs=20,
        batch_size=10,
    )
    script = tmp_path / "run.py"
    script.write_text(RESUME.format(study=study.to_dict()))
    killed = tmp_path / "killed"
    child = subprocess.Popen([sys.executable, str(script), str(killed)])
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _stored(killed) < 2:
            time.sleep(0.05)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    with Store.open(killed) as store:
        partial = len(store)
    assert 2 <= partial < 6, "the study finished before it could be killed; make it longer"
    subprocess.run([sys.executable, str(script), str(killed)], check=True)
    whole = tmp_path / "whole"
    run_study(study, whole, max_members=1).close()
    with Store.open(killed) as a, Store.open(whole) as b:
        assert sorted(r.key for r in a.runs()) == sorted(r.key for r in b.runs())
        assert len(a.runs()) == 6

        def strip(rows):
            return sorted((r["run"], r["epoch"], r["test_acc"], r["train_loss"]) for r in rows)

        assert strip(a.metrics()) == strip(b.metrics())


def test_help_explains_the_defaults():
    result = invoke("compare", "--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for needle in ("quickstart", "actlab-runs/NAME", "sgd=0.1,adam=0.003", "resumes"):
        assert needle in text, needle


def test_threads_sets_torchs_intra_op_threads(tmp_path, monkeypatch):
    import torch

    import actlab.study.runner as runner

    seen = []
    real = runner.run_study

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "run_study", spy)
    before = torch.get_num_threads()
    try:
        result = invoke("compare", *TINY, "--threads", "2", "--out", tmp_path / "study")
        assert result.exit_code == 0, result.output
        assert seen == [2]
    finally:
        torch.set_num_threads(before)
    for bad in ("0", "-1"):
        one_line_error(
            invoke("compare", *TINY, "--threads", bad, "--out", tmp_path / "x"), "--threads"
        )
    assert not (tmp_path / "x").exists()
    assert torch.get_num_threads() == before


def test_help_paragraphs_wrap_at_the_terminal_width_not_the_source_lines():
    # typer joins the lines of a help text's first paragraph only; actlab joins the others'
    wide = CliRunner().invoke(app, ["compare", "--help"], env={"COLUMNS": "200"})
    assert wide.exit_code == 0, wide.output
    assert "flags replace its fields. Rerunning a killed" in wide.output
