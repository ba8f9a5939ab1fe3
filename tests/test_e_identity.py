"""Names are not paths, and a study is what determines its results: report settings (the name,
the target) change the report only; ``--force`` keeps the stored runs the new study still
contains and discards only the others, saying how many of each."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from actlab.cli._app import app
from actlab.study import Store

TINY = [
    "--dataset", "gauss", "--width", "4", "--depth", "1", "-a", "relu,tanh", "-o", "sgd",
    "--lr", "0.1", "--seeds", "2", "--epochs", "1", "--batch-size", "50",
]  # fmt: skip


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


def files(root) -> set[str]:
    return {
        os.path.relpath(os.path.join(d, f), root) for d, _, names in os.walk(root) for f in names
    }


@pytest.mark.parametrize("name", ["../x", "/abs/x", "a/b", "..", "a\\b"])
def test_a_name_that_is_a_path_is_refused(tmp_path, monkeypatch, name):
    if name.startswith("/"):  # an absolute path, but one inside tmp_path should the test fail
        name = str(tmp_path / name[1:])
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    one_line_error(invoke("compare", *TINY, "--name", name), "name", repr(name))
    config = work / "s.toml"
    config.write_text(f"name = {name!r}\ndataset = 'gauss'\n".replace("\\", "\\\\"))
    one_line_error(invoke("compare", "--config", config), "name")
    assert files(tmp_path) == {"work/s.toml"}


def test_symlinks_inside_out_are_refused_or_not_followed(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (elsewhere / "study.db").write_bytes(b"precious")
    (out / "study.db").symlink_to(elsewhere / "study.db")
    one_line_error(invoke("compare", *TINY, "--out", out), "symbolic link")
    assert (elsewhere / "study.db").read_bytes() == b"precious"

    (out / "study.db").unlink()
    for name in ("report.html", "curves.png", "runs.csv"):
        (elsewhere / name).write_text("precious")
        (out / name).symlink_to(elsewhere / name)
    assert invoke("compare", *TINY, "--out", out).exit_code == 0
    assert invoke("report", out, "--export", "csv").exit_code == 0
    for name in ("report.html", "curves.png", "runs.csv"):
        assert (elsewhere / name).read_text() == "precious"
        assert (out / name).is_file() and not (out / name).is_symlink()
    assert files(elsewhere) == {"study.db", "report.html", "curves.png", "runs.csv"}


def finished(out) -> dict[str, float]:
    with Store.open(out) as store:
        return {r.key: r.finished_at for r in store.runs()}


def test_report_settings_do_not_make_another_study(tmp_path):
    out = tmp_path / "o"
    assert invoke("compare", *TINY, "--out", out).exit_code == 0
    before = finished(out)
    again = invoke("compare", *TINY, "--target", "0.4", "--name", "renamed", "--out", out)
    assert again.exit_code == 0, again.output
    assert "0 to train" in " ".join(again.output.split())
    assert finished(out) == before  # nothing trained again, nothing discarded
    with Store.open(out) as store:
        assert store.study["target"] == 0.4 and store.study["name"] == "renamed"
    reordered = [*TINY[:7], "tanh,relu", *TINY[8:]]  # the grid's order is the report's
    assert invoke("compare", *reordered, "--out", out).exit_code == 0
    assert finished(out) == before


def test_force_keeps_the_runs_the_new_study_contains(tmp_path):
    out = tmp_path / "o"
    assert invoke("compare", *TINY, "--out", out).exit_code == 0
    before = finished(out)
    more = [*TINY[:-5], "3", *TINY[-4:]]  # a third seed
    assert more[more.index("--seeds") + 1] == "3"
    db = (out / "study.db").read_bytes()
    one_line_error(
        invoke("compare", *more, "--out", out), "different study", "4 of them", "--force"
    )
    assert (out / "study.db").read_bytes() == db

    forced = invoke("compare", *more, "--out", out, "--force")
    assert forced.exit_code == 0, forced.output
    assert "4 stored run(s) kept" in forced.output and "0 discarded" in forced.output
    after = finished(out)
    assert len(after) == 6 and all(after[k] == t for k, t in before.items())

    fewer = [*TINY[:7], "tanh", *TINY[8:-5], "3", *TINY[-4:]]  # tanh only, 3 seeds
    forced = invoke("compare", *fewer, "--out", out, "--force")
    assert forced.exit_code == 0, forced.output
    assert "3 stored run(s) kept" in forced.output and "3 discarded" in forced.output
    with Store.open(out) as store:
        assert {r.config["activation"] for r in store.runs()} == {"tanh"} and len(store) == 3
        assert all(r.finished_at == after[r.key] for r in store.runs())


def test_force_on_the_same_study_discards_nothing(tmp_path):
    out = tmp_path / "o"
    assert invoke("compare", *TINY, "--out", out).exit_code == 0
    before = finished(out)
    again = invoke("compare", *TINY, "--out", out, "--force")
    assert again.exit_code == 0, again.output
    assert finished(out) == before


def test_a_store_from_before_identities_resumes_as_the_same_study(tmp_path):
    import sqlite3

    out = tmp_path / "o"
    assert invoke("compare", *TINY, "--out", out).exit_code == 0
    before = finished(out)
    with sqlite3.connect(out / "study.db") as conn:  # as an older actlab wrote it
        conn.execute("DELETE FROM meta WHERE key = 'identity'")
    again = invoke("compare", *TINY, "--out", out)
    assert again.exit_code == 0, again.output
    assert finished(out) == before
    with sqlite3.connect(out / "study.db") as conn:
        conn.execute("DELETE FROM meta WHERE key = 'identity'")
    one_line_error(invoke("compare", *TINY, "--target", "0.3", "--out", out), "--force")


# Pinned with the code of commit 4e44690, before weight_decay, label_smoothing and dataset-param
# sweeps existed: a study that does not use them keeps its runs' keys, its output folder's hash
# and its stored form (so a store from then resumes as the same study).
BEFORE_SWEEP_FIELDS = {
    "plain": (
        {"dataset": "spiral", "dataset_params": {"n": 200, "noise": 0.1}, "seeds": (0, 1, 2),
         "epochs": 2, "width": 8},
        "c159dcd5859b0e82", "a2e8c489d22eb17f", 3,
    ),
    "swept": (
        {"dataset": "gauss", "depth": [0, 2], "batch_size": [10, "full"], "seeds": (0,),
         "epochs": 1, "optimizers": ["sgd", "adamw"], "lr": [0.1],
         "loss_params": {"cross_entropy": {"label_smoothing": 0.1}},
         "optimizer_params": {"sgd": {"weight_decay": 1e-3}}},
        "e5ab059a3b75f73f", "20e1b044744768a7", 8,
    ),
    "tuned": (
        {"dataset": "moons", "tune_lr": [0.01, 0.1, 1.0], "seeds": (0, 1), "epochs": 1},
        "7af2a35c7e68dde4", "0fd9ef821c714985", 3,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BEFORE_SWEEP_FIELDS))
def test_a_study_without_the_new_sweep_fields_hashes_as_before(case):
    from actlab.study.outdir import settings_hash
    from actlab.study.spec import Study

    kw, hashed, first_key, n = BEFORE_SWEEP_FIELDS[case]
    study = Study(name="h", **kw)
    assert settings_hash(study, digits=16) == hashed
    assert sorted(r.key for r in study.runs())[0] == first_key and len(study.runs()) == n
    stored = study.to_dict()
    assert "weight_decay" not in stored and "label_smoothing" not in stored
