"""CLI command: demo (what `make demo` runs: sample pack, models, a demo class, AI jobs, serve)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import click

from edge_server.cli import emit_json, fail, info, open_box

DEMO_DATA = Path("var/demo")
DEMO_NAME = "Demo school"
DEMO_TEACHER = "teacher"
DEMO_CLASS = "Class 5"
DEMO_PUPILS = (("Amina", "1111"), ("Bao", "2222"), ("Chloé", "3333"), ("Diego", "4444"))


def _demo_people(db: Any, data_dir: Path) -> dict[str, Any]:
    """A demo teacher (password kept in the data dir), a class and a few pupils, created once."""
    from edge_server.store import people
    from edge_server.web import auth

    login_file = data_dir / "demo-login.txt"
    if people.teacher_by_username(db, DEMO_TEACHER) is None:
        password = secrets.token_urlsafe(9)
        people.add_teacher(db, DEMO_TEACHER, auth.hash_password(password), "Demo teacher")
        login_file.write_text(f"{DEMO_TEACHER} {password}\n")
        login_file.chmod(0o600)
    username, password = login_file.read_text().split()
    klass = people.class_by_name(db, DEMO_CLASS)
    class_id = klass["id"] if klass else people.add_class(db, DEMO_CLASS)
    roster = {p["name"] for p in people.pupils_in_class(db, class_id)}
    pictures = people.PICTURES
    for index, (name, pin) in enumerate(DEMO_PUPILS):
        if name not in roster:
            people.add_pupil(db, class_id, name, auth.hash_pin(pin), pictures[index % len(pictures)])
    return {"username": username, "password": password, "class": DEMO_CLASS,
            "pupils": [{"name": n, "pin": p} for n, p in DEMO_PUPILS]}


def register(main: click.Group) -> None:
    """Attach this module's commands to the edge-server group."""

    @main.command()
    @click.option("--data", "data_dir", type=click.Path(path_type=Path), default=DEMO_DATA, show_default=True,
                  help="Data directory of the demo box.")
    @click.option("--host", default="0.0.0.0", show_default=True)
    @click.option("--port", type=int, default=8080, show_default=True)
    @click.option("--no-serve", is_flag=True, help="Set everything up, print the logins, and stop.")
    def demo(data_dir: Path, host: str, port: int, no_serve: bool) -> None:
        """Set up a demo box with the bundled sample course, then serve it."""
        from edge_server.cli.serve import _check_port_free, public_url, run_server
        from edge_server.identity import init_data_dir
        from edge_server.sample import build_and_import_sample
        from models.registry import ModelError, install_defaults

        if not no_serve:
            _check_port_free(host, port)
        info(f"preparing the demo box in {data_dir} ...")
        init_data_dir(data_dir, trust=None, name=DEMO_NAME)
        sample = build_and_import_sample(data_dir, show_progress=True)
        box = open_box(data_dir, host=host, port=port)
        settings = box.settings
        try:
            from tqdm import tqdm

            install_defaults(settings.box_models_dir,
                             progress_factory=lambda total: tqdm(total=total, unit="B", unit_scale=True,
                                                                 desc="installing models", leave=False))
        except ModelError as exc:
            fail(str(exc))
        with box.db() as db:
            login = _demo_people(db, data_dir)
        url = public_url(host, port)
        info("")
        info(f"  Classroom box demo: {url}")
        info(f"  Teacher login:      {url}/teacher/login  user {login['username']}  password {login['password']}")
        info(f"  Pupils ({login['class']}): " + ", ".join(f"{p['name']} PIN {p['pin']}" for p in login["pupils"]))
        info("  AI captions, chapters and summaries are computed in the background (see the teacher pages).")
        info("")
        emit_json({"url": url, "channel": sample.get("channel"), "teacher": login["username"],
                   "password": login["password"], "data": str(data_dir)})
        if not no_serve:
            run_server(settings)
