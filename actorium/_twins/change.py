"""``TwinChange``: one entry of a twin's history, and what watchers receive."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any


class Part(str, enum.Enum):  # noqa: UP042 - StrEnum's str() differs: kept as it is
    """Which document of a twin a change touched."""

    REPORTED = "reported"   # the device told us what it is
    DESIRED = "desired"     # an application told the device what it should be
    LINKS = "links"         # the twin's relationships (site, gateway, ...)


@dataclasses.dataclass(frozen=True)
class TwinChange:
    """A change of one twin, as stored in its bounded history (oldest entries dropped).

    * ``version``: the twin's version after the change (every change adds one, whatever the
      part); a subscriber that saw version ``n`` resumes with ``since_version=n``.
    * ``part`` and ``part_version``: the document changed and its own version after it.
    * ``patch``: what actually changed (a merge patch: ``None`` deleted a field), not what was
      sent: fields sent with their current value are left out.
    * ``document``: the whole twin after the change (``desired``, ``reported``, ``delta``,
      ``links``, the versions).
    * ``at``: when the change was stored (unix seconds); ``cursor``: its position in the
      store's journal of all twins, for resuming a fleet watch (``since=change.cursor``).
    * ``left``: in a fleet watch (``where=...``), True for the change after which the twin
      no longer matches the query (it matched before): the last change of it the watch
      yields until it matches again. Always False elsewhere.
    """

    type_name: str
    key: str
    version: int
    part: Part
    part_version: int
    patch: dict[str, Any]
    document: dict[str, Any]
    at: float
    cursor: str = ""
    left: bool = False

    @property
    def delta(self) -> dict[str, Any]:
        """What the device still had to apply after this change."""
        found: dict[str, Any] = self.document.get("delta", {})
        return found
