"""Follow-up aspects of the four key topics, for every place, in standard and elder mode.

Expected content is read from the loaded knowledge base, never written here: the
rule under test is "the place's own entry, else the national entry, else say that
no source gives it and where to ask".
"""
from __future__ import annotations

import pytest

from actions import aspects, common
from actions.answers import ActionAnswerTopic, ActionInform
from actions.common import say
from knowledge.schema import ASPECT_FIELDS
from tests.actions.conftest import KEY_TOPICS, Conversation, entity

# What residents type for each aspect (the NLU tags the canonical value).
FOLLOW_UPS = {
    "materials": "要带啥子材料",
    "channels": "在哪里办",
    "steps": "流程是啥样的",
    "eligibility": "谁能办",
    "time": "多久能办好",
    "offline": "不用手机怎么办",
    "proxy": "可以让我儿子帮我去办不",
}
QUESTIONS = {
    "ask_remote_care_filing": "异地就医备案怎么办",
    "ask_chronic_disease_outpatient": "门诊慢特病咋申请",
    "ask_enrolment": "医保参保登记怎么办",
    "ask_payment_channels": "想问一下交医保费的事",
}
MODES = ("standard", "elder")


def texts(messages) -> str:
    return "\n".join(m["text"] for m in messages if m.get("text"))


def useful(answer, aspect: str) -> tuple[str, ...]:
    """What an entry says about an aspect; a channel list of phone numbers only says nothing."""
    values = tuple(v for v in getattr(answer, ASPECT_FIELDS[aspect]) if v)
    hotlines = common.hotline_numbers()
    if aspect == "channels" and values and all(any(n in v for n in hotlines) for v in values):
        return ()
    return values


def expected_source(kb, topic: str, place: str, aspect: str):
    local = kb.answer(topic, place)
    national = kb.answer(topic, None)
    if useful(local, aspect):
        return local, local, useful(local, aspect)
    if local.scope == "local" and useful(national, aspect):
        return local, national, useful(national, aspect)
    return local, None, ()


async def follow_up(kb, place: str, topic: str, mode: str, aspect: str, text: str | None = None,
                    tag: bool = True, question: str | None = None):
    convo = Conversation(sender=f"{place}-{topic}-{aspect}-{mode}", metadata={"city": place, "mode": mode})
    convo.user(question or QUESTIONS[topic], topic)
    await convo.run(ActionAnswerTopic(), {})
    text = text or FOLLOW_UPS[aspect]
    convo.user(text, "inform", [entity("aspect", aspect, text)] if tag else [])
    messages, _ = await convo.run(ActionInform(), {})
    return texts(messages), convo


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("aspect", aspects.ASPECTS)
@pytest.mark.parametrize("topic", KEY_TOPICS)
async def test_each_aspect_comes_from_the_best_source_or_says_none_does(shared_kb, topic, aspect, mode):
    kb = shared_kb
    for place in kb.places():
        reply, convo = await follow_up(kb, place.name, topic, mode, aspect)
        local, source, items = expected_source(kb, topic, place.name, aspect)
        where = common.where_to_ask(kb, place, topic)
        case = f"{place.name} {topic} {aspect} {mode}: {reply}"
        if source is None:
            if aspect == "eligibility" and local.applies_to:
                assert common.join(local.applies_to) in reply, case
                continue
            assert reply == say("follow_up.missing", title=local.title,
                                label=say(f"aspects.{aspect}.label"), where=where), case
            continue
        assert f"依据：{source.source.short}" in reply, case
        # Headed as the aspect asked, and by no other aspect's heading.
        headings = {a: say(f"aspects.{a}.heading", title=local.title) for a in aspects.ASPECTS}
        if not (aspect == "steps" and mode == "elder"):   # elder steps are read one by one
            assert headings.pop(aspect) in reply, case
        assert not [a for a, h in headings.items() if a != aspect and h in reply], case
        if source is not local:
            assert say("follow_up.national_for_place", place=place.name) in reply, case
        if aspect == "steps" and mode == "elder":
            assert say("elder.step", n=1, step=items[0]) in reply, case
            assert all(step not in reply for step in items[1:] if step not in items[0]), case
        else:
            assert all(item in reply for item in items), case
        if mode == "elder" and aspect not in aspects.LIST_ASPECTS | {"steps"}:
            # For listening: one sentence a line.
            assert all(any(line.startswith(item) for line in reply.splitlines()) for item in items), case
        # Only the aspect asked: the other lists of the topic stay out of the reply.
        for other in ("materials", "channels", "steps"):
            if other == aspect:
                continue
            _, _, other_items = expected_source(kb, topic, place.name, other)
            for item in other_items:
                if not any(item in mine or mine in item for mine in items) and item not in where:
                    assert item not in reply, f"{other} leaked into {case}"
        assert convo.slots["topic"] == topic


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("topic", KEY_TOPICS)
async def test_where_to_go_never_answers_with_the_materials_list(shared_kb, topic, mode):
    """A regression seen before: "在哪里办" returned the materials."""
    kb = shared_kb
    for place in kb.places():
        reply, _ = await follow_up(kb, place.name, topic, mode, "channels", "在哪里办")
        _, _, channels = expected_source(kb, topic, place.name, "channels")
        _, _, materials = expected_source(kb, topic, place.name, "materials")
        for item in materials:
            if not any(item in c for c in channels):
                assert item not in reply, (place.name, topic, reply)
        assert say("aspects.materials.heading", title=kb.answer(topic, place.name).title) not in reply


