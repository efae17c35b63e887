"""EPIX, the CITES Secretariat's Electronic Permit Information eXchange (docs/epix.md): a
second permit source (GetFinalCitesCertificate / GetNonFinalCitesCertificate) and the
endorsement back to the exporting country (ConfirmQuantities, through the outbox)."""
