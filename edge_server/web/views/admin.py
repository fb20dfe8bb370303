"""Views: the admin page (admins only): this box, nearby boxes, channels, sync state, job queue; pull from a
neighbour."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from edge_server import fleet, jobs, share_pull
from edge_server.backup import last_backup
from edge_server.channels import channel_report
from edge_server.model_status import models_health
from edge_server.store import channels as channel_store
from edge_server.web.app import get_db, get_settings
from edge_server.web.auth import admin_required

bp = Blueprint("admin", __name__, url_prefix="/teacher/admin")

# The page never waits for it, so listen long enough to get past mDNS's one-answer-per-second limit.
DISCOVER_TIMEOUT_S = 3.0


def _nearby() -> fleet.NearbyBoxes | None:
    return current_app.extensions["nearby_boxes"]


def _nearby_snapshot() -> dict[str, Any]:
    nearby = _nearby()
    if nearby is None:
        return {"boxes": [], "updated": None, "searching": False, "error": "", "disabled": True}
    return {**nearby.snapshot(), "disabled": False}


def _channels(db: Any, settings: Any) -> list[dict[str, Any]]:
    """Active channels, each with its lessons, bytes on disk, expiry by trusted time and whether the box follows it."""
    details = {c["channel"]: c for c in channel_report(db, settings)}
    return [{**c, **{k: details.get(c["id"], {}).get(k) for k in ("lessons", "bytes", "expired", "followed")}}
            for c in (ch.summary() for ch in channel_store.all_channels(db))]


def _overview() -> dict[str, Any]:
    db = get_db()
    settings = get_settings()
    box = fleet.meta(db)
    nearby = _nearby_snapshot()
    own = box.get("box_id")
    nearby["boxes"] = [b for b in nearby["boxes"] if b.get("box_id") != own]
    return {
        "box": {"box_id": own, "name": settings.box_name, "rekeyed_from": box.get("rekeyed_from"),
                "rekeyed_at": box.get("rekeyed_at"), "announce": settings.announce},
        "nearby": nearby,
        "channels": _channels(db, settings),
        "backup": last_backup(db),
        "sync": fleet.sync_summary(db),
        "jobs": fleet.job_counts(db),
        "pulls": share_pull.pulls(db),
        "models": models_health(settings),
    }


@bp.get("")
@admin_required
def page() -> Any:
    """The admin page; nearby boxes come from a cache that refreshes in the background."""
    return render_template("admin/admin.html", **_overview())


@bp.get("/status.json")
@admin_required
def status() -> Any:
    """The same facts as JSON, for scripts and the page's refresh."""
    return jsonify(_overview())


@bp.post("/pull")
@admin_required
def pull() -> Any:
    """Queue the import of one channel from a nearby box (a share-pull job: a big pack must not hold the page)."""
    box_id, channel_id = request.form.get("box_id", ""), request.form.get("channel", "")
    # Only a box we discovered ourselves: the form cannot make this box fetch an arbitrary URL.
    box = next((b for b in _nearby_snapshot()["boxes"] if b.get("box_id") == box_id and b.get("url")), None)
    if box is None or channel_id not in box.get("channels", []):
        flash(_("That box or channel is no longer nearby."), "error")
        return redirect(url_for("admin.page"))
    settings = get_settings()
    db = get_db()
    share_pull.queue_pull(db, box, channel_id)  # already queued or running: one pull, not two
    if not jobs.scheduler_is_running(db, settings):
        jobs.run_share_pulls_in_background(settings)  # no scheduler process here to run the queue
    flash(_("Importing %(channel)s from %(box)s.", channel=channel_id, box=box["name"]), "ok")
    return redirect(url_for("admin.page"))


def init_app(app: Flask) -> None:
    """Register this blueprint and the nearby-boxes cache."""
    from edge_server.discovery import discover

    settings = app.extensions["settings"]
    interfaces = settings.mdns_interfaces or None
    # A box that does not take part in mDNS (announce off, no interface chosen) does not search the LAN either:
    # that also keeps test apps, which leave both unset, from sending multicast beyond loopback.
    enabled = settings.announce or bool(settings.mdns_interfaces)
    app.extensions["nearby_boxes"] = (fleet.NearbyBoxes(lambda: discover(DISCOVER_TIMEOUT_S, interfaces))
                                      if enabled else None)
    app.register_blueprint(bp)
