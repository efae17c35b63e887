"""Errors that carry what goes back on the wire.

Each error names the SOAP fault code (contract section 1) and the CLI exit code (section 7)
its callers map it to, so that edges translate, never decide.
"""

from __future__ import annotations


class ConnectorError(Exception):
    fault_code = "Server.Error"
    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(ConnectorError):
    """Input of the wrong form: nothing was changed."""

    fault_code = "Client.SchemaViolation"
    exit_code = 2


class MalformedXml(InvalidInput):
    fault_code = "Client.MalformedXml"


class MappingFailed(InvalidInput):
    """The SAD lacks a field the connector needs, or a value has the wrong form."""

    fault_code = "Client.MappingFailed"


class TooLarge(InvalidInput):
    fault_code = "Client.TooLarge"


class InvalidPermit(InvalidInput):
    """A permit message that fails validation (contract 3.1)."""


class PermitEventRefused(InvalidInput):
    """A well-formed permit event the connector must not apply (contract 3.1 (v2)).

    ``code`` is the dead-lettered copy's ``x-rejection-reason``, fixed by the contract:
    ``UNTRUSTED_PUBLISHER``, ``PERMIT_CANCELLED_FINAL``, ``IMPLAUSIBLE_VERSION``,
    ``MESSAGE_ID_CONFLICT``; ``message`` says why, for the operator. A business refusal
    (exit code 1), not bad input: the message itself may be perfectly formed.
    """

    exit_code = 1

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.detail = message


class UnstorableValue(InvalidInput):
    """The database refused a value of this input (too long, out of range, a constraint).

    A data error of the message or request that brought the value, never an outage: retrying
    cannot help, so it is refused like any invalid input (contract 3.1 (v2), section 1)."""


class UnknownDeclaration(ConnectorError):
    fault_code = "Client.UnknownDeclaration"
    exit_code = 1


class UnknownPermit(ConnectorError):
    fault_code = "Client.UnknownPermit"
    exit_code = 1


class StaleVersion(ConnectorError):
    fault_code = "Client.StaleVersion"
    exit_code = 1


class DeclarationCancelled(ConnectorError):
    """Contract 1 (v2): a cancelled (declaration id, version) sent again. Answering its stored
    decision would let customs release goods on a clearance whose write-offs were given back;
    a higher version declares the goods afresh."""

    fault_code = "Client.DeclarationCancelled"
    exit_code = 1


class Unavailable(ConnectorError):
    """A dependency (ledger, broker) cannot be reached; nothing was written."""

    fault_code = "Server.Unavailable"
    exit_code = 3


class NoHsTableInForce(ConnectorError):
    """No HS-to-taxon table covers the declaration date: deciding would clear CITES goods
    unchecked, so the connector refuses to decide (an administrator must publish a table)."""

    fault_code = "Server.Configuration"
    exit_code = 1


class WriteOffConflict(ConnectorError):
    """A conditional update found less remaining than decided: another writer got there first.

    The whole transaction is rolled back and the declaration decided again.
    """

    fault_code = "Server.Unavailable"
    exit_code = 3


def innermost_reason(exc: BaseException) -> str:
    """The innermost reason of a failure, one line: client libraries (pika, requests) wrap
    the operating system's error ("Connection refused") several layers deep, and their own
    message may be empty. Followed: ``__cause__``, ``__context__``, pika's ``exception``
    attribute and exceptions passed as arguments."""
    seen: list[BaseException] = []
    while exc not in seen:
        seen.append(exc)
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            wrapped = [getattr(exc, "exception", None), *exc.args]
            inner = next((w for w in wrapped if isinstance(w, BaseException)), None)
        if inner is None:
            break
        exc = inner
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return " ".join((str(exc) or type(exc).__name__).split())[:200]
