"""What the ledger can store, declaration side: one place for the sizes every edge checks.

Contract section 1 (v2): a value the connector cannot store is the caller's error
(``Client.MappingFailed`` or ``Client.SchemaViolation``), never a database error surfacing as
``Server.*``. The edges (SAD mapping, SOAP schema) check these before anything is written;
``adapters/sql/tables.py`` declares the same sizes for its columns.
"""

from __future__ import annotations

from connector.domain.units import LEDGER_PLACES

#: ``DeclarationId``: 1..64 characters (contract section 0); declarations.declaration_id
DECLARATION_ID_MAX = 64
#: ``Version``: 1..2147483647 (contract section 1, v2); a 32-bit INTEGER column
VERSION_MAX = 2_147_483_647
#: the SAD's Customs_clearance_office_code; declarations.office_code, usages.office_code
OFFICE_CODE_MAX = 32
#: the SAD's Declarant_code; declarations.declarant_code (and the broker's routing key)
DECLARANT_CODE_MAX = 64
#: a permit number cited in a CITES attached document; held_citations.permit_number
PERMIT_NUMBER_MAX = 64
#: quantities (net mass, supplementary quantity): ASCII digits, at most 15 before the
#: decimal point and 6 after (contract section 1, v2). Six places is the ledger's own
#: precision (millionths, ``units.LEDGER_PLACES``); 15 + 6 digits stay exact in the 28-digit
#: decimal context and, as millionths, inside a signed 64-bit integer.
QUANTITY_INTEGER_DIGITS = 15
QUANTITY_DECIMAL_PLACES = LEDGER_PLACES
