"""Content pull helpers: the box key as an OpenSSH identity, and SSH origins using it."""

from __future__ import annotations

import base64
import stat
import subprocess
from pathlib import Path

from edge_server.identity import load_identity
from edge_server.settings import load_settings
from edge_server.sync_runs import SSH_KEY_NAME, rsync_options
from tests.requirements import require_ssh_keygen


def test_an_ssh_origin_is_reached_with_the_box_key_in_a_form_ssh_reads(data_dir: Path) -> None:
    require_ssh_keygen()
    opts = rsync_options(load_settings(data_dir), "sync@origin.example:/srv/packs")
    key = data_dir / "keys" / SSH_KEY_NAME
    assert opts.ssh_key == key
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    public = subprocess.run(["ssh-keygen", "-y", "-f", str(key)], capture_output=True, text=True, check=True).stdout
    kind, blob = public.split()[:2]
    assert kind == "ssh-ed25519"
    # The same identity as box.key: the last 32 bytes of the SSH public blob are the raw Ed25519 key.
    assert base64.b64decode(blob)[-32:].hex() == load_identity(data_dir / "keys").public_key_hex


def test_a_daemon_origin_needs_no_ssh_key(data_dir: Path) -> None:
    opts = rsync_options(load_settings(data_dir, rsync_timeout_s=90, rsync_bwlimit_kbps=250), "rsync://o:873/packs")
    assert opts.ssh_key is None and opts.timeout_s == 90 and opts.bwlimit_kbps == 250
    assert not (data_dir / "keys" / SSH_KEY_NAME).exists()
