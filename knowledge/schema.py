"""Read and check the content files; every error names file, item and field."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

KNOWLEDGE_DIR = Path(__file__).resolve().parent
CONTENT_DIR = KNOWLEDGE_DIR / "content"
SOURCES_DIR = KNOWLEDGE_DIR / "sources"
NATIONAL = "national"

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_WHITESPACE = re.compile(r"\s+")
# Elderly/voice sentences are split on Chinese and ASCII sentence ends.
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
BRIEF_SENTENCE_MAX = 60

# Follow-up aspect → the entry field that answers it. The first three are the
# procedure; the last four were added so a follow-up is answered from a source too.
ASPECT_FIELDS = {
    "materials": "materials",
    "channels": "channels",
    "steps": "steps",
    "eligibility": "eligibility",
    "time": "validity",
    "offline": "offline",
    "proxy": "proxy",
}
LIST_FIELDS = ("steps", "channels", "materials", "eligibility", "validity", "offline", "proxy")


class ContentError(ValueError):
    """One or more content files are invalid; ``errors`` lists every problem."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Source:
    document: str
    section: str
    quote: str
    as_of: int | None
    # National documents: the rule in our own words (numbers stated must appear here),
    # the document number (文号), its date and where a copy of the text was found.
    says: str = ""
    doc_no: str = ""
    date: str = ""
    found_at: str = ""

    @property
    def short(self) -> str:
        """"《文件》章节" — the one-line citation residents see."""
        doc = self.document if self.document.startswith("《") else f"《{self.document}》"
        return f"{doc}{self.section}" if self.section else doc


@dataclass(frozen=True)
class EntryData:
    id: str
    topic: str
    title: str
    answer: str
    brief: str
    steps: tuple[str, ...]
    channels: tuple[str, ...]
    materials: tuple[str, ...]
    applies_to: tuple[str, ...]
    handoff: bool
    source: Source
    # Follow-up aspects, each a list of short sentences (empty = the source says nothing):
    eligibility: tuple[str, ...] = ()  # who can / must do it, conditions
    validity: tuple[str, ...] = ()     # how long it is valid or takes, deadlines (aspect "time")
    offline: tuple[str, ...] = ()      # without a smartphone / without going online
    proxy: tuple[str, ...] = ()        # someone else doing it for the resident, what they bring


@dataclass(frozen=True)
class FactData:
    id: str
    topic: str
    text: str
    keywords: tuple[str, ...]
    source: Source


@dataclass
class PlaceContent:
    id: str
    name: str
    province: str
    aliases: tuple[str, ...]
    plan_title: str | None
    plan_text: str | None
    entries: list[EntryData] = field(default_factory=list)
    facts: list[FactData] = field(default_factory=list)
    checksum: str = ""
    path: Path | None = None

    @property
    def is_national(self) -> bool:
        return self.id == NATIONAL


def load_topics(path: Path = KNOWLEDGE_DIR / "topics.yml") -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def load_hotline_numbers(path: Path = KNOWLEDGE_DIR / "hotline.yml") -> set[str]:
    if not path.exists():
        return {"12393", "12345"}
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    return {str(number) for number in (data.get("hotlines") or {})}


def squash(text: str) -> str:
    """Text without whitespace, for matching quotes against plan texts."""
    return _WHITESPACE.sub("", text or "")


def numbers_in(text: str) -> set[str]:
    return set(_NUMBER.findall(text or ""))


