"""Microbenchmark suite for actorium, runnable against actorium or Ray.

Every benchmark *row* is a plain function ``row(backend, scale) -> dict[str, Metric]``
that receives the backend module (``actorium`` or ``ray``, same API) and a
:class:`benchmarks.scale.Scale` of counts. Rows live in :mod:`benchmarks.rows`;
each one runs in its own fresh Python subprocess (:mod:`benchmarks.worker`,
started by :mod:`benchmarks.runner`) so one row cannot poison another.

Entry points:

* ``python -m benchmarks.run``      one backend, prints a table;
* ``python -m benchmarks.compare``  Ray vs actorium, row by row, with ratios.

Importing this package has no side effects: no runtime is started and no backend
is imported until a row runs.
"""
