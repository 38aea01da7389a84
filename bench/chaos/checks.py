"""What the soak checks once every consumer group has committed the end of its topics, from
the services' stores, the topics (read whole, de-duplicated by event id) and the receivers.

Lost: an event on the topics missing from the timeline or from a service's consent copy; a
direct event the broker acknowledged and the topics lack; an outbox row never published; a
delivery job never delivered, or one marked sent that its receiver never got; an entry a
subscribed parent (rule 1: always permitted) was never told of; anything parked on the
dead-letter topic.
Doubled: an event stored twice; one (recipient, entry) given two inbox items, two e-mails or
two webhooks of different notification ids. A webhook POSTed twice with the same notification
id is a redelivery, which the contract allows (at least once; receivers de-duplicate by
notification_id): counted, not failed. Duplicates on the wire are counted likewise.
Leaked: an inbox item, e-mail or webhook about an entry the consent decision did not permit
its recipient at the moment it was made (inbox item created, message received), the consent
state folded from the events on the topics *published* by then (Kafka record timestamp, the
broker's append time: a fact no consumer could have known before it was on the topic).
"""

from __future__ import annotations

import asyncio
import bisect
import time
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from uuid import UUID

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import MetaData, text

from consent_policy.decision import decide
from consent_policy.records import Entry, Viewer
from consent_policy.state import FOLDED_TYPES, ConsentState
from consent_policy.store import ConsentCopy
from schemas import topics
from schemas.catalogue import parse_event
from schemas.envelope import EnvelopeBase
from schemas.events import consent as c
from schemas.events import referrals as r
from schemas.vocabulary import Agency
from services.common.db import make_engine, make_session_factory
from services.notifications.domain.recipients import NOT_PUSHED_TO_PARENTS
from services.timeline.adapters.tables import entries as timeline_entries
from services.timeline.domain.entries import TIMELINE_TYPES

# What each consumer group reads (the groups demo.stack names with the prefix "tac").
GROUP_TOPICS = {
    "tac-timeline": (topics.REFERRALS.name, topics.CONSENT.name),
    "tac-notifications": (topics.REFERRALS.name, topics.CONSENT.name),
    "tac-referrals-consent": (topics.CONSENT.name,),
    "tac-consent-children": (topics.REFERRALS.name,),
}
# What a subscribed parent is told of (notifications' handler table: every case fact but the
# review window, which is a reminder, and consent granted, withdrawn, expired).
TOLD_TO_PARENTS = (frozenset(cls.TYPE for cls in r.EVENTS) - {r.IntegratedReviewWindowOpened.TYPE}
                   | {c.ConsentGranted.TYPE, c.ConsentWithdrawn.TYPE, c.ConsentExpired.TYPE}) - NOT_PUSHED_TO_PARENTS


# A delivery job still pending this long after it was due has been dropped, not delayed (the
# worker polls every half second; a lease left by a killed process lapses after 15 s).
OVERDUE_S = 60.0
# A message received this soon after the decision was permitted on the same facts crossed an
# expiry in flight (the decision runs at the attempt; the receiver stamps the arrival).
IN_FLIGHT_S = 5.0


@dataclass(frozen=True)
class Record:
    event_id: str
    type: str
    subject: str
    at: float  # the record's timestamp, seconds
    envelope: EnvelopeBase | None  # kept for the folded types only


@dataclass
class TopicRead:
    records: dict[str, list[Record]] = field(default_factory=dict)  # topic -> records
    unparsable: dict[str, int] = field(default_factory=dict)

    def ids(self, topic: str) -> Counter:
        return Counter(rec.event_id for rec in self.records.get(topic, ()))


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    await consumer._client.force_metadata_update()  # aiokafka has no public "describe topic"
    return [TopicPartition(topic, p) for p in sorted(consumer._client.cluster.partitions_for_topic(topic) or ())]


