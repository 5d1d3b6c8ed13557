"""Mode: how a function is compiled (runner and rewrites), as Theano users write it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Mode:
    """``Mode(linker="native", optimizer="fast_run")``; ``.including(name)`` and
    ``.excluding(name)`` add or remove passes or rules by name (``"fusion"``,
    ``"log1p_of_add_one"``, ...). ``linker`` is the runner: native, py or debug."""

    linker: str | None = None
    optimizer: str | None = "fast_run"
    included: tuple = field(default_factory=tuple)
    excluded: tuple = field(default_factory=tuple)

    def including(self, *names: str) -> Mode:
        return replace(self, included=self.included + names)

    def excluding(self, *names: str) -> Mode:
        return replace(self, excluded=self.excluded + names)

    @classmethod
    def resolve(cls, mode) -> Mode:
        """A Mode from function()'s ``mode`` argument (None, a name or a Mode)."""
        from symcomp.config import config

        if isinstance(mode, Mode):
            linker = mode.linker or config.mode
            return replace(mode, linker=linker)
        optimizer = config.optimizer
        if mode in ("fast_run", "fast_compile"):
            return cls(linker=config.mode, optimizer=mode)
        if mode in ("FAST_RUN", "FAST_COMPILE"):
            return cls(linker=config.mode, optimizer=mode.lower())
        return cls(linker=mode or config.mode, optimizer=optimizer)
