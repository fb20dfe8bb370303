"""edge_server.precompute's pure parts: which media to compute, and when an `.ai.json` is still current."""

from __future__ import annotations

import pytest

from edge_server.precompute import PrecomputeError, Task, plan, up_to_date

KPS = [{"id": "kp.a", "name": "A", "description": None}, {"id": "kp.b", "name": "B", "description": "Bee."}]


def catalog(*lessons: tuple[str, str | None, list[str]]) -> dict:
    return {"channel": {"language": "fr"}, "knowledge_points": KPS, "courses": [{"id": "c", "lessons": [
        {"id": lid, "knowledge_points": kps, "media": {"path": path, "kind": "audio"} if path else None}
        for lid, path, kps in lessons]}]}


def test_a_shared_medium_is_one_task_with_the_first_lessons_knowledge_points_and_lessons_without_media_none():
    tasks = plan(catalog(("l1", "m/a.ogg", ["kp.b"]), ("l2", None, []), ("l3", "m/a.ogg", ["kp.a"]),
                         ("l4", "m/b.mp4", ["kp.a", "kp.b"])), {"m/a.ogg": "aa" * 32, "m/b.mp4": "bb" * 32})
    assert [(t.media, t.lessons, t.output) for t in tasks] == [("m/a.ogg", ("l1", "l3"), "m/a.ai.json"),
                                                              ("m/b.mp4", ("l4",), "m/b.ai.json")]
    assert tasks[0].knowledge_points == ({"id": "kp.b", "name": "B", "description": "Bee."},)
    assert tasks[1].knowledge_points[0]["description"] == ""
    assert tasks[0].language == "fr"  # the channel's, as a box's job would use


def test_two_media_whose_outputs_would_share_a_name_are_refused():
    with pytest.raises(PrecomputeError, match="m/a.ogg and m/a.mp4 would both write m/a.ai.json"):
        plan(catalog(("l1", "m/a.ogg", []), ("l2", "m/a.mp4", [])), {"m/a.ogg": "aa" * 32, "m/a.mp4": "bb" * 32})


def test_outputs_are_current_only_for_the_same_medium_made_the_same_way():
    task = Task("m/a.ogg", "aa" * 32, (), ("l1",), "en")
    made = {"asr": {"id": "whisper", "sha256": "11" * 32}, "llm": None, "pipeline_version": "2"}
    document = {"media_sha256": "aa" * 32, "computed_with": {**made, "language": "en"}}
    assert up_to_date(document, task, made)
    assert not up_to_date(document, Task("m/a.ogg", "aa" * 32, (), ("l1",), "zh"), made)
    assert not up_to_date({**document, "media_sha256": "cc" * 32}, task, made)
    assert not up_to_date(document, task, {**made, "llm": {"id": "gemma", "sha256": "22" * 32}})
    assert not up_to_date(document, task, {**made, "pipeline_version": "3"})
    assert not up_to_date({"media_sha256": "aa" * 32}, task, made)  # shipped by someone else: no provenance
    assert not up_to_date(None, task, made)


def test_a_gpu_without_the_cuda_12_cublas_is_refused_in_one_line_before_any_work():
    from edge_server.precompute import CUBLAS, cublas_problem

    def missing(name: str):
        raise OSError(f"{name}: cannot open shared object file")

    problem = cublas_problem("4.8.5", load=missing)
    assert problem and CUBLAS in problem and "--device cpu" in problem and "\n" not in problem
    assert cublas_problem("4.8.5", load=lambda name: object()) is None