async def end_offsets(bootstrap: str, names: list[str]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        parts = [tp for name in names for tp in await _partitions(consumer, name)]
        return await consumer.end_offsets(parts)
    finally:
        await consumer.stop()


async def _caught_up(consumer: AIOKafkaConsumer, parts: list[TopicPartition], ends: dict) -> bool:
    for tp in parts:
        if await consumer.position(tp) < ends[tp]:
            return False
    return True


async def read_topics(bootstrap: str, names: list[str]) -> TopicRead:
    """Every record of the topics, from the beginning to the end offsets of now (one consumer
    per topic: aiokafka's positions stall when one consumer is assigned topic after topic)."""
    out = TopicRead()
    for name in names:
        out.records[name], out.unparsable[name] = await _read_topic(bootstrap, name)
    return out


async def _read_topic(bootstrap: str, name: str) -> tuple[list[Record], int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, max_partition_fetch_bytes=4 << 20)
    await consumer.start()
    records: list[Record] = []
    bad = 0
    try:
        parts = await _partitions(consumer, name)
        ends = await consumer.end_offsets(parts)
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        while not await _caught_up(consumer, parts, ends):
            for batch in (await consumer.getmany(timeout_ms=1000, max_records=5000)).values():
                for msg in batch:
                    try:
                        env = parse_event(msg.value, reading=True)
                    except ValueError:
                        bad += 1
                        continue
                    records.append(Record(str(env.id), env.type, str(env.subject), msg.timestamp / 1000,
                                          env if env.type in FOLDED_TYPES else None))
    finally:
        await consumer.stop()
    return records, bad


async def group_lag(bootstrap: str) -> dict[str, int]:
    """Per consumer group, how many records of its topics it has not committed (a group that
    has committed nothing for a partition counts all of it)."""
    ends = await end_offsets(bootstrap, sorted({t for ts in GROUP_TOPICS.values() for t in ts}))
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        lag = {}
        for group, names in GROUP_TOPICS.items():
            committed = await admin.list_consumer_group_offsets(group)
            lag[group] = sum(max(0, end - max(0, committed[tp].offset if tp in committed else 0))
                             for tp, end in ends.items() if tp.topic in names)
        return lag
    finally:
        await admin.close()


def _rows(url: str, sql: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)))
    finally:
        engine.dispose()


def pending_work(urls: dict[str, str]) -> dict[str, int]:
    """Outbox rows not yet published, per service; delivery jobs not yet finished."""
    out = {f"{name} outbox": _rows(url, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0][0]
           for name, url in urls.items()}
    out["notifications jobs"] = _rows(urls["notifications"],
                                      "SELECT count(*) FROM delivery_jobs WHERE status = 'pending'")[0][0]
    return out


@dataclass
class Finding:
    check: str
    lost: int = 0
    doubled: int = 0
    leaked: int = 0
    allowed: dict[str, int] = field(default_factory=dict)  # counted, not failures
    examples: list[str] = field(default_factory=list)
    figures: dict[str, int] = field(default_factory=dict)

    def example(self, line: str) -> None:
        if len(self.examples) < 20:
            self.examples.append(line)


def _merge(a: ConsentState, b: ConsentState) -> ConsentState:
    """The union of two folds (the fold is a union of sets)."""
    return ConsentState(grants=a.grants | b.grants, withdrawn=a.withdrawn | b.withdrawn, expired=a.expired | b.expired,
                        safeguarding=a.safeguarding | b.safeguarding, team=a.team | b.team)


def _utc(value) -> float:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


