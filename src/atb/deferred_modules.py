"""Modules imported when first used, so a command that never needs them does not pay for them.

`atb strategies` lists the built-ins from their classes; importing those classes must not cost
pandas' import (~0.3 s) when nothing is computed. A module that needs pandas only inside its
functions writes::

    if TYPE_CHECKING:
        import pandas as pd          # what mypy checks against
    else:
        pd = DeferredModule("pandas")

and the first attribute read (`pd.DataFrame`, ...) imports pandas, once.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import ModuleType

__all__ = ["DeferredModule", "deferred_exports"]


class DeferredModule:
    """Stands in for the module `name` until an attribute is read, then imports it and hands
    out its attributes."""

    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> object:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<deferred module {self._name!r} ({state})>"


def deferred_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], object]:
    """A package's module `__getattr__` (PEP 562) for re-exported names imported on first use:
    `exports` maps each public name to the submodule (relative to `package`) defining it.

    The package imports the same names under `TYPE_CHECKING` for the type checker; at run time
    importing one submodule no longer imports every other one through the package."""

    def export(name: str) -> object:
        submodule = exports.get(name)
        if submodule is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{submodule}"), name)

    return export
