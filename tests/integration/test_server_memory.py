"""The server caps glibc's malloc arenas and SQLite's page cache, so many threads cannot grow a worker for good."""

from __future__ import annotations

import subprocess
import sys

from edge_server.db import CACHE_KIB, connect

# Eight threads allocate at once, then glibc reports its heaps (one per arena in use) as XML on stdout.
CHILD = """
import ctypes, sys, threading
from edge_server.malloc import limit_arenas
if sys.argv[1] == "cap":
    assert limit_arenas(1)
barrier = threading.Barrier(8)
def churn():
    barrier.wait()
    kept = [bytes(4000) for _ in range(2000)]
    barrier.wait()
threads = [threading.Thread(target=churn) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
libc = ctypes.CDLL(None)
sys.stdout.flush()
libc.malloc_info(0, ctypes.c_void_p.in_dll(libc, "stdout"))
libc.fflush(None)
"""


def heaps(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True).stdout
    return out.count("<heap nr=")


def test_threads_share_a_capped_number_of_malloc_arenas():
    assert heaps("free") > 1
    assert heaps("cap") == 1


def test_every_connection_keeps_a_small_page_cache(tmp_path):
    db = connect(tmp_path / "box.db")
    assert db.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB
