"""typer's help renderer without two imports it makes and actlab never uses.

``typer.rich_utils`` (typer 0.29), which draws every ``--help``, imports ``rich.markdown``
(markdown_it, pygments) and ``rich.traceback`` (rich.pretty, attrs) at its top, though only
``rich_markup_mode="markdown"`` and pretty exceptions use them, and actlab has both off: about
0.13 s of the 0.4 s an ``actlab --help`` took. :func:`load` imports it with a stand-in for each
of the two classes, which imports the real class the moment it is called or read; ``import
rich.markdown`` elsewhere still gets the real module.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

_UNUSED = (("rich.markdown", "Markdown"), ("rich.traceback", "Traceback"))


def load() -> None:
    """Import ``typer.rich_utils`` (once) without importing ``rich.markdown`` or
    ``rich.traceback``."""
    if "typer.rich_utils" in sys.modules:
        return
    placed = {}
    for module, name in _UNUSED:
        if module not in sys.modules:
            placed[module] = types.ModuleType(module)
            setattr(placed[module], name, _stand_in(module, name))
    sys.modules.update(placed)
    try:
        importlib.import_module("typer.rich_utils")
    except ImportError:  # a typer wanting more of the two modules imports them itself, later
        pass
    finally:
        for module, stand_in in placed.items():
            if sys.modules.get(module) is stand_in:
                del sys.modules[module]


def _stand_in(module: str, name: str) -> type:
    """A class in place of ``module.name``: calling it or reading an attribute of it imports
    the real class and uses that (a class, not a function, since typer writes ``Markdown | Text``
    in annotations)."""

    def real() -> Any:
        return getattr(importlib.import_module(module), name)

    class Deferred(type):
        def __getattr__(cls, attr: str) -> Any:
            return getattr(real(), attr)

    class StandIn(metaclass=Deferred):
        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            return real()(*args, **kwargs)

    StandIn.__name__ = StandIn.__qualname__ = name
    StandIn.__module__ = module
    return StandIn
