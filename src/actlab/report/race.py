"""The optimizer race as a figure: every path over the surface's contour plot, the minimum
marked, and a results table; a still (``.png``) or an animation (``.gif``).

The GIF's frames share one fixed palette -- the optimizers' colours, the minimum's gold and a
ramp of greys for the contours -- so each optimizer keeps its colour in every frame (a palette
fitted per frame, as matplotlib's Pillow writer does, spends its 256 entries on the contour
greys of the first frames and shifts the path colours from frame to frame)."""

from __future__ import annotations

from pathlib import Path as FilePath

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import LogNorm, to_rgb
from PIL import Image

from actlab._files import replacing, save_figure
from actlab.errors import ActlabError
from actlab.optim.race import RaceResult

__all__ = ["FORMATS", "render", "table_rows", "title"]

FORMATS = (".png", ".gif")
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")
GOLD = "gold"
HEADER = ("optimizer", "lr", "steps to target", "final loss")
FRAMES = 60


def title(result: RaceResult) -> str:
    """What was raced and how the learning rates were chosen (said in the figure's title)."""
    s, (x, y) = result.surface, result.start
    others = "tuned by log-grid search" if result.config.tune else "default"
    how = {
        "default": "default learning rates",
        "given": f"learning rates from --lr, others {others}",
        "tuned": "learning rates tuned by log-grid search",
    }[result.lr_source]
    noise = f", gradient noise sigma={result.config.noise:g}" if result.config.noise else ""
    return f"{s.name}: {result.steps} steps from ({x:g}, {y:g}); {how}{noise}"


def table_rows(result: RaceResult) -> list[tuple[str, str, str, str]]:
    """One row per optimizer: name, lr, steps until loss <= the surface's target, final loss."""
    rows = []
    for p in result.paths:
        arrived = "-" if p.steps_to_target is None else str(p.steps_to_target)
        final = (
            f"diverged at {p.diverged_at}" if p.diverged_at is not None else f"{p.final_loss:.3g}"
        )
        rows.append((p.optimizer, f"{p.lr:.3g}", arrived, final))
    return rows


