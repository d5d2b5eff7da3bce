"""Where the resident is insured and where they go for care, from the places they name.

"我是连云港的，去江门看病要备案吗": 连云港 is where they are insured, 江门 where they go.
Rasa's city entity keeps only the last place named, so without this the answer would be
江门's. The words around each place tell its role (cues in knowledge/wording/actions.yml):
- insured: "X的医保", "X参保", "X交的" (strong); "我是X的", "X人", "老家X" (weak);
- care: "去X", "在X住院", "X的医院", "在X打工" (where they live is where they need care);
  "回X" is not: it is as often the way home ("现在回连云港了还能报吗").

A place outside the five we serve is still named: the answer is then the national
one, said to be so. For care away from home the answer says whether the place of care is
in the same province: the national rules it gives are the cross-province ones.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace

from rasa_sdk import Tracker

from actions import common
from actions.common import ELDER, Context, say
from knowledge.regions import Mention, Region, Regions, regions, scan
from knowledge.store import KnowledgeStore, PlaceRef
from textproc.normalize import normalize

STRONG, WEAK = 2, 1
SHORT = 30  # characters: a question, not a story


@dataclass(frozen=True)
class Whereabouts:
    insured: Region | None = None   # the place named as the resident's own
    care: Region | None = None      # the place named as where they go for care
    named: tuple[Region, ...] = ()  # every place named
    guessed: bool = False           # no word says whose ``insured`` is: it was named first


@functools.lru_cache(maxsize=1)
def _cues() -> dict[str, re.Pattern]:
    cues = common.wording()["whereabouts"]["cues"]

    def any_of(key: str) -> str:
        return "|".join(map(re.escape, sorted(cues[key], key=len, reverse=True)))

    clause = r"[^，。,.!?！？；;\s]"  # a character that does not end the clause
    owner = rf"(?:{any_of('owner')})?"
    return {
        "insured_after": re.compile(rf"{owner}(?:{any_of('insured_after')})(?!{any_of('offices')})"),
        "paid": re.compile(rf"(?:{any_of('paid')})(?:{any_of('insured_after')}|(?!{clause}))"),
        "insured_named": re.compile(rf"(?:{any_of('insured_named')})$"),
        "insured_before": re.compile(rf"(?:{any_of('insured_before')})$"),
        "hukou": re.compile(rf"(?:{any_of('hukou')})"),
        # "赣榆的，去青岛…", "开州的去万州…": a place opening the message is theirs.
        "opening": re.compile("的"),
        "care_before": re.compile(rf"(?:{any_of('care_before')})$"),
        "care_at": re.compile(rf"(?:{any_of('care_at')})$"),
        # Within the clause: "我爸在台山，去广州看病" is care in 广州, not in 台山.
        "care_after": re.compile(rf"{owner}{clause}{{0,8}}?(?:{any_of('care_after')})"),
        # "南京鼓楼医院": a hospital's own name may come between.
        "care_places": re.compile(rf"{owner}{clause}{{0,6}}?(?:{any_of('care_places')})"),
    }


def _ours(kb: KnowledgeStore) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """Our places as ``(name, province, aliases)``, hashable for the caches below."""
    return tuple((p.name, p.province, tuple(p.aliases)) for p in kb.places())


def _regions(kb: KnowledgeStore) -> Regions:
    # Our places by their own aliases ("东海" is 连云港's, not only a county of 江苏).
    return _with_places(_ours(kb), tuple(common.wording()["whereabouts"]["not_places"]))


@functools.lru_cache(maxsize=4)
def _with_places(places: tuple, not_places: tuple) -> Regions:
    return regions().with_places(places, not_places)


@functools.lru_cache(maxsize=8192)
def _sound(char: str) -> str:
    from pypinyin import lazy_pinyin

    return lazy_pinyin(char)[0] if "\u4e00" <= char <= "\u9fff" else char


@functools.lru_cache(maxsize=4)
def _our_sounds(places: tuple) -> dict[tuple[str, ...], Region]:
    return {tuple(_sound(c) for c in label): Region(name, province)
            for name, province, aliases in places for label in (name, *aliases) if len(label) >= 2}


def _is_word(chars: str) -> bool:
    import jieba

    jieba.dt.check_initialized()
    return bool(jieba.dt.FREQ.get(chars))


def _sounding_like_ours(text: str, kb: KnowledgeStore, found: list[Mention]) -> list[Mention]:
    """Our places written with the right sounds and the wrong characters, as speech
    recognition and hurried typing write them ("连运港", "江们", "开周区"); never a word the
    dictionary knows ("干预" sounds like 赣榆, "无意" like 五邑, "泰山" like 台山)."""
    sounds, taken = _our_sounds(_ours(kb)), {i for m in found for i in range(m.start, m.end)}
    heard = [_sound(c) for c in text]

    def lookup(start: int, chars: str) -> tuple[bool, Region | None]:
        region = sounds.get(tuple(heard[start:start + len(chars)]))
        matched = (region is not None and not taken.intersection(range(start, start + len(chars)))
                   and not _is_word(chars))
        return matched, region

    return scan(text, max((len(key) for key in sounds), default=0), lookup)


def _role(text: str, m: Mention) -> tuple[str | None, int]:
    cues = _cues()
    before, after = text[max(0, m.start - 6):m.start], text[m.end:]
    if (cues["insured_named"].search(before) or cues["insured_after"].match(after)
            or cues["paid"].match(after)):
        return "insured", STRONG
    if (cues["care_before"].search(before) or cues["care_places"].match(after)
            or (cues["care_at"].search(before) and cues["care_after"].match(after))):
        return "care", 0
    if (cues["insured_before"].search(before) or cues["hukou"].match(after)
            or (m.start == 0 and cues["opening"].match(after))):
        return "insured", WEAK
    return None, 0


def read(text: str, kb: KnowledgeStore) -> Whereabouts:
    """The places ``text`` names as the resident's own and as where they go for care."""
    text = normalize(text)
    insured: tuple[int, Region] | None = None
    cares: list[Region] = []
    unplaced: list[Region] = []
    mentions = _specific(_regions(kb).find(text))
    mentions = sorted(mentions + _sounding_like_ours(text, kb, mentions), key=lambda m: m.start)
    for m in mentions:
        role, strength = _role(text, m)
        if role == "insured" and (insured is None or strength > insured[0]):
            insured = (strength, m.region)
        elif role == "care":
            cares.append(m.region)
        elif role is None:
            unplaced.append(m.region)
    own = insured[1] if insured else None
    # No word says whose place it is: residents name their own first ("江门 佛山住院能报吗").
    guess = next((r for r in unplaced if r not in cares), None) if own is None else None
    own = own or guess
    care = next((r for r in cares if own is None or r.name != own.name), None)
    if care is None and own is not None:
        # "深圳医保绍兴能用吗": beside the place of insurance, another place is where they go
        # (not the province it is in: "江苏连云港的医保").
        care = next((r for r in unplaced if r.name not in (own.name, own.province)), None)
    return Whereabouts(own, care, tuple(m.region for m in mentions), guess is not None)


