"""Fleet queries: conditions on twin documents, compiled to SQL for sqlite or PostgreSQL.

``Field("reported.temp") > 30``, ``Field("links.site") == "lyon"``, ``.isin(...)``,
``.between(lo, hi)``, ``.exists()``, combined with ``&``, ``|`` and ``~``. A condition is
evaluated by the database over the twin index (one JSON document per twin, written in the
same transaction as the twin's state), never by calling twins. ``related(...)`` follows a
relationship: the twins whose link points at a twin matching another condition.

Comparisons are typed as in JSON: ``> 30`` matches numbers only (a string "40" never does),
``== True`` matches the boolean only (not 1), and ``!=`` also matches twins without the
field. The two databases give the same answers; the suite runs every test on both.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

_SEGMENT = re.compile(r"^[A-Za-z0-9_\-]+$")
_ORDERINGS = ("<", "<=", ">", ">=")


class _Sql:
    """One statement being compiled: its dialect, its parameters, fresh table aliases."""

    def __init__(self, dialect: str, params: list[Any] | None = None) -> None:
        self.dialect = dialect
        self.params: list[Any] = params if params is not None else []
        self._aliases = 0

    def param(self, value: Any) -> str:
        self.params.append(value)
        return "?" if self.dialect == "sqlite" else f"${len(self.params)}"

    def alias(self) -> str:
        self._aliases += 1
        return f"r{self._aliases}"

    def path(self, path: tuple[str, ...]) -> str:
        """The path of a field as a literal (``'$."reported"."temp"'`` in sqlite,
        ``'{reported,temp}'::text[]`` in PostgreSQL), not a parameter: the planners match
        an index on an expression only if the query holds the same expression. Safe, since
        a segment holds only letters, digits, ``_`` and ``-`` (``Field`` checks)."""
        if not path or not all(_SEGMENT.match(step) for step in path):
            raise ValueError(f"not a field path: {path!r}")
        if self.dialect == "sqlite":
            return "'$" + "".join(f'."{step}"' for step in path) + "'"
        return "'{" + ",".join(path) + "}'::text[]"

    def extract(self, column: str, path: tuple[str, ...]) -> str:
        """The value of a field (what comparisons, orderings and field indexes use)."""
        if self.dialect == "sqlite":
            return f"json_extract({column}, {self.path(path)})"
        return f"({column} #> {self.path(path)})"


def index_sql(dialect: str, path: tuple[str, ...]) -> str:
    """The field index of ``path`` on the twin index (made by the first query of it)."""
    name = "twin_index_f_" + hashlib.blake2b(".".join(path).encode(), digest_size=8).hexdigest()
    return (f"CREATE INDEX IF NOT EXISTS {name} ON twin_index "
            f"(type_name, {_Sql(dialect).extract('doc', path)})")


def fields_of(condition: Condition | None) -> set[tuple[str, ...]]:
    """The field paths a condition compares (the sqlite store indexes them)."""
    if condition is None:
        return set()
    if isinstance(condition, (_Compare, _Exists)):
        return {condition.path}
    if isinstance(condition, _Bool):
        return set().union(*(fields_of(part) for part in condition.parts))
    if isinstance(condition, _Not):
        return fields_of(condition.inner)
    if isinstance(condition, _Related):
        return {("links", condition.relation)} | fields_of(condition.condition)
    return set()


class Condition:
    """A test on a twin's document; combine with ``&`` (and), ``|`` (or), ``~`` (not)."""

    def sql(self, out: _Sql, column: str) -> str:
        raise NotImplementedError

    def __and__(self, other: Condition) -> Condition:
        return _Bool("AND", (self, _condition(other)))

    def __or__(self, other: Condition) -> Condition:
        return _Bool("OR", (self, _condition(other)))

    def __invert__(self) -> Condition:
        return _Not(self)

    def __bool__(self) -> bool:
        raise TypeError("a twin query condition has no truth value: combine conditions with "
                        "& and |, not 'and'/'or' (and put comparisons in parentheses)")


def _condition(value: Any) -> Condition:
    if not isinstance(value, Condition):
        raise TypeError(f"expected a twin query condition (Field(...) == ...), got {value!r}")
    return value


def compile_where(condition: Condition | None, out: _Sql, column: str) -> str:
    """The SQL of ``condition`` over the JSON ``column`` (``TRUE`` for no condition)."""
    if condition is None:
        return "1=1"
    return _condition(condition).sql(out, column)


