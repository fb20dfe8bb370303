"""Views: the pupil's progress page and the teacher's mastery dashboard (heatmap, stuck list, drill-down, CSV)."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Flask, Response, abort, render_template, url_for
from flask_babel import gettext, lazy_gettext
from markupsafe import Markup, escape

from edge_server import attempts
from edge_server.domain import mastery
from edge_server.store import people
from edge_server.web import auth
from edge_server.web.app import get_db

bp = Blueprint("progress", __name__)

# Bands of P(mastery) for colours and words; the top band is the mastery threshold itself.
BANDS = ((0.2, "h0"), (0.4, "h1"), (0.6, "h2"), (mastery.MASTERED_AT, "h3"), (1.01, "h4"))
LEVELS = ((0.3, lazy_gettext("Just starting")), (0.6, lazy_gettext("Getting there")),
          (mastery.MASTERED_AT, lazy_gettext("Nearly there")), (1.01, lazy_gettext("Mastered!")))

next_for_pupil = attempts.next_for_pupil


def band(p: float) -> str:
    """CSS class of a mastery value."""
    return next(name for top, name in BANDS if p < top)


def level(p: float) -> Any:
    """An encouraging word for a mastery value."""
    return next(word for top, word in LEVELS if p < top)


def stars(p: float) -> int:
    """0-3 stars: a simple picture of progress for young pupils."""
    return 3 if p >= mastery.MASTERED_AT else 2 if p >= 0.6 else 1 if p >= 0.3 else 0


@bp.app_template_filter("mmss")
def mmss(seconds: float | None) -> str:
    """Seconds as m:ss."""
    total = int(seconds or 0)
    return f"{total // 60}:{total % 60:02d}"


@bp.get("/progress")
@auth.pupil_required
def pupil_progress() -> Any:
    """The logged-in pupil's progress by knowledge point, with what to do next."""
    db = get_db()
    pupil = auth.current_pupil()
    rows = [{**r, "band": band(r["p_mastery"]), "level": level(r["p_mastery"]), "stars": stars(r["p_mastery"])}
            for r in attempts.pupil_mastery(db, pupil["id"])]
    mastered = sum(1 for r in rows if r["mastered"])
    return render_template("progress/pupil.html", rows=rows, mastered=mastered,
                           next_items=next_for_pupil(db, pupil["id"]))


def _class_or_404(class_id: int) -> dict[str, Any]:
    return auth.require_class(class_id)


def dashboard_data(db: Any, class_id: int) -> dict[str, Any]:
    """Everything the class dashboard shows: pupils x KPs matrix, KP averages, stuck pupils with actions."""
    pupils = people.pupils_in_class(db, class_id)
    names = attempts.knowledge_point_names(db)
    cells: dict[tuple[int, str], dict[str, Any]] = {}
    for r in attempts.class_mastery(db, class_id):
        cells[(r["pupil_id"], r["knowledge_point"])] = {**r, "band": band(r["p_mastery"])}
    kps = list(dict.fromkeys(attempts.class_knowledge_points(db, class_id)))
    kps += sorted({kp for _p, kp in cells} - set(kps), key=lambda k: names.get(k, k).lower())
    averages = {}
    for kp in kps:
        values = [cells[(p["id"], kp)]["p_mastery"] for p in pupils if (p["id"], kp) in cells]
        averages[kp] = {"p": sum(values) / len(values), "band": band(sum(values) / len(values)),
                        "n": len(values)} if values else None
    stuck_cells = [c for c in cells.values() if c["stuck"]]
    material = attempts.teaching_material(db, {c["knowledge_point"] for c in stuck_cells})
    # Grouped once by KP so each stuck cell's recommendation looks only at its own material.
    per_kp: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for key in ("chapters", "exercises", "lessons"):
        for entry in material[key]:
            per_kp.setdefault(entry["knowledge_point"], {"chapters": [], "exercises": [], "lessons": []})[key].append(
                entry)
    solved = attempts.class_solved_items(db, class_id)
    by_id = {p["id"]: p for p in pupils}
    stuck = []
    empty: dict[str, list[dict[str, Any]]] = {"chapters": [], "exercises": [], "lessons": []}
    for c in sorted(stuck_cells, key=lambda c: (by_id[c["pupil_id"]]["name"].lower(), c["knowledge_point"])):
        state = {**c, "name": names.get(c["knowledge_point"], c["knowledge_point"])}
        own = per_kp.get(c["knowledge_point"], empty)
        recs = mastery.recommend([state], own["chapters"], own["exercises"], solved.get(c["pupil_id"], set()),
                                 limit=2, lessons=own["lessons"])
        stuck.append({"pupil": by_id[c["pupil_id"]], "knowledge_point": c["knowledge_point"],
                      "knowledge_point_name": state["name"], "p_mastery": c["p_mastery"], "attempts": c["attempts"],
                      "actions": recs})
    # Cells as ready (css class, label, attempts) triples: 1200 cells render several times faster than with
    # lookups and filters inside the template.
    matrix = []
    for p in pupils:
        row = []
        for kp in kps:
            c = cells.get((p["id"], kp))
            if c is None:
                row.append(("none", "–", 0))
            else:
                label = f"{round(c['p_mastery'] * 100)}{'!' if c['stuck'] else ''}"
                row.append((c["band"] + (" stuck" if c["stuck"] else ""), label, c["attempts"]))
        matrix.append({"pupil": p, "cells": row})
    return {"pupils": pupils, "kps": [{"id": kp, "name": names.get(kp, kp)} for kp in kps], "cells": cells,
            "matrix": matrix, "averages": averages, "stuck": stuck}


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