def _specific(mentions: list[Mention]) -> list[Mention]:
    """"四川达州": the place, not the province named just before it."""
    kept: list[Mention] = []
    for m in mentions:
        if kept and kept[-1].end == m.start and kept[-1].region.name == m.region.province != m.region.name:
            kept[-1] = m
        else:
            kept.append(m)
    return kept


def _earlier_place(tracker: Tracker, kb: KnowledgeStore) -> PlaceRef | None:
    """The place the city slot held before the latest message overwrote it, however many
    turns back ("我是长春的" → "谢谢" → "去江门看病要备案吗"); an emptied slot ends the search."""
    seen_latest = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_latest = True
        elif seen_latest and event.get("event") == "slot" and event.get("name") == "city":
            return kb.resolve_place(event.get("value")) if event.get("value") else None
    return None


@dataclass(frozen=True)
class Settled:
    ctx: Context
    outside: Region | None = None   # insured somewhere we hold no local content for
    outside_named: bool = False     # ... and the question says so (said once, not every answer)
    care: Region | None = None
    insured_province: str | None = None
    named: tuple[Region, ...] = ()  # the places the words name


def settle(ctx: Context, tracker: Tracker, kb: KnowledgeStore, topic: str, question: str) -> Settled:
    """The context with the place the resident is insured in, as their words say."""
    found = read(question, kb)
    # (Compared as normalised: Rasa's message text and the tracker's may differ in width.)
    if ctx.text and normalize(ctx.text) != normalize(question):
        found = _with_reply(found, read(ctx.text, kb), short=len(ctx.text) <= SHORT)
    care_topic = topic in common.care_elsewhere_topics()
    outside = None
    # A place taken as theirs only for being named first counts beside another place, and
    # not over a place said before ("我是长春的" → "北京和上海哪个报得多"); alone it is what
    # the entity or the rule for one place named below decide.
    guess_counts = len(set(found.named)) >= 2 and (
        ctx.place is None or any(r.name == ctx.place.name for r in found.named))
    if found.insured is not None and (not found.guessed or guess_counts):
        served = _served(found.insured, kb)
        if served is not None:
            ctx = replace(ctx, place=served, place_text=None)
        elif ctx.place is None or not _inside(found.insured.name, ctx.place):
            # (Not "江门的，…广东的社保": 江门 is in 广东, and says more.)
            outside = found.insured
    elif ctx.place is None and ctx.place_text:
        # A place outside our five in the city slot is the resident's own, unless this
        # message asks about care there ("去北京看病要备案吗"; "重庆哪家医院能用医保" is theirs).
        outside = _outside(ctx.place_text)
        if outside is not None and ((care_topic and outside == found.care)
                                    or (len(question) > SHORT and outside in found.named)):
            # Nor is a place the entity found in a story, with no word saying it is theirs.
            outside = None
    elif care_topic and found.care is not None and ctx.place is not None and found.care.name == ctx.place.name:
        # The entity set the slot to where they go; where they are insured is said before, or asked.
        ctx = replace(ctx, place=_earlier_place(tracker, kb))
    if ctx.place is None and outside is None and not ctx.place_text and len(question) <= SHORT:
        # One place named that the entity missed ("南昌糖尿病报销多少"): theirs, unless it
        # is where a care question says they go. Not in a story, where places are where
        # things happened ("退休回到原籍地重庆定居").
        named = {r for r in found.named if not (care_topic and r == found.care)}
        if len(named) == 1:
            (only,) = named
            served = _served(only, kb)
            if served is not None:
                ctx = replace(ctx, place=served)
            else:
                outside = only
    if outside is not None:
        ctx = replace(ctx, place=None, place_text=outside.name)
    province = outside.province if outside else (ctx.place.province if ctx.place else None)
    return Settled(ctx, outside, outside is not None and outside in found.named,
                   found.care if care_topic else None, province, found.named)


