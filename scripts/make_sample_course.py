"""Make the bundled sample course: narrate lessons with espeak-ng + sox, write catalog.json and true chapters.

Run from the repository root: `.venv/bin/python scripts/make_sample_course.py`. Output goes to
edge_server/sample_course/ (committed to git; about 1 MB). Needs the Debian packages espeak-ng and sox.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "edge_server" / "sample_course"
VOICE = "en-us"
WORDS_PER_MINUTE = 155
RATE = 16000
GAP_S = 0.6  # silence between chapters, so a boundary is a pause as in a real recording
QUALITY = "4"  # Vorbis quality 4: at quality 0 Whisper mishears words ("water vapour" -> "water maper")

CHANNEL = {"id": "demo.science.primary", "title": "Primary science and maths (sample)", "language": "en",
           "level": "primary"}

KNOWLEDGE_POINTS = [
    ("sci.water.evaporation", "Evaporation", "Heat from the sun turns liquid water into water vapour, a gas."),
    ("sci.water.condensation", "Condensation", "Cooling water vapour turns back into tiny drops that form clouds."),
    ("sci.water.precipitation", "Precipitation", "Drops join until they are heavy and fall as rain, snow or hail."),
    ("sci.water.collection", "Collection", "Water gathers in rivers, lakes, oceans and the ground, then the cycle "
                                           "starts again."),
    ("math.shapes.polygons", "Polygons", "A polygon is a flat closed shape with straight sides; it is named by "
                                         "its number of sides."),
    ("math.shapes.angles", "Kinds of angles", "A right angle is a quarter turn; acute angles are smaller and obtuse "
                                              "angles are larger."),
    ("math.shapes.triangle_sum", "Angles in a triangle", "The three angles of any triangle add up to 180 degrees."),
    ("sci.living.needs", "What living things need", "Living things need food, water, air and a place to live."),
    ("sci.living.plants_animals", "Plants and animals get food differently", "Plants make their own food from "
                                                                             "sunlight; animals eat other living "
                                                                             "things."),
    ("sci.living.habitats", "Habitats", "A habitat gives a living thing the food, water and shelter it needs."),
]

LESSONS = [
    {
        "id": "water-cycle", "title": "The water cycle", "course": "science-primary",
        "notes": "# The water cycle\n\nWater moves in a loop between the sea, the sky and the land.\n\n"
                 "1. **Evaporation**: the sun warms water and it rises as vapour.\n"
                 "2. **Condensation**: vapour cools into tiny drops that make clouds.\n"
                 "3. **Precipitation**: heavy drops fall as rain, snow or hail.\n"
                 "4. **Collection**: water gathers in rivers, lakes, seas and the ground.\n",
        "chapters": [
            ("sci.water.evaporation", "Welcome to our lesson on the water cycle. The water on our planet is always "
             "moving. It starts with evaporation. When the sun shines on a lake or the sea, it warms the water. Some "
             "of the water turns into an invisible gas called water vapour, and it rises into the air. Puddles "
             "disappear on a sunny day for the same reason."),
            ("sci.water.condensation", "High in the sky the air is cold. When water vapour cools down, it turns "
             "back into tiny drops of liquid water. This is called condensation. Millions of these tiny drops "
             "together make a cloud. You can see condensation at home too, when drops form on the outside of a "
             "cold cup."),
            ("sci.water.precipitation", "Inside a cloud the tiny drops bump into each other and join together. "
             "When the drops become too heavy to float, they fall to the ground. Water that falls from clouds is "
             "called precipitation. It can be rain, or snow and hail when the air is very cold."),
            ("sci.water.collection", "Finally comes collection. Rain water flows into rivers, lakes and the sea, "
             "and some soaks into the ground where plants can drink it. Then the sun warms the water again, and "
             "the whole cycle starts over. The same water has been going round and round for millions of years."),
        ],
        "exercises": [
            ("sci.water.evaporation", "choice", "What makes water evaporate from a lake?",
             ["The heat of the sun", "The wind stopping", "Fish swimming"], 0, 1,
             "Think about what warms the water."),
            ("sci.water.condensation", "text", "What do we call water vapour turning back into tiny drops?",
             None, ["condensation"], 2, "It starts with the letter c."),
            ("sci.water.precipitation", "choice", "Which of these is NOT a kind of precipitation?",
             ["Rain", "Snow", "Cloud", "Hail"], 2, 2, "Precipitation is water that falls to the ground."),
            ("sci.water.collection", "choice", "Where does rain water collect?",
             ["Only in the sea", "In rivers, lakes, seas and the ground", "Only in clouds"], 1, 1,
             "The lesson named four places."),
            ("sci.water.evaporation", "number", "The water cycle in the lesson has how many stages?",
             None, 4, 3, "Count: evaporation, condensation, ..."),
        ],
    },
    {
        "id": "shapes-and-angles", "title": "Shapes and angles", "course": "maths-primary",
        "notes": "# Shapes and angles\n\n- A **polygon** is a flat closed shape with straight sides: triangle (3), "
                 "square (4), pentagon (5), hexagon (6).\n- A **right angle** is a quarter turn, 90 degrees. "
                 "**Acute** angles are smaller, **obtuse** angles are larger.\n- The angles of a **triangle** "
                 "always add up to **180 degrees**.\n",
        "chapters": [
            ("math.shapes.polygons", "Hello everyone. Today we look at shapes and angles. A polygon is a flat, "
             "closed shape made of straight sides. We name a polygon by counting its sides. A triangle has three "
             "sides. A square and a rectangle have four. A pentagon has five sides and a hexagon has six. A "
             "circle is not a polygon, because it has no straight sides."),
            ("math.shapes.angles", "Where two sides meet, they make an angle. An angle measures a turn. The corner "
             "of a page is a right angle. It is a quarter of a full turn, or ninety degrees. An angle smaller than "
             "a right angle is called acute. An angle bigger than a right angle is called obtuse. Look for right "
             "angles in your classroom, on doors, windows and tables."),
            ("math.shapes.triangle_sum", "Here is a wonderful fact about triangles. If you add the three angles "
             "of any triangle, you always get one hundred and eighty degrees. Try it: cut out a paper triangle, "
             "tear off the three corners and put them side by side. They make a straight line, which is one "
             "hundred and eighty degrees. So if two angles are ninety and sixty degrees, the third must be thirty."),
        ],
        "exercises": [
            ("math.shapes.polygons", "number", "How many sides does a hexagon have?", None, 6, 1,
             "Hex means six."),
            ("math.shapes.polygons", "choice", "Which shape is NOT a polygon?",
             ["Triangle", "Circle", "Square", "Pentagon"], 1, 1, "Polygons have straight sides."),
            ("math.shapes.angles", "choice", "An angle smaller than a right angle is called...",
             ["Obtuse", "Straight", "Acute"], 2, 2, "A right angle is 90 degrees."),
            ("math.shapes.angles", "number", "How many degrees is a right angle?", None, 90, 2,
             "It is a quarter of a full turn of 360 degrees."),
            ("math.shapes.triangle_sum", "number",
             "Two angles of a triangle are 90 and 60 degrees. How many degrees is the third angle?",
             None, 30, 3, "All three angles add up to 180 degrees."),
        ],
    },
    {
        "id": "living-things", "title": "What living things need", "course": "science-primary",
        "notes": "# What living things need\n\nEvery living thing needs **food**, **water**, **air** and a "
                 "**place to live**.\n\n- Plants make their own food using sunlight, water and air.\n"
                 "- Animals get food by eating plants or other animals.\n- A **habitat** is the home that "
                 "gives a living thing what it needs.\n",
        "chapters": [
            ("sci.living.needs", "Let us find out what living things need. Plants, animals and people are all "
             "living things. To stay alive, every living thing needs food for energy, water to drink, air to "
             "breathe, and a safe place to live. If a plant gets no water, it wilts. If an animal has no food, "
             "it becomes weak."),
            ("sci.living.plants_animals", "Plants and animals get their food in different ways. A plant makes "
             "its own food. It uses sunlight, water from the soil and air through its leaves. Animals cannot "
             "make their own food. They must eat. A goat eats grass, and a lion eats other animals. Some "
             "animals, like people, eat both plants and animals."),
            ("sci.living.habitats", "The place where a living thing lives is called its habitat. A good habitat "
             "gives food, water and shelter. A fish's habitat is a river or the sea. A camel's habitat is the "
             "desert, where it can go a long time without water. When a habitat is damaged, the plants and "
             "animals that live there are in danger, so we must take care of it."),
        ],
        "exercises": [
            ("sci.living.needs", "choice", "Which of these does every living thing need?",
             ["Water", "A television", "Shoes"], 0, 1, "Think about what a plant needs to stay alive."),
            ("sci.living.plants_animals", "choice", "How does a plant get its food?",
             ["It eats insects", "It makes its own food using sunlight", "People feed it bread"], 1, 2,
             "Plants use light from the sun."),
            ("sci.living.habitats", "text", "What is the word for the place where a living thing lives?",
             None, ["habitat", "a habitat"], 2, "It begins with h."),
            ("sci.living.needs", "number", "The lesson named how many things that every living thing needs?",
             None, 4, 3, "Food, water, ..."),
        ],
    },
]

COURSES = [
    {"id": "science-primary", "title": "Science for primary school", "subject": "science", "grade": "4"},
    {"id": "maths-primary", "title": "Maths for primary school", "subject": "mathematics", "grade": "4"},
]


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def _duration(path: Path) -> float:
    return float(_run("soxi", "-D", str(path)).strip())


def narrate(lesson: dict, work: Path, media: Path) -> list[dict]:
    """Speak each chapter, join them with pauses, encode Ogg Vorbis; return the true chapter boundaries."""
    parts: list[Path] = []
    chapters: list[dict] = []
    t = 0.0
    kp_names = {kp: name for kp, name, _ in KNOWLEDGE_POINTS}
    gap = work / "gap.wav"
    _run("sox", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(gap), "trim", "0", str(GAP_S))
    for i, (kp, text) in enumerate(lesson["chapters"]):
        raw, wav = work / f"{lesson['id']}-{i}.raw.wav", work / f"{lesson['id']}-{i}.wav"
        _run("espeak-ng", "-v", VOICE, "-s", str(WORDS_PER_MINUTE), "-w", str(raw), text)
        _run("sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(wav))
        if i:
            parts.append(gap)
            t += GAP_S
        start = t
        t += _duration(wav)
        parts.append(wav)
        chapters.append({"start": round(start, 3), "end": round(t, 3), "title": kp_names[kp],
                         "knowledge_point": kp})
    joined = work / f"{lesson['id']}.wav"
    _run("sox", *map(str, parts), str(joined))
    out = media / f"{lesson['id']}.ogg"
    _run("sox", str(joined), "-C", QUALITY, str(out))
    (media / f"{lesson['id']}.chapters.json").write_text(json.dumps(chapters, indent=1) + "\n")
    return chapters


def catalog() -> dict:
    """The authoring catalog.json of the sample channel (DESIGN.md format)."""
    kp_list = [{"id": kp, "name": name, "description": desc} for kp, name, desc in KNOWLEDGE_POINTS]
    courses = []
    for course in COURSES:
        lessons = []
        for lesson in (x for x in LESSONS if x["course"] == course["id"]):
            exercises = []
            for n, (kp, kind, prompt, choices, answer, difficulty, hint) in enumerate(lesson["exercises"], 1):
                ex = {"id": f"{lesson['id']}-{n}", "knowledge_point": kp, "kind": kind, "prompt": prompt,
                      "answer": answer, "difficulty": difficulty, "hint": hint}
                if choices is not None:
                    ex["choices"] = choices
                exercises.append(ex)
            lessons.append({"id": lesson["id"], "title": lesson["title"],
                            "knowledge_points": [kp for kp, _ in lesson["chapters"]],
                            "media": {"path": f"media/{lesson['id']}.ogg", "kind": "audio"},
                            "text": lesson["notes"], "exercises": exercises})
        courses.append({**course, "lessons": lessons})
    return {"channel": CHANNEL, "knowledge_points": kp_list, "courses": courses}


def main(argv: list[str] | None = None) -> int:
    """Regenerate edge_server/sample_course/ (or the folder given with --out)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    out = parser.parse_args(argv).out
    for tool in ("espeak-ng", "sox", "soxi"):
        if shutil.which(tool) is None:
            print(f"error: {tool} not found: apt-get install espeak-ng sox libsox-fmt-all", file=sys.stderr)
            return 1
    media = out / "media"
    media.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for lesson in LESSONS:
            chapters = narrate(lesson, Path(tmp), media)
            print(f"{lesson['id']}: {chapters[-1]['end']:.1f} s, {len(chapters)} chapters", file=sys.stderr)
    (out / "catalog.json").write_text(json.dumps(catalog(), indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
