"""util.metrics: an actor counts requests, tracks a gauge and a latency histogram; the node
serves them on its Prometheus endpoint next to the runtime's own metrics.

    python examples/app_metrics.py [--requests 20]
"""

from __future__ import annotations

import argparse
import time
import urllib.request

import actorium
from actorium.util.metrics import Counter, Gauge, Histogram


@actorium.remote
class Checkout:
    def __init__(self, shop: str) -> None:
        self.orders = Counter("shop_orders", description="Orders placed.",
                              tag_keys=("shop", "payment"))
        self.orders.set_default_tags({"shop": shop})
        self.basket = Gauge("shop_open_baskets", description="Baskets not yet paid.",
                            tag_keys=("shop",)).set_default_tags({"shop": shop})
        self.latency = Histogram("shop_checkout_ms", description="Checkout time in ms.",
                                 boundaries=[1, 5, 25, 100], tag_keys=("shop",))
        self.latency.set_default_tags({"shop": shop})
        self.open = 0

    def checkout(self, n: int) -> int:
        started = time.perf_counter()
        self.open += 1 if n % 3 else -1
        self.orders.inc(tags={"payment": "card" if n % 2 else "cash"})
        self.basket.set(self.open)
        self.latency.observe(1000 * (time.perf_counter() - started))
        return n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    info = actorium.init(num_cpus=2)
    shop = Checkout.remote("berlin")
    actorium.get([shop.checkout.remote(n) for n in range(args.requests)])
    wanted = f'shop_checkout_ms_count{{shop="berlin"}} {args.requests}'
    deadline = time.monotonic() + 30          # the worker reports about once a second
    text = ""
    while time.monotonic() < deadline:
        text = urllib.request.urlopen(info.dashboard_url + "/metrics").read().decode()
        if wanted in text:
            break
        time.sleep(0.2)
    for line in text.splitlines():
        if line.startswith("shop_") and "_bucket" not in line:
            print(line)
    actorium.shutdown()


if __name__ == "__main__":
    main()
