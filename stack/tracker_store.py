"""Rasa's SQL tracker store, tuned for the per-turn queries it makes.

Named in ``endpoints.yml`` as ``stack.tracker_store.TunedSQLTrackerStore`` with
the same settings as ``type: SQL``; tables and rows are Rasa's own, so the
retention job, "删除我的记录" and any other reader see no difference.

Each turn Rasa looks up the sender's latest ``session_started`` event, loads the
events after it and, on save, counts them again. Rasa only indexes ``sender_id``,
so both scan every event the sender ever had; an index on
``(sender_id, type_name, timestamp)`` answers the session lookup directly.
SQLite (the embedded set-up) also runs in WAL mode with ``synchronous=NORMAL``:
a commit no longer waits for two fsyncs, and readers (retention, deletion) do not
block Rasa's writes. A crash of the process loses nothing; a power cut can lose
the last turns, which the embedded set-up accepts. SQLAlchemy 1.4 opens and
closes a SQLite file connection per query session (NullPool), and closing the
last one checkpoints the WAL: a small pool keeps connections open instead.
Loading a tracker reads only the ``data`` column of the same rows, in the same
order, instead of building an ORM object per event. Rasa runs its SQL on the event
loop, so every other conversation waits for each query and commit (PostgreSQL round
trips, fsync); here loading and saving run in a worker thread.

Loading also grew with the conversation: every turn decoded and replayed the whole
session (about 11 events a turn, each answer several kB), although the store had
just written it. The store now keeps the trackers it saved for the most recently
active senders (``cache_size``, default 200) and hands one back when the sender's
newest stored event is still the one it wrote and the tracker has not changed
since: one indexed ``max(id)`` query instead of the session's rows. Another Rasa
server, the retention job or "删除我的记录" writing or deleting events changes
the newest id, so the next turn reads the database again. A tracker is kept only
when it is exactly what a load would return (it starts at its session's
``session_started`` and holds no earlier session).

Saving such a tracker also skips Rasa's count of the session's stored rows (which
events are new): a query over every row of the session that cost PostgreSQL ~10 ms
at 30 turns, the largest part of a production save. The store knows the count it
saved and checks, in the same transaction, that the sender's newest row is still
the one it wrote; otherwise it counts as Rasa does. The newest id it then remembers
is that of the rows it inserted (the database returns them), not a query after the
commit: one round trip less, and a row another writer adds meanwhile is not taken
for its own.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import weakref
from collections import OrderedDict
from typing import Any, NamedTuple

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from stack import rasa_tuning

log = logging.getLogger(__name__)
SESSION_INDEX = "ix_events_sender_type_time"
LATEST_INDEX = "ix_events_sender_id_id"


class _Saved(NamedTuple):
    """A tracker as the store saved it: its newest event id, event count and the
    domain its slots came from."""

    last_id: int
    n_events: int
    tracker: DialogueStateTracker
    domain: Any


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class TunedSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` plus the session index, SQLite WAL and Rasa's tuning."""

    def __init__(self, *args: Any, cache_size: int = 200, **kwargs: Any) -> None:
        rasa_tuning.install()
        super().__init__(*args, **kwargs)
        self.cache_size = max(0, int(cache_size))
        self._saved: OrderedDict[str, _Saved] = OrderedDict()
        # The session tracker last handed out per sender: only those are extensions of
        # the rows, so only those are kept when saved (not e.g. Rasa's PUT .../events).
        self._loaded: weakref.WeakValueDictionary[str, DialogueStateTracker] = weakref.WeakValueDictionary()
        if self.engine.dialect.name == "sqlite":
            url = self.engine.url
            self.engine.dispose()
            # Rasa uses the store from its event loop thread; the pool hands each
            # connection to one session at a time, so sharing across threads is safe.
            self.engine = sa.create_engine(url, poolclass=sa.pool.QueuePool, pool_size=2,
                                           max_overflow=8, pool_pre_ping=False,
                                           connect_args={"check_same_thread": False})
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            with self.engine.connect() as conn:
                mode = conn.exec_driver_sql("PRAGMA journal_mode=WAL").scalar()
            log.info("SQLite tracker store in %s journal mode", mode)
        # PostgreSQL builds a new index on a large events table without locking out
        # the other Rasa servers' writes (CONCURRENTLY, which needs autocommit).
        concurrently = "CONCURRENTLY " if self.engine.dialect.name == "postgresql" else ""
        for name, columns in ((SESSION_INDEX, "sender_id, type_name, timestamp"),
                              (LATEST_INDEX, "sender_id, id")):
            try:
                with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql(
                        f"CREATE INDEX {concurrently}IF NOT EXISTS {name} ON events ({columns})")
            except sa.exc.SQLAlchemyError as exc:
                # Another Rasa server created it at the same moment; theirs serves us too.
                log.warning("could not create %s: %s", name, exc)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool
                        ) -> DialogueStateTracker | None:
        """Rasa's ``_retrieve`` with the ``data`` column alone (same rows, same order),
        queried in a worker thread so other conversations go on meanwhile."""
        if not fetch_events_from_all_sessions:
            saved = self._saved.get(sender_id)
            if saved is not None:
                last_id = await asyncio.to_thread(self._latest_id, sender_id)
                # A new model (Agent.load_model sets self.domain) means new slots: a load.
                if (last_id == saved.last_id and len(saved.tracker.events) == saved.n_events
                        and saved.domain is self.domain):
                    self._saved.move_to_end(sender_id)
                    self._loaded[sender_id] = saved.tracker
                    return saved.tracker
                del self._saved[sender_id]  # written or deleted elsewhere, or changed unsaved
        events = await asyncio.to_thread(self._load_events, sender_id, fetch_events_from_all_sessions)
        if self.domain and events:
            tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
            if not fetch_events_from_all_sessions:
                self._loaded[sender_id] = tracker
            return tracker
        return None

    def _latest_id(self, sender_id: str, session: Any = None) -> int | None:
        """The sender's newest event id (the cache's check), in ``session`` or a new one."""
        if session is None:
            with self.session_scope() as session:
                return self._latest_id(sender_id, session)
        return session.query(sa.func.max(self.SQLEvent.id)).filter(
            self.SQLEvent.sender_id == sender_id).scalar()

    def _load_events(self, sender_id: str, all_sessions: bool) -> list[dict[str, Any]]:
        with self.session_scope() as session:
            rows = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=all_sessions,
            ).with_entities(self.SQLEvent.data).all()
        return [json.loads(data) for (data,) in rows]

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's ``save``, its database work in a worker thread (Rasa holds the
        sender's lock meanwhile, so the tracker does not change under it)."""
        await self.stream_events(tracker)
        saved = self._saved.get(tracker.sender_id)
        # The rows of a tracker this store saved and handed back: its newest id and count.
        known = ((saved.last_id, saved.n_events)
                 if saved is not None and saved.tracker is tracker
                 and len(tracker.events) >= saved.n_events else None)
        last_id = await asyncio.to_thread(self._save_events, tracker, known)
        self._remember(tracker, last_id)

    def _remember(self, tracker: DialogueStateTracker, last_id: int | None) -> None:
        sender = tracker.sender_id
        self._saved.pop(sender, None)
        events = tracker.events
        # Only what a load would return: the current session from its session_started.
        if (not self.cache_size or last_id is None or not events
                or self._loaded.get(sender) is not tracker
                or not isinstance(events[0], SessionStarted)
                or any(isinstance(e, SessionStarted) for e in itertools.islice(events, 1, None))):
            return
        self._saved[sender] = _Saved(last_id, len(events), tracker, self.domain)
        while len(self._saved) > self.cache_size:
            self._saved.popitem(last=False)

    def _unsaved_events(self, session: Any, tracker: DialogueStateTracker,
                        known: tuple[int, int] | None) -> tuple[Any, int | None]:
        """The tracker's events not stored yet, and the sender's newest id when it was
        read. Rasa counts the session's rows, a query over all of them (with their
        data) that grew with the conversation: ~10 ms on PostgreSQL at 30 turns. When
        this store saved the tracker itself (``known``: the newest id and the number of
        events it saved) and the sender's newest row is still that one, the count is
        the number it saved; otherwise Rasa's count."""
        if known is not None:
            latest = self._latest_id(tracker.sender_id, session)
            if latest == known[0]:
                return itertools.islice(tracker.events, known[1], len(tracker.events)), latest
        return self._additional_events(session, tracker), None

    def _save_events(self, tracker: DialogueStateTracker,
                     known: tuple[int, int] | None = None) -> int | None:
        """Rasa 3.6's SQLTrackerStore.save, line for line but for the count
        (:meth:`_unsaved_events`); returns the newest event id: of the rows it added
        (the database returns their ids on insert), else the one it read."""
        with self.session_scope() as session:
            events, latest = self._unsaved_events(session, tracker, known)
            rows = []
            for event in events:
                data = event.as_dict()
                intent = data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY)
                rows.append(self.SQLEvent(
                    sender_id=tracker.sender_id,
                    type_name=event.type_name,
                    timestamp=data.get("timestamp"),
                    intent_name=intent,
                    action_name=data.get("name"),
                    data=json.dumps(data),
                ))
            session.add_all(rows)
            session.flush()  # what commit does first; the ids are read before commit expires them
            last_id = max((row.id for row in rows), default=latest)
            session.commit()
            return last_id if last_id is not None else self._latest_id(tracker.sender_id, session)
