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
# In a fact's keywords, "没*备案" matches the two words a few characters apart (retrieval).
KEYWORD_GAP = "*"

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


_ELLIPSIS = re.compile(r"……|…")
_TRAILING_NOTE = re.compile(r"^(.*?)(（[^（）]*）)?$")


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
        """"《文件》（文号）章节" — the one-line citation residents see (several: "《甲》、《乙》；章节").

        Several documents are separated by "；" in ``document``; each gets its own
        title marks, and a trailing "（…）" (issuer or number) stays outside them.
        """
        titles = []
        for part in (p.strip() for p in self.document.split("；")):
            if not part:
                continue
            if "《" in part:  # already marks its title (河南省医疗保障服务中心《…》)
                titles.append(part)
                continue
            name, note = _TRAILING_NOTE.match(part).groups()
            titles.append(f"《{name}》{note or ''}")
        doc = "、".join(titles)
        if self.doc_no and self.doc_no not in self.document:
            doc += f"（{self.doc_no}）"
        if not self.section:
            return doc
        # After a list of documents, the sections name their own document: keep them apart.
        return f"{doc}；{self.section}" if len(titles) > 1 else f"{doc}{self.section}"


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
    # What the place's source does not give, and where to ask. Kept apart from
    # ``answer`` so the reply can say it last, after the national procedure that
    # fills part of the gap, instead of sending the resident to the phone first.
    gap: str = ""
    # The brief's own gap, spoken last in elder mode as ``gap`` is said last in a full
    # answer. An entry with a gap keeps its hotline sentences here, not in ``brief``.
    brief_gap: str = ""


@dataclass(frozen=True)
class FactData:
    id: str
    topic: str
    text: str
    keywords: tuple[str, ...]
    source: Source
    # Further topics whose answers the fact may lead: a rule about filing late matters
    # to "回来怎么报" (手工报销) as much as to filing itself.
    also_topics: tuple[str, ...] = ()
    # The rule in short spoken sentences, for elder mode (empty: the text is said).
    brief: str = ""

    def concerns(self, topic: str | None) -> bool:
        """Whether the fact belongs to ``topic``: its own topic or one of ``also_topics``."""
        return topic is not None and topic in (self.topic, *self.also_topics)


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


_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_NUM = "零〇一二两三四五六七八九十百千万"
# A Chinese numeral counts as a figure when a measure word follows it (六个月, 两年,
# 十个百分点) or 百分之 precedes it (百分之二十). A lone 一 is left alone: 一站式,
# 一次性, 一网通办 are not figures.
_CN_MEASURE = re.compile(
    rf"((?:[零〇一二两三四五六七八九]|十)[{_CN_NUM}]*)(?=个|年|月|日|天|周岁|岁|种|类|项|名|倍|次|元|家|人|批|档|成|周|小时|分钟|万|亿)")
_CN_PERCENT = re.compile(rf"百分之((?:[零〇一二两三四五六七八九]|十)[{_CN_NUM}]*)")


def cn_number(word: str) -> int | None:
    """六 → 6, 十二 → 12, 二十 → 20, 一千 → 1000, 三万 → 30000; None if not a number."""
    if not word or any(ch not in _CN_NUM for ch in word):
        return None
    total, section, digit = 0, 0, None
    for ch in word:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            section += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
        elif ch == "万":
            total += (section + (digit or 0)) * 10000
            section, digit = 0, None
    return total + section + (digit or 0)


def arabic(text: str) -> str:
    """Chinese figures rewritten as digits, so 六个月 and 6个月 are checked alike."""
    def measure(m: re.Match) -> str:
        if m.group(1) == "一":
            return m.group(1)
        n = cn_number(m.group(1))
        return m.group(1) if n is None else str(n)

    def percent(m: re.Match) -> str:
        n = cn_number(m.group(1))
        return m.group(0) if n is None else f"{n}%"

    return _CN_MEASURE.sub(measure, _CN_PERCENT.sub(percent, text or ""))


def numbers_in(text: str) -> set[str]:
    return set(_NUMBER.findall(arabic(text)))


# Plan tasks told as if under way now (late 2026 the 2021–2025 plans are history).
_PROGRESSIVE = re.compile(r"正(?:在|逐步|加快|着力|积极|全面|抓紧)")
_INTENT = re.compile(
    r"(?:(?<![需只主重想不])(?:计划|即将|将|要|逐步)|(?<![不社机协工委大理])会)"
    r"(?=推进|实现|建立|开展|推行|推广|改由|完善|扩大|建成|开通|落实|加快|纳入|提高|统一|健全|"
    r"探索|让|覆盖|完成|实行|上线|启用|出台|全面|进一步|持续|做到|达到)")
