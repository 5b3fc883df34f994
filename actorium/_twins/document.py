"""Twin documents: JSON-like values, merge patches and the delta between desired and reported.

A twin's *desired* and *reported* states are JSON objects. Both change by *merge patch*
(the rule of RFC 7396, the one AWS IoT shadows and Eclipse Ditto's merge updates use too): an
object in the patch merges into the object in the document key by key, ``None`` deletes a
key, anything else replaces the value. The *delta* is what the device still has to apply:
every leaf of desired that reported does not hold with the same value.
"""

from __future__ import annotations

import math
from typing import Any

# How deep a document may nest: deep enough for any device, shallow enough that a hostile
# payload cannot blow the stack of the worker that merges it.
MAX_DEPTH = 32


def check_document(value: Any, where: str, *, depth: int = 0) -> None:
    """Raise ``ValueError`` naming the first part of ``value`` that is not JSON.

    Accepted: dicts with str keys, lists, str, int, finite float, bool, None. Tuples are
    refused rather than silently turned into lists, so what is stored is what was sent.
    """
    if depth > MAX_DEPTH:
        raise ValueError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: {value!r} is not a JSON number")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: key {key!r} is not a string")
            check_document(item, f"{where}.{key}", depth=depth + 1)
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            check_document(item, f"{where}[{index}]", depth=depth + 1)
        return
    raise ValueError(f"{where}: {type(value).__name__} {value!r} is not JSON (use dicts, "
                     f"lists, strings, numbers, booleans and None)")


def check_patch(patch: Any, where: str) -> dict[str, Any]:
    """A patch is a JSON object (a dict); anything else is a ``TypeError``/``ValueError``."""
    if not isinstance(patch, dict):
        raise TypeError(f"{where}: a patch is a dict of fields, got {type(patch).__name__} "
                        f"{patch!r}")
    check_document(patch, where)
    return patch


def merge(document: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``document`` with ``patch`` merged in (a new dict; neither argument is changed)."""
    merged = dict(document)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict):
            current = merged.get(key)
            merged[key] = merge(current if isinstance(current, dict) else {}, value)
        else:
            merged[key] = value
    return merged


def effective(document: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The part of ``patch`` that changes ``document`` (empty: the patch changes nothing).

    Recorded in the history instead of the patch as sent, so that a device repeating its
    whole state every second leaves one entry per real change, not one per message.
    """
    changed: dict[str, Any] = {}
    for key, value in patch.items():
        if value is None:
            if key in document:
                changed[key] = None
        elif isinstance(value, dict) and isinstance(document.get(key), dict):
            inner = effective(document[key], value)
            if inner:
                changed[key] = inner
        elif isinstance(value, dict):
            changed[key] = value   # replaces a value that was not an object, or adds it
        elif key not in document or not _same(document[key], value):
            changed[key] = value
    return changed


def delta(desired: dict[str, Any], reported: dict[str, Any]) -> dict[str, Any]:
    """What the device still has to apply: desired leaves that reported lacks or differs on."""
    out: dict[str, Any] = {}
    for key, want in desired.items():
        have = reported.get(key, _MISSING)
        if isinstance(want, dict) and isinstance(have, dict):
            inner = delta(want, have)
            if inner:
                out[key] = inner
        elif have is _MISSING or not _same(want, have):
            out[key] = want
    return out


def get_path(document: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` (``("reported", "temp")``) or ``None`` if any step is missing."""
    for step in path:
        if not isinstance(document, dict):
            return None
        document = document.get(step)
    return document


_MISSING = object()


def _same(a: Any, b: Any) -> bool:
    # 1 == True in Python, not in JSON: a device reporting true for a desired 1 is a change.
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) \
        else a == b
