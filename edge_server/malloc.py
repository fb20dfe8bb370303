"""Bound the C heap of a long-running, many-threaded server process (glibc's malloc arenas)."""

from __future__ import annotations

import ctypes
import ctypes.util

M_ARENA_MAX = -8  # from glibc's malloc.h


def limit_arenas(count: int) -> bool:
    """Cap glibc malloc arenas at count for this process and those it forks; False where libc is not glibc.

    glibc gives threads up to 8 arenas per core, and freed memory in one arena cannot serve another, so 32 server
    threads fragment the heap into a slow, lasting growth of resident memory (MALLOC_ARENA_MAX does the same, but
    only when set before the interpreter starts).
    """
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.gnu_get_libc_version) and libc.mallopt(M_ARENA_MAX, count) == 1
    except (OSError, AttributeError):
        return False