# A sentence that names the plan as the speaker ("规划提出…") may state its intentions.
_ATTRIBUTED = re.compile(r"规划|目标")
# "在推进/在试点…" is progressive too, unless the sentence is dated history (截至2020年…当时…).
_ONGOING = re.compile(r"(?<![现正存所])在(?=拓展|推进|推广|建设|完善|推行|改革|扩大|探索|加快|试点|逐步)")
_HISTORY = re.compile(r"20\d\d年|当时|截至|编制时")
DOC_NO = re.compile(r"[\u4e00-\u9fa5]{1,8}〔\d{4}〕\d+号")
_PAST_DEADLINE = re.compile(r"(20[0-2]\d)年(?:底)?(?:前|以前|之前)")
_FUTURE_BY_YEAR = re.compile(r"到(20[0-2]\d)年[，,]?(?:将|要|会)")
TODAY_YEAR = 2026
# "规划没有写明…" in an answer: what a source does not give belongs in ``gap``.
UNSTATED = re.compile(r"没有(?:写|列|提到)|没写|未写明|未列出|资料里没")


def stale_phrases(text: str) -> list[str]:
    """Phrases that present a plan task or a past deadline as something still ahead."""
    found = []
    for sentence in _SENTENCE_END.split(arabic(text or "")):
        for m in _PROGRESSIVE.finditer(sentence):
            found.append(sentence[m.start():m.end() + 6])
        if not _HISTORY.search(sentence):
            found += [sentence[m.start():m.end() + 6] for m in _ONGOING.finditer(sentence)]
        if not _ATTRIBUTED.search(sentence):
            found += [sentence[m.start():m.end() + 6] for m in _INTENT.finditer(sentence)]
        for rx in (_PAST_DEADLINE, _FUTURE_BY_YEAR):
            found += [m.group(0) for m in rx.finditer(sentence) if int(m.group(1)) <= TODAY_YEAR]
    return found


@dataclass(frozen=True)
class Platforms:
    """Apps, mini-programs and platforms an answer may name (``knowledge/platforms.yml``)."""

    allowed: tuple[str, ...]   # every allowed spelling, longest first
    watch: tuple[str, ...]     # platform names that need no suffix to be recognised

    # A name followed by a platform suffix, quoted or not.
    _QUOTED = re.compile(r"“([^”]{2,16})”\s*(?:APP|App|app|小程序|微信公众号|公众号|服务号|客户端|平台)")
    _SUFFIXED = re.compile(r"([\u4e00-\u9fa5A-Za-z0-9]{2,12}?)(?:APP|App|app|小程序|公众号|服务号|客户端)")
    # Generic words before a suffix that name no particular platform.
    _GENERIC = re.compile(r"(?:手机|移动端|具体的|当地的|各地的|相关|官方|微信|或|和|的)$")
    # Verbs and particles that lead into a name ("打开××小程序") are not part of it.
    _LEAD = re.compile(r"^(?:打开|进入|登录|关注|使用|通过|下载|搜索|可以|也可|用|在|或|和|的|到)+")

    def unknown(self, text: str) -> list[str]:
        masked = text or ""
        for name in self.allowed:
            masked = masked.replace(name, "▪")
        found = [m.group(0) for m in self._QUOTED.finditer(masked)]
        masked = self._QUOTED.sub("▪", masked)
        for m in self._SUFFIXED.finditer(masked):
            name = self._LEAD.sub("", m.group(1))
            if name and not self._GENERIC.search(name) and "▪" not in name:
                found.append(m.group(0)[len(m.group(1)) - len(name):])
        found += [w for w in self.watch if w in masked]
        return found


def load_platforms(path: Path = KNOWLEDGE_DIR / "platforms.yml") -> Platforms:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    names: set[str] = set()
    for name, info in (data.get("allowed") or {}).items():
        names.add(str(name))
        names.update(str(a) for a in (info or {}).get("spellings") or [])
    watch = tuple(str(w) for w in data.get("watch") or [] if str(w) not in names)
    return Platforms(tuple(sorted(names, key=len, reverse=True)), watch)


