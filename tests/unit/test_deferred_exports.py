"""The packages that re-export on first use (`atb.strategies`, `atb.managers`) still hand out
every public name, each the object its own module defines; an unknown name is an
AttributeError."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from atb.deferred_modules import DeferredModule

PACKAGES = ("atb.strategies", "atb.managers")


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_resolves_to_its_module_s_object(name: str) -> None:
    package = importlib.import_module(name)
    public = list(package.__all__)
    assert public
    for attribute in public:
        value = getattr(package, attribute)
        defined_in = getattr(value, "__module__", None)
        if isinstance(defined_in, str) and defined_in.startswith(name + "."):
            assert getattr(importlib.import_module(defined_in), attribute, value) is value


@pytest.mark.parametrize("name", PACKAGES)
def test_an_unknown_name_is_an_attribute_error(name: str) -> None:
    package = importlib.import_module(name)
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        _ = package.no_such_name


def test_importing_a_submodule_does_not_import_its_siblings() -> None:
    script = (
        "import sys\n"
        "import atb.managers.portable_math\n"
        "print(sorted(m for m in sys.modules if m.startswith('atb.managers.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "['atb.managers.portable_math']"


def test_a_deferred_module_imports_on_the_first_attribute_read() -> None:
    deferred = DeferredModule("json")
    assert "not imported yet" in repr(deferred)
    dumps = deferred.dumps
    assert dumps is importlib.import_module("json").dumps
    assert "imported" in repr(deferred)
    assert "not imported yet" not in repr(deferred)


def test_bool_array_is_still_importable_from_the_strategy_protocol() -> None:
    # Built on first use (numpy is not imported to list strategies), it is numpy's own alias.
    import numpy as np
    import numpy.typing as npt

    from atb.strategies.protocol import BoolArray

    assert BoolArray == npt.NDArray[np.bool_]
    protocol = importlib.import_module("atb.strategies.protocol")
    with pytest.raises(AttributeError, match="has no attribute 'FloatArray'"):
        getattr(protocol, "FloatArray")  # noqa: B009 - a name the module does not define
