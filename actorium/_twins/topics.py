"""How MQTT topics map to twin keys: ``Topics("devices/{key}/reported", ...)``.

A template is a topic with ``{key}`` as one whole level: ``devices/{key}/reported`` is
subscribed to as ``devices/+/reported`` and ``devices/th-17/reported`` is the twin
``th-17``. The three topics of a device (all configurable, defaults as in the AWS IoT style
most fleets already use):

* ``reported`` — the device publishes its state here (QoS 1); the bridge applies it;
* ``desired``  — the bridge publishes the twin's desired state and delta here (QoS 1,
  retained: a device that connects later gets the latest at once);
* ``rejected`` — the bridge publishes why a message could not be applied (not JSON, not an
  object, a value that is not JSON...), so a device learns it was refused.
"""

from __future__ import annotations

import dataclasses

_WILDCARDS = ("+", "#")


@dataclasses.dataclass(frozen=True)
class Topics:
    """The topic templates of a bridge (frozen; each holds ``{key}`` as one level)."""

    reported: str = "devices/{key}/reported"
    desired: str = "devices/{key}/desired"
    rejected: str = "devices/{key}/rejected"

    def __post_init__(self) -> None:
        for name in ("reported", "desired", "rejected"):
            _levels(name, getattr(self, name))

    def subscription(self) -> str:
        """The filter that receives every device's reports (``devices/+/reported``)."""
        return "/".join("+" if level == "{key}" else level
                        for level in self.reported.split("/"))

    def desired_subscription(self) -> str:
        return "/".join("+" if level == "{key}" else level for level in self.desired.split("/"))

    def key_of(self, topic: str, template: str | None = None) -> str | None:
        """The twin key in ``topic`` (a topic of ``template``, ``reported`` by default), or
        None if the topic is not one of it."""
        levels = (template or self.reported).split("/")
        got = topic.split("/")
        if len(got) != len(levels):
            return None
        key = None
        for want, have in zip(levels, got, strict=True):
            if want == "{key}":
                key = have
            elif want != have:
                return None
        return key or None

    def topic(self, template: str, key: str) -> str:
        """``template`` with ``key`` in place (``key`` may not hold ``/``, ``+`` or ``#``)."""
        check_key(key)
        return template.replace("{key}", key)


def check_key(key: str) -> str:
    if not isinstance(key, str) or not key or "/" in key or any(w in key for w in _WILDCARDS):
        raise ValueError(f"a twin key in an MQTT topic is one level: no '/', '+' or '#', "
                         f"got {key!r}")
    return key


def _levels(name: str, template: str) -> None:
    if not isinstance(template, str) or not template:
        raise ValueError(f"Topics.{name} is a topic template, got {template!r}")
    levels = template.split("/")
    if levels.count("{key}") != 1 or template.count("{key}") != 1:
        raise ValueError(f"Topics.{name} {template!r} must hold {{key}} once, as a whole "
                         f"level (devices/{{key}}/reported)")
    bad = [level for level in levels if any(w in level for w in _WILDCARDS)]
    if bad:
        raise ValueError(f"Topics.{name} {template!r}: level {bad[0]!r} is a wildcard; "
                         f"the bridge subscribes with + in place of {{key}} by itself")
