"""Queries over the knowledge base. Returns plain dataclasses, never ORM rows."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from sqlalchemy import false, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from knowledge.answer_service import pick
from knowledge.errors import EntryNotFound, StoreUnavailable
from knowledge.models import Entry, Fact, Place
from knowledge.retrieval import rank
from knowledge.schema import ASPECT_FIELDS, LIST_FIELDS, NATIONAL, EntryData, FactData
from knowledge.schema import Source as SourceRef


@dataclass(frozen=True)
class PlaceRef:
    id: str
    name: str
    province: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Answer(EntryData):
    """An entry as answered for a place: ``scope`` says whose entry it is."""

    place: str = ""          # the place asked about (canonical name)
    scope: str = "national"  # "local" or "national"


@dataclass(frozen=True)
class FactHit(FactData):
    place: str = ""
    score: float = 0.0
    scope: str = "local"  # "national": a rule in force everywhere, not the place's plan


@dataclass
class Coverage:
    places: list[str]
    topics: list[str]
    cells: dict[tuple[str, str], str] = field(default_factory=dict)

    def missing(self) -> list[tuple[str, str]]:
        return [k for k, v in self.cells.items() if v == "missing"]


@dataclass
class AspectCoverage:
    """Place × topic × aspect → "local" | "national" | "missing".

    "local": the entry answering the place has the aspect; "national": only the
    national entry for the topic has it; "missing": no source gives it.
    """

    places: list[str]
    topics: list[str]
    aspects: list[str]
    cells: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def missing(self, topics: Iterable[str] | None = None) -> list[tuple[str, str, str]]:
        """Cells no source gives, optionally only for ``topics``."""
        wanted = None if topics is None else set(topics)
        return [k for k, v in self.cells.items() if v == "missing" and (wanted is None or k[1] in wanted)]


def _source(row) -> SourceRef:
    return SourceRef(
        row.source_document, row.source_section or "", row.source_quote or "", row.as_of,
        says=row.source_says or "", doc_no=row.source_doc_no or "",
        date=row.source_date or "", found_at=row.source_found_at or "",
    )


def _answer(row: Entry, place: str, scope: str) -> Answer:
    return Answer(
        id=row.id, topic=row.topic, place=place, scope=scope, title=row.title,
        answer=row.answer, brief=row.brief, gap=row.gap or "", brief_gap=row.brief_gap or "",
        applies_to=tuple(row.applies_to or ()), handoff=bool(row.handoff),
        source=_source(row),
        **{fld: tuple(getattr(row, fld) or ()) for fld in LIST_FIELDS},
    )


def _fact(row: Fact, place: str, score: float = 0.0) -> FactHit:
    national = row.place_id == NATIONAL
    return FactHit(id=row.id, topic=row.topic, text=row.text, keywords=tuple(row.keywords or ()),
                   source=_source(row), also_topics=tuple(row.also_topics or ()), brief=row.brief or "",
                   place="全国" if national else place, score=score,
                   scope="national" if national else "local")


class KnowledgeStore:
    """Read access to the knowledge base through a session factory.

    Places, which topics each answers locally, entries and facts are asked on every
    turn but change only when content is loaded: they are kept for ``cache_seconds``.
    (Under load each query cost the action server a connection check, the query and
    a rollback on PostgreSQL: most of an action's own time.)
    """

    # Keys hold what residents type (an answer's person type is the NLU's entity text):
    # beyond this many, the entries past their time are dropped, then all.
    MAX_CACHED = 1024

    def __init__(self, session_factory: sessionmaker, cache_seconds: float = 30.0):
        self._sessions = session_factory
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, object]] = {}
        self._trim_lock = threading.Lock()   # the action server asks from worker threads

    def _cached(self, key: str, compute):
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit and now - hit[0] < self._cache_seconds:
            return hit[1]
        value = compute()
        self._cache[key] = (now, value)
        if len(self._cache) > self.MAX_CACHED:
            self._trim(now)
        return value

    def _trim(self, now: float) -> None:
        with self._trim_lock:
            stale = [k for k, (at, _) in list(self._cache.items()) if now - at >= self._cache_seconds]
            for k in stale:
                self._cache.pop(k, None)
            if len(self._cache) > self.MAX_CACHED:
                self._cache.clear()

    def _run(self, fn):
        try:
            with self._sessions() as session:
                return fn(session)
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc.__class__.__name__)) from exc

    def places(self) -> list[PlaceRef]:
        """Every place except the national baseline, in a stable order."""
        def query() -> list[PlaceRef]:
            rows = self._run(lambda s: s.execute(
                select(Place).where(Place.id != NATIONAL).order_by(Place.id)).scalars().all())
            return [PlaceRef(r.id, r.name, r.province, tuple(r.aliases or ())) for r in rows]
        return self._cached("places", query)

    def local_topics(self) -> dict[str, frozenset[str]]:
        """Place name → the topics it has its own entries for."""
        def query() -> dict[str, frozenset[str]]:
            rows = self._run(lambda s: s.execute(
                select(Place.name, Entry.topic).join(Entry).where(Place.id != NATIONAL)).all())
            out: dict[str, set[str]] = {}
            for name, topic in rows:
                out.setdefault(name, set()).add(topic)
            return {k: frozenset(v) for k, v in out.items()}
        return self._cached("local_topics", query)

    def resolve_place(self, text: str | None) -> PlaceRef | None:
        """The place named in ``text``: canonical name, alias, or one mentioned inside it."""
        if not text:
            return None
        places = self.places()
        for p in places:
            if text == p.name or text in p.aliases:
                return p
        # Longest mention first so 开州区 is not mistaken for a shorter alias.
        mentions = sorted(((label, p) for p in places for label in (p.name, *p.aliases)),
                          key=lambda lp: len(lp[0]), reverse=True)
        for label, p in mentions:
            if len(label) >= 2 and label in text:
                return p
        return None

    def has_local(self, topic: str, place_name: str) -> bool:
        return topic in self.local_topics().get(place_name, frozenset())

    def answer(self, topic: str, place_name: str | None, person_type: str | None = None) -> Answer:
        """The place's own entry for ``topic`` if it has one, else the national one.

        Callers answering a resident or staff go through ``knowledge.answer_service``.
        """
        def query(session):
            for scope, where in (("local", Place.name == place_name), ("national", Place.id == NATIONAL)):
                if scope == "local" and not place_name:
                    continue
                rows = session.execute(
                    select(Entry).join(Place).where(where, Entry.topic == topic).order_by(Entry.id)
                ).scalars().all()
                if rows:
                    # The entry rule lives in the answer service, shared with staff suggestions.
                    return _answer(pick(rows, person_type), place_name or "", scope)
            return None

        found = self._cached(f"answer\0{topic}\0{place_name}\0{person_type}", lambda: self._run(query))
        if found is None:
            raise EntryNotFound(f"{topic} @ {place_name}")
        return found

    def facts(self, place_name: str | None, query: str, topic: str | None = None, limit: int = 3,
              national: bool = False) -> list[FactHit]:
        """The place's facts that best match ``query`` (a topic match adds weight).

        With ``national=True`` the national rules (waiting periods, filing validity…)
        compete too; they carry ``place="全国"`` so a reply can say whose rule it is.
        ``place_name=None`` leaves only the national rules.
        """
        where = Place.name == place_name if place_name else false()
        if national:
            where = or_(where, Place.id == NATIONAL)
        rows = self._cached(f"facts\0{place_name}\0{national}", lambda: self._run(
            lambda s: s.execute(select(Fact).join(Place).where(where)).scalars().all()))
        hits = [_fact(h.item, place_name or "", h.score)
                for h in rank(query, rows, fields=("text",), keywords_field="keywords", limit=limit * 3)]
        weighted = [replace(f, score=f.score + 1.0) if f.concerns(topic) else f for f in hits]
        weighted.sort(key=lambda f: f.score, reverse=True)
        return weighted[:limit]

    def entries_for_place(self, place_name: str | None) -> list[Answer]:
        """Every answerable entry for a place: local ones, national for the other topics."""
        def query(session):
            national = session.execute(select(Entry).where(Entry.place_id == NATIONAL)).scalars().all()
            local = []
            if place_name:
                local = session.execute(select(Entry).join(Place).where(Place.name == place_name)).scalars().all()
            local_topics = {r.topic for r in local}
            return [_answer(r, place_name or "", "local") for r in local] + [
                _answer(r, place_name or "", "national") for r in national if r.topic not in local_topics]
        return self._run(query)

    def coverage(self, topics: list[str]) -> Coverage:
        def query(session):
            places = session.execute(select(Place).order_by(Place.id)).scalars().all()
            pairs = set(session.execute(select(Entry.place_id, Entry.topic)).all())
            return places, pairs

        places, pairs = self._run(query)
        local_places = [p for p in places if p.id != NATIONAL]
        cov = Coverage(places=[p.name for p in local_places], topics=list(topics))
        for p in local_places:
            for t in topics:
                if (p.id, t) in pairs:
                    cov.cells[(p.name, t)] = "local"
                elif (NATIONAL, t) in pairs:
                    cov.cells[(p.name, t)] = "national"
                else:
                    cov.cells[(p.name, t)] = "missing"
        return cov

    def aspect_coverage(self, topics: list[str], aspects: list[str] | None = None) -> AspectCoverage:
        """Which source answers each follow-up aspect of ``topics`` for every place.

        A place counts as covering an aspect when the entry ``answer()`` would give
        (its general entry) or any other of its entries for the topic has it.
        """
        aspects = list(aspects or ASPECT_FIELDS)

        def query(session):
            places = session.execute(select(Place).order_by(Place.id)).scalars().all()
            rows = session.execute(select(Entry).where(Entry.topic.in_(topics))).scalars().all()
            return places, rows

        places, rows = self._run(query)
        # (place id, topic) → the aspects any of its entries for the topic carries.
        has: dict[tuple[str, str], set[str]] = {}
        for row in rows:
            got = has.setdefault((row.place_id, row.topic), set())
            got.update(a for a in aspects if getattr(row, ASPECT_FIELDS[a]))
        local_places = [p for p in places if p.id != NATIONAL]
        cov = AspectCoverage([p.name for p in local_places], list(topics), aspects)
        for p in local_places:
            for t in topics:
                for a in aspects:
                    if a in has.get((p.id, t), ()):
                        cov.cells[(p.name, t, a)] = "local"
                    elif a in has.get((NATIONAL, t), ()):
                        cov.cells[(p.name, t, a)] = "national"
                    else:
                        cov.cells[(p.name, t, a)] = "missing"
        return cov
