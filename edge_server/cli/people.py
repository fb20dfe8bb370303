"""CLI commands: teacher add, teacher password, class add, pupil add, pupil import, pupil move, pupil remove."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click

from edge_server.cli import data_option, emit_json, fail, info, open_box


def _open(data_dir: Path):
    """A connection to the box, closed when the command ends."""
    if not data_dir.is_dir():
        fail(f"no data directory at {data_dir}: run `edge-server init --data {data_dir}` first")
    return click.get_current_context().with_resource(open_box(data_dir).db())


def register(main: click.Group) -> None:
    """Attach this module's commands to the edge-server group."""

    @main.group("teacher")
    def teacher() -> None:
        """Teacher accounts."""

    @teacher.command("add")
    @click.argument("username")
    @data_option
    @click.option("--password", help="The password (asked for when left out).")
    @click.option("--name", "display_name", help="The name shown on pages.")
    @click.option("--admin", is_flag=True, help="An admin (every class, teachers, box settings); the box's first "
                                                "teacher is one anyway.")
    def teacher_add(username: str, data_dir: Path, password: str | None, display_name: str | None,
                    admin: bool) -> None:
        """Create a teacher account (the box's first teacher is its admin)."""
        from edge_server.store import people
        from edge_server.web import auth

        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
        if len(password) < auth.MIN_PASSWORD:
            fail(f"password too short: use at least {auth.MIN_PASSWORD} characters")
        db = _open(data_dir)
        if people.teacher_by_username(db, username):
            fail(f"teacher {username!r} already exists: choose another username")
        teacher_id = people.add_teacher(db, username, auth.hash_password(password), display_name,
                                        role="admin" if admin else "teacher")
        role = (people.get_teacher(db, teacher_id) or {}).get("role", "teacher")
        info(f"teacher {username} created ({role})")
        emit_json({"id": teacher_id, "username": username})

    @teacher.command("password")
    @click.argument("username")
    @data_option
    @click.option("--password", help="The new password (asked for when left out).")
    def teacher_password(username: str, data_dir: Path, password: str | None) -> None:
        """Give a teacher a new password; the teacher's open sessions end."""
        from edge_server.store import people
        from edge_server.web import auth

        db = _open(data_dir)
        teacher = people.teacher_by_username(db, username)
        if teacher is None:
            fail(f"no teacher {username!r}: `edge-server teacher add {username} --data {data_dir}` creates one")
        if password is None:
            password = click.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
        if len(password) < auth.MIN_PASSWORD:
            fail(f"password too short: use at least {auth.MIN_PASSWORD} characters")
        people.set_password_hash(db, teacher["id"], auth.hash_password(password))
        info(f"new password saved for {username}; their sessions have ended")
        emit_json({"id": teacher["id"], "username": username})

    @main.group("class")
    def class_() -> None:
        """Classes."""

    @class_.command("add")
    @click.argument("name")
    @click.option("--teacher", "username", help="The teacher who owns it (default: the box's admin).")
    @data_option
    def class_add(name: str, username: str | None, data_dir: Path) -> None:
        """Create a class, owned by a teacher (only they and the admins open it)."""
        from edge_server.store import people

        db = _open(data_dir)
        owner = None
        if username is not None:
            teacher = people.teacher_by_username(db, username)
            if teacher is None:
                fail(f"no teacher {username!r}: `edge-server teacher add {username} --data {data_dir}` creates one")
            owner = teacher["id"]
        try:
            class_id = people.add_class(db, name, owner)
        except sqlite3.IntegrityError:
            fail(f"class {name!r} already exists")
        info(f"class {name} created" + (f" for {username}" if username else ""))
        emit_json({"id": class_id, "name": name})

    @main.group("pupil")
    def pupil() -> None:
        """Pupils."""

    @pupil.command("add")
    @click.argument("name")
    @click.option("--class", "class_name", required=True, help="The class's name.")
    @click.option("--pin", required=True, help="A four-digit PIN.")
    @click.option("--picture", type=click.Choice(sorted(_pictures())), help="A picture to find the name by.")
    @data_option
    def pupil_add(name: str, class_name: str, pin: str, picture: str | None, data_dir: Path) -> None:
        """Add a pupil to a class."""
        from edge_server.store import people
        from edge_server.web import auth

        if not auth.valid_pin(pin):
            fail("a PIN is exactly four digits, e.g. --pin 1234")
        db = _open(data_dir)
        klass = people.class_by_name(db, class_name)
        if klass is None:
            fail(f"no class {class_name!r}: create it with `edge-server class add {class_name!r} --data {data_dir}`")
        created = people.add_pupil(db, klass["id"], name, auth.hash_pin(pin), picture)
        info(f"pupil {name} added to {class_name}")
        emit_json({"id": created["id"], "ref": created["ref"], "name": name, "class": class_name})

    @pupil.command("import")
    @click.argument("roster_file", metavar="ROSTER.csv", type=click.Path(path_type=Path))
    @click.option("--class", "class_name", required=True, help="The class's name.")
    @data_option
    def pupil_import(roster_file: Path, class_name: str, data_dir: Path) -> None:
        """Add a class list from a UTF-8 CSV file: a name column, optional picture and pin (missing PINs are made
        and printed once, in the JSON). A file with any error adds nobody; the error names its row."""
        from edge_server import roster_ops
        from edge_server.domain import roster
        from edge_server.store import people
        from edge_server.web import auth

        if not roster_file.is_file():
            fail(f"no file {roster_file}")
        if roster_file.stat().st_size > roster.MAX_BYTES:
            fail(f"{roster_file}: the file is larger than {roster.MAX_BYTES // 1024} KiB")
        db = _open(data_dir)
        klass = _class(db, class_name, data_dir)
        try:
            rows = roster.parse_roster(roster_file.read_bytes(), people.PICTURES,
                                       roster_ops.class_names(db, klass["id"]))
        except roster.RosterRefused as refused:
            fail(f"{roster_file}: {refused.one_line()}; nothing was imported")
        pupils, made = roster.with_pins(rows)
        hashes = {p.row: auth.hash_pin(p.pin or "") for p in pupils}
        try:
            added = roster_ops.import_roster(db, klass["id"], pupils, hashes, made)
        except roster.RosterRefused as refused:  # a name given to a pupil of the class meanwhile
            fail(f"{roster_file}: {refused.one_line()}; nothing was imported")
        info(f"{len(added)} pupils added to {class_name}; {len(made)} PINs made by the box are in the JSON "
             "(only their hashes are kept: note or print them now)")
        emit_json({"class": class_name, "added": len(added), "pupils": [
            {"id": p.id, "ref": p.ref, "name": p.name, "picture": p.picture,
             **({"pin": p.pin} if p.pin_made else {})} for p in added]})

    @pupil.command("move")
    @click.argument("name")
    @click.option("--class", "class_name", required=True, help="The pupil's class now.")
    @click.option("--to", "to_class", required=True, help="The class to move the pupil to.")
    @data_option
    def pupil_move(name: str, class_name: str, to_class: str, data_dir: Path) -> None:
        """Move a pupil, with their answers and progress, to another class."""
        from edge_server import roster_ops

        db = _open(data_dir)
        found = _pupil(db, name, _class(db, class_name, data_dir))
        target = _class(db, to_class, data_dir)
        try:
            roster_ops.move_pupil(db, found["id"], target["id"])
        except roster_ops.RosterConflict:
            fail(f"{to_class!r} already has a pupil called {found['name']!r}: rename one of them first")
        info(f"{found['name']} moved from {class_name} to {to_class}")
        emit_json({"id": found["id"], "ref": found["ref"], "name": found["name"], "class": to_class})

    @pupil.command("remove")
    @click.argument("name")
    @click.option("--class", "class_name", required=True, help="The pupil's class.")
    @click.option("--yes", is_flag=True, help="Do not ask for a confirmation.")
    @data_option
    def pupil_remove(name: str, class_name: str, yes: bool, data_dir: Path) -> None:
        """Erase a pupil from the box: name, answers, progress, questions, alerts, tablets, unsent statements.
        Statements already sent stay at the LRS under the pupil's pseudonym (they never held the name)."""
        from edge_server import roster_ops
        from edge_server.identity import ProvisionError
        db = _open(data_dir)
        found = _pupil(db, name, _class(db, class_name, data_dir))
        counts = {table: n for table, n in roster_ops.removal_summary(db, found["id"]).items() if n}
        summary = ", ".join(f"{n} {table}" for table, n in counts.items()) or "no answers or other records"
        if not yes and not click.confirm(f"Erase {found['name']} ({class_name}) and {summary}?", err=True):
            fail("nothing was removed")
        try:
            secret: bytes | None = open_box(data_dir).identity[1]
        except ProvisionError:
            secret = None  # a box without an identity has never made a statement
        erased = roster_ops.remove_pupil(db, found["id"], secret)
        info(f"{found['name']} removed from the box")
        emit_json({"id": found["id"], "ref": found["ref"], "class": class_name,
                   "erased": {table: n for table, n in erased.items() if n}})


def _class(db, class_name: str, data_dir: Path) -> dict:
    from edge_server.store import people

    klass = people.class_by_name(db, class_name)
    if klass is None:
        fail(f"no class {class_name!r}: create it with `edge-server class add {class_name!r} --data {data_dir}`")
    return klass


def _pupil(db, name: str, klass: dict) -> dict:
    from edge_server.domain import roster
    from edge_server.store import people

    wanted = roster.name_key(name)
    matches = [p for p in people.pupils_in_class(db, klass["id"]) if roster.name_key(p["name"]) == wanted]
    if not matches:
        fail(f"no pupil {name!r} in {klass['name']!r}")
    if len(matches) > 1:
        fail(f"{len(matches)} pupils called {name!r} in {klass['name']!r}: rename one on the class page first")
    return matches[0]


def _pictures() -> tuple[str, ...]:
    from edge_server.store.people import PICTURES

    return PICTURES
