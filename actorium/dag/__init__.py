"""Ray's DAG API: build a graph of tasks and actor calls with ``.bind()``, run it with
``.execute()`` (``ray.dag``).

    from actorium.dag import InputNode, MultiOutputNode

    with InputNode() as inp:
        dag = combine.bind(double.bind(inp), inc.bind(inp))
    actorium.get(dag.execute(3))

``.bind()`` exists on remote functions (and ``f.options(...)``), actor classes, methods of a
bound actor class, and methods of live actor handles. A DAG is a thin layer over ``.remote()``:
each execution makes ordinary calls, passing refs from node to node.
"""

from actorium.dag.class_node import ClassMethodNode, ClassNode
from actorium.dag.dag_node import DAGNode
from actorium.dag.function_node import FunctionNode
from actorium.dag.input_node import DAGInputData, InputAttributeNode, InputNode
from actorium.dag.output_node import MultiOutputNode

__all__ = ["ClassMethodNode", "ClassNode", "DAGInputData", "DAGNode", "FunctionNode",
           "InputAttributeNode", "InputNode", "MultiOutputNode"]
