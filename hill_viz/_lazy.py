"""Lazy package exports: a package names its API in `__all__` and imports each name on first use.

So `import hill_viz` (and the `hill-viz` command line, which starts there) stays quick and
loads neither torch nor Panel until a name that needs them is used.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(namespace: dict, exports: dict[str, tuple[str, ...]]) -> tuple[Callable, Callable]:
    """`__getattr__` and `__dir__` for the package whose globals are `namespace`.

    `exports` maps a module to the names it defines; a name is imported from its module
    when first looked up, then kept in the package's namespace.
    """
    package = namespace["__name__"]
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name]), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__