def _label_actions(stuck: list[dict[str, Any]], class_id: int) -> None:
    """Translated action labels and links, computed once per distinct action (a class can have hundreds)."""
    cache: dict[tuple[Any, ...], str] = {}
    detail = url_for("progress.pupil_detail", class_id=class_id, pupil_id=0)
    for row in stuck:
        row["detail_url"] = detail[:-1] + str(row["pupil"]["id"])
        for a in row["actions"]:
            key = (a["kind"], a["title"], a.get("start"))
            if key not in cache:
                if a["kind"] == "chapter":
                    cache[key] = gettext("Watch “%(title)s” together from %(time)s", title=a["title"],
                                         time=mmss(a["start"]))
                elif a["kind"] == "lesson":
                    cache[key] = gettext("Replay the lesson “%(title)s”", title=a["title"])
                else:
                    cache[key] = gettext("Then an easier item: %(title)s", title=_short(a["title"], 60))
            a["label"] = cache[key]


@bp.get("/teacher/dashboard/<int:class_id>")
@auth.teacher_required
def class_dashboard(class_id: int) -> Any:
    """Class x knowledge point heatmap and the stuck pupils with a suggested action."""
    klass = _class_or_404(class_id)
    data = dashboard_data(get_db(), class_id)
    _label_actions(data["stuck"], class_id)
    # One string per heatmap row: css classes and labels are ours (fixed names, digits), only the word is escaped.
    word = escape(gettext("answers"))
    for row in data["matrix"]:
        row["html"] = Markup("".join(
            f'<td class="{css}" title="{n} {word}">{label}</td>' if n else f'<td class="{css}">{label}</td>'
            for css, label, n in row["cells"]))
    return render_template("progress/dashboard.html", klass=klass, **data)


@bp.get("/teacher/dashboard/<int:class_id>/pupil/<int:pupil_id>")
@auth.teacher_required
def pupil_detail(class_id: int, pupil_id: int) -> Any:
    """One pupil's mastery by knowledge point, latest answers and recommendations."""
    db = get_db()
    klass = _class_or_404(class_id)
    pupil = people.get_pupil(db, pupil_id)
    if pupil is None or pupil["class_id"] != class_id:
        abort(404)
    rows = [{**r, "band": band(r["p_mastery"])} for r in attempts.pupil_mastery(db, pupil_id)]
    return render_template("progress/pupil_detail.html", klass=klass, pupil=pupil, rows=rows,
                           answers=attempts.pupil_recent_answers(db, pupil_id),
                           next_items=next_for_pupil(db, pupil_id, limit=10))


def _csv_cell(value: Any) -> Any:
    # A name starting with = + - @ would run as a formula in a spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@bp.get("/teacher/dashboard/<int:class_id>.csv")
@auth.teacher_required
def class_csv(class_id: int) -> Response:
    """The class's mastery table as CSV, one row per pupil and knowledge point."""
    klass = _class_or_404(class_id)
    data = dashboard_data(get_db(), class_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["pupil", "pupil_ref", "knowledge_point", "knowledge_point_name", "p_mastery", "attempts",
                     "stuck", "mastered", "updated"])
    for pupil in data["pupils"]:
        for kp in data["kps"]:
            cell = data["cells"].get((pupil["id"], kp["id"]))
            if cell is None:
                continue
            writer.writerow([_csv_cell(v) for v in (
                pupil["name"], pupil["ref"], kp["id"], kp["name"], f"{cell['p_mastery']:.4f}", cell["attempts"],
                int(cell["stuck"]), int(cell["mastered"]), cell["updated"])])
    filename = "mastery-" + "".join(c if c.isalnum() else "-" for c in klass["name"]) + ".csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def init_app(app: Flask) -> None:
    """Register this blueprint."""
    app.register_blueprint(bp)
