"""How an EPIX fault is read: what the lookup may remember as "not found", and what the
outbox gives up on at once."""

from __future__ import annotations

import pytest

from cites_connector.adapters.epix.errors import EpixFault


@pytest.mark.parametrize(
    ("code", "text", "status", "not_found", "permanent"),
    [
        ("Client", "CertificateNotFound", 500, True, True),
        ("Server", "CalleeNotFound", 500, True, False),
        ("Server", "This request took too long to process...", 500, False, False),
        ("Client", "InvalidToken", 500, False, True),
        ("", "HTTP 403 Forbidden", 403, False, True),
        ("", "HTTP 429 Too Many Requests", 429, False, False),
        ("", "HTTP 408 Request Timeout", 408, False, False),
        ("Redirect", "redirect to https://elsewhere not followed", 307, False, True),
    ],
)
def test_faults_are_classified(code, text, status, not_found, permanent):
    fault = EpixFault(code, text, status)
    assert (fault.not_found, fault.permanent) == (not_found, permanent)
