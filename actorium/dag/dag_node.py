"""``DAGNode``: one step of a lazily built graph of tasks and actor calls (Ray's DAG API).

``f.bind(x)`` does not run anything: it records the call as a node whose arguments may be
other nodes. ``node.execute(...)`` walks the graph from the leaves, makes every call once with
``.remote()`` (passing the ObjectRef of each upstream node as the argument, so the core runs
them in dependency order), and returns what the node itself yields: an ObjectRef for a task or
actor call, an actor handle for an actor class, a list for a ``MultiOutputNode``.

Everything that can be checked is checked when the node is built, so a wrong graph fails at
``bind()``: arguments against the function's signature, method names, an ``InputNode`` passed
to an actor's constructor, two different ``InputNode``s in one graph.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actorium.dag.input_node import InputNode

__all__ = ["DAGNode"]


class DAGNode:
    """A node of a DAG: bound arguments (values and other nodes) and options."""

    def __init__(self, args: tuple[Any, ...], kwargs: dict[str, Any],
                 options: dict[str, Any] | None = None) -> None:
        self._bound_args = tuple(args)
        self._bound_kwargs = dict(kwargs)
        self._bound_options = dict(options or {})
        self._stable_uuid = uuid.uuid4().hex
        self._input_node = _single_input(self._upstream())

    # ------------------------------------------------------------------ introspection
    def get_args(self) -> tuple[Any, ...]:
        """The bound positional arguments (nodes stay nodes)."""
        return self._bound_args

    def get_kwargs(self) -> dict[str, Any]:
        """A copy of the bound keyword arguments."""
        return dict(self._bound_kwargs)

    def get_options(self) -> dict[str, Any]:
        """A copy of the options the call will be made with."""
        return dict(self._bound_options)

    def get_stable_uuid(self) -> str:
        """An id of this node that never changes."""
        return self._stable_uuid

    def _upstream(self) -> list[DAGNode]:
        """The nodes this one needs before it can run, in the order they are submitted."""
        return list(_nodes_in((self._bound_args, self._bound_kwargs)))

    def _input(self) -> InputNode | None:
        return self._input_node

    # ------------------------------------------------------------------ running
    def execute(self, *args: Any, **kwargs: Any) -> Any:
        """Run the graph once; returns at once with the refs (or handles) of this node.

        The arguments are the graph's input: one value is what the ``InputNode`` stands for;
        several (or keywords) are read with ``input[0]`` / ``input.name``. Each execution
        makes new calls; actors created by ``ActorClass.bind()`` nodes are new each time,
        while actors bound through an existing handle (``handle.method.bind``) are reused.
        Does not block (except to create a named actor); errors of the calls surface when
        the refs are read.
        """
        source = self._input()
        if source is None and (args or kwargs):
            raise TypeError(f"{self!r}: this DAG has no InputNode, so execute() takes no "
                            f"arguments (got {len(args)} positional, {len(kwargs)} keyword)")
        if source is not None and not (args or kwargs):
            raise TypeError(f"{self!r}: this DAG reads an InputNode; pass its value to "
                            f"execute(...)")
        run = Execution(args, kwargs)
        return run.value_of(self)

    def _execute_impl(self, run: Execution) -> Any:
        raise NotImplementedError

    def experimental_compile(self, *args: Any, **kwargs: Any) -> Any:
        """Compiled graphs (Ray's accelerated DAG channels) are not supported."""
        raise NotImplementedError("actorium has no compiled graphs; call execute() on the DAG "
                                  "(each node becomes an ordinary task or actor call)")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._label()})"

    def _label(self) -> str:
        return ""


class Execution:
    """One run of a graph: the value of every node, computed once, leaves first."""

    def __init__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.args = args
        self.kwargs = kwargs
        self._values: dict[int, Any] = {}

    def value_of(self, root: DAGNode) -> Any:
        # Iterative post-order walk: a chain of thousands of nodes must not hit the
        # recursion limit.
        stack: list[tuple[DAGNode, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in self._values:
                continue
            if expanded:
                self._values[id(node)] = node._execute_impl(self)
                continue
            stack.append((node, True))
            for upstream in reversed(node._upstream()):
                if id(upstream) not in self._values:
                    stack.append((upstream, False))
        return self._values[id(root)]

    def resolve(self, value: Any) -> Any:
        """``value`` with every node in it (also inside lists, tuples, dicts) replaced by its
        result; nodes must have been computed already."""
        if isinstance(value, DAGNode):
            return self._values[id(value)]
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self.resolve(item) for item in value)
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        return value

    def arguments(self, node: DAGNode) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return self.resolve(node._bound_args), self.resolve(node._bound_kwargs)


def _nodes_in(value: Any) -> Iterator[DAGNode]:
    if isinstance(value, DAGNode):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _nodes_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _nodes_in(item)


def _single_input(upstream: list[DAGNode]) -> InputNode | None:
    found: InputNode | None = None
    for node in upstream:
        candidate = node._input()
        if candidate is None:
            continue
        if found is not None and candidate is not found:
            raise ValueError("a DAG can have only one InputNode; this node combines nodes "
                             "that read two different ones")
        found = candidate
    return found
