"""Events told in aggregate: "300 Twin actors became alive", with the way to the 300.

Creating a fleet records one event per actor; a timeline of 300 identical lines hides the one
line that matters. ``EventGroups`` folds an event into the open group of the same kind and
actor class when it comes within ``GROUP_SECONDS`` of that group's last event, and otherwise
opens a new group. A group keeps true counts (the individual events' ring is bounded, the
count is not) and the sequence numbers of its first and last events, so a page can drill down
into the events of one group with ``kind``, ``class_name`` and a time range.
"""

from __future__ import annotations

from collections import deque
from typing import Any

GROUP_SECONDS = 10.0
GROUP_RING = 2000

# How a group of several events of one kind reads ("300 Twin actors became alive").
_VERBS = {
    "actor_created": "were created",
    "actor_alive": "became alive",
    "actor_restarting": "are restarting",
    "actor_died": "died",
    "dashboard_kill": "were killed from the dashboard",
    "dashboard_restart": "were restarted from the dashboard",
}


class EventGroups:
    """Bounded, oldest-first groups of one node's events."""

    def __init__(self) -> None:
        self.ring: deque[dict[str, Any]] = deque(maxlen=GROUP_RING)
        self._open: dict[tuple[str, str], dict[str, Any]] = {}
        self._seq = 0

    def add(self, event: dict[str, Any]) -> None:
        """Fold one recorded event (``EventLog.record``'s dict) into its group."""
        key = (event["kind"], event.get("class_name") or "")
        group = self._open.get(key)
        if group is None or event["time"] - group["last_time"] > GROUP_SECONDS:
            self._seq += 1
            group = {"group": self._seq, "kind": event["kind"], "class_name": key[1],
                     "count": 0, "first_time": event["time"], "first_seq": event["seq"],
                     "example": event["message"]}
            self._open[key] = group
            self.ring.append(group)
            if len(self._open) > GROUP_RING:   # keys of groups that left the ring
                live = {id(g) for g in self.ring}
                self._open = {k: g for k, g in self._open.items() if id(g) in live}
        group["count"] += 1
        group["last_time"] = event["time"]
        group["last_seq"] = event["seq"]
        group["message"] = describe(group, event["message"])

    def recent(self, *, after: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        """Groups changed or opened after group number ``after`` (copies, oldest first)."""
        return [dict(group) for group in self.ring if group["group"] > after][-limit:]


def describe(group: dict[str, Any], last_message: str) -> str:
    """The sentence of a group: its one event's own message, or a count with a verb."""
    count = group["count"]
    if count == 1:
        return last_message
    kind, class_name = group["kind"], group["class_name"]
    verb = _VERBS.get(kind)
    if class_name and verb:
        return f"{count} {class_name} actors {verb}"
    return f"{count} × {kind.replace('_', ' ')}" + (f" ({class_name})" if class_name else "")
