"""The RabbitMQ edge (contract section 3): topology, permit consumer, outbox publisher, permit
lookup and dead-letter tools, all on pika's BlockingConnection, one connection per thread."""
