"""How every bench script prints its result: the aligned table on stdout, or JSON on stdout and the table on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any


def emit(result: dict[str, Any], table: Callable[[dict[str, Any]], str], as_json: bool) -> None:
    """Print one bench's result the way `python -m bench` and a person at the terminal both read it."""
    if as_json:
        print(table(result), file=sys.stderr)
        print(json.dumps(result, indent=2))
    else:
        print(table(result))
