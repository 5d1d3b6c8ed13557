"""The rewrite report of one compiled function: time per pass, rule firings, node counts."""

from __future__ import annotations

from symcomp.optimize.engine import PassStats


class RewriteReport:
    """Filled by the pipeline; reachable as ``f.rewrite_report`` and printed by
    ``profile=True`` (``f.profile.summary()``)."""

    def __init__(self):
        self.passes: dict = {}
        self.nodes_before = 0
        self.nodes_after = 0
        self.seconds = 0.0
        self.from_cache = False
        self.failures = 0  # rules that raised and were skipped

    def stats(self, name: str) -> PassStats:
        if name not in self.passes:
            self.passes[name] = PassStats()
        return self.passes[name]

    @property
    def fired(self) -> dict:
        """rule name -> how often it fired, over all passes."""
        out: dict = {}
        for stats in self.passes.values():
            for rule, n in stats.fired.items():
                out[rule] = out.get(rule, 0) + n
        return out

    def summary(self) -> str:
        lines = [
            f"Rewrites: {self.nodes_before} -> {self.nodes_after} nodes in "
            f"{self.seconds * 1e3:.1f} ms"
        ]
        for name, st in self.passes.items():
            lines.append(f"  {name:<16} {st.seconds * 1e3:8.2f} ms  {st.sweeps} sweep(s)")
            for rule, n in sorted(st.fired.items(), key=lambda kv: -kv[1]):
                lines.append(f"      {n:5d}  {rule}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()
