"""Fixtures of the virtual actor tests: state stores (a sqlite file, a real PostgreSQL) and a
runtime that uses one."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pg_helpers import fresh_database, postgres_bin, postgres_server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of the suite's own PostgreSQL server (started once per session)."""
    if postgres_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed, and CI must run the PostgreSQL tests "
                        "(.ci/run installs Debian's postgresql)")
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql)")
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """A URL of an empty state store: a sqlite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/state.sqlite3"
    return fresh_database(request.getfixturevalue("postgres_url"))


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path}/state.sqlite3"


@pytest.fixture
def use_store(monkeypatch: pytest.MonkeyPatch,
              start_runtime: Callable[..., Any]) -> Callable[..., Any]:
    """``use_store(url)``: start a runtime of its own whose virtual actors keep state at url."""

    def start(url: str, **init_options: Any) -> Any:
        monkeypatch.setenv("ACTORIUM_STATE_STORE", url)
        init_options.setdefault("num_cpus", 2)
        init_options.setdefault("include_dashboard", False)
        return start_runtime(**init_options)

    return start
