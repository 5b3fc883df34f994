"""actorium in one page: tasks, an actor, put/get/wait. A plain blocking script.

    python examples/quickstart.py
"""

import time

import actorium

actorium.init(num_cpus=2)


@actorium.remote
def word_count(text: str) -> int:
    """A task: runs in a task worker process."""
    return len(text.split())


@actorium.remote
def slow_square(x: int) -> int:
    time.sleep(0.1 * x)
    return x * x


@actorium.remote
class Tally:
    """An actor: state that lives in a worker and is updated one call at a time."""

    def __init__(self) -> None:
        self.total = 0

    def add(self, n: int) -> int:
        self.total += n
        return self.total


lines = ["the quick brown fox", "jumps over", "the lazy dog"]
counts = actorium.get([word_count.remote(line) for line in lines])
print("words per line:", counts)

tally = Tally.remote()
for n in counts:
    tally.add.remote(n)          # calls from one caller run in order
print("running total:", actorium.get(tally.add.remote(0)))

book = actorium.put(" ".join(lines * 100))   # stored once, passed by reference
print("words in the book:", actorium.get(word_count.remote(book)))

refs = [slow_square.remote(x) for x in (3, 1, 2)]
ready, not_ready = actorium.wait(refs, num_returns=1, timeout=5)
print("first finished:", actorium.get(ready[0]), "| still running:", len(not_ready))
print("all squares:", actorium.get(refs))

actorium.shutdown()
