"""Kafka clients configured the one way Crewline uses them, and topic creation.

Producers are idempotent with acks=all; consumers commit offsets by hand after
the database transaction that applied the records. Topics are created explicitly
(the broker has auto-create off) with partition counts from settings.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from crewline.log import get_logger
from crewline.settings import KafkaSettings

log = get_logger(__name__)


def make_producer(settings: KafkaSettings, *, client_id: str) -> AIOKafkaProducer:
    """An idempotent producer: retries never duplicate or reorder a partition's records."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=2,
        request_timeout_ms=15000,
    )


def make_consumer(
    settings: KafkaSettings,
    *,
    group_id: str,
    client_id: str,
    topics: Iterable[str],
    listener: ConsumerRebalanceListener | None = None,
) -> AIOKafkaConsumer:
    """A group consumer with manual commits, starting from the earliest record."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=settings.group(group_id),
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=500,
    )
    consumer.subscribe([settings.topic(t) for t in topics], listener=listener)
    return consumer


async def ensure_topics(settings: KafkaSettings, topics: Iterable[str]) -> list[str]:
    """Create missing topics with ``settings.topic_partitions`` partitions; returns those made."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [settings.topic(t) for t in topics if settings.topic(t) not in existing]
        if wanted:
            new = [NewTopic(t, settings.topic_partitions, 1) for t in wanted]
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass  # another process created them first: the outcome we wanted
            log.info("topics_created", topics=wanted, partitions=settings.topic_partitions)
        return wanted
    finally:
        await admin.close()
