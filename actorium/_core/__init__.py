"""The kernel: ids, refs, objects, the per-process runtime, and execution on workers."""
