"""``InputNode``: the value given to ``execute()``, as a node (with ``[key]`` and ``.name``).

``with InputNode() as inp: dag = f.bind(inp)``; then ``dag.execute(3)`` runs ``f(3)``. With
several arguments (``execute(1, x=2)``) or a container (``execute({"x": 1})``), nodes read
parts of the input: ``inp[0]``, ``inp["x"]``, ``inp.x``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actorium.dag.dag_node import DAGNode

if TYPE_CHECKING:
    from actorium.dag.dag_node import Execution

__all__ = ["DAGInputData", "InputAttributeNode", "InputNode"]


class DAGInputData:
    """What the ``InputNode`` stands for when ``execute()`` got several arguments or keywords:
    ``data[0]`` is a positional one, ``data["x"]`` (or ``inp.x``) a keyword one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = list(args)
        self._kwargs = kwargs

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, int):
            return self._args[key]
        if isinstance(key, str):
            return self._kwargs[key]
        raise TypeError(f"DAG input is read with an int index or a str key, got {key!r}")

    def __repr__(self) -> str:
        return f"DAGInputData(args={self._args!r}, kwargs={self._kwargs!r})"


class InputNode(DAGNode):
    """The DAG's input; one per DAG. Takes no arguments (the value comes at ``execute``)."""

    def __init__(self, *args: Any, input_type: Any = None, **kwargs: Any) -> None:
        if args or kwargs:
            raise ValueError("InputNode() takes no arguments: give the input to execute()")
        self.input_type = input_type
        self._attributes: dict[tuple[str, int | str], InputAttributeNode] = {}
        super().__init__((), {})
        self._input_node = self

    def __enter__(self) -> InputNode:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def __getattr__(self, name: str) -> InputAttributeNode:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._attribute("attribute", name)

    def __getitem__(self, key: int | str) -> InputAttributeNode:
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise TypeError(f"an InputNode is indexed with an int or a str, got {key!r}")
        return self._attribute("item", key)

    def _attribute(self, how: str, key: int | str) -> InputAttributeNode:
        node = self._attributes.get((how, key))
        if node is None:
            node = self._attributes[(how, key)] = InputAttributeNode(self, key, how)
        return node

    def _execute_impl(self, run: Execution) -> Any:
        if len(run.args) == 1 and not run.kwargs:
            return run.args[0]
        return DAGInputData(*run.args, **run.kwargs)

    def _label(self) -> str:
        return "input"


class InputAttributeNode(DAGNode):
    """A part of the input: ``inp[key]`` or ``inp.name``."""

    def __init__(self, input_node: InputNode, key: int | str, how: str) -> None:
        self._source = input_node
        self._key = key
        self._how = how
        super().__init__((), {})
        self._input_node = input_node

    @property
    def key(self) -> int | str:
        return self._key

    def _upstream(self) -> list[DAGNode]:
        return [self._source]

    def _execute_impl(self, run: Execution) -> Any:
        data = run.resolve(self._source)
        try:
            if isinstance(data, DAGInputData) or self._how == "item":
                return data[self._key]
            return getattr(data, str(self._key))
        except (KeyError, IndexError, AttributeError, TypeError) as exc:
            raise type(exc)(f"the DAG reads input{self._label()}, which the value given to "
                            f"execute() does not have ({data!r})") from None

    def _label(self) -> str:
        return f".{self._key}" if self._how == "attribute" else f"[{self._key!r}]"
