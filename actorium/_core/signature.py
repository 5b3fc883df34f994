"""Checking call arguments against a signature at ``.remote()`` time, cheaply.

``inspect.Signature.bind`` costs microseconds; most remote functions take a few positional
parameters, so the common case is checked by counting, and ``bind`` runs only otherwise (and
to produce the error message).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


class ArgumentCheck:
    """Validates ``(args, kwargs)`` for one callable; raises TypeError naming it."""

    __slots__ = ("_signature", "_label", "_min_positional", "_max_positional", "_simple")

    def __init__(self, function: Callable[..., Any], label: str, *,
                 skip_first: bool = False) -> None:
        self._label = label
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):  # builtins without a signature: accept anything
            self._signature = None
            self._simple = False
            self._min_positional = self._max_positional = 0
            return
        parameters = list(signature.parameters.values())
        if skip_first and parameters:
            parameters = parameters[1:]
            signature = signature.replace(parameters=parameters)
        self._signature = signature
        kinds = {p.kind for p in parameters}
        self._simple = kinds <= {inspect.Parameter.POSITIONAL_ONLY,
                                 inspect.Parameter.POSITIONAL_OR_KEYWORD}
        self._max_positional = len(parameters)
        self._min_positional = sum(1 for p in parameters if p.default is inspect.Parameter.empty)

    def check(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if self._signature is None:
            return
        if self._simple and not kwargs and \
                self._min_positional <= len(args) <= self._max_positional:
            return
        try:
            self._signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self._label}: {exc} (signature: {self._label}"
                            f"{self._signature})") from None
