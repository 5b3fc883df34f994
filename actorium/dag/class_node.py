"""Actors in a DAG: ``ActorClass.bind(...)`` (``ClassNode``), and method calls bound on it or
on a live handle (``ClassMethodNode``).

A ``ClassNode`` creates a new actor each time its DAG executes; calls bound on it run on that
actor in the order they were bound (each waits for the previous one to be submitted, as in
Ray). A method bound on an existing handle (``handle.method.bind(...)``) calls that actor, so
it keeps its state across executions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from actorium.dag.dag_node import DAGNode

if TYPE_CHECKING:
    from actorium.dag.dag_node import Execution

__all__ = ["ClassMethodNode", "ClassNode"]


class ClassNode(DAGNode):
    """Creates an actor when the DAG executes (a new one each time); yields its handle.

    ``node.method.bind(...)`` makes a ``ClassMethodNode``. ``methods`` maps each method name
    to what ``bind`` checks (its argument check and number of returns).
    """

    def __init__(self, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                 name: str, methods: Mapping[str, Any]) -> None:
        self._target = target
        self._name = name
        self._methods = methods
        self._last_call: ClassMethodNode | None = None
        super().__init__(args, kwargs)
        if self._input_node is not None:
            raise ValueError(f"{name}.bind(): an InputNode cannot be an argument of an actor's "
                             f"constructor (the actor is created before any input exists); "
                             f"pass the input to a method instead")

    def __getattr__(self, name: str) -> _UnboundMethod:
        if name.startswith("_"):
            raise AttributeError(name)
        info = self._methods.get(name)
        if info is None:
            if name == "bind":
                raise AttributeError(f".bind() cannot be used again on {self!r}")
            raise AttributeError(f"actor class {self._name} has no method {name!r}; its "
                                 f"methods are: {', '.join(sorted(self._methods)) or '(none)'}")
        return _UnboundMethod(self, name, info)

    def _execute_impl(self, run: Execution) -> Any:
        args, kwargs = run.arguments(self)
        return self._target.remote(*args, **kwargs)

    def _label(self) -> str:
        return self._name


class _UnboundMethod:
    """``class_node.method``: ``.bind(...)`` it (optionally after ``.options(...)``)."""

    def __init__(self, actor: ClassNode, name: str, info: Any,
                 options: dict[str, Any] | None = None) -> None:
        self._actor = actor
        self._name = name
        self._info = info
        self._options = options or {}

    def options(self, **options: Any) -> _UnboundMethod:
        unknown = set(options) - {"num_returns"}
        if unknown:
            raise TypeError(f"{self._actor._name}.{self._name}.options(): unknown option(s) "
                            f"{', '.join(sorted(unknown))}; a bound method takes num_returns")
        return _UnboundMethod(self._actor, self._name, self._info, {**self._options, **options})

    def bind(self, *args: Any, **kwargs: Any) -> ClassMethodNode:
        if self._info.check is not None:
            self._info.check.check(args, kwargs)
        node = ClassMethodNode(self._actor, self._name, args, kwargs, self._options,
                               previous=self._actor._last_call)
        self._actor._last_call = node
        return node

    def remote(self, *_args: Any, **_kwargs: Any) -> Any:
        raise AttributeError(".remote() cannot be used on a method of a bound actor class; "
                             "use .bind() to add the call to the DAG")


class ClassMethodNode(DAGNode):
    """Calls a method when the DAG executes; yields its ObjectRef (a list for several returns).

    ``parent`` is a ``ClassNode`` (the actor the DAG creates) or a live actor's method
    (``handle.method``). ``output_index`` picks one return of a multi-return call.
    """

    def __init__(self, parent: Any, method_name: str, args: tuple[Any, ...],
                 kwargs: dict[str, Any], options: dict[str, Any] | None = None, *,
                 previous: ClassMethodNode | None = None,
                 output_index: int | None = None) -> None:
        self._parent = parent
        self._method_name = method_name
        self._previous = previous
        self._output_index = output_index
        super().__init__(args, kwargs, options)

    def get_method_name(self) -> str:
        return self._method_name

    @property
    def is_class_method_output(self) -> bool:
        """Whether this node is one return of a multi-return call (not a call itself)."""
        return self._output_index is not None

    def _upstream(self) -> list[DAGNode]:
        upstream: list[DAGNode] = []
        if isinstance(self._parent, DAGNode):
            upstream.append(self._parent)
        if self._previous is not None:
            upstream.append(self._previous)
        return upstream + super()._upstream()

    def _execute_impl(self, run: Execution) -> Any:
        if self._output_index is not None:
            return run.resolve(self._bound_args[0])[self._output_index]
        args, kwargs = run.arguments(self)
        if isinstance(self._parent, ClassNode):
            method = getattr(run.resolve(self._parent), self._method_name)
        else:
            method = self._parent
        if self._bound_options:
            method = method.options(**self._bound_options)
        return method.remote(*args, **kwargs)

    def _label(self) -> str:
        if self._output_index is not None:
            return f"{self._method_name}[{self._output_index}]"
        return f"{self._method_name}()"


def bind_handle_method(method: Any, name: str, num_returns: int, args: tuple[Any, ...],
                       kwargs: dict[str, Any]) -> Any:
    """``handle.method.bind(...)`` (arguments already checked): one node, or a tuple of
    nodes, one per return, when the method has several."""
    call = ClassMethodNode(method, name, args, kwargs)
    if num_returns <= 1:
        return call
    return tuple(ClassMethodNode(method, name, (call,), {}, output_index=index)
                 for index in range(num_returns))
