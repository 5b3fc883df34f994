"""Supervision: restart policies, supervisor trees and actor checkpoints.

``policy`` is pure decision logic (back-off, intensity, which siblings a strategy restarts),
shared by the node, which applies it, and by the public ``Supervisor`` handle
(``supervisor``), which describes a tree to the node. Nothing here talks to sockets itself.
"""
