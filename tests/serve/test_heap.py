"""limit_heap_growth: the server's threads share two malloc arenas, whatever number of pages ran at once."""
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent("""
    import ctypes, ctypes.util, sys, tempfile, threading
    from hill_viz.serve.pages import limit_heap_growth

    if sys.argv[1] == "limited" and not limit_heap_growth():
        print("not glibc"); sys.exit(0)
    together = threading.Barrier(8)

    def page():  # eight pages' threads allocating at the same time
        together.wait()
        blocks = [bytearray(64 * 1024) for _ in range(200)]
        together.wait()
    threads = [threading.Thread(target=page) for _ in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.fopen.restype = ctypes.c_void_p
    with tempfile.NamedTemporaryFile("r") as out:
        stream = libc.fopen(out.name.encode(), b"w")
        libc.malloc_info(0, ctypes.c_void_p(stream))
        libc.fclose(ctypes.c_void_p(stream))
        print(out.read().count("<heap nr="))
""")


def _arenas(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True).stdout
    if out.startswith("not glibc"):
        pytest.skip("limit_heap_growth needs glibc")
    return int(out)


def test_threads_share_two_arenas():
    assert _arenas("plain") > 2  # glibc's default gives these eight threads arenas of their own
    assert _arenas("limited") <= 2
