"""What the pages and /api/v1/health say of the models: the last self-test, and whether the model process answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_server.settings import Settings
from models.selftest import read_state
from models.worker import ModelClient

PING_TIMEOUT_S = 0.5


def models_health(settings: Settings, ping: bool = True) -> dict[str, Any]:
    """{"process": up|down, "selftest": [...] or None, "tested_at", "text": generated|extractive}."""
    report = read_state(settings.selftest_path)
    tested = [{k: m.get(k) for k in ("role", "id", "ok", "seconds", "error", "backend")}
              for m in report.get("models", [])]
    llm = next((m for m in tested if m["role"] == "llm"), None)
    answered = ModelClient(settings.models_address).ping(PING_TIMEOUT_S) if ping else None
    return {"process": "up" if answered else "down", "pid": (answered or {}).get("pid"),
            "selftest": tested or None, "tested_at": report.get("at"),
            # with a failed text model the box still serves: chapters, summaries and answers come from the transcript
            "text": "extractive" if llm is not None and not llm["ok"] else "generated"}


def selftest_allows_llm(path: Path) -> bool:
    """False when the box's last self-test found the text model failing (never tested: try it, a failure is
    reported per request). A small file, read at each question rather than memoised per process."""
    llm = next((m for m in read_state(path).get("models", []) if m.get("role") == "llm"), None)
    return llm is None or bool(llm.get("ok"))
