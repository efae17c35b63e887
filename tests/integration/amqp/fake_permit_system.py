"""A small permit system for the lookup tests (contract 3.3): a pika responder thread with a
queue of its own on ``cites.rpc`` ``permit.lookup``, answering as the user of its URL."""

from __future__ import annotations

import json
import threading
import uuid
from urllib.parse import unquote, urlsplit

import pika

from cites_connector.adapters.amqp import topology


class FakePermitSystem:
    """Answers lookups from ``answers`` (number -> (content_type, headers, body)); a number
    it does not know gets ``{"found": false}``; ``silent`` answers nothing. ``url``'s user
    answers, with that user as ``user_id`` (``user_id=None``: not set). Every request seen is
    kept in ``requests``; ``answer_after`` holds the answers until that many requests came,
    ``delay`` holds each answer that many seconds."""

    def __init__(
        self,
        url: str,
        answers: dict,
        silent: bool = False,
        *,
        user_id: str | None = "from-url",
        answer_after: int = 1,
        delay: float = 0.0,
    ):
        self.url, self.answers, self.silent = url, answers, silent
        self.user_id = unquote(urlsplit(url).username) if user_id == "from-url" else user_id
        self.answer_after = answer_after
        self.delay = delay
        self.requests: list[dict] = []
        self._held: list[tuple] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join(5)

    def _run(self):
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        channel = connection.channel()
        queue = f"permit-system.lookups.{uuid.uuid4().hex[:8]}"
        channel.queue_declare(queue, exclusive=True)
        channel.queue_bind(queue, topology.RPC_EXCHANGE, topology.LOOKUP_ROUTING_KEY)
        self._ready.set()
        for method, properties, body in channel.consume(queue, inactivity_timeout=0.05):
            if self._stop.is_set():
                break
            if method is None:
                continue
            request = json.loads(body)
            self.requests.append(request | {"correlation_id": properties.correlation_id})
            channel.basic_ack(method.delivery_tag)
            if self.silent:
                continue
            self._held.append((request, properties))
            if len(self.requests) < self.answer_after:
                continue
            if self.delay:
                connection.sleep(self.delay)
            for held_request, held in self._held:
                content_type, headers, reply = self.answers.get(
                    held_request["permit_number"], ("application/json", None, b'{"found": false}')
                )
                channel.basic_publish(
                    "",
                    held.reply_to,
                    reply,
                    pika.BasicProperties(
                        correlation_id=held.correlation_id,
                        content_type=content_type,
                        headers=headers,
                        user_id=self.user_id,
                    ),
                )
            self._held.clear()
        connection.close()
