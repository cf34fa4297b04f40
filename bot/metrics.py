"""Counters and a latency histogram, rendered in the Prometheus text format (`/metrics`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
        self.help: dict[str, str] = {
            "heard_messages_in_total": "Customer events accepted, per channel.",
            "heard_messages_out_total": "Messages delivered to customers, per channel.",
            "heard_escalations_total": "Cases handed to a person.",
            "heard_delivery_failures_total": "Messages marked failed: refused by the platform, "
                                             "the customer blocked the bot, or still not "
                                             "delivered at HEARD_DELIVERY_MAX_AGE.",
            "heard_delivery_unconfirmed_total": "Messages whose delivery cannot be known (a "
                                                "reply under way when Heard stopped); the team "
                                                "is alerted instead of sending them twice.",
            "heard_delivery_retries_total": "Delivery attempts that will be retried.",
            "heard_webhooks_rejected_total": "Webhook requests refused, per channel and reason.",
            "heard_events_refused_total": "Events in an accepted webhook that could not be "
                                          "read or stored, per channel and reason.",
        }
        self.buckets = [0] * len(LATENCY_BUCKETS)
        self.latency_count = 0
        self.latency_sum = 0.0
        self.gauges: dict[str, Callable[[], dict[str, float]]] = {}

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        self.counters[(name, tuple(sorted(labels.items())))] += amount

    def value(self, name: str, **labels: str) -> float:
        return self.counters.get((name, tuple(sorted(labels.items()))), 0.0)

    def observe_turn(self, seconds: float) -> None:
        self.latency_count += 1
        self.latency_sum += seconds
        for i, bound in enumerate(LATENCY_BUCKETS):
            if seconds <= bound:
                self.buckets[i] += 1

    def render(self) -> str:
        lines: list[str] = []
        names = sorted({name for name, _ in self.counters} | set(self.help))
        for name in names:
            lines.append(f"# HELP {name} {self.help.get(name, name)}")
            lines.append(f"# TYPE {name} counter")
            for (cname, labels), value in sorted(self.counters.items()):
                if cname == name:
                    lines.append(f"{name}{_labels(labels)} {value:g}")
        lines.append("# HELP heard_turn_seconds Time from an event's arrival to its stored turn.")
        lines.append("# TYPE heard_turn_seconds histogram")
        for bound, count in zip(LATENCY_BUCKETS, self.buckets, strict=True):
            lines.append(f'heard_turn_seconds_bucket{{le="{bound}"}} {count}')
        lines.append(f'heard_turn_seconds_bucket{{le="+Inf"}} {self.latency_count}')
        lines.append(f"heard_turn_seconds_sum {self.latency_sum:.6f}")
        lines.append(f"heard_turn_seconds_count {self.latency_count}")
        for name, read in sorted(self.gauges.items()):
            lines.append(f"# TYPE {name} gauge")
            for label, value in sorted(read().items()):
                suffix = f'{{status="{label}"}}' if label else ""
                lines.append(f"{name}{suffix} {value:g}")
        return "\n".join(lines) + "\n"


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
