"""limit_heap_growth: memory that a server's threads freed goes back to the system."""
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent("""
    import sys, threading
    import psutil
    from hill_viz.serve.pages import limit_heap_growth

    if sys.argv[1] == "limited" and not limit_heap_growth():
        print("not glibc"); sys.exit(0)
    kept, block, count = [], 256 * 1024, 400

    def page():  # a page's arrays: allocated in its own thread, most freed when it closes
        blocks = [bytearray(block) for _ in range(count)]
        kept.extend(blocks[::10])
    rss = lambda: psutil.Process().memory_info().rss
    threads = [threading.Thread(target=page) for _ in range(4)]
    before = rss()
    for t in threads: t.start()
    for t in threads: t.join()
    print(before, rss(), 4 * count * block)
""")


def _returned_fraction(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True).stdout
    if out.startswith("not glibc"):
        pytest.skip("limit_heap_growth needs glibc")
    before, after, allocated = map(int, out.split())
    return 1 - (after - before) / allocated


def test_freed_arrays_of_many_threads_go_back_to_the_system():
    assert _returned_fraction("limited") > 0.8  # 0.9 of it was freed (glibc's defaults return none of it here)
