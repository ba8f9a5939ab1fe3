"""Your own model in the lab: a factory named ``"package.module:factory"``.

A factory is a function (or class) defined at module level that takes the variant's activation
as the keyword ``activation`` and returns an ``nn.Module``::

    # mymodel.py
    from torch import nn

    def make_cnn(activation, width=16, n_outputs=10):
        return nn.Sequential(
            nn.Unflatten(1, (1, 40)),
            nn.Conv1d(1, width, 5, stride=2, padding=2), activation(),
            nn.Flatten(), nn.Linear(width * 20, n_outputs),
        )

``activation()`` returns a fresh :class:`actlab.nn.Activation` module of the variant's activation
(use it as you would ``nn.ReLU``; ``activation(dim=1)`` for a vector activation over channels).
The factory may also declare, by name, the model-level fields it wants: ``depth``, ``width``,
``normalization``, ``dropout``, ``residual`` (the study's values), ``input_shape`` and
``n_outputs`` (the data's). A field is passed when the study sets it to something other than the
factory's own default; one the factory does not declare may not be set.

:class:`~actlab.models.ModelSpec` ``("mymodel:make_cnn", ...)`` names such a model;
:func:`~actlab.models.build` calls the factory with torch's global generator seeded by the seed
(so parameters the factory draws itself are reproducible), then applies the variant's
initializer to its Linear and Conv layers exactly as for a catalog model. Constructing the spec
imports the module, checks the signature, builds the model once and runs a batch of zeros
through it: an unknown module or attribute, a factory that raises or returns something else
than an ``nn.Module``, or an output that does not fit the data is one
:class:`~actlab.errors.ActlabError` line, before anything is trained or stored.

The current directory is put on ``sys.path`` (as ``uvicorn`` does) so that ``mymodel.py`` next
to where ``actlab`` runs is found.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import os
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from actlab._registry import closest
from actlab.errors import ActlabError, ParameterError, UnknownNameError
from actlab.models._core import ModelInfo, ModelSpec, hyperparams
from actlab.nn import Activation

__all__ = [
    "ActivationFactory",
    "is_reference",
    "model_info",
    "reference_of",
    "resolve",
    "source_modules",
]

_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
SIZES = ("depth", "width", "normalization", "dropout", "residual")
"""Fields of :class:`~actlab.models.ModelSpec` a factory may declare (the study's values)."""
FROM_DATA = ("input_shape", "n_outputs")
"""Fields a factory may declare that come from the data."""
# what an undeclared field must be left at
_NEUTRAL = {"depth": None, "width": None, "normalization": "none", "dropout": 0.0,
            "residual": False}  # fmt: skip
_PROBE_BATCH = 2


def is_reference(name: Any) -> bool:
    """Whether ``name`` names a user's factory (``"package.module:factory"``), not a catalog
    architecture."""
    return isinstance(name, str) and ":" in name


def _parse(reference: str) -> tuple[str, str]:
    module, _, attr = reference.strip().partition(":")
    if not (_NAME.fullmatch(module) and _NAME.fullmatch(attr)):
        raise ActlabError(
            f"model {reference!r} is not 'package.module:factory' (a module path, a colon and "
            "the factory's name)"
        )
    return module, attr


def _import(module: str, reference: str) -> Any:
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name is not None and (module == e.name or module.startswith(e.name + ".")):
            raise UnknownNameError(
                f"model {reference!r}: no module named {e.name!r} (run actlab in the folder "
                "that holds it, or add that folder to PYTHONPATH)"
            ) from None
        raise ActlabError(f"model {reference!r}: importing {module} failed: {e}") from None
    except Exception as e:  # the user's module raised while importing
        raise ActlabError(
            f"model {reference!r}: importing {module} raised {type(e).__name__}: {_line(e)}"
        ) from None


def resolve(reference: str) -> Callable[..., Any]:
    """The factory ``"package.module:factory"`` names (``factory`` may be ``Class.method``)."""
    module_name, attr = _parse(reference)
    obj = _import(module_name, reference)
    where = module_name
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")]
            near = closest(part, [n for n in names if callable(getattr(obj, n, None))])
            hint = f"; did you mean: {', '.join(near)}?" if near else ""
            raise UnknownNameError(f"model {reference!r}: {where} has no {part!r}{hint}")
        obj, where = getattr(obj, part), f"{where}.{part}"
    if not callable(obj) or isinstance(obj, nn.Module):
        raise ActlabError(
            f"model {reference!r}: {where} is a {type(obj).__name__} object, not a function "
            "that builds an nn.Module (def factory(activation, ...): return model)"
        )
    return obj


def reference_of(factory: Any) -> str:
    """``"module:qualname"`` of a factory defined at module level (a string is returned as
    given); a lambda, a local function or one defined in the script being run is refused."""
    if isinstance(factory, str):
        return factory
    if not callable(factory):
        raise ActlabError(
            f"model={factory!r} is neither an architecture name, a 'package.module:factory' "
            "reference nor a function"
        )
    module = getattr(factory, "__module__", None)
    qualname = getattr(factory, "__qualname__", None) or ""
    what = getattr(factory, "__name__", type(factory).__name__)
    if "<" in qualname or not module or not qualname:
        raise ActlabError(
            f"model={what}: a lambda or a function defined inside another one cannot be found "
            "again by name; define the factory at module level"
        )
    if module == "__main__":
        raise ActlabError(
            f"model={what} is defined in the script being run (__main__), which the store and "
            f"the CLI cannot import again; put it in a module (e.g. mymodel.py) and pass "
            f"model='mymodel:{qualname}' or the function imported from there"
        )
    reference = f"{module}:{qualname}"
    try:
        found = resolve(reference)
    except ActlabError:
        found = None
    if found is not factory:
        raise ActlabError(
            f"model={what}: {reference} does not name this function (it was replaced or "
            "wrapped); define the factory at module level"
        )
    return reference


class ActivationFactory:
    """What a factory receives as ``activation``: ``activation()`` returns a fresh
    :class:`actlab.nn.Activation` of the variant's activation and parameters, like ``nn.ReLU()``;
    keyword arguments (``dim=1``) are added to the parameters. ``name`` and ``params`` are the
    catalog name and parameters (a factory may branch on them); ``calls`` counts the modules made.
    """

    def __init__(self, name: str, params: dict[str, Any]) -> None:
        self.name, self.params, self.calls = name, dict(params), 0

    def __call__(self, **params: Any) -> Activation:
        self.calls += 1
        return Activation(self.name, **{**self.params, **params})

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"activation({self.name!r}{args})"


_REQUIRED = inspect.Parameter.empty


def _declared(reference: str, factory: Callable[..., Any]) -> dict[str, Any]:
    """``{field: default}`` for the model fields the factory's signature declares (``_REQUIRED``
    without a default); refuses a signature actlab cannot call."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return {"activation": _REQUIRED}  # a builtin: call it with the activation only
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    known = ("activation", *SIZES, *FROM_DATA)
    out = {}
    for p in signature.parameters.values():
        if p.name in known and p.kind in keyword:
            out[p.name] = p.default
        elif p.default is _REQUIRED and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise ActlabError(
                f"model {reference!r}: the factory's parameter {p.name!r} has no default and "
                f"is not a field actlab passes ({', '.join(known)})"
            )
    if "activation" not in out:
        raise ActlabError(
            f"model {reference!r}: the factory must take the variant's activation as the "
            "keyword argument 'activation' (def factory(activation, ...))"
        )
    return out


def _param(p: Any, declared: dict[str, Any]) -> Any:
    """A catalog size parameter with the factory's default (when it has a valid one)."""
    if p.name not in _NEUTRAL:  # pieces: maxout is refused (check_spec)
        return p
    if p.name not in declared:
        return dataclasses.replace(p, default=_NEUTRAL[p.name])
    default = declared[p.name]
    try:
        valid = default is not _REQUIRED and p.validate(default) == default
    except ParameterError:
        valid = False
    return dataclasses.replace(p, default=default if valid else _NEUTRAL[p.name])


def model_info(reference: str) -> ModelInfo:
    """The :class:`ModelInfo` of ``"package.module:factory"``: its name is the reference, its
    parameters the sizes (with the factory's defaults), and its builder calls the factory."""
    factory = resolve(reference)
    declared = _declared(reference, factory)
    params = tuple(_param(p, declared) for p in hyperparams(1, 1))
    info = ModelInfo(
        name=reference.strip(),
        summary=f"your model: {getattr(factory, '__doc__', None) or reference}".split("\n")[0],
        params=params,
        check=functools.partial(_check_sizes, declared),
        builder=functools.partial(_builder, factory, declared, params),
        check_spec=functools.partial(_check_spec, factory, declared, params),
        global_seed=True,
    )
    return info


def _check_sizes(declared: dict[str, Any], values: dict[str, Any]) -> str | None:
    for key, neutral in _NEUTRAL.items():
        if key not in declared and values[key] != neutral:
            takes = ", ".join(k for k in declared if k != "activation") or "only activation"
            return f"the factory does not take {key} (its signature declares: {takes})"
        if key in declared and declared[key] is _REQUIRED and values[key] is None:
            return f"the factory needs {key} (it has no default): give it, e.g. --{key} N"
    return None


def _kwargs(spec: ModelSpec, declared: dict[str, Any], params: tuple[Any, ...]) -> dict[str, Any]:
    defaults = {p.name: p.default for p in params}
    kwargs: dict[str, Any] = {}
    for key in declared:
        if key in SIZES:
            value = getattr(spec, key)
            if declared[key] is _REQUIRED or value != defaults[key]:
                kwargs[key] = value
        elif key in FROM_DATA:
            kwargs[key] = getattr(spec, key)
    return kwargs


def _builder(factory, declared, params, spec: ModelSpec) -> nn.Module:
    """The model ``spec`` names (what :func:`~actlab.models.build` initializes)."""
    try:
        return _build(factory, declared, params, spec)
    except ActlabError as e:
        raise ActlabError(f"{spec.kind}: {e}") from None


def _build(factory, declared, params, spec: ModelSpec, activation=None) -> nn.Module:
    """Call the factory for ``spec``; a failure is one line (without the factory's name)."""
    activation = activation or ActivationFactory(spec.activation, spec.activation_kwargs)
    try:
        model = factory(activation=activation, **_kwargs(spec, declared, params))
    except Exception as e:
        raise ActlabError(f"the factory raised {type(e).__name__}: {_line(e)}") from None
    if not isinstance(model, nn.Module):
        what = f"{type(model).__name__} {model!r:.40}"
        raise ActlabError(f"the factory returned {what}, not an nn.Module")
    return model


def _check_spec(factory, declared, params, spec: ModelSpec) -> str | None:
    """Build the model once and run a batch of zeros through it: the problem in one line, or
    ``None``. Cached per factory, activation and sizes (the initializer changes no shape)."""
    if spec.maxout:
        return "maxout is not available for your own model (it changes the layers' widths)"
    sizes = tuple(getattr(spec, k) for k in (*SIZES, *FROM_DATA))
    key = (factory, spec.activation, spec.activation_params, sizes)
    if key not in _PROBED:
        made = ActivationFactory(spec.activation, spec.activation_kwargs)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                model = _build(factory, declared, params, spec, made)
                _PROBED[key] = _forward_problem(model, spec) if made.calls else _UNUSED
        except ActlabError as e:
            _PROBED[key] = str(e)
        if len(_PROBED) > 256:
            _PROBED.pop(next(iter(_PROBED)))
    return _PROBED[key]


_PROBED: dict[tuple, str | None] = {}
_UNUSED = (
    "the factory never calls activation(), so the variants' activation would change nothing; "
    "build the model's activations with it (nn.Sequential(nn.Linear(4, 8), activation(), ...))"
)


def _forward_problem(model: nn.Module, spec: ModelSpec) -> str | None:
    x = torch.zeros(_PROBE_BATCH, *spec.input_shape)
    model.eval()
    try:
        with torch.no_grad():
            y = model(x)
    except Exception as e:
        return (
            f"the model's forward raised {type(e).__name__} on a batch of shape "
            f"{tuple(x.shape)} (the data's input_shape {spec.input_shape}): {_line(e)}"
        )
    want = (_PROBE_BATCH, spec.n_outputs)
    if not isinstance(y, torch.Tensor):
        return f"the model returned a {type(y).__name__}, not a tensor of shape {want}"
    if tuple(y.shape) != want:
        return (
            f"the model maps a batch of shape {tuple(x.shape)} to {tuple(y.shape)}; the data "
            f"needs {want} ({spec.n_outputs} outputs per example)"
        )
    return None


def source_modules(reference: str, models: Iterable[nn.Module] = ()) -> dict[str, str]:
    """``{module name: file}`` of the source that determines the model: the factory's module and
    the modules defining the classes in ``models``' module trees (torch's and actlab's
    excepted), for fingerprinting."""
    factory = resolve(reference)
    names = {getattr(factory, "__module__", None) or _parse(reference)[0]}
    for model in models:
        names |= {type(m).__module__ for m in model.modules()}
    out = {}
    for name in sorted(names):
        if name.split(".")[0] in ("torch", "actlab", "builtins"):
            continue
        path = getattr(sys.modules.get(name), "__file__", None)
        if path:
            out[name] = path
    return out


def _line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
