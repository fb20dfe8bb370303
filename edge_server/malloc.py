"""Bound the C heap of a long-running, many-threaded server process (glibc's malloc arenas)."""

from __future__ import annotations

import ctypes

M_ARENA_MAX = -8  # from glibc's malloc.h


def limit_arenas(count: int) -> bool:
    """Cap glibc malloc arenas at count for this process and those it forks; False where libc is not glibc.

    glibc gives threads up to 8 arenas per core, and freed memory in one arena cannot serve another, so 32 server
    threads fragment the heap into a slow, lasting growth of resident memory (MALLOC_ARENA_MAX does the same, but
    only when set before the interpreter starts).
    """
    libc = ctypes.CDLL(None)  # the symbols already loaded into this process, libc's among them
    if not hasattr(libc, "gnu_get_libc_version"):
        return False
    return libc.mallopt(M_ARENA_MAX, count) == 1
