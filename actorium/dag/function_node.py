"""``FunctionNode``: a task in a DAG, made by ``remote_function.bind(...)``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actorium.dag.dag_node import DAGNode

if TYPE_CHECKING:
    from actorium.dag.dag_node import Execution

__all__ = ["FunctionNode"]


class FunctionNode(DAGNode):
    """Runs ``target.remote(*args, **kwargs)`` when the DAG executes; yields its ObjectRef.

    ``target`` is a remote function or ``f.options(...)``; the arguments were checked against
    its signature by ``bind()``.
    """

    def __init__(self, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                 name: str) -> None:
        self._target = target
        self._name = name
        super().__init__(args, kwargs)

    def _execute_impl(self, run: Execution) -> Any:
        args, kwargs = run.arguments(self)
        return self._target.remote(*args, **kwargs)

    def _label(self) -> str:
        return self._name
