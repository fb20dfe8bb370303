"""Which LRS URLs the push may use: https (pinned CA or not), plain http only to this machine unless allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_server.settings import load_settings
from edge_server.store.db import open_box_db, write
from edge_server.store.outbox import SqliteOutbox, enqueue
from edge_server.sync_runs import lrs_check, lrs_config
from sync import lrs_push
from tests.tls import make_ca


@pytest.mark.parametrize("url", ["http://127.0.0.1:8100/xAPI", "http://localhost/xAPI", "http://[::1]:8100/xAPI",
                                 "http://127.8.9.10/xAPI", "http://LOCALHOST./xAPI", "https://lrs.example/xAPI"])
def test_https_anywhere_and_plain_http_to_this_machine_are_accepted(url: str) -> None:
    assert lrs_push.transport_problem(lrs_push.LrsConfig(url=url, user="u", password="p")) is None


@pytest.mark.parametrize("url", ["http://10.20.0.11:8100/xAPI", "http://lrs.example/xAPI",
                                 "http://127.0.0.1.nip.example/xAPI", "http://localhost.evil.example/xAPI",
                                 "http://[2001:db8::1]/xAPI"])
def test_plain_http_to_another_host_is_refused_unless_explicitly_allowed(url: str) -> None:
    problem = lrs_push.transport_problem(lrs_push.LrsConfig(url=url, user="u", password="p"))
    assert problem and "plain http" in problem and "lrs_allow_insecure_http" in problem
    allowed = lrs_push.LrsConfig(url=url, user="u", password="p", allow_insecure_http=True)
    assert lrs_push.transport_problem(allowed) is None


@pytest.mark.parametrize("url, words", [("ftp://lrs.example/xAPI", "https://"), ("lrs.example/xAPI", "https://"),
                                        ("https://box:pw@lrs.example/xAPI", "lrs_password")])
def test_a_url_that_is_not_http_or_carries_credentials_is_refused(url: str, words: str) -> None:
    problem = lrs_push.transport_problem(lrs_push.LrsConfig(url=url))
    assert problem and words in problem


def test_a_ca_bundle_that_is_missing_or_not_pem_is_refused_and_a_real_one_accepted(tmp_path: Path) -> None:
    url = "https://lrs.example/xAPI"
    missing = lrs_push.transport_problem(lrs_push.LrsConfig(url=url, ca_file=str(tmp_path / "nope.pem")))
    assert missing and "does not exist" in missing
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    not_pem = lrs_push.transport_problem(lrs_push.LrsConfig(url=url, ca_file=str(junk)))
    assert not_pem and "lrs_ca_file" in not_pem
    ca = make_ca(tmp_path / "ca")
    assert lrs_push.transport_problem(lrs_push.LrsConfig(url=url, ca_file=str(ca.cert_file))) is None


class _NoNetwork:
    def request(self, *args, **kwargs):
        raise AssertionError("the push opened a connection")

    def close(self) -> None:
        pass


def test_a_refused_transport_stops_the_push_before_any_request_and_keeps_the_outbox(tmp_path: Path) -> None:
    db = open_box_db(tmp_path / "box.db")
    write(db, lambda tx: enqueue(tx, {"id": "s1", "verb": {"id": "answered"}}))
    lrs = lrs_push.LrsConfig(url="http://10.20.0.11:8100/xAPI", user="box", password="secret")
    result = lrs_push.push(SqliteOutbox(db), lrs, session=_NoNetwork())  # type: ignore[arg-type]
    assert result.error and "plain http" in result.error and result.pending == 1 and result.sent == 0
    assert tuple(db.conn.execute("SELECT tries, last_error, sent_at FROM outbox").fetchone()) == (0, None, None)
    db.conn.close()


def test_the_ca_file_setting_is_read_from_config_toml_relative_to_the_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "var"
    data.mkdir()
    (data / "config.toml").write_text('lrs_url = "https://lrs.example:8100/xAPI"\nlrs_ca_file = "keys/lrs-ca.pem"\n'
                                      "lrs_allow_insecure_http = false\n")
    settings = load_settings(data)
    assert settings.lrs_ca_path == data / "keys/lrs-ca.pem"
    lrs = lrs_config(settings)
    assert lrs.ca_file == str(data / "keys/lrs-ca.pem") and lrs.verify == lrs.ca_file
    assert lrs_config(settings, ca_file="/etc/ssl/province.pem").ca_file == "/etc/ssl/province.pem"
    check = lrs_check(settings)
    assert check["transport"] == "https, pinned CA" and "does not exist" in check["problem"]
    assert lrs_check(load_settings(tmp_path / "empty")) == {"url": None, "ca_file": None, "transport": None,
                                                            "problem": None}