class _Checker:
    """Collects errors while reading one file."""

    def __init__(self, path: Path, topics: dict, hotline_numbers: set[str]):
        self.path = path
        self.name = path.name
        self.errors: list[str] = []
        self.topics = set(topics["topics"])
        self.person_types = set(topics["person_types"])
        self.hotline_numbers = hotline_numbers

    def error(self, item: str, fld: str, message: str) -> None:
        self.errors.append(f"{self.name}: {item}: {fld}: {message}")

    def text(self, raw: dict, item: str, fld: str, required: bool = True) -> str:
        value = raw.get(fld)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(item, fld, "is required")
            return ""
        if not isinstance(value, (str, int, float)):
            self.error(item, fld, "must be text")
            return ""
        return str(value).strip()

    def text_list(self, raw: dict, item: str, fld: str) -> tuple[str, ...]:
        value = raw.get(fld) or []
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            self.error(item, fld, "must be a list of texts")
            return ()
        return tuple(str(v).strip() for v in value)

    def source(self, raw: dict, item: str, plan_title: str | None, plan_text: str | None) -> Source:
        src = raw.get("source")
        if not isinstance(src, dict):
            self.error(item, "source", "is required (document, section, quote, as_of)")
            return Source("", "", "", None)
        document = str(src.get("document") or "").strip()
        if not document:
            self.error(item, "source.document", "is required")
        quote = str(src.get("quote") or "").strip()
        if not quote:
            self.error(item, "source.quote", "is required")
        as_of = src.get("as_of")
        if as_of is not None and not (isinstance(as_of, int) and 1990 <= as_of <= 2035):
            self.error(item, "source.as_of", f"must be a year, not {as_of!r}")
            as_of = None
        if plan_title and document == plan_title and plan_text is not None:
            if quote and squash(quote) not in squash(plan_text):
                self.error(item, "source.quote", "does not occur verbatim in the plan text")
        extra = {k: str(src.get(k) or "").strip() for k in ("says", "doc_no", "date", "found_at")}
        return Source(document, str(src.get("section") or "").strip(), quote, as_of, **extra)

    def honest_numbers(self, item: str, fld: str, text: str, source: Source, plan_title: str | None) -> None:
        """A stated number must be quoted; a plan figure must say its year."""
        allowed = numbers_in(source.quote) | self.hotline_numbers
        if source.as_of:
            allowed.add(str(source.as_of))
        unquoted = sorted(numbers_in(text) - allowed)
        if unquoted:
            self.error(item, fld, f"numbers not in the quoted source: {', '.join(unquoted)}")
        figures = numbers_in(text) - self.hotline_numbers
        if plan_title and source.document == plan_title and figures:
            if source.as_of is None:
                self.error(item, "source.as_of", "a plan figure needs the year it describes")
            elif f"{source.as_of}年" not in text:
                self.error(item, fld, f"a plan figure must name its year ({source.as_of}年…)")
            elif source.as_of > 2020 and not any(w in text for w in ("目标", "预期", "力争", "计划", "将")):
                self.error(item, fld, "a plan target must be presented as a target (到…年目标…)")


def _items(check: _Checker, raw: dict, section: str, seen: set[str], plan_title: str | None, plan_text: str | None):
    """Yield (label, mapping, topic, source) for each item of ``section``, with the
    checks every sourced item shares: a mapping, a unique id, a known topic, a source."""
    for i, raw_item in enumerate(raw.get(section) or []):
        item = f"{section}[{i}] {raw_item.get('id', '?') if isinstance(raw_item, dict) else '?'}"
        if not isinstance(raw_item, dict):
            check.error(item, section, "must be a mapping")
            continue
        item_id = check.text(raw_item, item, "id")
        if item_id in seen:
            check.error(item, "id", "is used twice")
        seen.add(item_id)
        topic = check.text(raw_item, item, "topic")
        if topic and topic not in check.topics:
            check.error(item, "topic", f"unknown topic {topic!r}")
        yield item, raw_item, topic, check.source(raw_item, item, plan_title, plan_text)


