"""How long and how large a stored value may be: one source for the tables and the validators.

The ledger's column sizes (``adapters/sql/tables.py``) and every edge that takes values in —
the permit validation (``mappings/permit_fields.py``), the SAD mapping (``mappings/asycuda_sad.py``,
``mappings/sad_values.py``) — read these numbers, so a value that passes validation always fits
its column. When they disagreed (a taxon of 201 to 255 characters passed the validator but not
``VARCHAR(200)``), PostgreSQL refused the row, the consumer took the refusal for an outage and
stopped on that message for good (issue 9, item 5).

Values are those of contract 3.1 (v2), "Field limits", and section 1 for declarations and
numbers: a value the connector cannot store is the caller's error (``Client.MappingFailed``,
``Client.SchemaViolation`` or a dead-lettered message), never a database error.
"""

from __future__ import annotations

from decimal import Decimal

from cites_connector.domain.units import LEDGER_PLACES

# -- declarations (contract sections 0, 1 and 2) ---------------------------------------------
#: ``DeclarationId``: 1..64 characters; declarations.declaration_id
DECLARATION_ID = 64
#: the SAD's Customs_clearance_office_code; declarations.office_code, usages.office_code
OFFICE_CODE = 32
#: the SAD's Customs_Clearance_office_name: the endorsement's port, usages.port
OFFICE_NAME = 128
#: the SOAP user (or ``connector``) a usage was endorsed by: usages.endorsed_by
ENDORSER = 100
#: the SAD's Suppplementary_unit_code (a Rec. 20 code has 2-3 characters): usages.declared_unit
UNIT_CODE = 16
#: a declared quantity as text (15 digits, a point, 6 digits): usages.declared_quantity
DECLARED_QUANTITY = 40
#: the SAD's Declarant_code; declarations.declarant_code (and the broker's routing key)
DECLARANT_CODE = 64

# -- permits (contract 3.1, v2) -------------------------------------------------------------
#: a permit number, as printed on the CITES form (box 1); also the reference a SAD cites
PERMIT_NUMBER = 64
#: scientific name of a permit line (form box 9/10); ``permit_lines.taxon``
TAXON = 200
#: exporter and importer name and trader id (form boxes 3 and 4)
PARTY_NAME = 200
PARTY_ID = 200
#: a line's description of the specimens (form box 9)
DESCRIPTION = 1_000
#: lines of one permit (A..Z, AA..ZZ, AAA..: far more than any form carries)
PERMIT_LINES = 10_000
#: security stamp number and the number of a replaced permit
STAMP = 64
#: the reason given with a cancellation, suspension or reinstatement
STATUS_REASON = 1_000
#: AMQP message ids kept in the inbox; a longer one is hashed (adapters/amqp/permit_messages)
MESSAGE_ID = 200
#: a user recorded as the source of an inbox row (an AMQP user name)
INBOX_SOURCE = 100

# -- trade suspensions and export quotas (contract 5.1, v2) ----------------------------------
#: a suspension's CITES notification reference: trade_suspensions.reference
NOTIFICATION = 200
#: a quota's CITES term code (TUS, LIV...): export_quotas.term
TERM_CODE = 8

# -- numbers (contract section 1, v2) -------------------------------------------------------
#: versions are SQL INTEGER: 1 to 2**31 - 1
VERSION_MAX = 2**31 - 1
#: quantities as written: ASCII digits, at most 15 before and 6 after the point. Six places
#: is the ledger's own precision (millionths, ``units.LEDGER_PLACES``).
QUANTITY_INTEGER_DIGITS = 15
QUANTITY_DECIMAL_DIGITS = LEDGER_PLACES
#: the ledger keeps permit quantities as integers of millionths in a 64-bit column (BIGINT),
#: so the largest quantity a permit line can hold is (2**63 - 1) millionths: 13 digits before
#: the point. A permit quantity with 14 or 15 integer digits is well formed but cannot be
#: stored; it is refused naming the field, as contract 3.1 asks for "any value that cannot be
#: stored". A declared quantity that large is read, and then simply exceeds every line.
LEDGER_MICRO_MAX = 2**63 - 1
QUANTITY_MAX = Decimal(LEDGER_MICRO_MAX).scaleb(-QUANTITY_DECIMAL_DIGITS)
