"""The names of the connector's RabbitMQ exchanges, queues and fixed routing keys.

They are part of the interface (docs/reference/amqp.md): integrators bind their queues to them.
Defined once, here, as plain data: the topology the AMQP adapter declares
(``adapters/amqp/topology.py``) and the outbox messages the services' events become
(``mappings/outbox_messages.py``) both read them, so the two cannot drift apart.
"""

from __future__ import annotations

PERMITS_EXCHANGE = "cites.permits"
USAGE_EXCHANGE = "cites.usage"
NOTIFICATIONS_EXCHANGE = "customs.notifications"
RPC_EXCHANGE = "cites.rpc"
DEAD_LETTER_EXCHANGE = "cites.dlx"
PERMITS_QUEUE = "cites-connector.permits"
DEAD_LETTER_QUEUE = "cites-connector.dead-letters"
LOOKUP_ROUTING_KEY = "permit.lookup"
