"""Run Ralph's LRS API with the file-system backend in append mode (run with .ralph-venv/bin/python).

Ralph 5.1's FS backend creates its statements file on every write, so only the first write succeeds;
appending is what a file-backed LRS needs. The provincial backends (ClickHouse, ES, MongoDB) do not need this.
Usage: ralph_launcher.py HOST PORT (configure the rest with RALPH_* environment variables).
"""

import sys

import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend


def main() -> None:
    """Patch the FS backend to append, then serve ralph.api:app."""
    host, port = sys.argv[1], int(sys.argv[2])
    FSLRSBackend.default_operation_type = BaseOperationType.APPEND
    uvicorn.run("ralph.api:app", host=host, port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
