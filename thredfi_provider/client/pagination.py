"""Reading a list endpoint page by page, whichever envelope the server uses.

Both published envelopes are read: ``count/next/previous/results`` (pagination guide) and
``count/page_info/results`` (API reference), and a bare list. A ``next`` URL to another origin
is never followed (the token stays home); a server that points back at a page already read,
or runs past what its ``count`` allows, ends the listing with an error instead of looping.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from thredfi_provider.client.errors import ThredfiError
from thredfi_provider.client.transport import read_json

if TYPE_CHECKING:
    from thredfi_provider.client.requestor import Requestor

log = logging.getLogger(__name__)

Page = list[dict[str, Any]]


class _Pager:
    """Where the next page is, and the guards against a server that never stops."""

    def __init__(self, requestor: Requestor, path: str, params: Mapping[str, Any] | None, size: int) -> None:
        self.requestor = requestor
        self.path = path
        self.size = size
        self.query = {k: v for k, v in (params or {}).items() if v is not None}
        self.page = int(self.query.pop("page", 1))
        self.query["page_size"] = size
        self.target = path
        self.params: dict[str, Any] | None = {**self.query, "page": self.page}
        self.seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        self.max_pages: int | None = None

    def check_not_looping(self) -> None:
        url = self.requestor.urls.url(self.target)
        marker = (url, tuple(sorted((k, str(v)) for k, v in (self.params or {}).items())))
        if marker in self.seen:
            raise ThredfiError(
                f"pagination loop: the server pointed back at a page already read (page {self.page})",
                path=urlsplit(url).path,
            )
        self.seen.add(marker)
        if self.max_pages is not None and len(self.seen) > self.max_pages:
            raise ThredfiError(
                f"pagination ran past {self.max_pages} pages, more than its count allows",
                path=urlsplit(url).path,
            )

    def learn_count(self, count: Any, results: Page) -> None:
        if self.max_pages is None and isinstance(count, int) and count >= 0:
            # One spare page: the list may grow while we read it.
            self.max_pages = max(1, math.ceil(count / max(1, len(results) or self.size))) + 1

    def advance(self, body: dict[str, Any], results: Page) -> bool:
        """Point at the page after ``body``; False when ``body`` was the last."""
        count = body.get("count")
        next_url = body.get("next")
        page_info = body.get("page_info") if isinstance(body.get("page_info"), dict) else None
        if isinstance(next_url, str) and next_url:
            absolute = urljoin(self.requestor.urls.base_url + "/", next_url)
            if self.requestor.urls.is_home(absolute):
                self.target, self.params = absolute, None
                self.page += 1
                return True
            # A proxy may rewrite the scheme or host of its links; the token stays home.
            log.warning("Ignoring a pagination 'next' link to another origin; paging by number instead")
        elif "next" in body and page_info is None:
            return False  # explicit null: last page
        if page_info is not None and page_info.get("total_pages") is not None:
            current = int(page_info.get("current_page") or self.page)
            if current >= int(page_info["total_pages"]):
                return False
            self.page = current + 1
        else:
            if isinstance(count, int) and self.page * self.size >= count:
                return False
            if len(results) < self.size:
                return False
            self.page += 1
        self.target, self.params = self.path, {**self.query, "page": self.page}
        return True


def iter_pages(
    requestor: Requestor,
    path: str,
    *,
    business_id: str | None = None,
    params: Mapping[str, Any] | None = None,
    page_size: int | None = None,
) -> Iterator[Page]:
    """Yield one page of results at a time, fetching the next only when asked."""
    size = min(page_size or requestor.settings.page_size, requestor.settings.page_size)
    pager = _Pager(requestor, path, params, size)
    while True:
        pager.check_not_looping()
        response, _ = requestor.request("GET", pager.target, business_id=business_id, params=pager.params)
        body = read_json(response)
        if isinstance(body, list):
            yield body
            return
        results = body.get("results") or []
        pager.learn_count(body.get("count"), results)
        yield results
        if not results or not pager.advance(body, results):
            return
