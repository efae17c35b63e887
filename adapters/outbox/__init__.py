"""The outbox relay: delivers what the ledger's transactional outbox holds.

Messages are written in the same transaction as the ledger change they report (domain
events, turned into rows by messages.py); this package claims the due ones, hands each to the
deliverer of its channel (SOAP customs callback, AMQP publisher) and marks it sent only after
the deliverer returned: at least once, with stable message ids that receivers de-duplicate.
"""
