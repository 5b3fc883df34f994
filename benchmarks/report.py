"""Formatting results: the plain-text tables, the comparison ratio, Markdown, machine info.

Results are the JSON-able dicts produced by :mod:`benchmarks.worker` (``row``, ``ok``,
``metrics`` as ``{name: {value, unit, better, samples}}``, or ``error``).
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import platform
from collections.abc import Iterable, Sequence
from typing import Any

Result = dict[str, Any]


def fmt(value: float) -> str:
    """A human-sized rendering: thousands separators for big numbers, 3 digits for small."""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    mag = abs(value)
    if value == int(value) and mag < 1e15:
        return f"{int(value):,}"
    if mag >= 1000:
        return f"{value:,.0f}"
    if mag >= 100:
        return f"{value:.0f}"
    if mag >= 10:
        return f"{value:.1f}"
    if mag >= 1 or mag == 0:
        return f"{value:.2f}"
    return f"{value:.3g}"


def ratio(ray: dict[str, Any] | None, actorium: dict[str, Any] | None) -> float | None:
    """actorium vs Ray for one metric, oriented so that > 1 means actorium is better.

    Rates (higher is better) give actorium / Ray; times, latencies and memory (lower is
    better) give Ray / actorium. Informative metrics (``better`` is None) give None.
    """
    if not ray or not actorium:
        return None
    better = actorium.get("better", ray.get("better"))
    a, r = float(actorium["value"]), float(ray["value"])
    if better == "higher":
        return a / r if r > 0 else None
    if better == "lower":
        return r / a if a > 0 else math.inf
    return None


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], right: set[int]) -> str:
    """Plain-text columns; column indexes in ``right`` are right-aligned (numbers)."""
    rows = [list(r) for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _error_line(result: Result) -> str:
    return str(result.get("error", "failed")).splitlines()[0][:300]


def _errors(results: Iterable[Result]) -> list[str]:
    return [f"{r['backend']} {r['row']}: {_error_line(r)}" for r in results if not r.get("ok")]


def results_table(results: Sequence[Result]) -> str:
    """The ``run`` table: row, metric, value, unit; failed rows are listed under it."""
    lines: list[list[str]] = []
    for res in results:
        if not res.get("ok"):
            lines.append([res["row"], "ERROR", "", "(see below)"])
            continue
        for name, m in res["metrics"].items():
            lines.append([res["row"], name, fmt(m["value"]), m["unit"]])
    table = _table(["row", "metric", "value", "unit"], lines, right={2})
    errors = _errors(results)
    return table + ("\n\nErrors:\n" + "\n".join(errors) if errors else "")


def comparison_rows(pairs: Sequence[tuple[Result, Result]]) -> list[list[str]]:
    """One line per metric: row, metric, unit, Ray, actorium, ratio (>1: actorium better)."""
    out: list[list[str]] = []
    for ray_res, act_res in pairs:
        row = ray_res["row"]
        ray_m = ray_res.get("metrics", {}) if ray_res.get("ok") else {}
        act_m = act_res.get("metrics", {}) if act_res.get("ok") else {}
        names = list(dict.fromkeys([*ray_m, *act_m]))
        if not names:
            out.append([row, "ERROR", "", "error", "error", ""])
            continue
        for name in names:
            r, a = ray_m.get(name), act_m.get(name)
            unit = (a or r or {}).get("unit", "")
            q = ratio(r, a)
            out.append([row, name, unit, _cell(ray_res, r), _cell(act_res, a),
                        "" if q is None else f"{q:.2f}x"])
    return out


def _cell(result: Result, metric: dict[str, Any] | None) -> str:
    if metric is not None:
        return fmt(float(metric["value"]))
    return "error" if not result.get("ok") else "-"


COMPARE_HEADERS = ["row", "metric", "unit", "Ray", "actorium", "actorium vs Ray"]


def _pair_errors(pairs: Sequence[tuple[Result, Result]]) -> list[str]:
    return _errors(r for pair in pairs for r in pair)


def comparison_table(pairs: Sequence[tuple[Result, Result]]) -> str:
    table = _table(COMPARE_HEADERS, comparison_rows(pairs), right={3, 4, 5})
    errors = _pair_errors(pairs)
    return table + ("\n\nErrors:\n" + "\n".join(errors) if errors else "")


def comparison_markdown(pairs: Sequence[tuple[Result, Result]], info: dict[str, Any]) -> str:
    """A Markdown section (header with machine and versions, table, then any errors)."""
    head = [
        f"Measured {info['date']} on {info['cpu_model']} ({info['cores']} cores), "
        f"{info['memory_gib']:.0f} GiB RAM, {info['os']}, Python {info['python']}; "
        f"scale `{info['scale']}`; Ray {info.get('ray_version', '?')} vs actorium "
        f"{info.get('actorium_version', '?')}. Ratio > 1 means actorium is better "
        f"(times, latencies and memory are inverted).",
        "",
        "| " + " | ".join(COMPARE_HEADERS) + " |",
        "|" + "|".join(["---", "---", "---", "---:", "---:", "---:"]) + "|",
    ]
    body = ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |"
            for r in comparison_rows(pairs)]
    errors = _pair_errors(pairs)
    tail = ["", "Errors:", ""] + [f"- {e}" for e in errors] if errors else []
    return "\n".join(head + body + tail) + "\n"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024 / 2**30
    except OSError:
        pass
    return float("nan")


def machine_info() -> dict[str, Any]:
    """Date and machine description for the header of a comparison."""
    return {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }
