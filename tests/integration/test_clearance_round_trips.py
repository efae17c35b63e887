"""How many times a clearance waits for PostgreSQL (issue 14): pinned, so that one more fails.

The clearance is the benchmark's (bench/decision_writeoff.py: a 10-item export, 2 items citing
two MULTIPLE permits), after a few to warm the process's caches, as in the benchmark. The
messages the client sends and receives are read from libpq's own trace of the connection
(not from SQLAlchemy's statement events: a listener there makes the ledger send every
statement alone, pipeline.py ``can_pipeline``). A round trip is a run of messages sent
before the client reads an answer. The pool's pre-ping, before the connection is handed out,
is not counted.
"""

from __future__ import annotations

import pytest

from bench import decision_writeoff as bench
from tests.integration.libpq_trace import (
    libpq_traced,
    message_types,
    round_trips,
    traced_messages,
)

#: the BEGIN, the declaration's lock, the cited permits' locks, the trade suspensions and export
#: quotas, the permits' heads and the declaration's latest decision; the stamps raised with the
#: lines drawn on; and the rows stored (usages, decision, declaration, outbox, audit) with the
#: COMMIT: 3 (15 on main before issue 14's fifth round, 7 after it)
ROUND_TRIPS = 3


@pytest.mark.postgres
def test_a_clearance_of_the_benchmark_declaration_waits_for_the_server_three_times(
    postgres_url, tmp_path
):
    app = bench.build_app(postgres_url, tmp_path / "data")
    trace = tmp_path / "libpq.trace"
    try:
        declaration = app.map_sad(bench.sad_xml(), today=bench.CLOCK.date())
        for n in range(3):
            app.clearance.clear(f"WARM-{n}", 1, declaration)
        with libpq_traced(app.engine.pool, trace):
            outcome = app.clearance.clear("COUNTED", 1, declaration)
        assert outcome.decision.decision.value == "CLEARED"
        messages = message_types(trace)
        sent = [kind for direction, kind in messages if direction == "F"]
        # BEGIN, 8 statements that lock, read and draw, 8 rows stored in 5 INSERTs (the usages
        # in one, the outbox rows in one), COMMIT
        assert sent.count("Execute") + sent.count("Query") == 15
        assert round_trips(messages) == ROUND_TRIPS, messages
        # the transaction's BEGIN is sent by the ledger, first, in the first round trip: no
        # statement of the clearance runs before it (it would be committed on its own)
        statements = [
            m for d, m in traced_messages(trace) if d == "F" and m.startswith(("Parse", "Query"))
        ]
        assert '"BEGIN"' in statements[0], statements[:2]
        assert "pg_advisory_xact_lock" in statements[1], statements[:3]  # the declaration's
        assert "pg_advisory_xact_lock" in statements[2], statements[:3]  # then the permits'
        assert '"COMMIT"' in statements[-1], statements[-1]
    finally:
        app.close()


def test_round_trips_are_runs_of_messages_sent():
    sent_twice = [("F", "Parse"), ("F", "Sync"), ("B", "ReadyForQuery"), ("F", "Query")]
    assert round_trips([*sent_twice, ("B", "CommandComplete")]) == 2
    assert round_trips([("F", "Parse"), ("F", "Execute"), ("B", "DataRow")]) == 1
