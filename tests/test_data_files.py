"""One's own data (issue #13, section 2): .csv, .npz, .npy and .pt files and tensors given in
Python become a checked, seeded train/validation/test split, standardized on train only; the
task follows the target; bad data is one line naming the file, line, column or array."""

from __future__ import annotations

import csv
import json
import random
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from actlab import data
from actlab.cli._app import app
from actlab.errors import ActlabError
from actlab.study import Store, Study

ROWS = 60


def blobs(n: int = ROWS, seed: int = 0) -> tuple[list[list[float]], list[int]]:
    """Three 2-D blobs plus a noise feature; labels 3, 7, 9 (remapped to 0, 1, 2)."""
    rng = random.Random(seed)
    xs, ys = [], []
    for i in range(n):
        k = i % 3
        xs.append([round(2 * k + rng.gauss(0, 0.3), 6), round(rng.uniform(-1, 1), 6), -k])
        ys.append((3, 7, 9)[k])
    return xs, ys


def write_csv(path: Path, xs, ys, header=("a", "label", "b", "c")) -> Path:
    """The target as the SECOND column (so --target-column matters)."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for x, y in zip(xs, ys):
            w.writerow([x[0], y, x[1], x[2]])
    return path


def match(x: torch.Tensor, reference) -> list[int]:
    """The row of ``reference`` each row of ``x`` is (within float32 rounding)."""
    dist, index = torch.cdist(x.double(), torch.as_tensor(reference, dtype=torch.float64)).min(1)
    assert float(dist.max()) < 1e-5
    return index.tolist()


# ---- reading, against independent references -------------------------------------------------


def test_csv_matches_numpys_parser_and_splits_70_10_20(tmp_path):
    xs, ys = blobs()
    path = write_csv(tmp_path / "d.csv", xs, ys)
    ds = data.load(str(path), target_column="label", standardize=False)
    reference = np.loadtxt(path, delimiter=",", skiprows=1)  # an independent parser
    features, labels = reference[:, [0, 2, 3]], reference[:, 1].astype(int).tolist()
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (42, 6, 12)
    assert ds.task == "classification" and ds.n_classes == 3
    assert ds.params["classes"] == (3, 7, 9)
    seen = []
    for part in ("train", "val", "test"):
        rows = match(getattr(ds, f"x_{part}"), features)
        got = [ds.params["classes"][k] for k in getattr(ds, f"y_{part}").tolist()]
        assert got == [labels[i] for i in rows]  # each example keeps its own label
        seen += rows
    assert sorted(seen) == list(range(ROWS))  # the splits are disjoint and cover the file


def test_split_is_seeded(tmp_path):
    path = write_csv(tmp_path / "d.csv", *blobs())
    a = data.load(str(path), target_column="label", seed=0)
    b = data.load(str(path), target_column="label", seed=0)
    c = data.load(str(path), target_column="label", seed=1)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_test, c.x_test)


def test_standardized_with_training_statistics_only(tmp_path):
    path = write_csv(tmp_path / "d.csv", *blobs())
    raw = data.load(str(path), target_column="label", standardize=False)
    ds = data.load(str(path), target_column="label")
    x = raw.x_train.double()
    mean, std = x.mean(0), x.std(0)
    for part in ("train", "val", "test"):
        expected = (getattr(raw, f"x_{part}").double() - mean) / std
        torch.testing.assert_close(getattr(ds, f"x_{part}").double(), expected, atol=1e-6, rtol=0)
    assert ds.x_train.mean(0).abs().max() < 1e-5
    assert not torch.allclose(ds.x_test.mean(0), torch.zeros(3), atol=1e-3)  # not refitted


def test_formats_agree(tmp_path):
    xs, ys = blobs()
    x, y = np.array(xs), np.array(ys)
    write_csv(tmp_path / "d.csv", xs, ys)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    np.save(tmp_path / "d.npy", np.column_stack([x, y]))
    torch.save({"x": torch.tensor(x), "y": torch.tensor(y)}, tmp_path / "d.pt")
    ref = data.load(str(tmp_path / "d.csv"), target_column="label", seed=3)
    for name in ("d.npz", "d.npy", "d.pt"):
        ds = data.load(str(tmp_path / name), seed=3)
        for key in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
            assert torch.equal(getattr(ds, key), getattr(ref, key)), (name, key)
    same = data.load((torch.tensor(x), torch.tensor(y)), seed=3)
    assert torch.equal(same.x_test, ref.x_test) and same.name.startswith("tensors:")


def test_a_given_test_set_is_kept_and_validation_comes_from_train(tmp_path):
    xs, ys = blobs(80)
    x, y = torch.tensor(xs), torch.tensor(ys)
    np.savez(tmp_path / "d.npz", x=x[:50], y=y[:50], x_test=x[50:], y_test=y[50:])
    ds = data.load(str(tmp_path / "d.npz"), standardize=False)
    assert torch.equal(ds.x_test, x[50:].float()) and len(ds.x_val) == 5 and len(ds.x_train) == 45
    assert ds.params["test"] == "given"
    classes = torch.tensor(ds.params["classes"])
    assert torch.equal(classes[ds.y_test], y[50:])  # one mapping for train and test


def test_csv_details_bom_quotes_blank_lines_and_line_numbers(tmp_path):
    path = tmp_path / "q.csv"
    rows = "".join(f'{i},"{i % 2}"\n\n' for i in range(20))
    path.write_bytes(("\ufeff" + '"x 1","the, label"\n' + rows).encode("utf-8"))
    ds = data.load(path, target_column="the, label", standardize=False)  # a Path works too
    assert ds.n_classes == 2 and len(ds.x_train) + len(ds.x_val) + len(ds.x_test) == 20
    path.write_bytes(('"x 1",label\n' + rows + "nan,1\n").encode())
    with pytest.raises(ActlabError, match=r"q.csv:42: column 'x 1' is 'nan'"):
        data.load(path)  # blank lines count: the line is the file's


def test_arrays_with_several_targets_are_regression_and_column_labels_classify(tmp_path):
    x = np.random.default_rng(0).normal(size=(40, 3))
    np.savez(tmp_path / "r.npz", x=x, y=x[:, :2] * 2.0)
    ds = data.load(tmp_path / "r.npz")
    assert ds.task == "regression" and ds.y_train.shape == (28, 2) and ds.n_outputs == 2
    np.savez(tmp_path / "c.npz", x=x, y=(np.arange(40) % 2)[:, None])  # (n, 1) labels
    ds = data.load(tmp_path / "c.npz")
    assert ds.task == "classification" and ds.y_train.shape == (28,)
    assert Study(dataset=tmp_path / "c.npz").dataset == str(tmp_path / "c.npz")


@pytest.mark.parametrize(
    ("target", "task", "classes"),
    [
        (["a", "b", "a", "c"] * 10, "classification", ("a", "b", "c")),  # text
        ([0, 1, 2, 3] * 10, "classification", (0, 1, 2, 3)),  # few integers
        ([i * 1.0 for i in range(40)], "regression", ()),  # 40 distinct values in 40 rows
        ([i / 7 for i in range(40)], "regression", ()),  # fractions
    ],
)
def test_task_follows_the_target(tmp_path, target, task, classes):
    path = tmp_path / "t.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["f", "target"])
        w.writerows([[i, t] for i, t in enumerate(target)])
    ds = data.load(str(path))
    assert ds.task == task and ds.params["classes"] == classes
    if task == "regression":
        assert ds.y_train.dtype == torch.float32 and ds.y_train.shape[1] == 1
        assert set(ds.y_train.flatten().tolist()) <= {float(torch.tensor(t)) for t in target}


def test_task_can_be_given(tmp_path):
    xs, ys = blobs()
    path = write_csv(tmp_path / "d.csv", xs, ys)
    ds = data.load(str(path), target_column="label", task="regression", standardize=False)
    assert ds.task == "regression" and set(ds.y_train.flatten().tolist()) <= {3.0, 7.0, 9.0}
    study = Study(
        dataset=str(path), dataset_params={"target_column": "label", "task": "regression"}
    )
    assert study.resolved_losses == ("squared_error",)
    assert Study(dataset=str(path), dataset_params={"target_column": "label"}).resolved_losses == (
        "cross_entropy",
    )


# ---- tensors and torch Datasets in Python ------------------------------------------------------


def test_study_takes_tensors_and_a_torch_dataset_and_stays_json(tmp_path):
    xs, ys = blobs()
    x, y = torch.tensor(xs), torch.tensor(ys)
    study = Study(dataset=(x, y), seeds=1, epochs=1)
    assert study.dataset.startswith("tensors:") and study.resolved_losses == ("cross_entropy",)
    assert Study.from_dict(json.loads(json.dumps(study.to_dict()))) == study
    wrapped = Study(dataset=torch.utils.data.TensorDataset(x, y), seeds=1, epochs=1)
    assert wrapped.dataset == study.dataset  # the same content, the same name
    other = Study(dataset=(x, (y == 3).long()), seeds=1, epochs=1)
    assert other.dataset != study.dataset
    from actlab.study.runner import plan

    work = plan(study)
    assert work.data.n_classes == 3 and len(work.data.x_train) == 42


def test_tensor_data_from_another_process_is_named_in_the_error():
    with pytest.raises(ActlabError, match="another Python process"):
        data.load("tensors:0123456789abcdef")


# ---- bad data: one line naming the file and the place -----------------------------------------

HEAD = "a,b,label\n"


def _npz(**arrays) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _npy(array) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _pt(obj) -> bytes:
    import io

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


X10, Y10 = np.arange(20.0).reshape(10, 2), np.arange(10) % 2
BAD_X = X10.copy()
BAD_X[3, 1] = np.nan
TWO = "".join(f"{i},{i % 2}\n" for i in range(10))

# (id, file name, content (None: no file), params, words the one line must contain)
# fmt: off
BAD = [
    ("nan", "d.csv", HEAD + "1,2,0\n3,nan,1\n", {}, ("d.csv:3", "'b'", "nan")),
    ("inf target", "d.csv", "a,t\n1,0.5\n2,inf\n", {}, ("d.csv:3", "'t'", "inf")),
    ("-inf", "d.csv", HEAD + "1,-inf,0\n", {}, ("d.csv:2", "'b'", "-inf")),
    ("missing value", "d.csv", HEAD + "1,,0\n", {}, ("d.csv:2", "'b'", "empty")),
    ("non-numeric column", "d.csv", "a,color,label\n1,red,0\n", {}, ("d.csv:2", "'color'")),
    ("short row", "d.csv", HEAD + "1,2,0\n1,2\n", {}, ("d.csv:3", "2 values", "3 columns")),
    ("long row", "d.csv", HEAD + "1,2,0,4\n", {}, ("d.csv:2", "4 values")),
    ("single class", "d.csv", HEAD + "1,2,1\n" * 12, {}, ("d.csv", "single class", "'label'")),
    ("empty file", "d.csv", "", {}, ("d.csv", "empty")),
    ("blank file", "d.csv", "\n\n", {}, ("d.csv", "empty")),
    ("header only", "d.csv", HEAD, {}, ("d.csv", "no data rows")),
    ("one column", "d.csv", "label\n1\n0\n", {}, ("d.csv", "1 column")),
    ("twice", "d.csv", "a,a,label\n1,2,0\n", {}, ("d.csv:1", "'a'", "twice")),
    ("target typo", "d.csv", HEAD + "1,2,0\n", {"target_column": "lable"},
     ("d.csv", "'lable'", "did you mean: label")),
    ("missing target", "d.csv", HEAD + "1,2,0\n", {"target_column": "zzz"}, ("'zzz'", "columns")),
    ("mixed target", "d.csv", "a,label\n1,0\n2,x\n", {}, ("d.csv:3", "'x'", "among numbers")),
    ("missing label", "d.csv", "a,label\n1,0\n2,\n", {}, ("d.csv:3", "'label'", "empty")),
    ("not integer", "d.csv", "a,label\n1,0\n2,0.5\n", {"task": "classification"},
     ("d.csv", "0.5", "line 3", "class label")),
    ("text regression", "d.csv", "a,label\n1,x\n2,y\n", {"task": "regression"},
     ("d.csv", "text", "regression")),
    ("too few", "d.csv", "a,t\n1,0.5\n", {}, ("d.csv", "too few")),
    ("not utf-8", "d.csv", b"a,label\n\xff,1\n", {}, ("d.csv", "UTF-8")),
    ("missing file", "nosuch.csv", None, {}, ("nosuch.csv", "no such file")),
    ("unknown extension", "d.txt", "a,b\n", {}, ("d.txt", "'.txt'", ".csv")),
    ("no extension", "dir/data", "a,b\n", {}, ("dir/data", "without an extension")),
    ("npz without x", "d.npz", _npz(X=X10, y=Y10), {}, ("d.npz", "no array 'x'", "X, y")),
    ("npz without y", "d.npz", _npz(x=X10), {}, ("d.npz", "no array 'y'")),
    ("npz lengths", "d.npz", _npz(x=X10, y=Y10[:9]), {}, ("d.npz", "x has 10", "y has 9")),
    ("npz nan", "d.npz", _npz(x=BAD_X, y=Y10), {}, ("d.npz", "x[3, 1]", "nan")),
    ("npz unknown array", "d.npz", _npz(x=X10, y=Y10, w=Y10), {}, ("d.npz", "'w'")),
    ("npz half test", "d.npz", _npz(x=X10, y=Y10, x_test=X10), {}, ("x_test", "no y_test")),
    ("npz test shape", "d.npz", _npz(x=X10, y=Y10, x_test=X10[:, :1], y_test=Y10),
     {}, ("d.npz", "x_test")),
    ("npz test lengths", "d.npz", _npz(x=X10, y=Y10, x_test=X10, y_test=Y10[:3]), {},
     ("x_test has 10", "y_test has 3")),
    ("npz single class", "d.npz", _npz(x=X10, y=np.ones(10)), {}, ("single class",)),
    ("npz damaged", "d.npz", b"not a zip file", {}, ("d.npz", "not a .npz file")),
    ("npz truncated", "d.npz", b"PK\x03\x04", {}, ("d.npz", "not a readable")),
    ("target_column on npz", "d.npz", _npz(x=X10, y=Y10), {"target_column": "y"},
     ("d.npz", "target_column", ".csv")),
    ("npy 1-D", "d.npy", _npy(np.arange(5.0)), {}, ("d.npy", "2-D", "(5,)")),
    ("npy nan", "d.npy", _npy(np.column_stack([BAD_X, Y10])), {}, ("d.npy", "x[3, 1]")),
    ("pt list", "d.pt", _pt([torch.zeros(3)]), {}, ("d.pt", "holds a list", "x, y")),
    ("pt damaged", "d.pt", b"garbage", {}, ("d.pt", "not a readable torch file")),
    ("pt lengths", "d.pt", _pt({"x": torch.zeros(4, 2), "y": torch.zeros(3)}), {},
     ("d.pt", "x has 4", "y has 3")),
    ("pt inf", "d.pt", _pt({"x": torch.tensor([[1.0], [float("inf")]]), "y": torch.ones(2)}),
     {}, ("d.pt", "x[1, 0]", "inf")),
    ("fractions", "d.csv", "a,t\n" + TWO, {"test_fraction": 0.5, "val_fraction": 0.5},
     ("test_fraction + val_fraction",)),
    ("unknown param", "d.csv", "a,t\n" + TWO, {"target_colum": "t"},
     ("target_colum", "did you mean: target_column")),
    ("bad task", "d.csv", "a,t\n" + TWO, {"task": "ranking"}, ("task", "ranking")),
]
# fmt: on


def _place(tmp_path: Path, name: str, content) -> str:
    path = tmp_path / name
    if content is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return str(path)


@pytest.mark.parametrize(("name", "content", "params", "words"), [c[1:] for c in BAD],
                         ids=[c[0] for c in BAD])  # fmt: skip
def test_bad_data_is_one_line_from_python(tmp_path, name, content, params, words):
    path = _place(tmp_path, name, content)
    for call in (
        lambda: data.load(path, **params),
        lambda: Study(dataset=path, dataset_params=params),
    ):
        with pytest.raises(ActlabError) as e:
            call()
        message = str(e.value)
        assert "\n" not in message
        for word in words:
            assert word in message, (word, message)


CLI_FLAGS = {"target_column": "--target-column", "task": "--task"}


@pytest.mark.parametrize(("name", "content", "params", "words"),
                         [c[1:] for c in BAD if set(c[3]) <= set(CLI_FLAGS)],
                         ids=[c[0] for c in BAD if set(c[3]) <= set(CLI_FLAGS)])  # fmt: skip
def test_bad_data_exits_2_and_stores_nothing(tmp_path, monkeypatch, name, content, params, words):
    monkeypatch.chdir(tmp_path)
    path = _place(tmp_path, name, content)
    flags = [a for k, v in params.items() for a in (CLI_FLAGS[k], v)]
    for command in ("compare", "diagnose"):
        out = tmp_path / f"out-{command}"
        result = CliRunner().invoke(app, [command, "--dataset", path, *flags, "--out", str(out)])
        assert result.exit_code == 2, result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), result.output
        for word in words:
            assert word in lines[0], (word, lines[0])
        assert not out.exists() and not (tmp_path / "actlab-runs").exists()


def test_own_data_flags_need_a_data_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["compare", "--dataset", "spiral", "--target-column", "y"])
    assert result.exit_code == 2 and "--target-column" in result.output
    assert "catalog dataset" in result.output


# ---- the CLI, end to end -----------------------------------------------------------------------

TINY = ["-a", "relu,tanh", "-o", "sgd", "--seeds", "2", "--epochs", "2", "--width", "8"]


def _identity(out: Path) -> dict:
    with sqlite3.connect(out / "study.db") as conn:
        return json.loads(conn.execute("SELECT value FROM meta WHERE key='identity'").fetchone()[0])


def test_compare_and_diagnose_run_on_a_csv(tmp_path):
    path = write_csv(tmp_path / "blobs.csv", *blobs(90))
    out = tmp_path / "out"
    args = ["--dataset", str(path), "--target-column", "label", *TINY, "--out", str(out)]
    result = CliRunner().invoke(app, ["compare", *args])
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())
    assert "3 classes (3, 7, 9)" in shown and "63 train / 9 validation / 18 test" in shown
    with Store.open(out) as store:
        runs = store.runs()
        assert len(runs) == 4 and {r.status for r in runs} == {"done"}
        assert {r.config["dataset"] for r in runs} == {str(path)}
        assert {r.config["loss"] for r in runs} == {"cross_entropy"}
        assert store.study["dataset_params"] == {"target_column": "label"}
    page = (out / "report.html").read_text()
    assert "target column &#x27;label&#x27;" in page and "standardized" in page

    diag = tmp_path / "diag"
    one = ["--dataset", str(path), "--target-column", "label", "-a", "tanh", "-o", "sgd"]
    result = CliRunner().invoke(app, ["diagnose", *one, "--epochs", "2", "--out", str(diag)])
    assert result.exit_code == 0, result.output
    with Store.open(diag) as store:
        assert len(store.runs()) == 1 and store.study["diagnostics"] is True


def test_changing_one_value_of_the_csv_makes_a_rerun_refuse_until_forced(tmp_path):
    xs, ys = blobs(90)
    path = write_csv(tmp_path / "d.csv", xs, ys)
    out = tmp_path / "out"
    args = ["compare", "--dataset", str(path), "--target-column", "label", *TINY, "--out", str(out)]
    assert CliRunner().invoke(app, args).exit_code == 0
    stored = _identity(out)["data"]
    # change one value of a row that trains (a held-out validation row does not enter the results)
    train = data.load(str(path), target_column="label", standardize=False).x_train
    i = match(train, xs)[0]
    xs[i][1] += 0.5
    write_csv(path, xs, ys)
    db = (out / "study.db").read_bytes()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "the data changed" in lines[0] and "--force" in lines[0]
    assert "the runs changed" not in lines[0]
    assert (out / "study.db").read_bytes() == db
    forced = CliRunner().invoke(app, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert "0 stored run(s) kept" in forced.output and "4 discarded" in forced.output
    assert _identity(out)["data"] != stored
    with Store.open(out) as store:
        assert len(store.runs()) == 4


def test_a_study_file_names_a_csv_and_its_parameters(tmp_path):
    path = write_csv(tmp_path / "d.csv", *blobs())
    toml = tmp_path / "s.toml"
    toml.write_text(
        f'dataset = "{path.as_posix()}"\nactivations = ["relu"]\nseeds = 1\nepochs = 1\n'
        '[dataset_params]\ntarget_column = "lable"\n'
    )
    result = CliRunner().invoke(app, ["compare", "--config", str(toml), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "did you mean: label" in result.output
    assert "s.toml" in result.output


def test_the_store_message_names_what_changed():
    from actlab.study.identity import _changed

    old = {"runs": ["a"], "data": "1" * 64, "diagnostics": False}
    new = {**old, "data": "2" * 64}
    assert _changed(json.dumps(old), json.dumps(new)) == (
        "the data changed (content fingerprint 22222222, stored 11111111)"
    )
    both = {**new, "runs": ["b"]}
    assert _changed(json.dumps(old), json.dumps(both)).startswith("the data changed")
    assert "the runs changed" in _changed(json.dumps(old), json.dumps(both))
    assert _changed(json.dumps({"epochs": 2}), json.dumps({"epochs": 3})) == "epochs changed"