class _Checker:
    """Collects errors while reading one file."""

    def __init__(self, path: Path, topics: dict, hotline_numbers: set[str], platforms: Platforms):
        self.path = path
        self.name = path.name
        self.errors: list[str] = []
        self.topics = set(topics["topics"])
        self.person_types = set(topics["person_types"])
        self.hotline_numbers = hotline_numbers
        self.platforms = platforms

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
        as_of = src.get("as_of")
        if as_of is not None and not (isinstance(as_of, int) and 1990 <= as_of <= 2035):
            self.error(item, "source.as_of", f"must be a year, not {as_of!r}")
            as_of = None
        if plan_title and document == plan_title and plan_text is not None:
            # Excerpts from different places of the plan are joined by "……"; each
            # excerpt must occur verbatim.
            for part in (p for p in _ELLIPSIS.split(quote) if p.strip()):
                if squash(part) not in squash(plan_text):
                    self.error(item, "source.quote", f"does not occur verbatim in the plan text: {part.strip()[:20]}…")
        extra = {k: str(src.get(k) or "").strip() for k in ("says", "doc_no", "date", "found_at")}
        if plan_title and document == plan_title:
            if extra["says"]:
                self.error(item, "source.says", "a plan is quoted verbatim in `quote`, not restated")
        elif extra["says"]:
            # A national rule in our own words must say which document, when, and
            # where its text was read.
            for key in ("date", "found_at"):
                if not extra[key]:
                    self.error(item, f"source.{key}", "is required with source.says")
        if not quote and not extra["says"]:
            self.error(item, "source.quote", "is required (or source.says for a national document)")
        return Source(document, str(src.get("section") or "").strip(), quote, as_of, **extra)

    def honest_numbers(self, item: str, fld: str, text: str, source: Source, plan_title: str | None) -> None:
        """A stated number must be quoted; a plan figure must say its year."""
        # A plan's figures come from its verbatim quote; a national document's from
        # the quote or from the own-words statement of the rule that cites it.
        allowed = numbers_in(source.quote) | numbers_in(source.says) | self.hotline_numbers
        if source.as_of:
            allowed.add(str(source.as_of))
        # A cited document number (国办发〔2024〕38号) is a name, not a figure.
        for cited in DOC_NO.findall(f"{source.document} {source.doc_no}"):
            text = text.replace(cited, "")
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


    def own_words(self, item: str, fld: str, text: str) -> None:
        """Checks for text we wrote (not quotes): tense as of today, platform names."""
        for phrase in stale_phrases(text):
            self.error(item, fld, f"reads as under way or ahead, but the plan period is over: {phrase!r} "
                                  "(say 2020年… for results, 规划提出…到2025年… for targets)")
        for name in self.platforms.unknown(text):
            self.error(item, fld, f"names a platform that is not in knowledge/platforms.yml: {name!r}")


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


def _check_brief(check: _Checker, item: str, brief: str, fld: str = "brief") -> None:
    """A brief is read aloud to elderly residents: one short sentence at a time."""
    for sentence in _SENTENCE_END.split(brief):
        if len(sentence.strip()) > BRIEF_SENTENCE_MAX:
            check.error(item, fld, f"sentence longer than {BRIEF_SENTENCE_MAX} characters: {sentence.strip()[:20]}…")


def _check_gap(check: _Checker, item: str, entry: EntryData) -> None:
    """What a source leaves out is said in ``gap``, last, and always says where to ask."""
    found = UNSTATED.search(entry.answer)
    if found:
        check.error(item, "answer", f"says what the source does not give ({found.group(0)!r}): "
                                    "move that sentence to `gap`, which the reply says last")
    if entry.gap and not any(number in entry.gap for number in check.hotline_numbers):
        check.error(item, "gap", "must say where to ask (a hotline number)")
    # A gap may be read or copied apart from the lines above it (staff copy answers).
    if any(word in entry.gap for word in ("上面", "以上", "上述")):
        check.error(item, "gap", "must read on its own, without pointing at the lines above it")
    # Without a gap, calling is the way itself (a complaint): the brief says it in place.
    if entry.brief_gap and not entry.gap:
        check.error(item, "brief_gap", "needs a `gap`: without one, say the hotline in `brief`")
    if entry.brief_gap and not any(number in entry.brief_gap for number in check.hotline_numbers):
        check.error(item, "brief_gap", "must say where to ask (a hotline number)")
    if entry.gap and any(number in entry.brief for number in check.hotline_numbers):
        check.error(item, "brief", "names a hotline although the entry has a gap: "
                                   "move that sentence to `brief_gap`, which elder mode says last")
    found = UNSTATED.search(entry.brief)
    if found:
        check.error(item, "brief", f"says what the source does not give ({found.group(0)!r}): "
                                   "move that sentence to `brief_gap`, which elder mode says last")


