# Ray's "Adding application-level metrics" program, with the import lines of actorium. Ray's
# version starts with ray.init(_metrics_export_port=8080) and sleeps 30 s so that a person can
# look at the metrics; here the program reads them itself from the Prometheus endpoint.
import time
import urllib.request

import actorium as ray
from actorium.util.metrics import Counter, Gauge, Histogram

info = ray.init()


@ray.remote
class MyActor:
    def __init__(self, name):
        self._curr_count = 0

        self.counter = Counter(
            "num_requests",
            description="Number of requests processed by the actor.",
            tag_keys=("actor_name",),
        )
        self.counter.set_default_tags({"actor_name": name})

        self.gauge = Gauge(
            "curr_count",
            description="Current count held by the actor. Goes up and down.",
            tag_keys=("actor_name",),
        )
        self.gauge.set_default_tags({"actor_name": name})

        self.histogram = Histogram(
            "request_latency",
            description="Latencies of requests in ms.",
            boundaries=[0.1, 1],
            tag_keys=("actor_name",),
        )
        self.histogram.set_default_tags({"actor_name": name})

    def process_request(self, num):
        start = time.time()
        self._curr_count += num

        # Increment the total request count.
        self.counter.inc()
        # Update the gauge to the new value.
        self.gauge.set(self._curr_count)
        # Record the latency for this request in ms.
        self.histogram.observe(1000 * (time.time() - start))

        return self._curr_count


print("Starting actor.")
my_actor = MyActor.remote("my_actor")
print("Calling actor.")
my_actor.process_request.remote(-10)
print("Calling actor.")
my_actor.process_request.remote(5)
print("Metrics should be exported.")

deadline = time.time() + 30
while time.time() < deadline:
    text = urllib.request.urlopen(info.dashboard_url + "/metrics").read().decode()
    if 'request_latency_count{actor_name="my_actor"} 2' in text:
        break
    time.sleep(0.2)
for line in text.splitlines():
    if 'actor_name="my_actor"' in line and not line.startswith("request_latency_b"):
        print(line.split()[0], "=", line.split()[1] if "sum" not in line else "(measured)")
