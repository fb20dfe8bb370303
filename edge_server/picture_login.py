"""Picture passwords, for pupils who cannot read yet: a sequence of 3 of the 12 pictures in static/pictures/.

A class logs in with PINs or with pictures (classes.login_kind, chosen by its teacher). A picture password is kept
as a salted hash, like a PIN, and its tries go through the PIN's counters and lockouts (edge_server.pin_guard):
the same limits per pupil, tablet, class and box, whichever of the two a pupil types. 12 pictures, 3 in order and
repeats allowed: 1,728 sequences (a PIN has 10,000); at 5 tries a minute and lockouts of 1, 5, 15 and then 60
minutes, guessing one takes weeks of trying, and the teacher sees an alert at each lockout.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils
from werkzeug.security import check_password_hash, generate_password_hash

from edge_server.store import people
from edge_server.store.db import one

PICTURES = ("apple", "ball", "bird", "car", "dog", "house", "key", "leaf", "moon", "rain", "star", "tree")
LENGTH = 3
LOGIN_KINDS = ("pin", "pictures")


def normalise(value: Any) -> str | None:
    """A picture password as hashed ("sun-cat-boat"): exactly LENGTH known pictures in order, else None. Takes the
    pictures as a list, or as one string joined by "-", "," or spaces."""
    if isinstance(value, str):
        parts = value.replace(",", " ").replace("-", " ").split()
    elif isinstance(value, list | tuple):
        parts = [str(p).strip() for p in value]
    else:
        return None
    if len(parts) != LENGTH or any(p not in PICTURES for p in parts):
        return None
    return "-".join(parts)


def hash_pictures(value: Any) -> str:
    """A salted hash of a picture password (as cheap as a PIN's: a class logs in at once)."""
    normal = normalise(value)
    if normal is None:
        raise ValueError(f"a picture password is {LENGTH} of the pictures {', '.join(PICTURES)}")
    return generate_password_hash(normal, method="pbkdf2:sha256:100000")


def verify_pictures(stored_hash: str | None, value: Any) -> bool:
    """True when the pictures match the stored hash; a pupil without a picture password cannot log in with one."""
    normal = normalise(value)
    return bool(stored_hash) and normal is not None and check_password_hash(stored_hash, normal)


def picture_hash(db: sqlite_utils.Database, pupil_id: int) -> str | None:
    """A pupil's picture password hash, or None."""
    row = one(db, "SELECT picture_password_hash FROM pupils WHERE id = ?", (pupil_id,))
    return row["picture_password_hash"] if row else None


def has_pictures(db: sqlite_utils.Database, pupil_ids: list[int]) -> set[int]:
    """Which of these pupils have a picture password."""
    if not pupil_ids:
        return set()
    marks = ",".join("?" * len(pupil_ids))
    found = db.execute(f"SELECT id FROM pupils WHERE picture_password_hash IS NOT NULL AND id IN ({marks})",
                       pupil_ids).fetchall()
    return {r[0] for r in found}


def set_pictures(db: sqlite_utils.Database, pupil_id: int, pictures_hash: str) -> None:
    """Give a pupil a new picture password; the pupil's sessions end with the old one."""
    people.set_picture_hash(db, pupil_id, pictures_hash)


def login_kind(db: sqlite_utils.Database, class_id: int | None) -> str:
    """How a class's pupils log in: "pin" or "pictures"."""
    row = one(db, "SELECT login_kind FROM classes WHERE id = ?", (class_id,)) if class_id is not None else None
    return row["login_kind"] if row and row["login_kind"] in LOGIN_KINDS else "pin"


def set_login_kind(db: sqlite_utils.Database, class_id: int, kind: str) -> None:
    """Choose how a class's pupils log in."""
    if kind not in LOGIN_KINDS:
        raise ValueError(f"login kind must be one of {', '.join(LOGIN_KINDS)}")
    people.set_login_kind(db, class_id, kind)
