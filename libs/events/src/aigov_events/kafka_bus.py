"""The Kafka transport: idempotent acks=all producer, transactional batches, read_committed groups."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from aigov_events.batching import MicroBatcher
from aigov_events.bus import (
    MAX_RECORD_BYTES,
    BusError,
    BusKind,
    IncomingRecord,
    OutgoingRecord,
    RecordPosition,
    check_record_size,
)
from aigov_events.bus import TopicPartition as TP
from aigov_events.partitioning import partition_for

log = logging.getLogger(__name__)

_TOPIC_ALREADY_EXISTS: Final = 36
# Upper bound on records per Kafka transaction when callers' batches are merged.
_MAX_RECORDS_PER_TRANSACTION: Final = 5000


class KafkaBus:
    """Apache Kafka through aiokafka; one plain and one (lazily started) transactional producer."""

    kind: BusKind = "kafka"

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str = "aigov",
        partitions: int = 3,
        replication_factor: int = 1,
        request_timeout_ms: int = 30_000,
        max_record_bytes: int = MAX_RECORD_BYTES,
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._client_id = client_id
        self._partitions = partitions
        self._replication_factor = replication_factor
        self._request_timeout_ms = request_timeout_ms
        self._max_record_bytes = max_record_bytes
        self._producer: AIOKafkaProducer | None = None
        self._txn_producer: AIOKafkaProducer | None = None
        # Atomic batches share transactions (one at a time per transactional producer).
        self._transactions: MicroBatcher[Sequence[OutgoingRecord], list[RecordPosition]] = (
            MicroBatcher(
                self._commit_transaction,
                max_weight=_MAX_RECORDS_PER_TRANSACTION,
                weight=len,
            )
        )
        self._admin: AIOKafkaAdminClient | None = None

    def _new_producer(self, transactional_id: str | None = None) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            acks="all",
            enable_idempotence=True,
            transactional_id=transactional_id,
            request_timeout_ms=self._request_timeout_ms,
            # Headroom over one record for batching; the per-record limit is checked by us.
            max_request_size=self._max_record_bytes + 64 * 1024,
            # Batches are sent as soon as possible: intake waits for the ack before answering.
            linger_ms=0,
            # Record batches are built per partition by _send_batches and start a new one at
            # this size; a single larger record still gets a batch of its own.
            max_batch_size=512 * 1024,
        )

    async def start(self) -> None:
        """Connect the producer and the admin client."""
        try:
            self._admin = AIOKafkaAdminClient(
                bootstrap_servers=self._bootstrap,
                client_id=f"{self._client_id}-admin",
                request_timeout_ms=self._request_timeout_ms,
            )
            await self._admin.start()
            self._producer = self._new_producer()
            await self._producer.start()
        except KafkaError as exc:
            await self.stop()
            raise BusError(f"cannot connect to Kafka at {self._bootstrap}: {exc}") from exc

    async def stop(self) -> None:
        """Flush pending sends and close every client."""
        # Queued atomic batches finish first: each caller is waiting for its answer.
        await self._transactions.close(BusError("Kafka bus stopped before the batch was sent"))
        for client in (self._producer, self._txn_producer):
            if client is not None:
                await client.stop()
        if self._admin is not None:
            await self._admin.close()
        self._producer = self._txn_producer = None
        self._admin = None

    def _require_admin(self) -> AIOKafkaAdminClient:
        if self._admin is None:
            raise BusError("Kafka bus is not started")
        return self._admin

    async def ping(self) -> None:
        """A metadata round trip to the cluster."""
        try:
            await asyncio.wait_for(self._require_admin().describe_cluster(), timeout=5)
        except (KafkaError, TimeoutError) as exc:
            raise BusError(f"Kafka at {self._bootstrap} does not answer: {exc!r}") from exc

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create missing topics with the configured partitions and replication factor."""
        admin = self._require_admin()
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if not missing:
            return
        response: Any = await admin.create_topics(
            [
                NewTopic(
                    name=t,
                    num_partitions=self._partitions,
                    replication_factor=self._replication_factor,
                )
                for t in missing
            ]
        )
        for topic, code, *rest in response.topic_errors:
            if code not in (0, _TOPIC_ALREADY_EXISTS):
                message = rest[0] if rest else ""
                raise BusError(f"cannot create topic {topic}: error {code} {message}")
        # CreateTopics returns before every broker's metadata cache knows the topics;
        # wait until they are visible so the first send or subscribe does not race them.
        deadline = asyncio.get_running_loop().time() + self._request_timeout_ms / 1000
        while not set(missing) <= set(await admin.list_topics()):
            if asyncio.get_running_loop().time() > deadline:
                raise BusError(f"created topics {missing} did not appear in the cluster metadata")
            await asyncio.sleep(0.1)
        log.info("created topics", extra={"topics": missing, "partitions": self._partitions})

    async def delete_topics_with_prefix(self, prefix: str) -> list[str]:
        """Delete the topics whose names start with `prefix` (test and environment cleanup)."""
        admin = self._require_admin()
        doomed = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if doomed:
            await admin.delete_topics(doomed)
        return doomed

    async def _transactional_producer(self) -> AIOKafkaProducer:
        if self._txn_producer is None:
            # A unique id per process: we want atomic batches, not zombie fencing across
            # restarts (there is no consume-transform-produce loop to protect).
            producer = self._new_producer(f"{self._client_id}-{uuid.uuid4()}")
            await producer.start()
            self._txn_producer = producer
        return self._txn_producer

    async def send(
        self, records: Sequence[OutgoingRecord], *, atomic: bool
    ) -> list[RecordPosition]:
        """Send records; wait for every acknowledgement (atomic: in one Kafka transaction)."""
        if self._producer is None:
            raise BusError("Kafka bus is not started")
        for record in records:
            # Before anything is sent, so a refused record never leaves part of its batch
            # behind, and never fails the other callers sharing a transaction.
            check_record_size(record, self._max_record_bytes)
        if not atomic:
            try:
                return await self._send_each(self._producer, records)
            except KafkaError as exc:
                raise BusError(f"Kafka did not acknowledge the records: {exc!r}") from exc
        return await self._transactions.submit(records)

    async def _commit_transaction(
        self, batches: list[Sequence[OutgoingRecord]]
    ) -> list[list[RecordPosition]]:
        """Commit several callers' atomic batches in one Kafka transaction.

        A transaction costs a few round trips to the coordinator whatever its size, so the
        batches that queued up while the previous transaction was in flight share the next
        one. Each caller's batch stays all-or-nothing: it is inside one transaction either
        way, and a failed transaction fails every caller in it.
        """
        flat = [record for records in batches for record in records]
        try:
            producer = await self._transactional_producer()
            async with producer.transaction():
                positions = await self._send_batches(producer, flat)
        except Exception as exc:
            await self._discard_transactional_producer()
            raise BusError(f"Kafka did not commit the transaction: {exc!r}") from exc
        out: list[list[RecordPosition]] = []
        offset = 0
        for records in batches:
            out.append(positions[offset : offset + len(records)])
            offset += len(records)
        return out

    async def _discard_transactional_producer(self) -> None:
        # After a failed transaction the producer may be in an unusable (fatal) state:
        # start the next transaction on a fresh one.
        producer, self._txn_producer = self._txn_producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()

    @staticmethod
    async def _send_each(
        producer: AIOKafkaProducer, records: Sequence[OutgoingRecord]
    ) -> list[RecordPosition]:
        """Send records one by one: concurrent callers' records share the producer's batches."""
        futures = [
            await producer.send(r.topic, value=r.value, key=r.key, headers=r.headers)
            for r in records
        ]
        acks = await asyncio.gather(*futures)
        return [RecordPosition(m.topic, m.partition, m.offset) for m in acks]

    @staticmethod
    async def _send_batches(
        producer: AIOKafkaProducer, records: Sequence[OutgoingRecord]
    ) -> list[RecordPosition]:
        """Send records as one record batch per partition (far cheaper than one send each).

        Only for the transaction worker: aiokafka queues one explicit batch per partition at
        a time, so concurrent callers must not use this path (they would wait for each other).
        """
        by_partition: dict[tuple[str, int], list[int]] = {}
        for index, record in enumerate(records):
            partitions = await producer.partitions_for(record.topic)
            partition = partition_for(record.key, len(partitions))
            by_partition.setdefault((record.topic, partition), []).append(index)
        sent: list[tuple[Any, list[tuple[int, int]]]] = []
        for (topic, partition), indexes in by_partition.items():
            batch = producer.create_batch()
            members: list[tuple[int, int]] = []
            for index in indexes:
                record = records[index]
                appended = batch.append(
                    key=record.key, value=record.value, timestamp=None, headers=record.headers
                )
                if appended is None:  # batch full: send it, start the next one
                    batch.close()
                    sent.append(
                        (await producer.send_batch(batch, topic, partition=partition), members)
                    )
                    batch, members = producer.create_batch(), []
                    appended = batch.append(
                        key=record.key, value=record.value, timestamp=None, headers=record.headers
                    )
                members.append((index, appended.offset))
            batch.close()
            sent.append((await producer.send_batch(batch, topic, partition=partition), members))
        acks = await asyncio.gather(*(future for future, _ in sent))
        positions: list[RecordPosition | None] = [None] * len(records)
        for ack, (_, members) in zip(acks, sent, strict=True):
            for index, relative_offset in members:
                positions[index] = RecordPosition(
                    ack.topic, ack.partition, ack.offset + relative_offset
                )
        return [p for p in positions if p is not None]

    def subscribe(self, *, group: str, topics: Sequence[str]) -> KafkaSubscription:
        """A new member of consumer group `group` (read_committed, manual commits)."""
        return KafkaSubscription(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            group=group,
            topics=topics,
        )


