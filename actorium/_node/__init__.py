"""The node daemon and the worker processes it supervises."""
