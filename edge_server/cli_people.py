"""CLI commands: teacher add, teacher password, class add, pupil add."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click

from edge_server.cli import data_option, emit_json, fail, info


def _open(data_dir: Path):
    from edge_server.db import open_box_db

    if not data_dir.is_dir():
        fail(f"no data directory at {data_dir}: run `edge-server init --data {data_dir}` first")
    return open_box_db(data_dir / "box.db")


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
    def teacher_add(username: str, data_dir: Path, password: str | None, display_name: str | None) -> None:
        """Create a teacher account."""
        from edge_server import auth, people

        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
        if len(password) < auth.MIN_PASSWORD:
            fail(f"password too short: use at least {auth.MIN_PASSWORD} characters")
        db = _open(data_dir)
        if people.teacher_by_username(db, username):
            fail(f"teacher {username!r} already exists: choose another username")
        teacher_id = people.add_teacher(db, username, auth.hash_password(password), display_name)
        info(f"teacher {username} created")
        emit_json({"id": teacher_id, "username": username})

    @teacher.command("password")
    @click.argument("username")
    @data_option
    @click.option("--password", help="The new password (asked for when left out).")
    def teacher_password(username: str, data_dir: Path, password: str | None) -> None:
        """Give a teacher a new password; the teacher's open sessions end."""
        from edge_server import auth, people

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
    @data_option
    def class_add(name: str, data_dir: Path) -> None:
        """Create a class."""
        from edge_server import people

        db = _open(data_dir)
        try:
            class_id = people.add_class(db, name)
        except sqlite3.IntegrityError:
            fail(f"class {name!r} already exists")
        info(f"class {name} created")
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
        from edge_server import auth, people

        if not auth.valid_pin(pin):
            fail("a PIN is exactly four digits, e.g. --pin 1234")
        db = _open(data_dir)
        klass = people.class_by_name(db, class_name)
        if klass is None:
            fail(f"no class {class_name!r}: create it with `edge-server class add {class_name!r} --data {data_dir}`")
        created = people.add_pupil(db, klass["id"], name, auth.hash_pin(pin), picture)
        info(f"pupil {name} added to {class_name}")
        emit_json({"id": created["id"], "ref": created["ref"], "name": name, "class": class_name})


def _pictures() -> tuple[str, ...]:
    from edge_server.people import PICTURES

    return PICTURES
