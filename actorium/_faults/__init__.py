"""Fault injection: the plan a test wrote, and the hook that applies it on the send path.

``plan`` validates a fault plan and carries it to every process in an environment variable;
``injector`` is the one hook the transport's users call when they create an outbox
(``interpose``), free when no plan is set. The public face is ``actorium.testing``.
"""
