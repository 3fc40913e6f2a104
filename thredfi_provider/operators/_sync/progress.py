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
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thredfi_provider.client.stats import ClientStats
    from thredfi_provider.operators._sync.batch_summary import BatchSummary

log = logging.getLogger(__name__)

PROGRESS_SECONDS = 30.0
WRITES = frozenset({"created", "updated", "voided", "removed"})


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
        self.written: Counter[str] = Counter()  # rows each business received (for lineage)

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    @property
    def requests(self) -> int:
        return self.stats.requests - self.sent_before

    def record_done(self, summary: BatchSummary, business_id: str, state: str | None) -> None:
        if state in WRITES:
            self.written[business_id] += 1
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

    def lineage(
        self, base_url: str, op: Any, businesses: Iterable[str], value: Mapping[str, Any]
    ) -> dict[str, Any]:
        """What :func:`~.lineage.lineage` needs of this run: the rows each business received (none in a
        dry run), the source, the details report."""
        written = {b: 0 if op.plan_only else self.written[b] for b in businesses}
        return {"base_url": base_url, "resource_path": op.resource.path, "written": written,
                "source": op.records, "files": [value.get("details")]}  # fmt: skip

    def where(self, businesses: Sequence[str]) -> str:
        """The end line's tail: which businesses, how long, what it cost."""
        businesses = [b for b in businesses if b]  # a businesses sync's own lookups have no id
        if not businesses:
            scope = "partner level"
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