@pytest.mark.parametrize("topic", KEY_TOPICS)
async def test_aspect_found_in_the_words_when_the_nlu_did_not_tag_it(shared_kb, topic):
    """"要带啥子" after a chronic-disease answer gave 办理时限: it must give materials."""
    kb = shared_kb
    for place in kb.places():
        tagged, _ = await follow_up(kb, place.name, topic, "standard", "materials", "要带啥子")
        untagged, _ = await follow_up(kb, place.name, topic, "standard", "materials", "要带啥子", tag=False)
        timed, _ = await follow_up(kb, place.name, topic, "standard", "time")
        assert untagged == tagged and untagged != timed


async def test_next_step_reads_the_steps_one_at_a_time(shared_kb):
    kb = shared_kb
    for topic in KEY_TOPICS:
        for place in kb.places():
            _, source, steps = expected_source(kb, topic, place.name, "steps")
            if len(steps) < 2:
                continue
            convo = Conversation(metadata={"city": place.name, "mode": "elder"})
            convo.user(QUESTIONS[topic], topic)
            first, _ = await convo.run(ActionAnswerTopic(), {})
            assert say("elder.first_step", step=steps[0]) in texts(first)
            for n, step in enumerate(steps[1:], 2):
                convo.user("下一步", "inform", [entity("aspect", "next_step", "下一步")])
                messages, _ = await convo.run(ActionInform(), {})
                assert say("elder.step", n=n, step=step) in texts(messages), (place.name, topic)
                # Whose procedure it is was said with the first step; the source line stays.
                assert texts(messages).startswith(say("elder.step", n=n, step=step)), texts(messages)
                assert say("answer.source_line", source=source.source.short) in texts(messages)
            convo.user("下一步", "inform", [entity("aspect", "next_step", "下一步")])
            messages, _ = await convo.run(ActionInform(), {})
            assert texts(messages) == say("elder.last_step")


@pytest.mark.parametrize("text,aspect", [
    ("那需要带什么材料", "materials"),
    ("要带啥子", "materials"),
    ("在哪办", "channels"),
    ("去哪里交", "channels"),
    ("能不能代办", "proxy"),
    ("必须本人去吗", "proxy"),
    ("可以让我儿子帮我去办不", "proxy"),
    ("能不能我帮她办", "proxy"),       # a relative asking for the elder, not the elder asking
    ("我替老人办行不行", "proxy"),
    ("多久能办好", "time"),
    ("有效期多长", "time"),
    ("不用手机怎么办", "offline"),
    ("俺不会弄手机 还有啥别的法子", "offline"),
    ("没有智能手机咋整", "offline"),
    ("下一步", "next_step"),
    ("谁能办", "eligibility"),
    ("办理流程是什么", "steps"),
])
def test_aspect_cues(text, aspect):
    assert aspects.detect([], text) == aspect


def test_a_service_question_is_answered_by_one_aspect_only_when_it_asks_just_that():
    assert aspects.detect([], "异地就医备案怎么申请", service_intent=True) is None
    assert aspects.detect([], "正宁县的居民医保在哪交", service_intent=True) == "channels"
    assert aspects.detect([entity("aspect", "channels", "在哪交")], "正宁县的居民医保在哪交",
                          service_intent=True) == "channels"
    # Several questions, or a long story: the whole answer covers them all.
    assert aspects.detect([], "门诊慢特病需要哪些材料？到哪里办理？", service_intent=True) is None
    story = "我去年在外地住院花了好多钱，回来以后一直没弄明白。现在想办门诊慢特病，要带什么材料？"
    assert aspects.detect([], story, service_intent=True) is None
    assert aspects.detect([entity("aspect", "materials", "材料")], story, service_intent=True) is None
    # A weak cue (身份证) is a detail in a follow-up, not what a first question is about.
    assert aspects.detect([], "一张身份证能办两种医保吗", service_intent=True) is None
    assert aspects.detect([], "要身份证吗") == "materials"
    # In a follow-up a canonical entity wins over the words; a raw span is read by the cues.
    assert aspects.detect([entity("aspect", "proxy")], "在哪办") == "proxy"
    assert aspects.detect([entity("aspect", "啥子材料")], "要带啥子材料") == "materials"


