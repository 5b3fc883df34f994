"""``MultiOutputNode``: several nodes executed together; ``execute()`` returns their list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actorium.dag.dag_node import DAGNode

if TYPE_CHECKING:
    from actorium.dag.dag_node import Execution

__all__ = ["MultiOutputNode"]


class MultiOutputNode(DAGNode):
    """The end of a DAG with several outputs: ``execute()`` gives a list of refs, in order."""

    def __init__(self, args: list[Any] | tuple[Any, ...]) -> None:
        if not isinstance(args, (list, tuple)):
            raise ValueError(f"MultiOutputNode takes a list of DAG nodes, got "
                             f"{type(args).__name__}")
        super().__init__(tuple(args), {})

    def _execute_impl(self, run: Execution) -> list[Any]:
        return list(run.resolve(self._bound_args))

    def _label(self) -> str:
        return f"{len(self._bound_args)} outputs"
