"""Views: lesson reports per class: who watched and how far, who answered, time spent, chapters replayed; CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Flask, Response, abort, render_template

from edge_server import watching
from edge_server.domain import lesson_reports
from edge_server.web import auth
from edge_server.web.app import get_db

bp = Blueprint("lesson_reports", __name__, url_prefix="/teacher/class/<int:class_id>/reports")


@bp.app_template_filter("spent")
def spent(seconds: float | None) -> str:
    """Seconds spent as m:ss, or h:mm:ss from an hour."""
    total = int(round(seconds or 0))
    hours, rest = divmod(total, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


@bp.get("/")
@auth.teacher_required
def index(class_id: int) -> Any:
    """The lessons the class may open, each with how many pupils watched and answered it."""
    klass = auth.require_class(class_id)
    return render_template("reports/lessons.html", klass=klass, lessons=watching.class_lessons(get_db(), class_id))


def _report(class_id: int, lesson_id: str) -> tuple[dict[str, Any], dict[str, Any], lesson_reports.LessonReport]:
    klass = auth.require_class(class_id)
    db = get_db()
    lesson = next((lesson for lesson in watching.class_lessons(db, class_id) if lesson["id"] == lesson_id), None)
    report = watching.report_for(db, class_id, lesson_id) if lesson else None
    if lesson is None or report is None:
        abort(404)
    return klass, lesson, report


@bp.get("/<lesson_id>")
@auth.teacher_required
def lesson(class_id: int, lesson_id: str) -> Any:
    """One lesson for one class: each pupil's watching and answers, the chapters replayed most."""
    klass, lesson, report = _report(class_id, lesson_id)
    top = max((c.replays for c in report.most_replayed), default=0)
    return render_template("reports/lesson.html", klass=klass, lesson=lesson, report=report, top=top)


def _csv_cell(value: Any) -> Any:
    # A name starting with = + - @ would run as a formula in a spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@bp.get("/<lesson_id>/report.csv")
@auth.teacher_required
def lesson_csv(class_id: int, lesson_id: str) -> Response:
    """The report as CSV: one row per pupil of the class (no one else's), replays per chapter in columns."""
    klass, lesson, report = _report(class_id, lesson_id)
    out = io.StringIO()
    writer = csv.writer(out)
    for row in lesson_reports.csv_rows(report):
        writer.writerow([_csv_cell(v) for v in row])
    name = "".join(c if c.isalnum() else "-" for c in f"{klass['name']}-{lesson['title']}")[:80]
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="lesson-{name}.csv"'})


def init_app(app: Flask) -> None:
    """Register this blueprint."""
    app.register_blueprint(bp)
