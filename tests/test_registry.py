"""The generic registry: lookup, aliases, closest-name errors, parameter validation."""

from __future__ import annotations

import pytest

from actlab._registry import Info, Param, Registry
from actlab.errors import ParameterError, UnknownNameError


@pytest.fixture
def reg() -> Registry[Info]:
    r: Registry[Info] = Registry("widget")
    r.register(
        Info(
            name="spam",
            params=(
                Param("size", 1.0, low=0.0, low_open=True),
                Param("count", 2, low=1, kind=int),
                Param("mode", "a", choices=("a", "b")),
                Param("flag", False),
            ),
            check=lambda p: None if p["count"] < 10 or p["size"] > 1 else "count>=10 needs size>1",
        )
    )
    r.register(Info(name="eggs"))
    r.alias("ham", "spam")
    return r


def test_lookup_and_aliases(reg):
    assert reg.get("ham") is reg.get("spam")
    assert reg.get("SPAM").name == "spam"
    assert reg.names() == ("spam", "eggs")
    assert "ham" in reg.names(aliases=True)
    assert reg.aliases_of("spam") == ("ham",)
    assert len(reg) == 2 and [i.name for i in reg] == ["spam", "eggs"]


def test_unknown_name_lists_closest(reg):
    with pytest.raises(UnknownNameError, match=r"unknown widget 'spma'; did you mean: spam"):
        reg.get("spma")


def test_duplicate_registration_refused(reg):
    with pytest.raises(ValueError, match="already"):
        reg.register(Info(name="ham"))


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"size": 0.0}, r"size=0 is out of range; valid range is \(0, inf\)"),
        ({"size": float("nan")}, r"size=nan is out of range"),
        ({"count": 0}, r"count=0 is out of range; valid range is \[1, inf\)"),
        ({"count": 1.5}, r"count=1.5 has type float; expected int"),
        ({"size": "big"}, r"size='big' has type str; expected float"),
        ({"flag": 1}, r"flag=1 has type int; expected bool"),
        ({"mode": "c"}, r"mode='c' is not one of \{'a', 'b'\}"),
        ({"sise": 1.0}, r"spam has no parameter 'sise'; did you mean: size"),
        ({"count": 12}, r"spam: count>=10 needs size>1"),
    ],
)
def test_bad_parameters_name_parameter_value_and_range(reg, given, message):
    with pytest.raises(ParameterError, match=message):
        reg.get("spam").bind(given)


def test_bind_fills_defaults_and_coerces(reg):
    assert reg.get("spam").bind(size=2) == {"size": 2.0, "count": 2, "mode": "a", "flag": False}
    assert isinstance(reg.get("spam").bind(size=2)["size"], float)


def test_parse_command_line_strings(reg):
    info = reg.get("spam")
    assert info.parse({"size": "0.5", "count": "3", "flag": "true", "mode": "b"}) == {
        "size": 0.5,
        "count": 3,
        "flag": True,
        "mode": "b",
    }
    with pytest.raises(ParameterError, match="'x' is not a number"):
        info.parse({"size": "x"})
    with pytest.raises(ParameterError, match="not a boolean"):
        info.parse({"flag": "maybe"})


def test_errors_are_value_errors():
    assert issubclass(UnknownNameError, ValueError) and issubclass(ParameterError, ValueError)