class KafkaSubscription:
    """A consumer-group member; offsets are committed only when the runner says so."""

    def __init__(
        self, *, bootstrap_servers: str, client_id: str, group: str, topics: Sequence[str]
    ) -> None:
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap_servers,
            client_id=f"{client_id}-{group}",
            group_id=group,
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        self._committed: dict[TP, int] = {}

    async def start(self) -> None:
        """Join the group."""
        try:
            await self._consumer.start()
        except KafkaError as exc:
            await self._consumer.stop()
            raise BusError(f"cannot join consumer group: {exc!r}") from exc

    async def poll(self, *, max_wait: float, max_records: int) -> list[IncomingRecord]:
        """Fetch the next records of the assigned partitions (BusError if the broker refuses)."""
        try:
            batches = await self._consumer.getmany(
                timeout_ms=int(max_wait * 1000), max_records=max_records
            )
        except KafkaError as exc:
            # Coordinator and fetch errors (broker gone, group rebalancing, ...): the runner
            # retries; a stopped consumer (ConsumerStoppedError) is not one of them.
            raise BusError(f"poll failed: {exc!r}") from exc
        out: list[IncomingRecord] = []
        for tp, messages in sorted(batches.items(), key=lambda kv: (kv[0].topic, kv[0].partition)):
            out.extend(
                IncomingRecord(
                    topic=tp.topic,
                    partition=tp.partition,
                    offset=m.offset,
                    key=m.key,
                    value=m.value,
                    headers=list(m.headers or ()),
                    timestamp_ms=m.timestamp,
                )
                for m in messages
            )
        return out

    async def commit(self, offsets: Mapping[TP, int]) -> None:
        """Commit the next offset to read for each partition."""
        if not offsets:
            return
        try:
            await self._consumer.commit({TopicPartition(t, p): o for (t, p), o in offsets.items()})
        except KafkaError as exc:
            # Usually a rebalance took the partition away: its new owner re-reads from the
            # last committed offset and the idempotent handlers absorb the repeat.
            raise BusError(f"offset commit failed: {exc!r}") from exc
        self._committed.update(offsets)

    async def seek(self, topic: str, partition: int, offset: int) -> None:
        """Re-read a partition from `offset`."""
        tp = TopicPartition(topic, partition)
        if tp in self._consumer.assignment():
            self._consumer.seek(tp, offset)

    async def lag(self) -> dict[TP, int]:
        """Log end offset minus committed offset for each assigned partition."""
        assigned = list(self._consumer.assignment())
        if not assigned:
            return {}
        ends = await self._consumer.end_offsets(assigned)
        lag: dict[TP, int] = {}
        for tp in assigned:
            key = (tp.topic, tp.partition)
            committed = self._committed.get(key)
            if committed is None:
                committed = await self._consumer.committed(tp) or 0
            lag[key] = max(0, ends[tp] - committed)
        return lag

    async def close(self) -> None:
        """Leave the group."""
        await self._consumer.stop()
