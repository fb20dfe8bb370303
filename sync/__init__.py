"""Packs (build, sign, verify), content pull over rsync, progress push to an xAPI LRS, trusted time."""
