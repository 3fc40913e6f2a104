"""One pass of a list: page 1 says how many, pages 2..N go out concurrently, never more than asked.

Against a small server whose every page takes 0.1 s and that counts the requests it holds at
once: a sequential reader would never show more than one.
"""

from __future__ import annotations

import math

import pytest

from tests.helpers.hostile_server import GROWTH, SLOW_PAGES_COUNT, HostileServer
from thredfi_provider.client import pagination
from thredfi_provider.client.client import ThredfiClient
from thredfi_provider.client.settings import ClientSettings


@pytest.fixture
def slow():
    server = HostileServer().start()
    yield server
    server.stop()


def read(server: HostileServer, in_flight: int, scenario: str = "slow-pages") -> list[dict]:
    client = ThredfiClient(ClientSettings(server.base_url, server.partner_id, server.api_key, page_size=50))
    pages = pagination.read_all(client.requestor, f"{scenario}/", max_in_flight=in_flight)
    return [record for page in pages for record in page]


@pytest.mark.parametrize("in_flight", [1, 4])
def test_a_pass_reads_every_page_once_with_at_most_so_many_in_flight(slow, in_flight):
    records = read(slow, in_flight)
    assert sorted(r["external_id"] for r in records) == sorted(f"e{n}" for n in range(SLOW_PAGES_COUNT))
    assert len(slow.hits("slow-pages")) == math.ceil(SLOW_PAGES_COUNT / 50)  # each page once
    assert slow.max_in_flight == in_flight  # concurrent when asked, and bounded


def test_a_list_that_grows_during_the_pass_is_read_to_its_new_end(slow):
    records = read(slow, 4, "growing-pages")
    assert len({r["external_id"] for r in records}) == SLOW_PAGES_COUNT + GROWTH
    assert len(slow.hits("growing-pages")) == math.ceil((SLOW_PAGES_COUNT + GROWTH) / 50)
