"""Bound the C heap of a long-running, many-threaded server process (glibc's malloc arenas)."""

from __future__ import annotations

import ctypes
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cache

M_ARENA_MAX = -8  # from glibc's malloc.h
MIB = 2**20


def limit_arenas(count: int) -> bool:
    """Cap glibc malloc arenas at count for this process and those it forks; False where libc is not glibc.

    glibc gives threads up to 8 arenas per core, and freed memory in one arena cannot serve another, so 32 server
    threads fragment the heap into a slow, lasting growth of resident memory (MALLOC_ARENA_MAX does the same, but
    only when set before the interpreter starts).
    """
    libc = _libc()
    if not hasattr(libc, "gnu_get_libc_version"):
        return False
    return libc.mallopt(M_ARENA_MAX, count) == 1


@cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None)  # the symbols already loaded into this process, libc's among them
    if hasattr(libc, "mallinfo2"):
        libc.mallinfo2.restype = _MallInfo2
    return libc


@dataclass(frozen=True)
class HeapUsage:
    """What the C heap of this process holds, in MiB: small blocks in use, held free for reuse, large mmap'd blocks
    (allocated, not all touched), and SQLite's part of it."""

    in_use_mb: float
    free_mb: float
    mmapped_mb: float
    sqlite_mb: float | None


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


@cache
def _sqlite_memory_counter() -> Callable[[], int] | None:
    import _sqlite3

    # dlsym on the module's handle also searches the libsqlite3 it links, so this is the copy Python uses.
    lib = ctypes.CDLL(_sqlite3.__file__)
    if not hasattr(lib, "sqlite3_memory_used"):
        return None
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return lib.sqlite3_memory_used


def heap_usage() -> HeapUsage | None:
    """This process's C heap from glibc's mallinfo2 (all arenas), and SQLite's own count; None without glibc 2.33+.

    Resident memory alone cannot tell a leak from memory malloc keeps free for reuse, or from pages of a large
    mmap'd buffer (the text model's KV cache) touched for the first time: in_use_mb and mmapped_mb grow with a
    leak, and stay level as the touched part of a buffer grows.
    """
    libc, sqlite_used = _libc(), _sqlite_memory_counter()
    if not hasattr(libc, "mallinfo2"):
        return None
    info = libc.mallinfo2()
    sqlite = None if sqlite_used is None else sqlite_used()
    return HeapUsage(in_use_mb=round(info.uordblks / MIB, 1), free_mb=round(info.fordblks / MIB, 1),
                     mmapped_mb=round(info.hblkhd / MIB, 1),
                     sqlite_mb=None if sqlite is None else round(sqlite / MIB, 1))


def report_heap_every(interval_s: float, log: Callable[[str], None]) -> threading.Thread:
    """Log `heap pid=.. t=.. in_use_mb=.. free_mb=.. mmapped_mb=.. sqlite_mb=..` every interval_s from a daemon
    thread (one per server worker, for the classroom soak and for operators chasing memory)."""

    def loop() -> None:
        while True:
            usage = heap_usage()
            if usage is None:
                return
            fields = " ".join(f"{k}={v}" for k, v in asdict(usage).items())
            log(f"heap pid={os.getpid()} t={time.time():.1f} {fields}")
            time.sleep(interval_s)

    thread = threading.Thread(target=loop, name="heap-report", daemon=True)
    thread.start()
    return thread