class Checker:
    def __init__(self, read: TopicRead, urls: dict[str, str], direct_ids: set[str], mails, hooks,
                 parents: dict[str, tuple[str, float]], practitioners: dict[str, Agency]) -> None:
        self.read = read
        self.urls = urls
        self.direct_ids = direct_ids
        self.mails = mails
        self.hooks = hooks
        self.parents = parents  # parent person id -> (child id, subscribed at)
        self.practitioners = practitioners  # subscribed practitioner id -> agency
        self.ended_at = time.time()
        inputs = read.records[topics.REFERRALS.name] + read.records[topics.CONSENT.name]
        self.inputs: dict[str, Record] = {}
        for rec in inputs:
            self.inputs.setdefault(rec.event_id, rec)
        # The folded events of each child, in order of publication, for the state at a moment.
        folded: dict[str, list[Record]] = defaultdict(list)
        for rec in self.inputs.values():
            if rec.envelope is not None:
                folded[rec.subject].append(rec)
        self.folded = {k: sorted(v, key=lambda x: x.at) for k, v in folded.items()}
        self._folded_at = {k: [x.at for x in v] for k, v in self.folded.items()}
        self._state_cache: dict[tuple[str, int], ConsentState] = {}

    def state_at(self, child: str, at: float) -> ConsentState:
        events = self.folded.get(child, [])
        n = bisect.bisect_right(self._folded_at.get(child, []), at)
        key = (child, n)
        if key not in self._state_cache:
            self._state_cache[key] = ConsentState.from_events(rec.envelope for rec in events[:n])
        return self._state_cache[key]

    def run(self) -> list[Finding]:
        """Every check; one that breaks is reported as such (and fails the soak), the others still run."""
        found: list[Finding] = []
        for check in (self.topics, self.timeline, self.outboxes, self.consent_copies, self.notifications):
            try:
                result = check()
                found += result if isinstance(result, list) else [result]
            except Exception as exc:  # noqa: BLE001 - a harness fault, reported in the results
                broken = Finding(f"{check.__name__}: the check itself failed", lost=1)
                broken.example(f"{type(exc).__name__}: {exc}"[:500])
                found.append(broken)
        return found

    # -- the topics themselves ------------------------------------------------------------------

    def topics(self) -> Finding:
        f = Finding("direct events on the topics; dead-letter topic")
        missing = self.direct_ids - set(self.inputs)
        f.lost += len(missing)
        for event_id in sorted(missing)[:5]:
            f.example(f"direct event {event_id} acknowledged by the broker, absent from the topics")
        dead = self.read.records.get(topics.DEADLETTER.name, [])
        raw_dead = len(dead) + self.read.unparsable.get(topics.DEADLETTER.name, 0)
        f.lost += raw_dead
        if raw_dead:
            f.example(f"{raw_dead} message(s) parked on {topics.DEADLETTER.name}")
        wire = sum(n - 1 for name in (topics.REFERRALS.name, topics.CONSENT.name)
                   for n in self.read.ids(name).values() if n > 1)
        f.allowed["duplicates on the wire (input topics)"] = wire
        f.figures.update(events=len(self.inputs), direct=len(self.direct_ids),
                         unparsable=sum(v for k, v in self.read.unparsable.items() if k != topics.DEADLETTER.name))
        f.lost += f.figures["unparsable"]
        return f

    # -- the timeline ---------------------------------------------------------------------------

    def timeline(self) -> Finding:
        f = Finding("timeline: every event stored exactly once")
        expected = {i for i, rec in self.inputs.items() if rec.type in TIMELINE_TYPES}
        url = self.urls["timeline"]
        stored = Counter(str(row[0]) for row in _rows(url, f"SELECT event_id FROM {timeline_entries.name}"))
        processed = {str(row[0]) for row in _rows(url, "SELECT event_id FROM processed_events")}
        lost = expected - set(stored)
        f.lost += len(lost)
        for event_id in sorted(lost)[:10]:
            f.example(f"lost: {event_id} ({self.inputs[event_id].type}) on the topic, not in the timeline")
        doubled = sum(n - 1 for n in stored.values() if n > 1)
        f.doubled += doubled
        unprocessed = set(self.inputs) - processed
        f.lost += len(unprocessed - lost)
        for event_id in sorted(unprocessed - lost)[:5]:
            f.example(f"not processed: {event_id} ({self.inputs[event_id].type})")
        extra = set(stored) - expected
        if extra:
            f.example(f"{len(extra)} stored entries that are no event on the topics, e.g. {sorted(extra)[0]}")
            f.doubled += len(extra)
        f.figures.update(expected=len(expected), stored=sum(stored.values()))
        return f

    # -- outboxes ---------------------------------------------------------------------------------

    def outboxes(self) -> Finding:
        f = Finding("outbox rows: each published, seen once by a de-duplicating consumer")
        for name, url in self.urls.items():
            rows = _rows(url, "SELECT event_id, topic, sent_at FROM outbox")
            unsent = [row for row in rows if row[2] is None]
            f.lost += len(unsent)
            for row in unsent[:5]:
                f.example(f"{name}: outbox row {row[0]} never published")
            on_wire: dict[str, Counter] = {}
            for row in rows:
                topic = row[1]
                if topic not in on_wire:
                    on_wire[topic] = self.read.ids(topic) if topic in self.read.records else Counter()
                n = on_wire[topic].get(str(row[0]), 0)
                if n == 0 and row[2] is not None:
                    f.lost += 1
                    f.example(f"{name}: outbox row {row[0]} marked sent, absent from {topic}")
                elif n > 1:
                    f.allowed[f"{name}: rows on the wire more than once"] = \
                        f.allowed.get(f"{name}: rows on the wire more than once", 0) + 1
            f.figures[f"{name} rows"] = len(rows)
        return f

    # -- every service's consent copy -------------------------------------------------------------

    def consent_copies(self) -> Finding:
        f = Finding("consent-and-team state of every service = the fold of the topics")
        topic_ids = {i for i, rec in self.inputs.items() if rec.envelope is not None}
        by_child: dict[str, list[EnvelopeBase]] = defaultdict(list)
        for i in topic_ids:
            rec = self.inputs[i]
            by_child[rec.subject].append(rec.envelope)
        truth = {child: ConsentState.from_events(envs) for child, envs in by_child.items()}
        copy = ConsentCopy(MetaData())
        for name, url in self.urls.items():
            engine = make_engine(url)
            try:
                ids = {str(row[0]) for row in _rows(url, "SELECT event_id FROM consent_events")}
                processed = {str(row[0]) for row in _rows(url, "SELECT event_id FROM processed_events")}
                made = {str(row[0]) for row in _rows(url, "SELECT event_id FROM outbox")}
                children = sorted(set(truth) | {str(row[0]) for row in
                                                _rows(url, "SELECT DISTINCT child_id FROM consent_events")})
                with make_session_factory(engine)() as session:
                    states = copy.states_for(session, children)
                if name == "consent":
                    # The consent service keeps only the team in its copy: the consents are its
                    # own tables, whose every fact it wrote to its outbox in the same transaction.
                    # Its state is the copy's team with those facts.
                    own = [parse_event(bytes(row[0])) for row in _rows(url, "SELECT payload FROM outbox")]
                    own = [e for e in own if e.type in FOLDED_TYPES]
                    ids |= {str(e.id) for e in own}
                    by_child_own: dict[str, list[EnvelopeBase]] = defaultdict(list)
                    for e in own:
                        by_child_own[str(e.subject)].append(e)
                    children = sorted(set(children) | set(by_child_own))
                    with make_session_factory(engine)() as session:
                        team = copy.states_for(session, children)
                    states = {ch: ConsentState.from_events([*by_child_own.get(ch, [])]) for ch in children}
                    states = {ch: _merge(team[ch], states[ch]) for ch in children}
            finally:
                engine.dispose()
            # What the service has had: what it consumed and committed, and what it made itself.
            # Once its lag is 0 that is every folded event on the topics it reads, or it is lost.
            had = topic_ids & (processed | made)
            unconsumed = topic_ids - had
            missing, extra = had - ids, ids - topic_ids
            f.lost += len(missing) + len(extra)
            f.figures[f"{name} folded events"] = len(ids)
            if unconsumed:
                f.figures[f"{name} not yet consumed"] = len(unconsumed)
            for event_id in sorted(missing)[:5]:
                f.example(f"{name}: lacks {event_id} ({self.inputs[event_id].type}, child {self.inputs[event_id].subject})")
            for event_id in sorted(extra)[:5]:
                f.example(f"{name}: keeps {event_id}, which is on no topic")
            if not (missing or extra or unconsumed):
                differing = [ch for ch in children if states[ch] != truth.get(ch, ConsentState())]
                f.figures[f"{name} children differing"] = len(differing)
                f.lost += len(differing)
                for child in differing[:3]:
                    f.example(f"{name}: state differs for child {child} with the same events")
        return f

    # -- notifications ---------------------------------------------------------------------------

    def notifications(self) -> list[Finding]:
        url = self.urls["notifications"]
        inbox = _rows(url, "SELECT notification_id, person_id, scope, child_id, about_event_id, about, category, "
                           "author_organisation_id, answers_request_of, created_at FROM inbox")
        jobs = _rows(url, "SELECT notification_id, channel, person_id, scope, target, child_id, about_event_id, about, "
                          "category, author_organisation_id, answers_request_of, status, next_attempt_at, attempts "
                          "FROM delivery_jobs")
        once, complete, leaks = (Finding("notifications: each (recipient, entry) once per channel"),
                                 Finding("notifications: every job delivered; every entry told to its parent"),
                                 Finding("notifications: nothing told that its recipient could not see then"))
        # Once per channel.
        for key, n in Counter((row[1], row[2], str(row[4]), row[5]) for row in inbox).items():
            if n > 1:
                once.doubled += n - 1
                once.example(f"inbox: {n} items for {key}")
        attempts = {(row[4], str(row[6])): (row[0], row[13]) for row in jobs if row[1] == "email"}
        # An e-mail sent again with the same Message-ID is a resend of one notification (at
        # least once, as for webhooks); two Message-IDs for one (recipient, entry) are two.
        once.allowed["e-mail resends (same Message-ID)"] = sum(
            n - 1 for n in Counter((m.to, m.message_id) for m in self.mails).values() if n > 1)
        by_entry: dict[tuple, set] = defaultdict(set)
        for m in self.mails:
            by_entry[(m.to, m.about_event_id, m.subject)].add(m.message_id)
        for key, ids in by_entry.items():
            if len(ids) > 1:
                once.doubled += len(ids) - 1
                job = attempts.get((key[0], key[1]))
                arrivals = ", ".join(datetime.fromtimestamp(m.at, timezone.utc).strftime("%H:%M:%S")
                                     for m in self.mails if (m.to, m.about_event_id, m.subject) == key)
                once.example(f"e-mail: {len(ids)} messages for {key} (arrived {arrivals}; job {job and job[0]}, "
                             f"attempts {job and job[1]})")
        hook_ids = Counter(h.body.get("notification_id") for h in self.hooks)
        once.allowed["webhook redeliveries (same notification id)"] = sum(n - 1 for n in hook_ids.values() if n > 1)
        distinct: dict[tuple, set] = defaultdict(set)
        for h in self.hooks:
            distinct[(h.path, h.body.get("about_event_id"), h.body.get("about"))].add(h.body.get("notification_id"))
        for key, ids in distinct.items():
            if len(ids) > 1:
                once.doubled += len(ids) - 1
                once.example(f"webhook: {len(ids)} notifications for {key}")
        once.figures.update(inbox=len(inbox), mails=len(self.mails), webhooks=len(self.hooks), jobs=len(jobs))

        # Every job delivered.
        mailed = {(m.to, m.about_event_id) for m in self.mails}
        hooked = set(hook_ids)
        inboxed = {str(row[0]) for row in inbox}
        statuses = Counter(row[11] for row in jobs)
        complete.figures.update({f"jobs {k}": v for k, v in statuses.items()})
        for row in jobs:
            status, channel = row[11], row[1]
            if status == "pending" and _utc(row[12]) > self.ended_at - OVERDUE_S:
                complete.figures["jobs in flight"] = complete.figures.get("jobs in flight", 0) + 1
            elif status in ("pending", "failed"):
                complete.lost += 1
                complete.example(f"job {row[0]} {channel} to {row[2]} about {row[6]}: {status}")
            if status == "sent":
                got = ((row[4], str(row[6])) in mailed if channel == "email" else str(row[0]) in hooked
                       if channel == "webhook" else str(row[0]) in inboxed)
                if not got:
                    complete.lost += 1
                    complete.example(f"job {row[0]} {channel} to {row[2]} about {row[6]}: sent, never received")
        # Every entry told to its subscribed parent (rule 1 always permits), on every channel.
        parent_items = defaultdict(set)
        for row in inbox:
            if row[2] == "parent":
                parent_items[row[1]].add(str(row[4]))
        parent_jobs = defaultdict(set)
        for row in jobs:
            if row[3] == "parent" and row[11] == "sent":
                parent_jobs[(row[2], row[1])].add(str(row[6]))
        consumed = {str(row[0]) for row in _rows(url, "SELECT event_id FROM processed_events")}
        complete.figures["input events not yet consumed"] = len(set(self.inputs) - consumed)
        for parent, (child, since) in self.parents.items():
            expected = {i for i, rec in self.inputs.items()
                        if rec.subject == child and rec.type in TOLD_TO_PARENTS and rec.at > since
                        and i in consumed and not self._authored_by(rec, parent)}
            for what, got in (("inbox", parent_items[parent]), ("email", parent_jobs[(parent, "email")]),
                              ("webhook", parent_jobs[(parent, "webhook")])):
                missing = expected - got
                complete.lost += len(missing)
                for event_id in sorted(missing)[:3]:
                    complete.example(f"{parent}: never told of {event_id} ({self.inputs[event_id].type}) by {what}")
            complete.figures[f"told to parents"] = complete.figures.get("told to parents", 0) + len(expected)

        # Nothing leaked: inbox items when made, e-mails and webhooks when received.
        job_by_mail = {(row[4], str(row[6])): row for row in jobs if row[1] == "email"}
        job_by_hook = {str(row[0]): row for row in jobs if row[1] == "webhook"}
        moments: list[tuple[str, str, str, str, str | None, str, str | None, float, str]] = []
        for row in inbox:
            moments.append((row[1], row[2], str(row[3]), str(row[4]), row[7], row[6], row[8], _utc(row[9]), "inbox"))
        for m in self.mails:
            row = job_by_mail.get((m.to, m.about_event_id))
            if row is None:
                leaks.leaked += 1
                leaks.example(f"e-mail to {m.to} about {m.about_event_id}: no job made it")
                continue
            moments.append((row[2], row[3], str(row[5]), str(row[6]), row[9], row[8], row[10], m.at, "email"))
        for h in self.hooks:
            row = job_by_hook.get(str(h.body.get("notification_id")))
            if row is None:
                leaks.leaked += 1
                leaks.example(f"webhook {h.body.get('notification_id')}: no job made it")
                continue
            moments.append((row[2], row[3], str(row[5]), str(row[6]), row[9], row[8], row[10], h.at, "webhook"))
        learnt = {str(row[0]): _utc(row[1]) for row in
                  _rows(url, "SELECT event_id, received_at FROM consent_events WHERE received_at IS NOT NULL")}
        for person, scope, child, event_id, author, category, answers, at, channel in moments:
            if scope == "parent":
                viewer = Viewer(person, None, Agency.PARENT, frozenset({UUID(self.parents[person][0])})
                                if person in self.parents else frozenset())
            else:
                viewer = Viewer(person, scope, self.practitioners.get(person, Agency.SETTING))
            entry = Entry(UUID(event_id), UUID(child), author, category, answers_request_of=answers)
            when = datetime.fromtimestamp(at, timezone.utc)
            decision = decide(viewer, entry, when, self.state_at(child, at))
            if decision.permitted:
                continue
            # Why. Time alone (a consent's expiry crossed while the message was on its way): the
            # same published facts permitted it moments before. Counted, not a leak.
            before = at - IN_FLIGHT_S
            changed = [rec for rec in self.folded.get(child, []) if before < rec.at <= at]
            if not changed and decide(viewer, entry, datetime.fromtimestamp(before, timezone.utc),
                                      self.state_at(child, at)).permitted:
                leaks.allowed["expired while in flight"] = leaks.allowed.get("expired while in flight", 0) + 1
                continue
            leaks.leaked += 1
            # What the service's own copy held (consent_events.received_at) when it may have
            # decided (the decision runs before the send; IN_FLIGHT_S covers the gap) tells a copy
            # that lagged behind the topics from a decision taken wrongly on what it had.
            known = ConsentState.from_events(rec.envelope for rec in self.folded.get(child, [])
                                             if rec.at <= at and learnt.get(rec.event_id, 1e18) < before)
            unknown = [rec for rec in self.folded.get(child, []) if rec.at <= at and learnt.get(rec.event_id, 1e18) >= before]
            what = f"{channel} to {person} ({scope}) about {event_id} ({category}) at {when.isoformat()}: {decision.code}"
            if decide(viewer, entry, when, known).permitted:
                leaks.figures["leaked: the copy lagged"] = leaks.figures.get("leaked: the copy lagged", 0) + 1
                late = ", ".join(f"{rec.type.split('.')[-2]} {rec.event_id} published {at - rec.at:.1f}s before, "
                                 + (f"learnt {learnt[rec.event_id] - at:+.1f}s" if rec.event_id in learnt
                                    else "not learnt by the end") for rec in unknown[:3])
                leaks.example(f"{what}; not in the service's copy {IN_FLIGHT_S:.0f}s before: {late}")
            else:
                leaks.figures["leaked: its own copy denied"] = leaks.figures.get("leaked: its own copy denied", 0) + 1
                leaks.example(f"{what}; the service's own copy denied it {IN_FLIGHT_S:.0f}s before")
        leaks.figures["messages checked"] = len(moments)
        return [once, complete, leaks]

    def _authored_by(self, rec: Record, person: str) -> bool:
        env = rec.envelope
        if env is None:  # only team changes and consent events can be a parent's own here
            return False
        return env.actor.organisation_id is None and env.actor.practitioner_id == person


def read_everything(bootstrap: str) -> TopicRead:
    return asyncio.run(read_topics(bootstrap, [topics.REFERRALS.name, topics.CONSENT.name, topics.AUDIT.name,
                                               topics.NOTIFICATIONS.name, topics.DEADLETTER.name]))
