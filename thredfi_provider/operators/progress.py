"""What a long sync says while it runs, and the one line it ends with.

A sync of 200,000 records runs for many minutes; a person reading its log wants to know it is
alive, how far it is, what it costs and when it will end, without a line per record. So: a line
every ``PROGRESS_SECONDS`` and at the end of each chunk after the first (whichever comes first),
and an end line that names the businesses, the time, the requests and where every record's
outcome is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence, Sized
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thredfi_provider.client.stats import ClientStats
    from thredfi_provider.operators.summary import BatchSummary

log = logging.getLogger(__name__)

PROGRESS_SECONDS = 30.0


class Progress:
    """Counts nothing itself: the summary and the client's stats already do."""

    def __init__(
        self,
        what: str,
        stats: ClientStats,
        known: int | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self.stats = stats
        self.known = known  # the source's length when it has one (a list); a generator's is not known
        self.clock = clock
        self.started = clock()
        self.sent_before, self.retries_before = stats.requests, stats.retries
        self.last = self.started
        self.chunks = 0

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    @property
    def requests(self) -> int:
        return self.stats.requests - self.sent_before

    def record_done(self, summary: BatchSummary) -> None:
        if self.clock() - self.last >= PROGRESS_SECONDS:
            self._line(summary)

    def chunk_done(self, summary: BatchSummary) -> None:
        self.chunks += 1
        if self.chunks > 1 or self.clock() - self.last >= PROGRESS_SECONDS:
            self._line(summary)

    def _line(self, summary: BatchSummary) -> None:
        self.last = self.clock()
        done, elapsed = summary.total, max(self.elapsed, 1e-9)
        rate = done / elapsed
        of = f" of {self.known:,}" if self.known is not None else ""
        eta = ""
        if self.known is not None and rate > 0 and done < self.known:
            eta = f", about {(self.known - done) / rate:,.0f} s left"
        log.info(
            "Thredfi %s: %s%s records done in %.0f s (%.1f/s): %d created, %d updated, %d unchanged, "
            "%d failed; %s requests, %s retries%s",
            self.what, f"{done:,}", of, elapsed, rate, summary.created, summary.updated, summary.unchanged,
            summary.failed_count, f"{self.requests:,}", f"{self.stats.retries - self.retries_before:,}", eta,
        )  # fmt: skip

    def where(self, businesses: Sequence[str]) -> str:
        """The end line's tail: which businesses, how long, what it cost."""
        if not businesses:
            scope = "no business"
        elif len(businesses) == 1:
            scope = f"business {businesses[0]}"
        else:
            scope = f"{len(businesses):,} businesses"
        return f"{scope}, {self.elapsed:.1f} s, {self.requests:,} requests"


def known_length(source: Any) -> int | None:
    """How many records a source holds, when it says without being read (a list does)."""
    if isinstance(source, Sized) and not isinstance(source, str | bytes | Mapping):
        return len(source)
    return None