def read_place_file(
    path: Path, topics: dict | None = None, hotline_numbers: set[str] | None = None,
    sources_dir: Path | None = None, platforms: Platforms | None = None,
) -> tuple[PlaceContent | None, list[str]]:
    """Parse and check one content file. Returns (content, errors).

    Plan texts are looked up in ``sources_dir`` (default: ``sources/`` beside the
    content folder).
    """
    sources_dir = sources_dir or path.parent.parent / "sources"
    topics = topics or load_topics()
    hotline_numbers = hotline_numbers if hotline_numbers is not None else load_hotline_numbers()
    if platforms is None:
        # A content folder may carry its own allow-list beside it (tests do).
        local = path.parent.parent / "platforms.yml"
        platforms = load_platforms(local if local.is_file() else KNOWLEDGE_DIR / "platforms.yml")
    check = _Checker(path, topics, hotline_numbers, platforms)
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
            gap=check.text(raw_item, item, "gap", required=False),
            brief_gap=check.text(raw_item, item, "brief_gap", required=False),
            applies_to=check.text_list(raw_item, item, "applies_to"),
            handoff=bool(raw_item.get("handoff", False)),
            source=source,
            **{fld: check.text_list(raw_item, item, fld) for fld in LIST_FIELDS},
        )
        for person in entry.applies_to:
            if person not in check.person_types:
                check.error(item, "applies_to", f"unknown person type {person!r}")
        # Every text a resident may see is checked: numbers against the source,
        # tense against today, platform names against the allow-list.
        for fld in ("title", "answer", "brief", "gap", "brief_gap"):
            check.honest_numbers(item, fld, getattr(entry, fld), source, plan_title)
            check.own_words(item, fld, getattr(entry, fld))
        _check_gap(check, item, entry)
        for fld in LIST_FIELDS:
            for n, line in enumerate(getattr(entry, fld)):
                check.honest_numbers(item, f"{fld}[{n}]", line, source, plan_title)
                check.own_words(item, f"{fld}[{n}]", line)
        _check_brief(check, item, entry.brief)
        _check_brief(check, item, entry.brief_gap, "brief_gap")
        content.entries.append(entry)

    for item, raw_item, topic, source in _items(check, raw, "facts", seen, plan_title, plan_text):
        fact = FactData(
            id=str(raw_item.get("id") or ""),
            topic=topic,
            text=check.text(raw_item, item, "text"),
            keywords=check.text_list(raw_item, item, "keywords"),
            source=source,
            also_topics=check.text_list(raw_item, item, "also_topics"),
            brief=check.text(raw_item, item, "brief", required=False),
        )
        for other in fact.also_topics:
            if other not in check.topics or other == topic:
                check.error(item, "also_topics", f"not another known topic: {other!r}")
        for keyword in fact.keywords:
            if KEYWORD_GAP in keyword and not all(keyword.split(KEYWORD_GAP)):
                check.error(item, "keywords", f"{keyword!r}: {KEYWORD_GAP!r} must stand between two words (没*备案)")
        for fld in ("text", "brief"):
            check.honest_numbers(item, fld, getattr(fact, fld), source, plan_title)
            check.own_words(item, fld, getattr(fact, fld))
        _check_brief(check, item, fact.brief)
        content.facts.append(fact)
    return content, check.errors


def read_all(content_dir: Path = CONTENT_DIR) -> list[PlaceContent]:
    """Read and check every content file; raise ContentError listing all problems."""
    topics = load_topics()
    hotline_numbers = load_hotline_numbers()
    local = content_dir.parent / "platforms.yml"
    platforms = load_platforms(local if local.is_file() else KNOWLEDGE_DIR / "platforms.yml")
    places: list[PlaceContent] = []
    errors: list[str] = []
    for path in sorted(content_dir.glob("*.yml")):
        content, file_errors = read_place_file(
            path, topics, hotline_numbers, content_dir.parent / "sources", platforms)
        errors.extend(file_errors)
        if content is not None:
            places.append(content)
    known = topics.get("topics") or {}
    for topic, others in (topics.get("related") or {}).items():
        unknown = [t for t in (topic, *others) if t not in known] + ([topic] if topic in others else [])
        errors += [f"topics.yml: related: {topic}: not another known topic: {t!r}" for t in unknown]
    foreign = topics.get("foreign_nicknames") or {}
    names: dict[str, str] = {}
    for place in places:
        for label in place.aliases:
            if label in foreign:
                errors.append(f"{place.path.name}: place: aliases: {label!r} usually names {foreign[label]}")
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
