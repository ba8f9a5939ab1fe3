"""``--json`` on compare, report, list, inspect and diagnose: stdout is exactly one JSON
document holding what the tables show (progress and notes go to stderr)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from actlab.activations import ACTIVATIONS
from actlab.activations.properties import compute
from actlab.cli._app import app
from actlab.init import auto_choice
from actlab.losses import LOSSES
from actlab.study import Store

TINY = [
    "--dataset", "gauss", "--width", "8", "--depth", "2",
    "--activations", "relu,tanh", "--optimizers", "sgd", "--lr", "0.1",
    "--seeds", "2", "--epochs", "2", "--batch-size", "50",
]  # fmt: skip


def run_json(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    out = tmp_path_factory.mktemp("json") / "study"
    document, stderr = run_json("compare", *TINY, "--diagnostics", "--out", out, "--json")
    return out, document, stderr


def test_compare_json_is_the_ranking(compared):
    out, doc, stderr = compared
    assert "member-epochs stored" in stderr and "4 runs" in stderr  # progress: stderr
    assert doc["study"] == "compare" and doc["out"] == str(out) and doc["runs"] == 4
    assert doc["statuses"] == {"done": 4, "diverged": 0, "failed": 0}
    assert doc["files"]["report"] == str(out / "report.html")
    with Store.open(out) as store:
        last = {m["run"]: m["test_acc"] for m in store.metrics()}
        runs = store.runs()
    ranking = doc["ranking"]
    assert [r["rank"] for r in ranking] == [1, 2]
    assert {r["label"] for r in ranking} == {"relu", "tanh"}
    for row in ranking:
        finals = [last[r.key] for r in runs if r.config["activation"] == row["label"]]
        assert row["final_mean"] == pytest.approx(sum(finals) / 2, abs=1e-12)
        assert row["n_runs"] == row["n_done"] == 2 and row["metric"] == "test_acc"
        assert row["config"]["activation"] == row["label"] and "seed" not in row["config"]
    assert ranking[0]["final_mean"] >= ranking[1]["final_mean"]


def test_report_json_holds_the_ranking_and_the_stored_runs(compared):
    out, compare_doc, _ = compared
    doc, _ = run_json("report", out, "--json", "--export", "json")
    assert doc["ranking"] == compare_doc["ranking"]
    with Store.open(out) as store:
        stored = store.runs()
    assert [r["key"] for r in doc["runs"]] == [r.key for r in stored]
    assert [r["config"] for r in doc["runs"]] == [r.config for r in stored]
    assert doc["unverified"] == [] and doc["exported"]["metrics"] == str(out / "metrics.json")
    assert json.loads((out / "runs.json").read_text()) == doc["runs"]


def test_list_json_is_the_catalog():
    doc, _ = run_json("list", "losses", "--json")
    assert doc["catalog"] == "losses"
    assert [e["name"] for e in doc["entries"]] == list(LOSSES.names())
    ce = next(e for e in doc["entries"] if e["name"] == "cross_entropy")
    assert "ce" in ce["aliases"] and ce["defaults"]["label_smoothing"] == 0.0
    assert ce["reference"] == LOSSES.get("cross_entropy").reference


def test_inspect_json_is_the_entry_and_its_properties():
    doc, _ = run_json("inspect", "leaky_relu6", "--param", "cap=4", "--no-cost", "--json")
    assert doc["name"] == "leaky_relu6" and doc["params"]["cap"] == 4.0
    assert doc["formula"] == ACTIVATIONS.get("leaky_relu6").formula
    expected = compute("leaky_relu6", cap=4.0)
    assert doc["properties"]["gain"] == expected.gain
    assert doc["properties"]["range"][1] == 4.0  # capped at 4
    assert doc["properties"]["cost"] is None
    assert doc["findings"] == expected.findings()
    assert [r["property"] for r in doc["table"]] == [row[0] for row in expected.rows()]
    assert doc["auto_init"] == auto_choice("leaky_relu6", expected.params).summary()


def test_diagnose_json_is_the_diagnosis(compared):
    out, _, _ = compared
    doc, _ = run_json("diagnose", out, "--json")
    assert doc["study"] == "compare" and len(doc["diagnoses"]) == 2
    for d in doc["diagnoses"]:
        assert d["label"].split(" -- ")[0] in {"relu", "tanh"}
        assert [row["layer"] for row in d["table"]][-1] == "output"
        assert all(f["severity"] in ("warning", "info") for f in d["findings"])
        assert d["steps"] == sorted(d["steps"]) and d["steps"]
    trained, stderr = run_json(
        "diagnose", "--dataset", "gauss", "--width", "8", "--depth", "2", "-a", "sigmoid",
        "-o", "sgd", "--lr", "0.1", "--epochs", "2", "--json",
    )  # fmt: skip
    assert "member-epochs stored" in stderr
    (diagnosis,) = trained["diagnoses"]
    assert diagnosis["activation"] == "sigmoid"
