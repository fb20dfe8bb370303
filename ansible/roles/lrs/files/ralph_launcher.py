"""Run Ralph's LRS API (installed by the lrs role; run with Ralph's venv python).

Usage: ralph_launcher.py HOST PORT WORKERS [CERTFILE KEYFILE]   (the rest from the RALPH_* environment variables)

With CERTFILE and KEYFILE (PEM; the lrs role's lrs_tls) uvicorn serves https:// itself: boxes send their
credentials and pupils' records only over TLS, checked against the province's CA.

Ralph 5.1's file-system backend creates its statements file on every write, so only a box's first batch
would be stored; this launcher switches it to append, in ONE process (parallel appends to one file would
interleave). The provincial backends (ClickHouse, Elasticsearch, MongoDB) run unpatched with WORKERS processes.
"""

import os
import sys

import uvicorn


def main() -> None:
    """Patch the FS backend to append when it is the backend, then serve ralph.api:app."""
    host, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    tls = {"ssl_certfile": sys.argv[4], "ssl_keyfile": sys.argv[5]} if len(sys.argv) >= 6 else {}
    if os.environ.get("RALPH_RUNSERVER_BACKEND", "es") == "fs":
        from ralph.backends.data.base import BaseOperationType
        from ralph.backends.lrs.fs import FSLRSBackend

        FSLRSBackend.default_operation_type = BaseOperationType.APPEND
        uvicorn.run("ralph.api:app", host=host, port=port, proxy_headers=True, **tls)
    else:
        uvicorn.run("ralph.api:app", host=host, port=port, proxy_headers=True, workers=workers, **tls)


if __name__ == "__main__":
    main()
