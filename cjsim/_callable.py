"""Modules that can be called like their main function.

``cjsim.simulate`` is both the engines' package and, in a notebook, the function that
runs one (``cjsim.simulate(model, 10_000)``); likewise ``cjsim.evaluate`` and
``cjsim.report``. Python binds ``cjsim.simulate`` to the package as soon as anything
imports a module inside it, so the name cannot simply hold a function: the package's
module object is given a class with ``__call__`` instead (setting ``__class__`` of a
module is the documented way to customise a module, see the Python data model,
"Customizing module attribute access").
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any


class CallableModule(types.ModuleType):
    """A module whose call runs its main function (``__call_target__()`` gives it)."""

    __call_target__: Callable[[], Callable[..., Any]]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__call_target__()(*args, **kwargs)


def make_callable(name: str, target: Callable[[], Callable[..., Any]]) -> None:
    """Let module NAME be called as the function TARGET() returns (looked up per call,
    so the function's own module is imported only when it is first called)."""
    module = sys.modules[name]
    module.__class__ = CallableModule
    module.__call_target__ = target  # type: ignore[attr-defined]
