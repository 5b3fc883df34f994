"""The actor directory's counts and order, kept as actors come and change state.

The dashboard of a fleet asks, every two seconds per open tab, how many actors there are per
class and state, and for one page of them in one order (class, then id). Counting and sorting
100,000 directory entries on each request cost 100-300 ms of the node's loop (the enum's
``.value`` alone is a descriptor call per actor). The node's actor manager tells this index
of every actor it registers and of every change of state instead, so that:

- counts per class and state are read, not computed (``groups``, ``count``);
- a page is taken from ids kept per class and sorted only when new ones arrived since the
  last page (appends to a sorted list: one cheap merge), whole classes before the page are
  skipped by their counts, and without a state filter the page is a slice.

It knows nothing of the node: entries are (class name, actor id, state); what a state means
and how to read an actor's current state is the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator


class ActorIndex:
    """Counts per class and state, and the ids of each class in order."""

    def __init__(self) -> None:
        self._counts: dict[str, dict[str, int]] = {}
        self._ids: dict[str, list[bytes]] = {}
        self._unsorted: set[str] = set()     # classes with ids appended since their last sort

    def add(self, class_name: str, actor_id: bytes, state: str) -> None:
        """A new actor in the directory (in ``state``)."""
        self._ids.setdefault(class_name, []).append(actor_id)
        self._unsorted.add(class_name)
        states = self._counts.setdefault(class_name, {})
        states[state] = states.get(state, 0) + 1

    def moved(self, class_name: str, old: str, new: str) -> None:
        """An actor of ``class_name`` went from state ``old`` to ``new``."""
        if old == new:
            return
        states = self._counts[class_name]
        left = states[old] - 1
        if left:
            states[old] = left
        else:
            del states[old]   # a state nobody is in is not shown (as a walk would not)
        states[new] = states.get(new, 0) + 1

    # ------------------------------------------------------------------ reading
    def groups(self) -> dict[str, dict[str, int]]:
        """class name -> {state: count} (copies: the caller may keep them)."""
        return {name: dict(states) for name, states in sorted(self._counts.items())}

    def by_state(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for states in self._counts.values():
            for state, count in states.items():
                out[state] = out.get(state, 0) + count
        return out

    def count(self, *, class_name: str | None = None, state: str | None = None) -> int:
        """How many actors are of ``class_name`` (any when None) in ``state`` (any)."""
        classes = [self._counts.get(class_name, {})] if class_name else self._counts.values()
        if state:
            return sum(states.get(state, 0) for states in classes)
        return sum(sum(states.values()) for states in classes)

    def ordered(self, *, class_name: str | None = None, state: str | None = None,
                offset: int = 0,
                in_state: Callable[[bytes], bool] | None = None) -> Iterator[bytes]:
        """Ids by class, then id, of ``class_name`` (any) and ``state`` (any), the first
        ``offset`` of them left out.

        ``in_state(actor_id)`` says whether an actor is in ``state`` now (needed with a
        state: the index counts states, it does not keep each actor's).
        """
        if state and in_state is None:
            raise ValueError("ordered(state=...) needs in_state to tell an actor's state")
        names = [class_name] if class_name else sorted(self._ids)
        for name in names:
            if name not in self._ids:
                continue
            states = self._counts.get(name, {})
            here = states.get(state, 0) if state else sum(states.values())
            if offset >= here:            # the whole class lies before the page
                offset -= here
                continue
            ids = self._sorted(name)
            if not state or here == len(ids):   # every actor of the class is in the state
                start, offset = offset, 0
                for position in range(start, len(ids)):   # lazily: a page takes a few
                    yield ids[position]
                continue
            assert in_state is not None
            for actor_id in ids:
                if in_state(actor_id):
                    if offset:
                        offset -= 1
                    else:
                        yield actor_id

    def _sorted(self, name: str) -> list[bytes]:
        ids = self._ids[name]
        if name in self._unsorted:
            ids.sort()      # a sorted run and the ids added since: one merge, not a full sort
            self._unsorted.discard(name)
        return ids
