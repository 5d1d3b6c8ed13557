"""Per-function profiles: time spent per op and per node."""

from __future__ import annotations

from collections import defaultdict


class ProfileStats:
    """Call counts and seconds per node, collected when ``profile=True``."""

    def __init__(self, name: str | None = None):
        self.name = name
        self.calls = 0
        self.call_time = 0.0
        self.node_time: dict = defaultdict(float)
        self.node_calls: dict = defaultdict(int)
        self.rewrite_report = None

    def record(self, node, seconds: float) -> None:
        self.node_time[node] += seconds
        self.node_calls[node] += 1

    def op_time(self) -> dict:
        totals: dict = defaultdict(float)
        for node, t in self.node_time.items():
            totals[str(node.op)] += t
        return dict(totals)

    def summary(self, n: int = 15) -> str:
        lines = [
            f"Function profile: {self.name or '<unnamed>'}",
            f"  calls: {self.calls}, total {self.call_time:.6f} s",
        ]
        if self.calls:
            lines.append(f"  per call: {self.call_time / self.calls * 1e6:.1f} us")
        lines.append("  time per op (s, % of node time):")
        ops = sorted(self.op_time().items(), key=lambda kv: -kv[1])
        total = sum(t for _, t in ops) or 1.0
        for name, t in ops[:n]:
            lines.append(f"    {t:10.6f}  {100 * t / total:5.1f}%  {name}")
        if self.rewrite_report is not None:
            lines.append(self.rewrite_report.summary())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()
