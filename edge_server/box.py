"""The composition root: one Box per process, built from Settings at start, holding the services passed down.

`Box.start(settings)` brings box.db's schema up to date (the one place migrations run in a process that serves),
and the box then hands out connections (`with box.db() as db:`), its identity (read from keys/ once) and its
services, each made once on first use: the model client and job runners, and the companion.
create_app, the scheduler process and the CLI build it the same way; tests pass their own services in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import sqlite_utils

from edge_server.settings import Settings
from edge_server.store.db import connect, open_box_db

if TYPE_CHECKING:
    from edge_server.companion import Companion
    from edge_server.jobs import Runners

T = TypeVar("T")


class Box:
    """One box's running parts: settings, identity, database connections and services."""

    def __init__(self, settings: Settings, *, companion: Companion | None = None, runners: Runners | None = None,
                 identity: tuple[str, bytes] | None = None) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._made: dict[str, Any] = {}
        for name, given in (("companion", companion), ("runners", runners), ("identity", identity)):
            if given is not None:
                self._made[name] = given

    @classmethod
    def start(cls, settings: Settings, **services: Any) -> Box:
        """Bring box.db's schema up to date, once, and return the box (services may be given, e.g. by tests)."""
        open_box_db(settings.db_path).conn.close()
        return cls(settings, **services)

    @contextmanager
    def db(self, *, readonly: bool = False) -> Iterator[sqlite_utils.Database]:
        """A connection for one unit of work, closed after it (the schema is already up to date)."""
        db = connect(self.settings.db_path, readonly=readonly)
        try:
            yield db
        finally:
            db.conn.close()

    def _once(self, name: str, make: Callable[[], T]) -> T:
        with self._lock:
            if name not in self._made:
                self._made[name] = make()
            return self._made[name]

    @property
    def identity(self) -> tuple[str, bytes]:
        """The box id and the secret that pseudonymises its statements, read from the keys folder once."""
        def load() -> tuple[str, bytes]:
            from edge_server.identity import load_identity

            found = load_identity(self.settings.keys_dir)
            return found.box_id, found.secret

        return self._once("identity", load)

    @property
    def runners(self) -> Runners:
        """The model process's client and the speech and text runners it serves."""
        from edge_server.jobs import Runners

        return self._once("runners", lambda: Runners(self.settings))

    @property
    def companion(self) -> Companion:
        """This process's study companion (one model queue, one answer cache)."""
        from edge_server.companion import Companion

        return self._once("companion", lambda: Companion(self.settings, runners=self.runners))