async def test_a_detail_no_source_gives_is_logged_for_the_knowledge_base(shared_kb):
    from sqlalchemy import select

    from hotline.models import Unanswered

    kb = shared_kb
    gaps = [(topic, place, aspect) for topic in KEY_TOPICS for place in kb.places() for aspect in aspects.ASPECTS
            if aspect != "eligibility" and expected_source(kb, topic, place.name, aspect)[1] is None]
    if not gaps:
        pytest.skip("every key topic has every aspect in some source")
    topic, place, aspect = gaps[0]
    text = FOLLOW_UPS[aspect] + "记录测试"   # plain: the log stores normalised, masked text
    await follow_up(kb, place.name, topic, "standard", aspect, text)
    with common.resources.sessions() as session:
        rows = session.execute(select(Unanswered).where(Unanswered.text == text)).scalars().all()
    assert [(r.topic, r.place, r.reason) for r in rows] == [(topic, place.name, "no_answer")]


async def test_another_aspect_between_steps_keeps_the_place_in_the_steps(shared_kb):
    kb = shared_kb
    case = next(((t, p) for t in KEY_TOPICS for p in kb.places()
                 if len(expected_source(kb, t, p.name, "steps")[2]) >= 3), None)
    assert case, "the national procedures have at least three steps"
    topic, place = case
    steps = expected_source(kb, topic, place.name, "steps")[2]
    convo = Conversation(metadata={"city": place.name, "mode": "elder"})
    convo.user(QUESTIONS[topic], topic)
    await convo.run(ActionAnswerTopic(), {})
    convo.user("下一步", "inform", [entity("aspect", "next_step", "下一步")])
    await convo.run(ActionInform(), {})
    convo.user("要带啥", "inform", [entity("aspect", "materials", "要带啥")])
    await convo.run(ActionInform(), {})
    convo.user("下一步", "inform", [entity("aspect", "next_step", "下一步")])
    messages, _ = await convo.run(ActionInform(), {})
    assert say("elder.step", n=3, step=steps[2]) in texts(messages)


async def test_where_to_ask_follows_the_routing_data_not_a_fixed_number(shared_kb, tmp_path, monkeypatch):
    """A place with its own business line in knowledge/hotline.yml gets that number."""
    import yaml

    from hotline import routing

    data = yaml.safe_load(routing.DEFAULT_PATH.read_text(encoding="utf-8"))
    data["hotlines"]["0934-5550000"] = {"name": "测试用县医保咨询电话", "what_to_say": "说明参保地。"}
    data["routing"]["places"] = {"zhengning": {"business": "0934-5550000"}}
    path = tmp_path / "hotline.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(routing, "DEFAULT_PATH", path)
    kb = shared_kb
    place = next(p for p in kb.places() if p.id == "zhengning")
    gap = next(((t, a) for t in KEY_TOPICS for a in aspects.ASPECTS if a != "eligibility"
                and expected_source(kb, t, place.name, a)[1] is None), None)
    if gap is None:
        pytest.skip("正宁县 has every aspect of every key topic in some source")
    reply, _ = await follow_up(kb, place.name, gap[0], "standard", gap[1])
    assert "测试用县医保咨询电话0934-5550000" in reply


async def test_a_detail_asked_as_the_same_topic_right_after_its_answer_gets_that_detail(shared_kb):
    """"什么时候交" / "能在网上交吗" right after the payment answer are classified as the
    payment topic again: they ask one detail, not for the whole answer once more."""
    convo = Conversation()
    convo.user("长春居民医保今年交多少钱", "ask_payment_channels", [entity("city", "长春市", "长春")])
    whole, _ = await convo.run(ActionAnswerTopic(), {})
    expected = {"什么时候交": "time", "能在网上交吗": "channels"}
    for text, aspect in expected.items():
        convo.user(text, "ask_payment_channels")
        messages, _ = await convo.run(ActionAnswerTopic(), {})
        reply = texts(messages)
        answer = shared_kb.answer("ask_payment_channels", "长春市")
        assert reply != texts(whole) and len(reply) < len(texts(whole)) / 2, (text, reply)
        part = aspects.resolve(aspect, answer, shared_kb.answer("ask_payment_channels", None))
        assert any(item in reply for item in part.items) or say("follow_up.missing", title=answer.title,
                                                                 label=say(f"aspects.{aspect}.label"),
                                                                 where="")[:10] in reply, (text, reply)
    # The same words as a first question still get the whole answer.
    convo = Conversation()
    convo.user("长春居民医保能在网上交吗", "ask_payment_channels", [entity("city", "长春市", "长春")])
    messages, _ = await convo.run(ActionAnswerTopic(), {})
    assert len(texts(messages)) > len(texts(whole)) / 2
