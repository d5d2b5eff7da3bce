"""Write validated content to the database: idempotent and all-or-nothing."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from knowledge.models import Base, Entry, Fact, Place
from knowledge.schema import LIST_FIELDS, EntryData, FactData, PlaceContent


@dataclass
class LoadReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return (
            f"added {self.added}, updated {self.updated}, "
            f"removed {self.removed}, unchanged {self.unchanged}"
        )


def create_schema(engine: Engine) -> None:
    """Create the tables; rebuild a knowledge table whose columns are out of date.

    The kb_* tables hold only data derived from the content files (nothing refers
    to them), so an older table is dropped and refilled by ``load`` rather than
    migrated column by column.
    """
    existing = inspect(engine)
    stale = [
        table for table in (Fact.__table__, Entry.__table__)
        if existing.has_table(table.name)
        and {c.name for c in table.columns} - {c["name"] for c in existing.get_columns(table.name)}
    ]
    for table in stale:
        table.drop(engine)
    Base.metadata.create_all(engine)


def _source_columns(item: EntryData | FactData) -> dict:
    return {
        "source_document": item.source.document,
        "source_section": item.source.section,
        "source_quote": item.source.quote,
        "as_of": item.source.as_of,
        "source_says": item.source.says,
        "source_doc_no": item.source.doc_no,
        "source_date": item.source.date,
        "source_found_at": item.source.found_at,
    }


def _entry_columns(place_id: str, e: EntryData) -> dict:
    return {
        "place_id": place_id, "topic": e.topic, "title": e.title, "answer": e.answer,
        "brief": e.brief, "gap": e.gap, "brief_gap": e.brief_gap, "applies_to": list(e.applies_to), "handoff": e.handoff,
        **{fld: list(getattr(e, fld)) for fld in LIST_FIELDS}, **_source_columns(e),
    }


def _fact_columns(place_id: str, f: FactData) -> dict:
    return {
        "place_id": place_id, "topic": f.topic, "text": f.text,
        "keywords": list(f.keywords), "also_topics": list(f.also_topics),
        "brief": f.brief, **_source_columns(f),
    }


def _sync(session: Session, model, wanted: dict[str, dict], report: LoadReport) -> None:
    """Make the rows of ``model`` equal ``wanted`` (id → column values)."""
    existing = {row.id: row for row in session.execute(select(model)).scalars()}
    for row_id, row in existing.items():
        if row_id not in wanted:
            session.delete(row)
            report.removed += 1
    for row_id, values in wanted.items():
        row = existing.get(row_id)
        if row is None:
            session.add(model(id=row_id, **values))
            report.added += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            report.updated += 1
        else:
            report.unchanged += 1


def load(engine: Engine, places: list[PlaceContent]) -> LoadReport:
    """Replace the knowledge base with ``places`` in one transaction."""
    create_schema(engine)
    report = LoadReport()
    with Session(engine, future=True) as session, session.begin():
        _sync(session, Place, {
            p.id: {
                "name": p.name, "province": p.province, "aliases": list(p.aliases),
                "plan_title": p.plan_title, "checksum": p.checksum,
            }
            for p in places
        }, report)
        session.flush()
        _sync(session, Entry, {
            e.id: _entry_columns(p.id, e) for p in places for e in p.entries
        }, report)
        _sync(session, Fact, {
            f.id: _fact_columns(p.id, f) for p in places for f in p.facts
        }, report)
    return report
