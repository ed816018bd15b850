"""Alerts through the whole router on SQLite: grouping timers, repeat, resolve, dedup, muting."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aigov_events.catalog import NotificationSent, SilenceCreated, SilenceExpired
from aigov_monitoring_router import silences
from aigov_monitoring_router.messages import Message
from tests.unit.monitoring_router.conftest import (
    UnitRouter,
    raised,
    registered,
    reported,
    resolved,
    tier_assigned,
)

pytestmark = pytest.mark.asyncio

SECOND = timedelta(seconds=1)


async def low_system(env: UnitRouter, system_id: str = "chat-helper") -> str:
    """A low-tier system: its alerts take the root route (group_wait 30s, interval 5m)."""
    await env.handle(registered(system_id))
    await env.handle(tier_assigned(system_id, "low"))
    return system_id


class TestGroupingTimers:
    async def test_first_notification_waits_group_wait(self, unit_router: UnitRouter) -> None:
        env = unit_router
        system = await low_system(env)
        await env.handle(raised(system, starts_at=env.clock.now()))
        await env.settle()
        assert await env.notifications() == []
        await env.advance(29 * SECOND)
        assert await env.notifications() == []
        await env.advance(SECOND)
        [sent] = await env.notifications()
        assert (sent.receiver, sent.route, sent.status) == ("digest", "0", "dropped")

    async def test_alerts_of_one_group_arrive_together(self, unit_router: UnitRouter) -> None:
        env = unit_router
        system = await low_system(env)
        await env.handle(raised(system, labels={"feature": "a"}, starts_at=env.clock.now()))
        await env.advance(10 * SECOND)
        await env.handle(raised(system, labels={"feature": "b"}, starts_at=env.clock.now()))
        await env.advance(20 * SECOND)
        [sent] = await env.notifications()
        message = Message.model_validate(sent.message)
        assert sorted(a.labels["feature"] for a in message.alerts) == ["a", "b"]
        assert message.group_labels == {"system": system, "signal": "drift"}

    async def test_different_groups_notify_separately(self, unit_router: UnitRouter) -> None:
        env = unit_router
        system = await low_system(env)
        await env.handle(raised(system, signal="drift", starts_at=env.clock.now()))
        await env.handle(raised(system, signal="bias", starts_at=env.clock.now()))
        await env.advance(30 * SECOND)
        assert len({n.group_key for n in await env.notifications()}) == 2

    async def test_later_alert_waits_for_group_interval(self, unit_router: UnitRouter) -> None:
        env = unit_router
        system = await low_system(env)
        await env.handle(raised(system, labels={"feature": "a"}, starts_at=env.clock.now()))
        await env.advance(30 * SECOND)  # first flush at t=30s
        await env.advance(60 * SECOND)
        await env.handle(raised(system, labels={"feature": "b"}, starts_at=env.clock.now()))
        await env.advance(3 * 60 * SECOND)  # t=4m30s: not yet
        assert len(await env.notifications()) == 1
        await env.advance(60 * SECOND)  # t=5m30s: the interval tick after the first flush
        first, second = await env.notifications()
        assert len(Message.model_validate(second.message).alerts) == 2
        assert second.group_key == first.group_key

    async def test_unchanged_group_repeats_after_repeat_interval(
        self, unit_router: UnitRouter
    ) -> None:
        env = unit_router
        system = await low_system(env)
        await env.handle(raised(system, starts_at=env.clock.now()))
        await env.advance(30 * SECOND)
        for _ in range(47):  # 47 intervals of 5 min = 3h55m: still inside repeat_interval
            await env.advance(timedelta(minutes=5))
        assert len(await env.notifications()) == 1
        await env.advance(timedelta(minutes=5))  # 4h after the first notification
        assert len(await env.notifications()) == 2

    async def test_identical_alerts_merge(self, unit_router: UnitRouter) -> None:
        env = unit_router
        system = await low_system(env)
        await env.handle(raised(system, alert_id="a-1", starts_at=env.clock.now()))
        await env.handle(raised(system, alert_id="a-2", starts_at=env.clock.now()))
        await env.advance(30 * SECOND)
        [sent] = await env.notifications()
        assert len(Message.model_validate(sent.message).alerts) == 1

    async def test_redelivered_event_has_no_second_effect(self, unit_router: UnitRouter) -> None:
        env = unit_router
        system = await low_system(env)
        handled = await env.handle(raised(system, starts_at=env.clock.now()))
        await env.dispatch(handled)  # the same event id again
        await env.advance(30 * SECOND)
        assert len(await env.notifications()) == 1


class TestResolve:
    async def test_resolved_goes_out_at_next_interval_and_dissolves_group(
        self, unit_router: UnitRouter
    ) -> None:
        env = unit_router
        system = await low_system(env)
        alert = raised(system, starts_at=env.clock.now())
        await env.handle(alert)
        await env.advance(30 * SECOND)
        await env.handle(resolved(alert, ends_at=env.clock.now()))
        await env.advance(timedelta(minutes=5))
        first, second = await env.notifications()
        message = Message.model_validate(second.message)
        assert (message.action, message.status) == ("resolve", "resolved")
        assert [a.status for a in message.alerts] == ["resolved"]
        assert message.dedup_key == Message.model_validate(first.message).dedup_key
        await env.advance(timedelta(hours=5))
        assert len(await env.notifications()) == 2  # group dissolved: no repeats

    async def test_resolved_before_first_notification_is_never_sent(
        self, unit_router: UnitRouter
    ) -> None:
        env = unit_router
        system = await low_system(env)
        alert = raised(system, starts_at=env.clock.now())
        await env.handle(alert)
        await env.advance(10 * SECOND)
        await env.handle(resolved(alert, ends_at=env.clock.now()))
        await env.advance(timedelta(hours=1))
        assert await env.notifications() == []


class TestProjection:
    async def test_tier_from_tier_assigned_selects_the_route(self, unit_router: UnitRouter) -> None:
        env = unit_router
        await env.handle(registered("loan-scorer", team="credit-ml"))
        await env.handle(tier_assigned("loan-scorer", "high"))
        await env.handle(raised("loan-scorer", severity="critical", starts_at=env.clock.now()))
        await env.settle()  # the page route has group_wait 0s
        [page] = await env.notifications()
        message = Message.model_validate(page.message)
        assert page.receiver == "page"
        assert message.recipient.team == "credit-ml"
        assert message.alerts[0].labels["tier"] == "high"
        await env.advance(30 * SECOND)
        assert [n.receiver for n in await env.notifications()] == ["page", "team"]

    async def test_retiering_keeps_the_alert_series(self, unit_router: UnitRouter) -> None:
        env = unit_router
        system = await low_system(env)
        await env.handle(raised(system, starts_at=env.clock.now()))
        await env.handle(tier_assigned(system, "medium"))
        await env.handle(raised(system, starts_at=env.clock.now()))
        await env.advance(30 * SECOND)
        fingerprints = {
            a.fingerprint
            for n in await env.notifications()
            for a in Message.model_validate(n.message).alerts
        }
        assert len(fingerprints) == 1


class TestSilences:
    async def test_silenced_alert_is_not_notified_until_expired(
        self, unit_router: UnitRouter
    ) -> None:
        env = unit_router
        system = await low_system(env)
        async with env.sessionmaker() as session, session.begin():
            silence = await silences.create_silence(
                session,
                env.router,
                matchers=[f'system="{system}"', 'signal=~"dr.*"'],
                starts_at=None,
                ends_at=env.clock.now() + timedelta(hours=1),
                created_by="dana",
                comment="maintenance",
            )
        await env.handle(raised(system, starts_at=env.clock.now()))
        await env.advance(timedelta(minutes=30))
        assert await env.notifications() == []
        async with env.sessionmaker() as session, session.begin():
            await silences.expire_silence(
                session, env.router, silence.silence_id, expired_by="dana"
            )
        await env.advance(timedelta(minutes=5))
        assert len(await env.notifications()) == 1
        types = [e.payload for e in await env.published(3)]
        created = next(p for p in types if isinstance(p, SilenceCreated))
        expired = next(p for p in types if isinstance(p, SilenceExpired))
        assert created.matchers == [f'system="{system}"', 'signal=~"dr.*"']
        assert (created.created_by, expired.expired_by) == ("dana", "dana")

    async def test_window_end_publishes_expiry(self, unit_router: UnitRouter) -> None:
        env = unit_router
        async with env.sessionmaker() as session, session.begin():
            silence = await silences.create_silence(
                session,
                env.router,
                matchers=['system="x"'],
                starts_at=None,
                ends_at=env.clock.now() + timedelta(minutes=10),
                created_by="dana",
                comment="c",
            )
        await env.advance(timedelta(minutes=10))
        expired = [
            e.payload for e in await env.published(2) if isinstance(e.payload, SilenceExpired)
        ]
        assert [(e.silence_id, e.expired_by) for e in expired] == [(silence.silence_id, None)]

    @pytest.mark.parametrize(
        ("matchers", "message"),
        [
            (['signal="drift"'], "exactly one system"),
            (['system=~"a|b"'], "exactly one system"),
            (['system="a"', 'system="b"'], "exactly one system"),
            (['system="a"', "bad matcher"], "invalid matcher"),
        ],
    )
    async def test_rejected(
        self, unit_router: UnitRouter, matchers: list[str], message: str
    ) -> None:
        async with unit_router.sessionmaker() as session:
            with pytest.raises(silences.SilenceRejected, match=message):
                await silences.create_silence(
                    session,
                    unit_router.router,
                    matchers=matchers,
                    starts_at=None,
                    ends_at=unit_router.clock.now() + timedelta(hours=1),
                    created_by="dana",
                    comment="c",
                )


class TestInhibition:
    async def test_open_incident_mutes_drift_of_its_system(self, unit_router: UnitRouter) -> None:
        env = unit_router
        system = await low_system(env)
        await env.handle(reported(system, "INC-1", occurred_at=env.clock.now()))
        await env.handle(raised(system, signal="drift", starts_at=env.clock.now()))
        await env.handle(raised(system, signal="bias", starts_at=env.clock.now()))
        await env.advance(30 * SECOND)
        alert_notifications = await env.notifications(kind="alerts")
        signals = [Message.model_validate(n.message).signal for n in alert_notifications]
        assert signals == ["bias"]

    async def test_null_receiver_is_never_reported_as_sent(self, unit_router: UnitRouter) -> None:
        env = unit_router
        system = await low_system(env)
        await env.handle(raised(system, starts_at=env.clock.now()))
        await env.advance(30 * SECOND)
        [notification] = await env.notifications()
        assert notification.status == "dropped"
        published = await env.published(1)  # waits briefly: nothing may arrive
        assert not [e for e in published if isinstance(e.payload, NotificationSent)]