class Field:
    """A path into a twin's document: ``Field("reported.temp")``, ``Field("links.site")``.

    The document has ``desired``, ``reported``, ``delta`` (what is desired and not yet
    reported), ``links`` and ``version``. Segments are letters, digits, ``_`` and ``-``.
    """

    __hash__ = None  # type: ignore[assignment]   # == builds a condition

    def __init__(self, path: str) -> None:
        if not isinstance(path, str) or not path:
            raise ValueError(f"a field is a dotted path such as 'reported.temp', got {path!r}")
        steps = tuple(path.split("."))
        bad = [step for step in steps if not _SEGMENT.match(step)]
        if bad:
            raise ValueError(f"field {path!r}: segment {bad[0]!r} may hold only letters, "
                             f"digits, '_' and '-'")
        self.path = steps

    def __repr__(self) -> str:
        return f"Field({'.'.join(self.path)!r})"

    def __eq__(self, value: Any) -> Condition:  # type: ignore[override]
        return _Compare(self.path, "=", _scalar(self, value, equality=True))

    def __ne__(self, value: Any) -> Condition:  # type: ignore[override]
        return _Not(self == value)

    def __lt__(self, value: Any) -> Condition:
        return _Compare(self.path, "<", _scalar(self, value))

    def __le__(self, value: Any) -> Condition:
        return _Compare(self.path, "<=", _scalar(self, value))

    def __gt__(self, value: Any) -> Condition:
        return _Compare(self.path, ">", _scalar(self, value))

    def __ge__(self, value: Any) -> Condition:
        return _Compare(self.path, ">=", _scalar(self, value))

    def isin(self, values: Iterable[Any]) -> Condition:
        """Equal to one of ``values`` (a non-empty list, set or tuple)."""
        if isinstance(values, (str, bytes, dict)) or not isinstance(values, Iterable):
            raise TypeError(f"{self!r}.isin() takes a list of values, got {values!r}")
        options: list[Condition] = [self == value for value in values]
        if not options:
            raise ValueError(f"{self!r}.isin() needs at least one value")
        return options[0] if len(options) == 1 else _Bool("OR", tuple(options))

    def between(self, low: Any, high: Any) -> Condition:
        """``low <= field <= high`` (both ends included)."""
        return _Bool("AND", (self.__ge__(low), self.__le__(high)))

    def exists(self) -> Condition:
        """The document has this field (with any value, null included)."""
        return _Exists(self.path)


def related(relation: str, condition: Condition | None = None, *,
            of: Any) -> Condition:
    """Twins whose link ``relation`` names a twin of type ``of`` matching ``condition``.

    ``related("gateway", Field("reported.online") == False, of=Gateway)``: the
    devices behind an offline gateway. Nest it to follow several hops (device -> gateway ->
    site). Evaluated in the database as a subquery over the same index.
    """
    if not isinstance(relation, str) or not _SEGMENT.match(relation):
        raise ValueError(f"a relation is a name such as 'gateway', got {relation!r}")
    type_name = of if isinstance(of, str) else getattr(of, "type_name", None)
    if not isinstance(type_name, str) or not type_name:
        raise TypeError(f"related(): of= is a twin type or its type name, got {of!r}")
    return _Related(relation, type_name, None if condition is None else _condition(condition))


def _scalar(field: Field, value: Any, *, equality: bool = False) -> Any:
    if isinstance(value, bool):
        if not equality:
            raise TypeError(f"{field!r}: booleans are compared with == and != only")
        return value
    if isinstance(value, (int, float, str)):
        return value
    if value is None:
        raise TypeError(f"{field!r} == None: use ~{field!r}.exists() for a missing field")
    raise TypeError(f"{field!r} is compared with a number, a string or a boolean, got "
                    f"{type(value).__name__} {value!r}")


class _Compare(Condition):
    def __init__(self, path: tuple[str, ...], op: str, value: Any) -> None:
        self.path, self.op, self.value = path, op, value

    def sql(self, out: _Sql, column: str) -> str:
        value = self.value
        if out.dialect == "sqlite":
            kind = ("'true'" if value else "'false'") if isinstance(value, bool) else \
                "'text'" if isinstance(value, str) else "'integer', 'real'"
            typed = f"json_type({column}, {out.path(self.path)}) IN ({kind})"
            if isinstance(value, bool):
                return f"({typed})"
            return f"({typed} AND {out.extract(column, self.path)} {self.op} " \
                   f"{out.param(value)})"
        if self.op == "=":   # containment: answered from the GIN index
            nested: Any = value
            for step in reversed(self.path):
                nested = {step: nested}
            return f"({column} @> {out.param(json.dumps(nested))}::jsonb)"
        kind = "string" if isinstance(value, str) else "number"
        at = out.extract(column, self.path)
        return f"(jsonb_typeof({at}) = '{kind}' AND {at} {self.op} " \
               f"{out.param(json.dumps(value))}::jsonb)"


class _Exists(Condition):
    def __init__(self, path: tuple[str, ...]) -> None:
        self.path = path

    def sql(self, out: _Sql, column: str) -> str:
        if out.dialect == "sqlite":
            return f"(json_type({column}, {out.path(self.path)}) IS NOT NULL)"
        return f"(({column} #> {out.path(self.path)}) IS NOT NULL)"


class _Bool(Condition):
    def __init__(self, op: str, parts: tuple[Condition, ...]) -> None:
        self.op, self.parts = op, parts

    def sql(self, out: _Sql, column: str) -> str:
        return "(" + f" {self.op} ".join(part.sql(out, column) for part in self.parts) + ")"


class _Not(Condition):
    def __init__(self, inner: Condition) -> None:
        self.inner = inner

    def sql(self, out: _Sql, column: str) -> str:
        # NULL (a missing field) counts as false, so that ~ matches twins without it.
        return f"(NOT COALESCE({self.inner.sql(out, column)}, FALSE))"


class _Related(Condition):
    def __init__(self, relation: str, type_name: str, condition: Condition | None) -> None:
        self.relation, self.type_name, self.condition = relation, type_name, condition

    def sql(self, out: _Sql, column: str) -> str:
        alias = out.alias()
        if out.dialect == "sqlite":
            link = f"json_extract({column}, {out.path(('links', self.relation))})"
        else:
            link = f"({column} #>> {out.path(('links', self.relation))})"
        # Parameters in the order they appear in the text ('?' is positional in sqlite).
        of_type = out.param(self.type_name)
        inner = compile_where(self.condition, out, f"{alias}.doc")
        return (f"({link} IN (SELECT {alias}.key FROM twin_index {alias} WHERE "
                f"{alias}.type_name = {of_type} AND {inner}))")
