"""Proof that aiokafka speaks everything Crewline uses to the Kafka the stack runs:
the idempotent producer with acks=all, consumer groups, and manual offset commits."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from crewline.events import CLAIMS_TOPIC
from crewline.kafka import make_consumer, make_producer
from crewline.settings import KafkaSettings


async def test_broker_is_real_kafka_in_kraft_mode(kafka: KafkaSettings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
    finally:
        await admin.close()
    assert cluster["controller_id"] == 1  # node 1 is broker and KRaft controller at once
    assert [b["port"] for b in cluster["brokers"]] == [int(kafka.bootstrap_servers.split(":")[1])]


async def test_idempotent_producer_and_group_consumer_with_manual_commits(
    kafka: KafkaSettings,
) -> None:
    producer: AIOKafkaProducer = make_producer(kafka, client_id="proof")
    await producer.start()
    try:
        for i in range(10):
            await producer.send_and_wait(kafka.topic(CLAIMS_TOPIC), value=b"%d" % i, key=b"one")
        # The idempotent producer got a producer id from the broker.
        assert producer._txn_manager is not None
        assert producer._txn_manager.producer_id >= 0
    finally:
        await producer.stop()

    consumer = make_consumer(kafka, group_id="proof", client_id="proof", topics=[CLAIMS_TOPIC])
    await consumer.start()
    try:
        seen: list[bytes] = []
        while len(seen) < 5:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5 - len(seen))
            for tp, records in batch.items():
                seen.extend(r.value for r in records)
                await consumer.commit({tp: records[-1].offset + 1})
        assert seen == [b"0", b"1", b"2", b"3", b"4"]
    finally:
        await consumer.stop()

    # The same group, restarted, resumes exactly after the offsets it committed.
    again = make_consumer(kafka, group_id="proof", client_id="proof", topics=[CLAIMS_TOPIC])
    await again.start()
    try:
        rest: list[bytes] = []
        while len(rest) < 5:
            batch = await again.getmany(timeout_ms=1000)
            for records in batch.values():
                rest.extend(r.value for r in records)
        assert rest == [b"5", b"6", b"7", b"8", b"9"]
        partition = next(iter(again.assignment()))
        assert isinstance(partition, TopicPartition)
    finally:
        await again.stop()