def render(
    result: RaceResult, out: FilePath | str, *, frames: int = FRAMES, fps: int = 15
) -> FilePath:
    """Write the race to ``out`` (``.png``: the finished paths; ``.gif``: their animation)."""
    out = FilePath(out)
    if out.suffix.lower() not in FORMATS:
        raise ActlabError(f"--out {out.name!r}: the race is written as one of {', '.join(FORMATS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig, lines, heads, stamp = _figure(result)
    try:
        if out.suffix.lower() == ".png":
            _draw(result, lines, heads, stamp, result.steps)
            save_figure(fig, out, dpi=110)
        else:
            n = min(frames, result.steps + 1)
            ticks = np.unique(np.round(np.geomspace(1, result.steps + 1, n)).astype(int) - 1)
            ticks = [*ticks.tolist(), *[result.steps] * 8]  # hold the finish for a moment

            frames_ = []
            for i in ticks:
                _draw(result, lines, heads, stamp, i)
                frames_.append(_frame(fig))
            first, *rest = frames_
            with replacing(out) as part:
                first.save(
                    part, format="GIF", save_all=True, append_images=rest,
                    duration=round(1000 / fps), loop=0, optimize=False,
                )  # fmt: skip
    finally:
        plt.close(fig)
    return out


def palette() -> Image.Image:
    """The GIF's fixed palette: white, black, the path colours and gold, their blends with
    white (anti-aliased edges), then greys for the rest."""
    base = [(1.0, 1.0, 1.0), (0.0, 0.0, 0.0), *(to_rgb(c) for c in (*COLORS, GOLD))]
    blends = [tuple(0.5 * v + 0.5 for v in to_rgb(c)) for c in (*COLORS, GOLD)]
    n_greys = 256 - len(base) - len(blends)
    greys = [(g, g, g) for g in np.linspace(0.0, 1.0, n_greys + 2)[1:-1]]
    entries = np.round(np.array([*base, *blends, *greys]) * 255).astype(np.uint8)
    image = Image.new("P", (1, 1))
    image.putpalette(entries.reshape(-1).tolist())
    return image


def _frame(fig, dpi: int = 72) -> Image.Image:
    """The figure as it is now, as an image in :func:`palette` (no dithering)."""
    fig.set_dpi(dpi)
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    return Image.fromarray(rgb).quantize(palette=palette(), dither=Image.Dither.NONE)


def _figure(result: RaceResult):
    s = result.surface
    fig = plt.figure(figsize=(11.5, 6.0))
    grid = fig.add_gridspec(1, 2, width_ratios=(1.7, 1.0), wspace=0.05)
    ax, side = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])
    x0, x1, y0, y1 = s.box
    xs, ys = np.linspace(x0, x1, 160), np.linspace(y0, y1, 160)
    xy = torch.tensor(np.stack(np.meshgrid(xs, ys), axis=-1), dtype=torch.float64)
    z = s.fn(xy).numpy()
    if s.log_levels:
        shift = z - z.min() + 1e-3
        levels = np.geomspace(shift.min(), shift.max(), 30)
        ax.contourf(xs, ys, shift, levels=levels, norm=LogNorm(), cmap="Greys", alpha=0.55)
        ax.contour(xs, ys, shift, levels=levels, norm=LogNorm(), colors="0.55", linewidths=0.4)
    else:
        ax.contourf(xs, ys, z, levels=30, cmap="Greys", alpha=0.55)
        ax.contour(xs, ys, z, levels=30, colors="0.55", linewidths=0.4)
    minima = np.array(s.minima)
    ax.plot(
        minima[:, 0],
        minima[:, 1],
        "*",
        color=GOLD,
        ms=16,
        mec="k",
        zorder=5,
        label="saddle point" if s.name == "saddle" else "minimum",
    )
    ax.plot(*result.start, "o", color="k", ms=6, zorder=5, label="start")
    lines, heads = [], []
    for i, p in enumerate(result.paths):
        color = COLORS[i % len(COLORS)]
        (line,) = ax.plot([], [], "-", color=color, lw=1.6, label=f"{p.optimizer} (lr={p.lr:.3g})")
        (head,) = ax.plot([], [], "o", color=color, ms=6, mec="k", zorder=6)
        lines.append(line)
        heads.append(head)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="x", ylabel="y")
    side.legend(*ax.get_legend_handles_labels(), loc="upper center", fontsize=8.5, frameon=False)
    fig.suptitle(title(result), fontsize=11)
    stamp = ax.text(0.99, 0.01, "", transform=ax.transAxes, ha="right", va="bottom", fontsize=9)
    side.axis("off")
    table = side.table(
        cellText=table_rows(result),
        colLabels=HEADER,
        cellLoc="center",
        colWidths=(0.26, 0.16, 0.3, 0.28),
        bbox=(0.0, 0.0, 1.0, 0.05 * (len(result.paths) + 1)),
    )
    table.auto_set_font_size(False)
    table.set_fontsize(8.5)
    table.scale(1.0, 1.5)
    for (row, _), cell in table.get_celld().items():
        if row == 0:
            cell.set_text_props(weight="bold")
    target = s.target
    side.text(
        0.5,
        0.05 * (len(result.paths) + 1) + 0.01,
        f"steps to target: first step with loss <= {target:g} ('-': never)",
        ha="center",
        va="bottom",
        fontsize=8.5,
        transform=side.transAxes,
    )
    fig.subplots_adjust(left=0.06, right=0.99, top=0.91, bottom=0.09)
    return fig, lines, heads, stamp


def _draw(result: RaceResult, lines, heads, stamp, upto: int):
    for p, line, head in zip(result.paths, lines, heads):
        pts = p.points[: upto + 1].numpy()
        line.set_data(pts[:, 0], pts[:, 1])
        head.set_data(pts[-1:, 0], pts[-1:, 1])
    stamp.set_text(f"step {upto}")
    return [*lines, *heads, stamp]
