"""Helpers for the AI tests: spoken clips made with espeak-ng, and a signed pack whose lessons carry them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.requirements import require_espeak

WATER = ("The water cycle begins with evaporation. The sun heats the water in the sea. "
         "Then the vapour cools and forms clouds. This is condensation.")
PLANTS = "Plants need sunlight and water to grow. Animals eat plants or other animals."


def speak(path: Path, text: str, voice: str = "en", speed: int = 140) -> Path:
    """A 16-bit mono WAV of text spoken by espeak-ng."""
    require_espeak()
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True)
    return path


def spoken_words(text: str) -> set[str]:
    return {w.strip(".,!?;:").lower() for w in text.split()}


def write_spoken_source(folder: Path, channel: str = "test.spoken", clips: dict[str, str] | None = None) -> Path:
    """A pack source folder with one audio lesson per clip (lesson id -> narration) and two knowledge points."""
    clips = clips or {"water": WATER}
    (folder / "media").mkdir(parents=True, exist_ok=True)
    kps = [{"id": f"{channel}.evaporation", "name": "Evaporation", "description": "The sun heats water into vapour."},
           {"id": f"{channel}.condensation", "name": "Condensation", "description": "Vapour cools into clouds."}]
    lessons = []
    for lid, text in clips.items():
        speak(folder / "media" / f"{lid}.wav", text)
        lessons.append({"id": lid, "title": f"Lesson {lid}", "knowledge_points": [k["id"] for k in kps],
                        "media": {"path": f"media/{lid}.wav", "kind": "audio"}, "text": "", "exercises": []})
    catalog = {"channel": {"id": channel, "title": "Spoken", "language": "en", "level": "primary"},
               "knowledge_points": kps,
               "courses": [{"id": f"{channel}.course", "title": "Course", "subject": "science", "grade": "5",
                            "lessons": lessons}]}
    (folder / "catalog.json").write_text(json.dumps(catalog, indent=1))
    return folder


def import_source(source: Path, data_dir: Path, signing_key, version: int = 1) -> dict:
    """Sign source as a pack and import it into an initialised data dir that trusts signing_key."""
    from edge_server.identity import init_data_dir
    from edge_server.packs_import import build_pack, import_pack
    from edge_server.settings import load_settings
    from sync.trust import read_private

    init_data_dir(data_dir, trust=signing_key.public)
    pack = source.parent / f"{source.name}-pack-v{version}"
    build_pack(source, pack, read_private(signing_key.private), version)
    return import_pack(load_settings(data_dir), pack)


def make_video(wav: Path, out: Path) -> Path:
    """An MP4 (MPEG-4 video + AAC audio) carrying a WAV's sound, written with PyAV."""
    import wave

    import av
    import numpy as np

    with wave.open(str(wav)) as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    with av.open(str(out), "w") as container:
        video = container.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=rate)
        for i in range(int(len(pcm) / rate * 10) + 1):
            image = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 5 % 255, dtype=np.uint8), format="rgb24")
            for packet in video.encode(image):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in [*audio.encode(frame), *audio.encode()]:
            container.mux(packet)
    return out
