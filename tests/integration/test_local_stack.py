"""The Kafka broker and PostgreSQL server from deploy/local answer real client requests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

if TYPE_CHECKING:
    from tests.conftest import LocalStack

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest_asyncio.fixture(loop_scope="session")
async def admin(local_stack: LocalStack) -> AsyncIterator[AIOKafkaAdminClient]:
    """An admin client connected to the test broker."""
    client = AIOKafkaAdminClient(bootstrap_servers=local_stack.kafka_bootstrap)
    await client.start()
    try:
        yield client
    finally:
        await client.close()


@pytest_asyncio.fixture(loop_scope="session")
async def topic(admin: AIOKafkaAdminClient) -> AsyncIterator[str]:
    """A fresh three-partition topic, deleted afterwards so a long-lived stack stays tidy."""
    name = f"test-local-stack-{uuid.uuid4().hex[:12]}"
    response = await admin.create_topics(
        [NewTopic(name=name, num_partitions=3, replication_factor=1)]
    )
    assert [error[1] for error in response.topic_errors] == [0]
    try:
        yield name
    finally:
        await admin.delete_topics([name])


async def _consume(
    bootstrap: str, topic: str, *, expected: int, isolation_level: str
) -> list[tuple[bytes, bytes]]:
    """Read `expected` records from the start of `topic` in a fresh consumer group."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"test-local-stack-{uuid.uuid4().hex[:12]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level=isolation_level,
    )
    await consumer.start()
    records: list[tuple[bytes, bytes]] = []
    try:
        async with asyncio.timeout(30):
            while len(records) < expected:
                batches = await consumer.getmany(timeout_ms=500)
                records += [
                    (message.key, message.value)
                    for messages in batches.values()
                    for message in messages
                ]
        # Nothing further may arrive: one more poll proves no extra record is visible.
        extra = await consumer.getmany(timeout_ms=1000)
        records += [(m.key, m.value) for messages in extra.values() for m in messages]
        await consumer.commit()  # group offset commit goes through the group coordinator
    finally:
        await consumer.stop()
    return records


class TestKafka:
    async def test_metadata_lists_the_single_broker(self, admin: AIOKafkaAdminClient) -> None:
        cluster = await admin.describe_cluster()

        assert [broker["node_id"] for broker in cluster["brokers"]] == [1]
        assert cluster["controller_id"] == 1

    async def test_topic_round_trip_keeps_per_key_order(
        self, local_stack: LocalStack, topic: str
    ) -> None:
        sent = [(f"system-{i % 3}".encode(), f"event-{i}".encode()) for i in range(9)]
        producer = AIOKafkaProducer(
            bootstrap_servers=local_stack.kafka_bootstrap, acks="all", enable_idempotence=True
        )
        await producer.start()
        try:
            for key, value in sent:
                await producer.send_and_wait(topic, value, key=key)
        finally:
            await producer.stop()

        received = await _consume(
            local_stack.kafka_bootstrap,
            topic,
            expected=len(sent),
            isolation_level="read_uncommitted",
        )

        assert sorted(received) == sorted(sent)
        for key in {key for key, _ in sent}:
            assert [v for k, v in received if k == key] == [v for k, v in sent if k == key]

    async def test_read_committed_sees_committed_and_not_aborted_transactions(
        self, local_stack: LocalStack, topic: str
    ) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=local_stack.kafka_bootstrap,
            transactional_id=f"test-local-stack-{uuid.uuid4().hex[:12]}",
        )
        await producer.start()
        try:
            async with producer.transaction():
                await producer.send_and_wait(topic, b"committed-1", key=b"system-a")
            await producer.begin_transaction()
            await producer.send_and_wait(topic, b"aborted", key=b"system-a")
            await producer.abort_transaction()
            async with producer.transaction():
                await producer.send_and_wait(topic, b"committed-2", key=b"system-a")
        finally:
            await producer.stop()

        committed = await _consume(
            local_stack.kafka_bootstrap, topic, expected=2, isolation_level="read_committed"
        )
        uncommitted = await _consume(
            local_stack.kafka_bootstrap, topic, expected=3, isolation_level="read_uncommitted"
        )

        assert [value for _, value in committed] == [b"committed-1", b"committed-2"]
        assert [value for _, value in uncommitted] == [b"committed-1", b"aborted", b"committed-2"]


class TestPostgres:
    async def test_answers_a_query_as_the_aigov_superuser(self, local_stack: LocalStack) -> None:
        engine = create_async_engine(local_stack.postgres_url)
        try:
            async with engine.connect() as connection:
                row = (
                    await connection.execute(
                        text(
                            "select current_user, current_database(), "
                            "(select rolsuper from pg_roles where rolname = current_user), "
                            "pg_encoding_to_char(encoding) "
                            "from pg_database where datname = current_database()"
                        )
                    )
                ).one()
        finally:
            await engine.dispose()

        assert engine.dialect.driver == "asyncpg"
        assert tuple(row) == ("aigov", "aigov_test", True, "UTF8")
