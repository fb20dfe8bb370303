"""The server caps glibc's malloc arenas and SQLite's page cache, so many threads cannot grow a worker for good."""

from __future__ import annotations

import subprocess
import sys

from edge_server.malloc import heap_usage
from edge_server.store.db import CACHE_KIB, connect

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


# In a fresh process: in a long one (the test run), malloc may serve the block from a large chunk freed earlier.
LARGE_BLOCK = """
from edge_server.malloc import heap_usage
before = heap_usage()
block = bytearray(64 * 2**20)
during = heap_usage()
del block
after = heap_usage()
print(before.mmapped_mb, during.mmapped_mb, after.mmapped_mb)
"""


def test_the_heap_report_counts_a_large_block_as_mmapped_until_it_is_freed():
    out = subprocess.run([sys.executable, "-c", LARGE_BLOCK], capture_output=True, text=True, check=True).stdout
    before, during, after = map(float, out.split())
    assert during - before >= 63
    assert during - after >= 63


def test_the_heap_report_counts_what_sqlite_holds(tmp_path):
    empty = heap_usage().sqlite_mb
    db = connect(tmp_path / "box.db")
    db.execute("CREATE TABLE t (x TEXT)")
    db.conn.executemany("INSERT INTO t VALUES (?)", [("x" * 1000,) for _ in range(2000)])
    db.execute("SELECT count(*) FROM t WHERE x LIKE '%y%'").fetchone()
    assert heap_usage().sqlite_mb - empty >= 0.4  # its page cache filled, up to CACHE_KIB
    db.conn.close()
