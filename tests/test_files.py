"""Atomic writes: a failure while writing leaves the previous file, never a partial one."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from actlab import _files
from actlab.report.loss_plot import plot_margin_losses


class Boom(RuntimeError):
    pass


def test_write_text_replaces_whole_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "page.md"
    target.write_text("old")
    _files.write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["page.md"]


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "page.md"
    target.write_text("old")
    with pytest.raises(Boom), _files.replacing(target) as tmp:
        tmp.write_text("half of the n")
        raise Boom
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["page.md"]


def test_a_figure_that_fails_to_render_keeps_the_previous_png(tmp_path, monkeypatch):
    out = tmp_path / "losses.png"
    plot_margin_losses(out)
    before = out.read_bytes()
    real = plt.Figure.savefig

    def partial(self, fname, **kw):  # writes some bytes, then dies like a killed process
        fname.write(b"\x89PNG partial")
        raise Boom

    monkeypatch.setattr(plt.Figure, "savefig", partial)
    with pytest.raises(Boom):
        plot_margin_losses(out)
    monkeypatch.setattr(plt.Figure, "savefig", real)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["losses.png"]
