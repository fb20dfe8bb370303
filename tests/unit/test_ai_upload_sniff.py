"""Upload type by content: container magic numbers, whatever the file is called."""

from __future__ import annotations

import pytest

from edge_server.recordings import sniff


@pytest.mark.parametrize("head, ext", [
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", "wav"),
    (b"RIFF\x24\x00\x00\x00AVI LIST", "avi"),
    (b"OggS\x00\x02", "ogg"),
    (b"fLaC\x00\x00\x00\x22", "flac"),
    (b"ID3\x04\x00\x00", "mp3"),
    (b"\xff\xfb\x90\x64", "mp3"),
    (b"\x1aE\xdf\xa3\x01\x00", "webm"),
    (b"\x00\x00\x00\x1cftypisom\x00\x00\x02\x00", "mp4"),
])
def test_known_audio_and_video_containers_are_recognised_by_their_first_bytes(head, ext):
    assert sniff(head) == ext


@pytest.mark.parametrize("head", [
    b"%PDF-1.7\n", b"PK\x03\x04\x14\x00", b"<!doctype html>", b"RIFF\x24\x00\x00\x00WEBPVP8 ", b"\x89PNG\r\n\x1a\n",
    b"", b"RIFF",
])
def test_documents_images_archives_and_truncated_headers_are_not_recordings(head):
    assert sniff(head) is None
