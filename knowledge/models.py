"""Tables of the knowledge base (SQLAlchemy 1.4 declarative, used in 2.0 style)."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Integer, String, Text
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


class Place(Base):
    __tablename__ = "kb_places"

    id = Column(String(64), primary_key=True)
    name = Column(String(64), nullable=False, unique=True)
    province = Column(String(64), nullable=False)
    aliases = Column(JSON, nullable=False, default=list)
    plan_title = Column(Text)
    checksum = Column(String(64), nullable=False)

    entries = relationship("Entry", back_populates="place", cascade="all, delete-orphan")
    facts = relationship("Fact", back_populates="place", cascade="all, delete-orphan")


class _Sourced:
    """Columns every sourced item carries: where its words come from."""

    source_document = Column(Text, nullable=False)
    source_section = Column(Text, nullable=False, default="")
    source_quote = Column(Text, nullable=False)
    as_of = Column(Integer)
    # National documents: own-words rule, 文号, date, where the text was found.
    source_says = Column(Text, nullable=False, default="")
    source_doc_no = Column(Text, nullable=False, default="")
    source_date = Column(Text, nullable=False, default="")
    source_found_at = Column(Text, nullable=False, default="")


class Entry(_Sourced, Base):
    __tablename__ = "kb_entries"

    id = Column(String(128), primary_key=True)
    place_id = Column(String(64), ForeignKey("kb_places.id", ondelete="CASCADE"), nullable=False, index=True)
    topic = Column(String(64), nullable=False, index=True)
    title = Column(Text, nullable=False)
    answer = Column(Text, nullable=False)
    brief = Column(Text, nullable=False)
    gap = Column(Text, nullable=False, default="")
    brief_gap = Column(Text, nullable=False, default="")
    steps = Column(JSON, nullable=False, default=list)
    channels = Column(JSON, nullable=False, default=list)
    materials = Column(JSON, nullable=False, default=list)
    applies_to = Column(JSON, nullable=False, default=list)
    eligibility = Column(JSON, nullable=False, default=list)
    validity = Column(JSON, nullable=False, default=list)
    offline = Column(JSON, nullable=False, default=list)
    proxy = Column(JSON, nullable=False, default=list)
    handoff = Column(Boolean, nullable=False, default=False)

    place = relationship("Place", back_populates="entries")


class Fact(_Sourced, Base):
    __tablename__ = "kb_facts"

    id = Column(String(128), primary_key=True)
    place_id = Column(String(64), ForeignKey("kb_places.id", ondelete="CASCADE"), nullable=False, index=True)
    topic = Column(String(64), nullable=False, index=True)
    text = Column(Text, nullable=False)
    keywords = Column(JSON, nullable=False, default=list)
    also_topics = Column(JSON, nullable=False, default=list)
    brief = Column(Text, nullable=False, default="")

    place = relationship("Place", back_populates="facts")
