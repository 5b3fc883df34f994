"""actorium.dag: describe a pipeline once with .bind(), run it for many inputs with .execute().

A tokenizer task and a stateful scoring actor (reused across executions) feed a combiner;
``MultiOutputNode`` returns several results of one execution. Wrong arguments fail when the
graph is built, before anything runs.

    python examples/dag_pipeline.py
"""

from __future__ import annotations

import actorium
from actorium.dag import InputNode, MultiOutputNode


@actorium.remote
def tokenize(text: str) -> list[str]:
    return text.lower().split()


@actorium.remote
class Scorer:
    def __init__(self, positive: set[str]) -> None:
        self.positive = positive
        self.seen = 0

    def score(self, words: list[str]) -> int:
        self.seen += 1
        return sum(word in self.positive for word in words)

    def documents_seen(self) -> int:
        return self.seen


@actorium.remote
def report(title: str, words: list[str], score: int) -> str:
    return f"{title}: {len(words)} words, score {score}"


def main() -> None:
    actorium.init(num_cpus=2)
    scorer = Scorer.remote({"good", "great", "fast"})      # one actor for every execution
    with InputNode() as doc:
        words = tokenize.bind(doc.text)
        score = scorer.score.bind(words)
        dag = MultiOutputNode([report.bind(doc.title, words, score), score])

    class Doc:
        def __init__(self, title: str, text: str) -> None:
            self.title, self.text = title, text

    for title, text in [("a", "Good and fast"), ("b", "slow"), ("c", "great GOOD fast")]:
        line, score = actorium.get(dag.execute(Doc(title, text)))
        print(line)
    print("the scorer saw", actorium.get(scorer.documents_seen.remote()), "documents")
    try:
        tokenize.bind("too", "many")
    except TypeError as error:
        print("refused at bind():", str(error).split(" (signature")[0])
    actorium.shutdown()


if __name__ == "__main__":
    main()