def read_place_file(
    path: Path, topics: dict | None = None, hotline_numbers: set[str] | None = None,
    sources_dir: Path | None = None,
) -> tuple[PlaceContent | None, list[str]]:
    """Parse and check one content file. Returns (content, errors).

    Plan texts are looked up in ``sources_dir`` (default: ``sources/`` beside the
    content folder).
    """
    sources_dir = sources_dir or path.parent.parent / "sources"
    topics = topics or load_topics()
    hotline_numbers = hotline_numbers if hotline_numbers is not None else load_hotline_numbers()
    check = _Checker(path, topics, hotline_numbers)
    raw_bytes = path.read_bytes()
    try:
        raw = yaml.safe_load(raw_bytes.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return None, [f"{path.name}: file: yaml: {exc}"]
    if not isinstance(raw, dict) or not isinstance(raw.get("place"), dict):
        return None, [f"{path.name}: file: place: a top-level `place:` mapping is required"]

    rp = raw["place"]
    pid = check.text(rp, "place", "id")
    if pid and pid != path.stem:
        check.error("place", "id", f"must equal the file name ({path.stem})")
    plan = rp.get("plan") or {}
    plan_title = str(plan.get("title") or "").strip() or None
    plan_text = None
    if pid != NATIONAL:
        if not plan_title:
            check.error("place", "plan.title", "is required for a place")
        plan_file = sources_dir / str(plan.get("file") or "")
        if plan.get("file") and plan_file.is_file():
            plan_text = plan_file.read_text(encoding="utf-8")
        else:
            check.error("place", "plan.file", f"no such source text: {plan.get('file')!r}")
    content = PlaceContent(
        id=pid,
        name=check.text(rp, "place", "name"),
        province=check.text(rp, "place", "province"),
        aliases=check.text_list(rp, "place", "aliases"),
        plan_title=plan_title,
        plan_text=plan_text,
        checksum=hashlib.sha256(raw_bytes).hexdigest(),
        path=path,
    )

    seen: set[str] = set()
    for item, raw_item, topic, source in _items(check, raw, "entries", seen, plan_title, plan_text):
        entry = EntryData(
            id=str(raw_item.get("id") or ""),
            topic=topic,
            title=check.text(raw_item, item, "title"),
            answer=check.text(raw_item, item, "answer"),
            brief=check.text(raw_item, item, "brief"),
            applies_to=check.text_list(raw_item, item, "applies_to"),
            handoff=bool(raw_item.get("handoff", False)),
            source=source,
            **{fld: check.text_list(raw_item, item, fld) for fld in LIST_FIELDS},
        )
        for person in entry.applies_to:
            if person not in check.person_types:
                check.error(item, "applies_to", f"unknown person type {person!r}")
        for fld in ("answer", "brief"):
            check.honest_numbers(item, fld, getattr(entry, fld), source, plan_title)
        for n, step in enumerate(entry.steps):
            check.honest_numbers(item, f"steps[{n}]", step, source, plan_title)
        for sentence in _SENTENCE_END.split(entry.brief):
            if len(sentence.strip()) > BRIEF_SENTENCE_MAX:
                check.error(item, "brief", f"sentence longer than {BRIEF_SENTENCE_MAX} characters: {sentence.strip()[:20]}…")
        content.entries.append(entry)

    for item, raw_item, topic, source in _items(check, raw, "facts", seen, plan_title, plan_text):
        fact = FactData(
            id=str(raw_item.get("id") or ""),
            topic=topic,
            text=check.text(raw_item, item, "text"),
            keywords=check.text_list(raw_item, item, "keywords"),
            source=source,
        )
        check.honest_numbers(item, "text", fact.text, source, plan_title)
        content.facts.append(fact)
    return content, check.errors


def read_all(content_dir: Path = CONTENT_DIR) -> list[PlaceContent]:
    """Read and check every content file; raise ContentError listing all problems."""
    topics = load_topics()
    hotline_numbers = load_hotline_numbers()
    places: list[PlaceContent] = []
    errors: list[str] = []
    for path in sorted(content_dir.glob("*.yml")):
        content, file_errors = read_place_file(path, topics, hotline_numbers, content_dir.parent / "sources")
        errors.extend(file_errors)
        if content is not None:
            places.append(content)
    names: dict[str, str] = {}
    for place in places:
        for label in (place.name, *place.aliases):
            other = names.setdefault(label, place.id)
            if other != place.id:
                errors.append(f"{place.path.name}: place: aliases: {label!r} also names {other}")
    ids: dict[str, str] = {}
    for place in places:
        for item in [*place.entries, *place.facts]:
            other = ids.setdefault(item.id, place.id)
            if other != place.id:
                errors.append(f"{place.path.name}: {item.id}: id: also used in {other}")
    if not any(p.is_national for p in places):
        errors.append(f"{NATIONAL}.yml: file: the national baseline is missing")
    if errors:
        raise ContentError(errors)
    return places
