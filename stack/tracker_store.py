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
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from stack import rasa_tuning

log = logging.getLogger(__name__)
SESSION_INDEX = "ix_events_sender_type_time"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class TunedSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` plus the session index, SQLite WAL and Rasa's tuning."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        rasa_tuning.install()
        super().__init__(*args, **kwargs)
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
        try:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(
                    f"CREATE INDEX IF NOT EXISTS {SESSION_INDEX} "
                    "ON events (sender_id, type_name, timestamp)")
        except sa.exc.SQLAlchemyError as exc:
            # Another Rasa server created it at the same moment; theirs serves us too.
            log.warning("could not create %s: %s", SESSION_INDEX, exc)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool
                        ) -> DialogueStateTracker | None:
        """Rasa's ``_retrieve`` with the ``data`` column alone (same rows, same order),
        queried in a worker thread so other conversations go on meanwhile."""
        events = await asyncio.to_thread(self._load_events, sender_id, fetch_events_from_all_sessions)
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

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
        await asyncio.to_thread(self._save_events, tracker)

    def _save_events(self, tracker: DialogueStateTracker) -> None:
        # Rasa 3.6's SQLTrackerStore.save, line for line.
        with self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data = event.as_dict()
                intent = data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY)
                session.add(self.SQLEvent(
                    sender_id=tracker.sender_id,
                    type_name=event.type_name,
                    timestamp=data.get("timestamp"),
                    intent_name=intent,
                    action_name=data.get("name"),
                    data=json.dumps(data),
                ))
            session.commit()
