"""Supervision above the node machinery: restart policy and the public Supervisor handle.

``policy`` is pure decision logic (back-off, intensity, which siblings a strategy restarts),
shared by the node, which applies it (``_node/actor_manager.py``, ``_node/supervision.py``),
and by ``supervisor``, the ``actorium.Supervisor`` handle that describes a tree to the node.
Checkpoints run inside workers, next to the mailbox (``_core/checkpoint.py``).
"""
