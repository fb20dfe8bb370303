"""Read statements back from an xAPI LRS through its standard query API (GET /statements, following `more`).

Only what xAPI 1.0.3 defines (since, limit, ascending, the `more` IRL), so it works against any conformant
LRS: Ralph on ClickHouse, Elasticsearch, MongoDB or files. The same transport rules as the push (sync.progress):
https:// checked against the pinned CA bundle, plain http:// only to this machine unless allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urljoin

import requests

from sync.lrs_push import LrsConfig, _session, transport_problem

PAGE_LIMIT = 1000
MAX_PAGES = 100_000


class LrsQueryError(Exception):
    """The LRS could not be read; one line says why and what to check."""


def _get(session: requests.Session, lrs: LrsConfig, url: str, params: dict[str, str] | None) -> dict[str, Any]:
    try:
        response = session.get(url, params=params, verify=lrs.verify, timeout=(lrs.connect_timeout_s,
                                                                                 lrs.read_timeout_s))
    except requests.exceptions.SSLError as exc:
        raise LrsQueryError(f"the LRS's certificate is not one the CA bundle vouches for ({exc.__class__.__name__}): "
                            "check --lrs-ca-file") from exc
    except requests.RequestException as exc:
        raise LrsQueryError(f"the LRS at {lrs.url} does not answer ({exc.__class__.__name__}): check the URL and the "
                            "link") from exc
    if response.status_code in (401, 403):
        raise LrsQueryError(f"the LRS refused the credentials (HTTP {response.status_code}): the account needs read "
                            "access to statements (Ralph: scope statements/read or all)")
    if response.status_code != 200:
        raise LrsQueryError(f"the LRS answered HTTP {response.status_code} to GET statements: "
                            f"{response.text.strip()[:200]}")
    try:
        page = response.json()
    except ValueError as exc:
        raise LrsQueryError("the LRS answered something that is not a JSON StatementResult") from exc
    if not isinstance(page, dict) or not isinstance(page.get("statements"), list):
        raise LrsQueryError("the LRS answered something that is not a StatementResult")
    return page


def fetch_statements(lrs: LrsConfig, *, since: str | None = None, page_limit: int = PAGE_LIMIT,
                     on_page: Callable[[int], None] | None = None) -> Iterator[dict[str, Any]]:
    """Every statement the LRS holds (stored after since), page by page; raise LrsQueryError."""
    problem = transport_problem(lrs)
    if problem:
        raise LrsQueryError(problem.replace("lrs_url", "--lrs").replace("lrs_ca_file", "--lrs-ca-file"))
    session = _session(lrs)  # the push's: credentials and the xAPI version header
    session.headers["Accept"] = "application/json"
    params: dict[str, str] | None = {"limit": str(page_limit), "ascending": "true"}
    if since:
        params["since"] = since
    url: str | None = lrs.statements_url
    try:
        for _ in range(MAX_PAGES):
            if url is None:
                return
            page = _get(session, lrs, url, params)
            if on_page:
                on_page(len(page["statements"]))
            yield from page["statements"]
            more = page.get("more")
            # `more` is an IRL relative to the LRS's root; the query is in it
            url, params = (urljoin(lrs.url, more), None) if more else (None, None)
        raise LrsQueryError(f"the LRS kept answering `more` after {MAX_PAGES} pages: stopping")
    finally:
        session.close()
