"""Any result as plain JSON data, without importing torch or numpy: what ``--json`` prints and
what the command line's cache stores.

>>> from pathlib import Path
>>> jsonable({"a": (1, float("nan")), 2: Path("x")})
{'a': [1, None], '2': 'x'}
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from typing import Any

__all__ = ["jsonable"]


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: dataclasses and mappings become objects (string keys),
    tuples, lists and sets lists, paths strings, and NaN or infinite floats ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "item"):  # a numpy or torch scalar
        return jsonable(value.item())
    return str(value)
