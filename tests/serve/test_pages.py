"""PageRegistry: pages counted against the limit, and memory released once after pages leave together."""
import time

from hill_viz.serve import pages
from hill_viz.serve.pages import PageRegistry


def test_limit_refuses_the_page_past_it(tmp_path):
    registry = PageRegistry(tmp_path, max_pages=2, max_trainings=1)
    first, second = registry.enter("alice"), registry.enter("bob")
    assert registry.enter("carol") is None and registry.refused == 1
    registry.leave(first)
    assert registry.enter("carol") is not None and len(registry) == 2
    registry.leave(second)


def test_pages_leaving_together_release_memory_once_after_the_last(tmp_path, monkeypatch):
    releases, release = [], pages.release_memory

    def counted():
        releases.append(time.monotonic())
        release()
    monkeypatch.setattr(pages, "RELEASE_AFTER_S", 0.3)
    monkeypatch.setattr(pages, "release_memory", counted)
    registry = PageRegistry(tmp_path, max_pages=None, max_trainings=1)
    opened = [registry.enter(f"user{k}") for k in range(4)]
    for page in opened:
        registry.leave(page)
        time.sleep(0.1)  # each leaves before the last one's release is due
    last_left = time.monotonic()
    time.sleep(1.0)
    assert len(releases) == 1 and releases[0] - last_left >= 0.3 - 0.1
    assert len(registry) == 0
