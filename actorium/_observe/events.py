"""The node's timeline: actors created, restarted and dead; workers and nodes coming and going.

A bounded ring (the newest ``EVENT_RING`` events) that the dashboard shows as a timeline and
streams live; listeners hear of each event as it is recorded.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from actorium._observe.event_groups import EventGroups

EVENT_RING = 2000


class EventLog:
    """Recent events of one node, oldest first."""

    def __init__(self) -> None:
        self.ring: deque[dict[str, Any]] = deque(maxlen=EVENT_RING)
        self._seq = 0
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self.groups = EventGroups()

    def record(self, kind: str, message: str, **fields: Any) -> None:
        """Note that ``kind`` happened (e.g. "actor_died"), with a sentence for people."""
        self._seq += 1
        event = {"seq": self._seq, "time": time.time(), "kind": kind, "message": message,
                 **fields}
        self.ring.append(event)
        self.groups.add(event)
        for listener in list(self.listeners):
            listener(event)

    def recent(self, *, after: int = 0, actor_id: str | None = None, kind: str | None = None,
               class_name: str | None = None, since: float | None = None,
               until: float | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """Events after sequence number ``after``, oldest first, optionally only those of an
        actor, a kind, a class, or a time range (the drill-down of an event group)."""
        chosen = [event for event in self.ring if event["seq"] > after
                  and (actor_id is None or event.get("actor_id") == actor_id)
                  and (kind is None or event["kind"] == kind)
                  and (class_name is None or (event.get("class_name") or "") == class_name)
                  and (since is None or event["time"] >= since)
                  and (until is None or event["time"] <= until)]
        return chosen[-limit:]
