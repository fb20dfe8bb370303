"""The rsync wrapper: arguments it builds, --stats it parses, temp files it salvages after a kill."""

from __future__ import annotations

from pathlib import Path

from sync import rsync
from sync.content import safe_channel
from sync.rsync import RsyncError, RsyncOptions

STATS = """
Number of files: 23 (reg: 21, dir: 2)
Number of created files: 0
Number of deleted files: 0
Number of regular files transferred: 3
Total file size: 1,049,331 bytes
Total transferred file size: 54,120 bytes
Literal data: 50,008 bytes
Matched data: 4,112 bytes
File list size: 0
File list generation time: 0.001 seconds
File list transfer time: 0.000 seconds
Total bytes sent: 1,913
Total bytes received: 51,602

sent 1,913 bytes  received 51,602 bytes  107,030.00 bytes/sec
total size is 1,049,331  speedup is 19.61
"""


def test_stats_are_parsed_with_thousands_separators() -> None:
    stats = rsync.parse_stats(STATS)
    assert stats.files_transferred == 3
    assert stats.total_file_size == 1_049_331
    assert stats.transferred_file_size == 54_120
    assert (stats.literal_data, stats.matched_data) == (50_008, 4_112)
    assert (stats.bytes_sent, stats.bytes_received) == (1_913, 51_602)


def test_daemon_pull_arguments_resume_into_a_partial_dir_with_timeouts_and_a_bandwidth_cap(tmp_path: Path) -> None:
    args = rsync.build_args("rsync://127.0.0.1:8730/packs/ch", tmp_path / "dest",
                            RsyncOptions(timeout_s=45, contimeout_s=15, bwlimit_kbps=300))
    assert args[0] == "rsync" and "-a" in args and "--delete" in args and "--stats" in args
    assert "--partial-dir=.rsync-partial" in args and "--modify-window=-1" in args
    assert {"--timeout=45", "--contimeout=15", "--bwlimit=300"} <= set(args)
    assert not any(a == "-e" for a in args)
    assert args[-2:] == ["rsync://127.0.0.1:8730/packs/ch/", f"{tmp_path / 'dest'}/"]


def test_ssh_origins_use_the_box_key_and_no_daemon_timeout(tmp_path: Path) -> None:
    key = tmp_path / "box_ssh_ed25519"
    args = rsync.build_args("sync@province.example:/srv/packs/ch", tmp_path, RsyncOptions(ssh_key=key))
    shell = args[args.index("-e") + 1]
    assert shell.startswith("ssh -i ") and str(key) in shell and "BatchMode=yes" in shell
    assert not any(a.startswith("--contimeout") for a in args) and not any(a.startswith("--bwlimit") for a in args)


def test_origin_kinds_are_told_apart() -> None:
    assert rsync.is_daemon("rsync://h:873/m") and rsync.is_daemon("h::m")
    assert rsync.is_ssh("user@h:/srv/packs") and rsync.is_ssh("h:packs")
    assert not rsync.is_ssh("/srv/packs") and not rsync.is_ssh("rsync://h/m") and not rsync.is_daemon("/srv/packs")
    assert rsync.join("rsync://h:873/m/", "ch") == "rsync://h:873/m/ch"


def test_a_temp_file_left_by_a_killed_rsync_becomes_the_partial_it_resumes_from(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / ".clip.ogg.Ab12Cd").write_bytes(b"x" * 100)
    (tmp_path / "media" / ".rsync-partial").mkdir()
    (tmp_path / "media" / ".rsync-partial" / "old.ogg").write_bytes(b"y" * 500)
    (tmp_path / "media" / ".old.ogg.Zz99Yy").write_bytes(b"y" * 10)  # smaller than the partial it would replace
    moved = rsync.salvage_temp_files(tmp_path)
    assert moved == ["media/.rsync-partial/clip.ogg"]
    assert (tmp_path / "media" / ".rsync-partial" / "clip.ogg").read_bytes() == b"x" * 100
    assert (tmp_path / "media" / ".rsync-partial" / "old.ogg").stat().st_size == 500
    assert sorted(p.name for p in (tmp_path / "media").iterdir()) == [".rsync-partial"]


def test_dropping_partials_frees_temp_and_partial_files_but_keeps_complete_ones(tmp_path: Path) -> None:
    (tmp_path / ".rsync-partial").mkdir()
    (tmp_path / ".rsync-partial" / "big.ogg").write_bytes(b"p")
    (tmp_path / ".big.ogg.q1w2e3").write_bytes(b"t")
    (tmp_path / "manifest.json").write_bytes(b"{}")
    rsync.drop_partials(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_errors_say_in_one_line_whether_the_disk_is_full_or_the_link_is_down() -> None:
    full = RsyncError(11, 'rsync: [receiver] write failed on "x": No space left on device (28)\n'
                          "rsync error: error in file IO (code 11) at receiver.c(657)\n")
    assert full.disk_full and "disk full" in str(full) and "No space left" in str(full) and "\n" not in str(full)
    down = RsyncError(10, "rsync: failed to connect to 127.0.0.1: Connection refused (111)\n")
    assert down.link_down and not down.disk_full and "link to the origin failed" in str(down)


def test_only_plain_folder_names_are_taken_as_channels() -> None:
    assert safe_channel("cn.k12.science.g5") and safe_channel("maths-4_fr")
    for bad in ("..", ".staging", "a/b", "", "a..b", ".hidden"):
        assert not safe_channel(bad)
