"""The node-wide byte budget: the recount after a worker's death only corrects what a dead
process can have left wrong, and never undoes another process's release."""

from __future__ import annotations

from actorium._store.capacity import Capacity

MIB = 2**20


def test_a_recount_gives_back_a_reservation_whose_file_never_appeared(tmp_path):
    capacity = Capacity(str(tmp_path / ".usage"), 100 * MIB)
    try:
        assert capacity.reserve(8 * MIB)  # a worker reserved, then died before writing
        capacity.recount(lambda: (0, 0, 0))
        assert capacity.usage().used == 0
    finally:
        capacity.close()


def test_a_recount_from_a_listing_older_than_a_release_does_not_count_the_file_again(tmp_path):
    # The sweep after a worker's death listed an object file; the object's owner deleted it
    # and released its bytes before the counts were written: they must stay released.
    capacity = Capacity(str(tmp_path / ".usage"), 100 * MIB)
    try:
        assert capacity.reserve(8 * MIB)
        capacity.release(8 * MIB)
        capacity.recount(lambda: (8 * MIB, 0, 0))
        assert capacity.usage().used == 0
    finally:
        capacity.close()


def test_a_recount_lowers_pooled_figures_to_the_segments_left(tmp_path):
    capacity = Capacity(str(tmp_path / ".usage"), 100 * MIB)
    try:
        assert capacity.reserve(4 * MIB)
        assert capacity.pool_in(4 * MIB, 50 * MIB, 10)
        capacity.recount(lambda: (0, 0, 0))  # the pooled segment's file was swept
        usage = capacity.usage()
        assert (usage.used, usage.pooled, usage.pool_files) == (0, 0, 0)
        assert capacity.reserve(100 * MIB)  # the whole budget is free again
    finally:
        capacity.close()
