"""What verifying the audit chains found, per chain (``cites-connector audit verify``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ChainReport:
    #: "administration" or "ledger"
    chain: str
    rows: int
    #: the last link: what an administrator records outside the connector
    head: str
    #: where the head is ("row 12", "position 340, row 342")
    head_at: str
    #: the first bad row (its id or sequence number) and what is wrong with it
    broken_at: int | None = None
    problem: str | None = None
    #: ledger chain: rows linked into the chain, and rows keyed but not linked yet
    sealed: int = 0
    waiting: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class AuditReport:
    administration: ChainReport
    ledger: ChainReport
    #: published HS table versions whose rows no longer match their published digest
    tampered_versions: tuple[str, ...] = ()
    key_id: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def chains(self) -> tuple[ChainReport, ChainReport]:
        return self.administration, self.ledger

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.chains) and not self.tampered_versions
