"""Species+ API v1 client: fetch ``taxon_concepts`` pages and refresh the local taxonomy.

Species+ (api.speciesplus.net) authenticates by the ``X-Authentication-Token`` header and pages
``taxon_concepts`` by ``page`` / ``per_page`` (at most 500), optionally ``updated_since``
(Species+ carries the CITES standard nomenclature, Res. Conf. 12.11 (Rev. CoP19)). Rate limits
(429) and server errors (5xx), timeouts and dropped connections are retried with exponential
back-off; a refused token is a configuration error an administrator must fix, so it is never
retried. Nothing connects until a method is called: the client is built from settings by the
bootstrap, or handed a session by tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path

import requests
import structlog
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from cites_connector.adapters.speciesplus_import import RefreshResult, merge_pages
from cites_connector.domain.errors import ConnectorError, Unavailable
from cites_connector.mappings.speciesplus import JsonObject

log = structlog.get_logger(__name__)

DEFAULT_BASE_URL = "https://api.speciesplus.net/api/v1"
MAX_PER_PAGE = 500


class SpeciesPlusUnavailable(Unavailable):
    """Species+ could not be reached or kept failing; the local taxonomy is unchanged."""


class SpeciesPlusAuthError(ConnectorError):
    """Species+ refused the API token (HTTP 401/403): fix the token setting."""

    exit_code = 2


class SpeciesPlusError(ConnectorError):
    """Species+ answered with something the connector cannot use."""


class _Retryable(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SpeciesPlusClient:
    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        token: str,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5, 30),
        per_page: int = MAX_PER_PAGE,
        attempts: int = 4,
        backoff_seconds: float = 1.0,
        max_backoff_seconds: float = 30.0,
    ):
        if not token:
            raise SpeciesPlusAuthError("no Species+ API token is configured")
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be 1..{MAX_PER_PAGE}, not {per_page}")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._session = session or requests.Session()
        self.timeout = timeout
        self.per_page = per_page
        self._retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=backoff_seconds, max=max_backoff_seconds),
            retry=retry_if_exception_type(_Retryable),
            reraise=True,
        )

    def iter_taxon_concept_pages(
        self, updated_since: date | datetime | None = None
    ) -> Iterator[JsonObject]:
        """Yield each page of ``taxon_concepts`` until ``total_entries`` are covered."""
        page = 1
        while True:
            params: dict[str, str | int] = {"page": page, "per_page": self.per_page}
            if updated_since is not None:
                params["updated_since"] = updated_since.isoformat()
            body = self._get("taxon_concepts", params)
            yield body
            pagination = body.get("pagination") or {}
            total = int(pagination.get("total_entries") or 0)
            per_page = int(pagination.get("per_page") or self.per_page)
            concepts = body.get("taxon_concepts") or []
            if not concepts or page * per_page >= total:
                return
            page += 1

    def _get(self, path: str, params: Mapping[str, str | int]) -> JsonObject:
        url = f"{self.base_url}/{path}"
        try:
            for attempt in self._retrying:
                with attempt:
                    return self._get_once(url, params)
        except _Retryable as exc:
            raise SpeciesPlusUnavailable(
                f"Species+ is unavailable ({exc.message}); the taxonomy was not changed"
            ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _get_once(self, url: str, params: Mapping[str, str | int]) -> JsonObject:
        try:
            response = self._session.get(
                url,
                params=params,
                timeout=self.timeout,
                headers={"X-Authentication-Token": self._token, "Accept": "application/json"},
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            log.warning("speciesplus.retry", url=url, page=params.get("page"), error=str(exc))
            raise _Retryable(f"{type(exc).__name__} on {url}") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            log.warning("speciesplus.retry", url=url, page=params.get("page"), status=status)
            raise _Retryable(f"HTTP {status} from {url}")
        if status in (401, 403):
            raise SpeciesPlusAuthError(
                f"Species+ refused the API token (HTTP {status}); check the token setting"
            )
        if status != 200:
            raise SpeciesPlusError(f"Species+ answered HTTP {status} for {url}")
        try:
            body = response.json()
        except ValueError as exc:
            raise SpeciesPlusError(f"Species+ sent a body that is not JSON from {url}") from exc
        if not isinstance(body, dict) or not isinstance(body.get("taxon_concepts"), list):
            raise SpeciesPlusError(f"Species+ sent JSON without a taxon_concepts list from {url}")
        return body


def refresh_taxonomy(
    client: SpeciesPlusClient,
    target_dir: Path | str,
    updated_since: date | datetime | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> RefreshResult:
    """Fetch Species+ pages and merge them into the taxonomy files in ``target_dir``.

    Every page is fetched before anything is written, so a failure part way leaves the files
    as they were. ``progress(pages, total)`` hears after each page (the whole list is some
    hundred pages: the command line shows a bar), the total from Species+' pagination.
    """
    pages: list[JsonObject] = []
    for page in client.iter_taxon_concept_pages(updated_since):
        pages.append(page)
        if progress is not None:
            pagination = page.get("pagination") or {}
            entries = int(pagination.get("total_entries") or 0)
            per_page = int(pagination.get("per_page") or client.per_page) or 1
            progress(len(pages), max(len(pages), -(-entries // per_page)))
    since = f" updated since {updated_since.isoformat()}" if updated_since else ""
    return merge_pages(
        target_dir, pages, source=f"Species+ API {client.base_url}/taxon_concepts{since}"
    )


__all__ = ["RefreshResult", "SpeciesPlusClient", "merge_pages", "refresh_taxonomy"]