def _with_reply(question: Whereabouts, reply: Whereabouts, short: bool = True) -> Whereabouts:
    """The question's places, updated by a later message: "南京" after "您是在哪里参保的？",
    or "那长春呢", names where they are insured."""
    if not reply.named:
        return question
    insured, guessed = reply.insured, reply.guessed
    if guessed and short and len(set(reply.named)) == 1:
        guessed = False   # one place said in a short reply: the answer to where they are insured
    if insured is None:
        insured, guessed = question.insured, question.guessed
    care = reply.care or (question.care if question.care != insured else None)
    return Whereabouts(insured, care, reply.named + question.named, guessed)


def _outside(name: str) -> Region | None:
    """The region a city slot names when it is none of ours ("北京市")."""
    return regions().named(normalize(name))


def _served(region: Region, kb: KnowledgeStore) -> PlaceRef | None:
    """The place of ours ``region`` is, if it is one."""
    place = kb.resolve_place(region.name)
    return place if place is not None and place.name == region.name else None


def _inside(outer: str, place: PlaceRef) -> bool:
    """Whether our ``place`` lies in the province or prefecture ``outer`` (开州区 in 重庆市)."""
    return place.province == outer or regions().contains(outer, place.name)


def _say(settled: Settled, key: str, **values) -> str:
    return say(f"whereabouts.elder.{key}" if settled.ctx.mode == ELDER else f"whereabouts.{key}", **values)


def outside_lines(settled: Settled, kb: KnowledgeStore) -> list[str]:
    """That the place the resident named as theirs is not one we hold local content for."""
    if not settled.outside_named:
        return []
    place = settled.outside.name
    inside = _served_inside(place, kb)
    if inside:
        # "重庆" from a 开州 resident: say how to get 开州's own answer.
        return [_say(settled, "wider", place=place, served=common.join(inside))]
    return [_say(settled, "outside", place=place, places=common.join(p.name for p in kb.places()))]


def _served_inside(place: str, kb: KnowledgeStore) -> list[str]:
    return [p.name for p in kb.places() if _inside(place, p)]


def _care_kind(settled: Settled) -> str | None:
    """"inside_province", "same_province" or "other_province": where care is, from home."""
    care, province = settled.care, settled.insured_province
    home = settled.outside.name if settled.outside else (settled.ctx.place.name if settled.ctx.place else None)
    if care is None or home is None or province is None or care.name == home:
        return None
    if care.name == province:
        return "inside_province"
    return "same_province" if care.province == province else "other_province"


def care_lines(settled: Settled) -> list[str]:
    """Whether the place of care is in the province of insurance (the rules below are cross-province)."""
    kind = _care_kind(settled)
    if kind is None:
        return []
    care, province = settled.care, settled.insured_province
    home = settled.outside.name if settled.outside else settled.ctx.place.name
    where = care.name if care.name == care.province or kind != "other_province" else f"{care.name}（{care.province}）"
    return [_say(settled, kind, care=where, home=home, province=province)]


def ask_lines(settled: Settled, kb: KnowledgeStore, answer_text: str) -> list[str]:
    """Where to ask what the notes leave open, after the answer, if it names no hotline."""
    if any(number in answer_text for number in common.hotline_numbers()):
        return []
    hotline, lines = common.default_hotline(), []
    if settled.outside_named and not _served_inside(settled.outside.name, kb):
        lines.append(_say(settled, "ask_outside", place=settled.outside.name, hotline=hotline))
    # What a province does within its borders is in no source we hold.
    if _care_kind(settled) in ("inside_province", "same_province"):
        lines.append(_say(settled, "ask_province", province=settled.insured_province, hotline=hotline))
    return lines


def names_a_place(text: str, kb: KnowledgeStore) -> bool:
    """Whether ``text`` names a place ("那长春呢" when the entity missed it)."""
    return bool(read(text, kb).named)
