"""Tests of actorium.testing: fault injection, process faults, chaos, the soak."""
