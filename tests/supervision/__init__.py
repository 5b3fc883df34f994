"""Tests of supervision: delivery promises, restarts, supervisors, ownership, checkpoints."""
