"""CLI commands for the box itself: backup, restore, channel list / remove."""

from __future__ import annotations

from pathlib import Path

import click

from edge_server.cli import data_option, emit_json, fail, info, open_box

path_arg = click.Path(path_type=Path)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def register(main: click.Group) -> None:
    """Attach this module's commands to the edge-server group."""

    @main.command("backup")
    @data_option
    @click.option("--out", "out", type=path_arg, help="The archive to write, e.g. /media/usb/box.tar.gz.")
    @click.option("--to-dir", "to_dir", type=path_arg,
                  help="Instead of --out: a dated archive in this folder, keeping the newest --keep there.")
    @click.option("--keep", type=click.IntRange(min=1), default=None,
                  help="With --to-dir: how many backups to keep (default: backup_keep in config.toml).")
    @click.option("--with-media", is_flag=True, help="Also the active packs' media (the origin can send them again).")
    @click.option("--without-recordings", is_flag=True,
                  help="Leave out the teachers' own recordings (included by default: they exist nowhere else).")
    def backup(data_dir: Path, out: Path | None, to_dir: Path | None, keep: int | None, with_media: bool,
               without_recordings: bool) -> None:
        """Write one archive of the box while it serves: database, identity and keys, config, recordings."""
        from edge_server.backup import BackupError, backup_to_dir, create_backup
        from edge_server.settings import load_settings

        if (out is None) == (to_dir is None):
            fail("give either --out FILE or --to-dir DIR")
        if not (data_dir / "box.db").is_file():
            fail(f"no box in {data_dir}: nothing to back up")
        try:
            if to_dir is not None:
                settings = load_settings(data_dir)
                result = backup_to_dir(data_dir, to_dir, keep or settings.backup_keep, settings.box_name,
                                       with_media=with_media, recordings=not without_recordings, show_progress=True)
            else:
                assert out is not None
                result = create_backup(data_dir, out, with_media=with_media, recordings=not without_recordings,
                                       show_progress=True)
        except BackupError as exc:
            fail(f"no backup written: {exc}")
        except OSError as exc:
            fail(f"no backup written: {exc.strerror or exc} ({getattr(exc, 'filename', '') or ''})")
        counts = result["counts"]
        info(f"backup {result['archive']}: {_mb(result['bytes'])}, {counts['pupils']} pupils, {counts['attempts']} "
             f"attempts, {counts['outbox_unsent']} statements not yet sent"
             + ("" if result["recordings"] else "; teachers' recordings left out")
             + ("; with the packs' media" if result["with_media"] else ""))
        emit_json(result)

    @main.command("restore")
    @click.argument("archive", type=path_arg)
    @data_option
    @click.option("--check", "check_only", is_flag=True, help="Only check the archive; change nothing.")
    @click.option("--new-identity", is_flag=True,
                  help="Give the restored box a new identity (when the old box may still be running somewhere).")
    def restore(archive: Path, data_dir: Path, check_only: bool, new_identity: bool) -> None:
        """Check ARCHIVE completely, then put it in place of the box's database, keys and config (server stopped)."""
        from edge_server.backup import BackupError, restore_backup

        try:
            result = restore_backup(archive, data_dir, check_only=check_only, new_identity=new_identity,
                                    show_progress=True)
        except BackupError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"restore stopped: {exc}; the previous files are kept in {data_dir}/.pre-restore-* if any moved")
        counts = result["counts"]
        if check_only:
            info(f"archive OK: box {result['box_id']} of {result['created']}, {counts.get('pupils', 0)} pupils, "
                 f"{counts.get('attempts', 0)} attempts, {result['files']} files")
        else:
            info(f"restored box {result['box_id']} from {result['created']}: {counts.get('pupils', 0)} pupils, "
                 f"{counts.get('attempts', 0)} attempts, {counts.get('outbox_unsent', 0)} statements to send")
            if result["channels_to_pull"]:
                info(f"channels without their files here, unlisted until pulled again: "
                     f"{', '.join(result['channels_to_pull'])} (edge-server sync pull --data {data_dir})")
            if result["previous"]:
                info(f"what the restore replaced is kept in {result['previous']}: delete it once the box serves")
        emit_json(result)

    @main.group("channel")
    def channel() -> None:
        """The channels on this box: list them, remove one."""

    @channel.command("list")
    @data_option
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout (the default output too).")
    def channel_list(data_dir: Path, as_json: bool) -> None:
        """Channels with version, lessons, size on disk, expiry, and whether config.toml follows them."""
        from edge_server.channels import channel_report

        if not (data_dir / "box.db").is_file():
            fail(f"no box in {data_dir}: run `edge-server init --data {data_dir}` first")
        box = open_box(data_dir, migrate=False)
        settings = box.settings
        with box.db(readonly=True) as db:
            channels = channel_report(db, settings)
        if not as_json:
            for c in channels:
                info(f"{c['channel']}  v{c['version']}  {c['lessons']} lessons  {_mb(c['bytes'])}  "
                     f"expires {c['expires'] or 'never'}{'' if c['followed'] else '  (not followed)'}")
        emit_json({"channels": channels, "follows": list(settings.channels) or None})

    @channel.command("remove")
    @click.argument("channel_id")
    @data_option
    @click.option("--force", is_flag=True, help="Also remove the teachers' own recordings (local.school).")
    def channel_remove(channel_id: str, data_dir: Path, force: bool) -> None:
        """Take a channel off the box in one step: its lessons stop at once, then its files are deleted.

        Pupils' attempts, mastery and statements stay. A channel the box still follows comes back at the next
        `sync pull`: take it out of `channels` in config.toml first.
        """
        from edge_server.channels import ChannelError, follows, remove_channel

        if not (data_dir / "box.db").is_file():
            fail(f"no box in {data_dir}: run `edge-server init --data {data_dir}` first")
        box = open_box(data_dir)
        settings = box.settings
        try:
            with box.db() as db:
                result = remove_channel(db, settings.content_dir, settings.staging_dir, channel_id, force=force)
        except ChannelError as exc:
            fail(f"channel not removed: {exc}")
        info(f"removed {channel_id} v{result['version']}: {result['lessons']} lessons, {_mb(result['bytes_freed'])} "
             "freed; pupils' progress kept")
        if settings.pack_origin and follows(settings.channels, channel_id):
            info(f"note: this box still follows {channel_id} (channels in config.toml), so the next sync pull brings "
                 "it back")
        emit_json(result)
