"""Figures of loss landscapes (:mod:`actlab.landscape`): 1-D slices, a plane as contours next to
its 3-D surface, and the optimizer's path over the loss of its principal plane. Every figure is
written atomically (:func:`actlab._files.save_figure`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from actlab._files import save_figure
from actlab.errors import ActlabError
from actlab.landscape.convexity import curvature

__all__ = ["lecture_figures", "plot_path", "plot_plane", "plot_slices"]

FORMATS = (".png", ".svg", ".pdf")


def _target(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ActlabError(f"figure {str(path)!r}: the suffix must be one of {', '.join(FORMATS)}")
    return path


def _levels(loss: np.ndarray, n: int = 30) -> np.ndarray:
    """Contour levels spaced evenly in log scale from the minimum up: the basin gets as many
    lines as the walls, which grow far faster."""
    low, high = float(loss.min()), float(loss.max())
    if high <= low:
        return np.array([low, low + 1e-12])
    return low + (high - low) * (np.logspace(0, 1, n) - 1) / 9


def plot_slices(
    slices: Mapping[str, object],
    path: str | Path,
    *,
    title: str,
    xlabel: str = "alpha",
    marks: tuple[float, ...] = (),
) -> Path:
    """Loss (left) and accuracy (right, where known) of 1-D slices: one curve per label.
    ``marks``: coefficients drawn as dotted vertical lines (e.g. 0 and 1 for two models)."""
    path = _target(path)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for label, s in slices.items():
        axes[0].plot(s.alphas.numpy(), s.loss.numpy(), label=label)
        if s.accuracy is not None:
            axes[1].plot(s.alphas.numpy(), s.accuracy.numpy(), label=label)
    for ax, ylabel in zip(axes, ("loss", "accuracy")):
        for m in marks:
            ax.axvline(m, color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)  # the accuracy panel uses the same colours
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def plot_plane(plane, path: str | Path, *, title: str, log: bool = False) -> Path:
    """A 2-D slice as filled contours (left) and as a 3-D surface (right); ``log`` draws
    ``log10(loss)`` on the surface."""
    path = _target(path)
    a, b = np.meshgrid(plane.alphas.numpy(), plane.betas.numpy(), indexing="ij")
    loss = plane.loss.numpy()
    fig = plt.figure(figsize=(11, 4.6))
    ax = fig.add_subplot(1, 2, 1)
    filled = ax.contourf(a, b, loss, levels=_levels(loss), cmap="viridis")
    ax.contour(a, b, loss, levels=_levels(loss), colors="white", linewidths=0.3)
    ax.plot([0], [0], "r*", markersize=10, label="center (trained weights)")
    fig.colorbar(filled, ax=ax, label="loss", format="%.3g")
    ax.set_xlabel("alpha (direction 1)")
    ax.set_ylabel("beta (direction 2)")
    ax.legend(fontsize=8, loc="upper right")
    ax3 = fig.add_subplot(1, 2, 2, projection="3d")
    z = np.log10(loss) if log else loss
    ax3.plot_surface(a, b, z, cmap="viridis", linewidth=0, antialiased=True)
    ax3.set_xlabel("alpha")
    ax3.set_ylabel("beta")
    ax3.set_zlabel("log10 loss" if log else "loss")
    ax3.view_init(elev=35, azim=-60)
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def plot_path(trajectory, path: str | Path, *, title: str, unit: str = "epochs") -> Path:
    """The optimizer's path (snapshots in order, last = solution) over the contours of the loss
    on the trajectory's principal plane; axis labels and legend give the explained variance.
    ``unit``: what separates two snapshots, for the legend ("epochs", "steps apart", ...)."""
    path = _target(path)
    plane = trajectory.plane
    a, b = np.meshgrid(plane.alphas.numpy(), plane.betas.numpy(), indexing="ij")
    loss = plane.loss.numpy()
    c = trajectory.coords.numpy()
    e1, e2 = (100 * trajectory.explained).tolist()
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    filled = ax.contourf(a, b, loss, levels=_levels(loss), cmap="viridis")
    ax.contour(a, b, loss, levels=_levels(loss), colors="white", linewidths=0.3)
    fig.colorbar(filled, ax=ax, label="loss", format="%.3g")
    ax.plot(
        c[:, 0],
        c[:, 1],
        "-o",
        color="red",
        markersize=3,
        linewidth=1.2,
        label=f"path ({len(c) - 1} {unit}); PCs explain {e1:.1f}% + {e2:.1f}%",
    )
    ax.plot(c[0, 0], c[0, 1], "s", color="orange", markersize=8, label="start")
    ax.plot(
        c[-1, 0], c[-1, 1], "*", color="white", markeredgecolor="k", markersize=13, label="solution"
    )
    ax.set_xlabel(f"1st principal direction ({e1:.1f}% of variance)")
    ax.set_ylabel(f"2nd principal direction ({e2:.1f}% of variance)")
    ax.legend(fontsize=8, loc="best")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def lecture_figures(lecture, out: str | Path, *, prefix: str = "landscape_") -> list[Path]:
    """The figures of :func:`actlab.landscape.lecture.run_lecture`'s result, written into the
    directory ``out`` as ``<prefix><name>.png``; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    conv = lecture.convexity
    written = []
    for name, p in lecture.planes.items():
        c = conv[f"{name} at solution"]
        title = (
            f"{name} (multiclass hinge), test acc {lecture.accuracy[name]:.0%}, random "
            f"filter-normalized plane\n(random 1-D slices here: {c.negative_share:.1%} of 2nd "
            f"differences < 0, min/max curvature {c.curvature_ratio:+.2g})"
        )
        written.append(plot_plane(p, out / f"{prefix}{name}_plane.png", title=title))
    written.append(
        plot_slices(
            {f"{name} ({_numbers(s)})": s for name, s in lecture.init_to_solution.items()},
            out / f"{prefix}init_to_solution.png",
            title="straight line from the initial weights (0) to the solution (1)",
            marks=(0.0, 1.0),
        )
    )
    written.append(
        plot_slices(
            {f"{label} ({_numbers(s)})": s for label, s in lecture.seeds.items()},
            out / f"{prefix}two_seeds.png",
            title="interpolation between the solutions of two seeds (0: seed s, 1: seed s + 1)",
            marks=(0.0, 1.0),
        )
    )
    written.append(
        plot_path(
            lecture.path,
            out / f"{prefix}path.png",
            title="network, Adam: path projected on the trajectory's principal plane",
        )
    )
    return written


def _numbers(s) -> str:
    """A slice's own convexity numbers, for its legend entry."""
    c = curvature(s.alphas, s.loss)
    return f"2nd diff. < 0 at {c.negative_share:.0%}, min/max {c.curvature_ratio:+.2g}"
