"""Observability: worker output, statistics, events, metrics, the state API and the dashboard.

Workers tag and report; the node collects, keeps a bounded recent history, writes log files,
renders Prometheus metrics and serves the dashboard. Nothing here is on the call path except
``worker_stats`` (a counter and a histogram bucket per call).
"""
