"""A job's entrypoint: counts words of the files shipped with it, on the cluster's workers.

Run by examples/jobs.py as ``python count_words.py`` in this directory's copy on the cluster
(its working_dir). ``actorium.init()`` finds the cluster that runs the job by itself.
"""

import collections
import os

from text_tools import words_of  # shipped with the job: it sits next to this file

import actorium

actorium.init()


@actorium.remote
def count(path: str) -> collections.Counter:
    with open(path) as file:   # a relative path: every worker runs in the working_dir
        return collections.Counter(words_of(file.read()))


@actorium.remote(runtime_env={"env_vars": {"LANGUAGE_HINT": "en"}})
def language() -> str:
    # A task's runtime_env is merged over the job's: both variables are here.
    return f"{os.environ['LANGUAGE_HINT']} (greeting: {os.environ['GREETING']})"


texts = sorted(name for name in os.listdir("texts") if name.endswith(".txt"))
total: collections.Counter = collections.Counter()
for partial in actorium.get([count.remote(os.path.join("texts", name)) for name in texts]):
    total.update(partial)
print(f"{len(texts)} files, {sum(total.values())} words")
print("most common:", ", ".join(f"{w} {n}" for w, n in total.most_common(3)))
print("language:", actorium.get(language.remote()))
