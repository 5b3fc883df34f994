"""``actorium.twins``: digital twins of devices, as virtual actors (see docs/twins.md).

    from actorium import twins

    @twins.twin(history=50)
    class Thermostat(twins.Twin):
        async def on_reported(self, change):
            if change.document["reported"].get("temp", 0) > 30:
                await self.desire({"fan": "on"})

    device = Thermostat.get("th-17")
    actorium.get(device.report.remote({"temp": 31.5}))

Devices over MQTT: ``twins.MqttBridge(Thermostat, "mqtt://user:pw@broker:1883")``.
"""

from actorium._twins.bridge import BridgeStats, MqttBridge
from actorium._twins.broker import MqttBroker
from actorium._twins.change import Part, TwinChange
from actorium._twins.edge.agent import EdgeAgent
from actorium._twins.fleet import TwinRecord, count, count_async, query, query_async
from actorium._twins.mosquitto import LocalMosquitto
from actorium._twins.query import Condition, Field, related
from actorium._twins.topics import Topics
from actorium._twins.twin import Twin, TwinOptions, twin
from actorium._twins.watch import watch

__all__ = ["BridgeStats", "Condition", "EdgeAgent", "Field", "LocalMosquitto", "MqttBridge",
           "MqttBroker", "Part", "Topics", "Twin", "TwinChange", "TwinOptions", "TwinRecord",
           "count", "count_async", "query", "query_async", "related", "twin", "watch"]
