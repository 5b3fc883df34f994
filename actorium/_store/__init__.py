"""The node-local object store: large values written once into shared memory, read in place.

Modules, one concept each:

    paths.py      where a session's store lives (/dev/shm) and where it spills (session dir)
    capacity.py   the node-wide byte budget, shared by every process through one locked file
    segment.py    one object's bytes in one file: the layout, writing it, mapping it read-only
    store.py      a process's view of the store: put, read, spill, restore, free
    summary.py    listing the objects of a session (``actorium memory``, ``memory_summary()``)

This layer imports nothing else of actorium but ``exceptions``; ``_core`` decides *when* a
value goes to the store and *who* frees it (the owner), this layer does the *how*.
"""
