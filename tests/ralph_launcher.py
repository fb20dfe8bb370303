"""Run Ralph's LRS API with the file-system backend in append mode (run with .ralph-venv/bin/python).

Ralph 5.1's FS backend creates its statements file on every write, so only the first write succeeds;
appending is what a file-backed LRS needs. The provincial backends (ClickHouse, ES, MongoDB) do not need this.
Usage: ralph_launcher.py HOST PORT [CERTFILE KEYFILE] (the rest with RALPH_* environment variables); with a
certificate and its key uvicorn serves https:// itself, as the lrs role's launcher does.
"""

import sys

import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend


def main() -> None:
    """Patch the FS backend to append, then serve ralph.api:app."""
    host, port = sys.argv[1], int(sys.argv[2])
    tls = {"ssl_certfile": sys.argv[3], "ssl_keyfile": sys.argv[4]} if len(sys.argv) >= 5 else {}
    FSLRSBackend.default_operation_type = BaseOperationType.APPEND
    uvicorn.run("ralph.api:app", host=host, port=port, log_level="warning", access_log=False, **tls)


if __name__ == "__main__":
    main()
