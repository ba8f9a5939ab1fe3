"""Generate the catalog pages under ``docs/`` from the registries.

``python -m actlab.report.docs [DOCS_DIR]`` rewrites every page; ``--check`` exits 1 if a
committed page differs from what the registries produce now (the test suite runs that check).
Each page's module exposes ``render(docs_dir: Path) -> str``; it may also write figures under
``docs_dir / "img"`` (figures are not compared by ``--check``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from actlab._files import write_text

# page file -> module with render(docs_dir) -> str. One line per catalog.
PAGES: dict[str, str] = {
    "activations.md": "actlab.report.docs_activations",
    "optimizers.md": "actlab.report.docs_optimizers",
    "losses.md": "actlab.report.docs_losses",
    "initializers.md": "actlab.report.docs_initializers",
}


def render_all(docs_dir: Path, *, figures: bool = True) -> dict[str, str]:
    """Every page's text, keyed by file name (figures are written only if ``figures``)."""
    out = {}
    for page, module in PAGES.items():
        out[page] = importlib.import_module(module).render(docs_dir, figures=figures)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("docs_dir", nargs="?", default="docs", type=Path)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for page, text in render_all(args.docs_dir, figures=not args.check).items():
        path = args.docs_dir / page
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(page)
        else:
            write_text(path, text)
            print(f"wrote {path}")
    if stale:
        print(f"stale: {', '.join(stale)}; run python -m actlab.report.docs", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
