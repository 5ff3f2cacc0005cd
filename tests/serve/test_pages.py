"""PageRegistry: pages counted against the limit; memory released after the last of the pages leaving together."""
import time

from hill_viz.bench.browser import wait_until
from hill_viz.serve import pages
from hill_viz.serve.pages import PageRegistry


def test_limit_refuses_the_page_past_it(tmp_path):
    registry = PageRegistry(tmp_path, max_pages=2, max_trainings=1)
    first, second = registry.enter("alice"), registry.enter("bob")
    assert registry.enter("carol") is None and registry.refused == 1
    registry.leave(first)
    assert registry.enter("carol") is not None and len(registry) == 2
    registry.leave(second)


def test_pages_leaving_together_release_memory_after_the_last(tmp_path, monkeypatch):
    releases, release = [], pages.release_memory

    def counted():
        releases.append(time.monotonic())
        release()
    monkeypatch.setattr(pages, "RELEASE_AFTER_S", (0.3, 0.6))
    monkeypatch.setattr(pages, "release_memory", counted)
    registry = PageRegistry(tmp_path, max_pages=None, max_trainings=1)
    opened = [registry.enter(f"user{k}") for k in range(4)]
    for page in opened:
        last_left = time.monotonic()
        registry.leave(page)
    wait_until(lambda: len(releases) >= 2, 30, "two releases")
    time.sleep(0.7)  # a release per page would have come by now
    assert len(releases) == 2
    assert releases[0] - last_left >= 0.3 and releases[1] - last_left >= 0.6
    assert len(registry) == 0
