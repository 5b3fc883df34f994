"""A helper module shipped with the job (working_dir): importable by the driver and workers."""

import re


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())
