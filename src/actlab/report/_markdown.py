"""Small markdown helpers shared by the generated catalog pages."""

from __future__ import annotations

from actlab._registry import Info


def cell(text: str) -> str:
    """Table-safe text: a '|' inside a cell (|x|, |s - y|) would end the cell."""
    return text.replace("|", r"\vert ")


def params_line(info: Info) -> str:
    """An entry's parameters: name, default, valid range and meaning, on one line."""
    if not info.params:
        return "none"
    return "; ".join(
        f"`{p.name}` = {p.default!r} in {p.range_text()}" + (f" ({p.doc})" if p.doc else "")
        for p in info.params
    )
