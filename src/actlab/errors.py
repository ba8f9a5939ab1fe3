"""Exceptions for bad input. All are ``ValueError``s, so library users can catch them as such;
the CLI turns any :class:`ActlabError` into one line on stderr and exit code 2."""

from __future__ import annotations

__all__ = ["ActlabError", "ParameterError", "UnknownNameError"]


class ActlabError(ValueError):
    """Bad input: a message meant for a person, one line, naming the problem."""


class UnknownNameError(ActlabError):
    """A catalog name that is not registered; the message lists the closest valid names."""


class ParameterError(ActlabError):
    """A parameter that is unknown, of the wrong type, or outside its declared range."""
