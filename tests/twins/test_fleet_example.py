"""examples/fleet_mqtt.py runs against a real mosquitto, as a user would run it."""

from __future__ import annotations

import re

import pytest
from test_examples import RUN_TIMEOUT, run_example

from twins.mqtt_helpers import require_mosquitto


@pytest.mark.timeout(RUN_TIMEOUT + 30)
def test_the_mqtt_fleet_example_closes_every_vent_loop():
    require_mosquitto()   # CI (ACTORIUM_REQUIRE_MQTT=1) fails here instead of skipping
    out = run_example("fleet_mqtt.py", "--devices", "40", "--rounds", "3")
    rounds = re.findall(r"^round (\d)/3: 40 readings, (\d+) hot$", out, re.M)
    assert [r[0] for r in rounds] == ["1", "2", "3"], out
    assert int(rounds[0][1]) > 0 and rounds[2][1] == "0", out
    published = int(re.search(r"^reports published: (\d+)$", out, re.M).group(1))
    applied = int(re.search(r"^reports applied: (\d+)$", out, re.M).group(1))
    assert published >= 120 and applied == published, out      # every report reached its twin
    assert "reports rejected: 0" in out
    watch = re.search(r"^watch: (\d+) greenhouses got hot, (\d+) cooled down again$", out, re.M)
    assert watch and int(watch.group(1)) > 0 and watch.group(1) == watch.group(2), out
    assert "hot now: 0" in out and "vents still to move: 0" in out
    assert re.search(r"^hottest: gh-\d{4} [\d.]+ C", out, re.M), out
    assert re.search(r"^hot in the north site: \d+$", out, re.M), out
