# checked by: mypy
# needs: actorium.ObjectRefGenerator (issue 12, branch streaming)
"""A generator method's arguments are checked; its items are refs, not values."""

from __future__ import annotations

from collections.abc import Iterator

import actorium


@actorium.remote
class Producer:
    def count(self, n: int) -> Iterator[int]:
        yield from range(n)


producer = Producer.remote()
producer.count.remote("3")      # E: incompatible type "str"; expected "int | ObjectRef[int]"
producer.count.remote()         # E: Missing positional argument "n"
for ref in producer.count.remote(3):
    ref + 1                     # E: Unsupported operand types for + ("ObjectRef[int]" and "int")
