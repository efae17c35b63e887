"""A ledger audit row's MAC, made from the values the service passes, must be the MAC of the
row as SQLite and PostgreSQL give it back: whatever JSON the details hold, whatever time
zone the instant comes in (adapters/sql/audit_mac.py). Otherwise ``audit verify`` would cry
tampering over an honest row. Property-based, on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cites_connector.adapters.sql.audit_checks import seal_ledger, verify_chains

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
NAMES = st.text(
    st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_categories=("Cs",)),
    min_size=1,
    max_size=60,
)
INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))]
    ),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    details=st.dictionaries(st.text(max_size=10), JSON, max_size=5),
    actor=NAMES,
    subject=NAMES,
    at=INSTANTS,
)
def test_every_honest_row_verifies_after_the_database_round_trip(
    sql_ledger, details, actor, subject, at
):
    with sql_ledger.transaction() as session:
        session.audit.record(actor, "declaration.decided", subject, details, at)
    done = seal_ledger(sql_ledger.engine)
    assert done.problem is None, done.problem
    report = verify_chains(sql_ledger.engine, seal=False)
    assert report.ledger.ok, report.ledger.problem
