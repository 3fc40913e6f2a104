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

from thredfi_provider.client.errors import ThredfiError, ThredfiNotFoundError
from thredfi_provider.client.transport import read_json

if TYPE_CHECKING:
    from thredfi_provider.client.requestor import Requestor

log = logging.getLogger(__name__)

Page = list[dict[str, Any]]
FirstPage = tuple[Page, int | None, int]  # page 1, the list's count if given, the page size
SPARE_PAGES = 5  # pages a concurrent pass reads beyond its plan when the list grew meanwhile


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


def first_page(
    requestor: Requestor,
    path: str,
    *,
    business_id: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> FirstPage:
    """Page 1 at the largest page size, its ``count`` (None when the server gives none) and that size.

    One request says how much a full pass would cost: a sync plans with it before reading more.
    """
    size = requestor.settings.page_size
    body = _numbered(requestor, path, business_id, params, 1, size)
    if isinstance(body, list):
        return body, len(body), size
    results = body.get("results") or []
    count = body.get("count")
    if not isinstance(count, int):
        info = body.get("page_info") if isinstance(body.get("page_info"), dict) else {}
        count = info.get("total_count") if isinstance(info.get("total_count"), int) else None
    return results, count, size


def read_all(
    requestor: Requestor,
    path: str,
    *,
    business_id: str | None = None,
    params: Mapping[str, Any] | None = None,
    first: FirstPage | None = None,
    max_in_flight: int = 4,
) -> Iterator[Page]:
    """Every page of a list, pages 2..N read concurrently once page 1's ``count`` says how many.

    At most ``max_in_flight`` requests are on the wire; pages are yielded as they arrive, not in
    order (an index does not care). Without a ``count`` (or with one a page contradicts) it falls
    back to :func:`iter_pages`, which follows ``next`` one page at a time. Each request is bounded
    by the client's deadlines, so the pass is too.
    """
    from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

    results, count, size = first or first_page(requestor, path, business_id=business_id, params=params)
    yield results
    if count is None or len(results) > size:
        # No count, or a server that ignores page_size: the sequential reader copes with both.
        for index, page in enumerate(iter_pages(requestor, path, business_id=business_id, params=params)):
            if index:
                yield page
        return
    pages = max(1, math.ceil(count / size))
    if pages == 1 or not results:
        return

    grown = count  # the largest count a page reports: the list may grow while it is read

    def fetch(number: int) -> Page:
        nonlocal grown
        try:
            body = _numbered(requestor, path, business_id, params, number, size)
        except ThredfiNotFoundError:
            return []  # the list shrank while it was read: a page past its end
        if isinstance(body, list):
            return body
        if isinstance(body.get("count"), int):
            grown = max(grown, body["count"])
        return list(body.get("results") or [])

    todo = iter(range(2, pages + 1))
    pool = ThreadPoolExecutor(max_workers=max(1, max_in_flight), thread_name_prefix="thredfi-pages")
    running: set[Future[Page]] = set()
    try:
        for number in todo:
            running.add(pool.submit(fetch, number))
            if len(running) >= max_in_flight:
                break
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
                following = next(todo, None)
                if following is not None:
                    running.add(pool.submit(fetch, following))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    # Records created while the pass ran push others past the pages planned: read on as far as
    # the largest count a page reported, a few pages at most (a list that never stops growing
    # is the sequential reader's loop guard's case too).
    for number in range(pages + 1, min(math.ceil(grown / size), pages + SPARE_PAGES) + 1):
        yield fetch(number)


def _numbered(
    requestor: Requestor, path: str, business_id: str | None, params: Mapping[str, Any] | None, number: int,
    size: int,
) -> Any:  # fmt: skip
    """One page by number (both envelopes take ``page`` and ``page_size``)."""
    query = {k: v for k, v in (params or {}).items() if v is not None}
    response, _ = requestor.request(
        "GET", path, business_id=business_id, params={**query, "page": number, "page_size": size}
    )
    return read_json(response)
