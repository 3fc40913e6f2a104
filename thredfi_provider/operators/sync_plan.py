"""How a sync learns what Thredfi holds: per record, or one pass of pages, whichever costs less.

A scheduled run should cost what changed, not what the business has accumulated. Two ways to
find what Thredfi holds under each ``external_id`` are published:

- **per record**: create first. The contract makes a create idempotent on ``external_id``: a
  known one returns the existing record (200, or 409 with another body), which is then compared
  and changed only if different. One request per record, whatever the history.
- **one pass**: read every page of the list into an index (``count / page_size`` requests, read
  concurrently), then create only what is absent and compare the rest with no further reads.

A day of new records is cheapest per record (the creates are needed anyway); a rerun of a day
whose records all exist is cheapest by a pass when the history is short and per record when it
is long. The plan learns which day it is facing from the records themselves: the first
``SAMPLE`` records of a business go per record, one after another, and say whether they were
new. If all were new, the rest go per record too, with no read at all. If some existed, one
request (page 1 and its ``count``) prices the pass, and the pass is chosen when its remaining
pages cost less than the expected lookups: ``pages - 1 < share_existing * remaining``.

So, in requests beyond tokens and the business's references: a day of D new records costs D;
a rerun of D records costs min(D, pages) + ``SAMPLE`` + 1, at any history size.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from thredfi_provider.client.pagination import FirstPage
    from thredfi_provider.operators.business_lookups import BusinessLookups

log = logging.getLogger(__name__)

SAMPLE = 2
Mode = Literal["sample", "per_record", "index"]


class NotLooked:
    """What a sync holds for a record it has not looked up: it will create first and see."""

    def __repr__(self) -> str:
        return "NOT_LOOKED"


NOT_LOOKED = NotLooked()


class Plan:
    """One business's and one resource's way of finding what Thredfi holds, kept across chunks."""

    def __init__(self, lookups: BusinessLookups, resource: str, *, prefer_index: bool = False) -> None:
        self.lookups = lookups
        self.resource = resource
        self.mode: Mode = "index" if prefer_index else "sample"
        self.sampled = 0
        self.tried = 0  # sampled records that failed say nothing; they still end the sample
        self.existing = 0
        self.first: FirstPage | None = None
        self.reason = "a full pass was asked for" if prefer_index else ""

    def observe(self, state: str | None) -> None:
        """A sampled record's outcome: ``created`` means it was new; a failure says nothing."""
        self.tried += 1
        if state is None:
            return
        self.sampled += 1
        self.existing += state != "created"

    def decide(self, remaining: int) -> Mode:
        """The mode for the next record, ``remaining`` records of this business left to look up."""
        if self.mode == "sample" and (self.sampled >= SAMPLE or self.tried >= 2 * SAMPLE):
            self._choose(remaining)
        return self.mode

    def next_chunk(self, remaining: int) -> None:
        """A new chunk: per record may turn into a pass if this chunk is large for the history."""
        if self.mode == "per_record" and self.existing:
            self.first = None  # this run's own creates moved the count: price it afresh
            self._choose(remaining)

    def _choose(self, remaining: int) -> None:
        if not self.existing:
            self.mode, self.reason = "per_record", f"the first {self.sampled} records were new"
            return
        if self.first is None:
            self.first = self.lookups.client.first_page(
                self.lookups.business_id, self.resource, params=self.lookups.list_params(self.resource)
            )
        _, count, size = self.first
        if count is None:
            self.mode, self.reason = "per_record", "the list gives no count to price a pass"
            return
        pages_left = max(0, math.ceil(count / max(1, size)) - 1)
        expected_lookups = self.existing / self.sampled * remaining
        if pages_left < expected_lookups:
            self.mode = "index"
            self.reason = f"{pages_left} more pages < ~{expected_lookups:.0f} lookups of {remaining} records"
        else:
            self.mode = "per_record"
            self.reason = f"{pages_left} more pages >= ~{expected_lookups:.0f} lookups of {remaining} records"
        log.info(
            "Thredfi %s of business %s: %s (%s)",
            self.resource, self.lookups.business_id, self.mode.replace("_", " "), self.reason,
        )  # fmt: skip

    def held(self, external_id: str) -> dict[str, Any] | NotLooked | None:
        """What Thredfi holds under ``external_id`` as far as this mode knows."""
        if self.mode != "index":
            return NOT_LOOKED
        first, self.first = self.first, None  # page 1 seeds the pass once
        return self.lookups.held(self.resource, external_id, first=first)
