"""Full answers: the place's entry, completed by the national procedure for what it
lacks, each part under its own source line — in standard and elder mode."""
from __future__ import annotations

import dataclasses

import pytest

from actions import common
from actions.answers import ActionAnswerTopic, ActionInform, compose
from actions.common import Context, say
from knowledge.schema import UNSTATED, Source
from knowledge.store import Answer
from tests.actions.conftest import KEY_TOPICS, Conversation, assert_brief_said, entity
from tests.actions.test_aspects import QUESTIONS, expected_source, texts


def hint(aspect_names) -> str:
    return say("answer.follow_up_hint", questions="".join(
        say("answer.hint_item", label=say(f"aspects.{a}.label")) for a in aspect_names))


def source_line(answer) -> str:
    return say("answer.source_line", source=answer.source.short)


@pytest.mark.parametrize("topic", KEY_TOPICS)
async def test_standard_answer_completes_the_local_entry_with_the_national_procedure(shared_kb, topic):
    kb = shared_kb
    for place in kb.places():
        convo = Conversation(metadata={"city": place.name})
        convo.user(QUESTIONS[topic], topic)
        reply = texts((await convo.run(ActionAnswerTopic(), {}))[0])
        local = kb.answer(topic, place.name)
        assert local.answer in reply and source_line(local) in reply
        local_end = reply.index(source_line(local))
        missing, offered = [], []
        for aspect in ("steps", "channels", "materials", "eligibility", "time", "offline", "proxy"):
            _, source, items = expected_source(kb, topic, place.name, aspect)
            case = (place.name, topic, aspect, reply)
            if source is None:
                missing.append(aspect)
                continue
            if aspect in ("offline", "proxy"):
                # Offered as follow-ups, not spelled out.
                offered.append(aspect)
                assert say(f"aspects.{aspect}.short") not in reply, case
                continue
            for item in items:
                assert item in reply, case
            heading = reply.index(say(f"aspects.{aspect}.short"))
            if source == local:
                assert heading < local_end, case
            else:
                # National parts follow the local source line, under the national one.
                national_start = reply.index(say("answer.national_procedure"))
                assert local_end < national_start < heading < reply.index(source_line(source)), case
        core_missing = [a for a in missing if a in ("steps", "channels", "materials")]
        if core_missing and "steps" not in missing:
            labels = common.join(say(f"aspects.{a}.label") for a in core_missing)
            # After a gap, which names where to ask, the line adds no second number.
            expected = (say("answer.missing_after_gap", labels=labels) if local.gap else
                        say("answer.missing", labels=labels, where=common.where_to_ask(kb, place, topic)))
            lines = reply.split("\n")
            assert expected in lines, reply
            assert not local.gap or lines.index(expected) == lines.index(local.gap) + 1, reply
        else:
            assert "资料里没有写明：" not in reply and "资料里也没有写明：" not in reply
        assert hint(offered) in reply if offered else say("answer.follow_up_hint", questions="")[:6] not in reply


@pytest.mark.parametrize("topic", KEY_TOPICS)
async def test_elder_answer_is_brief_but_names_the_first_step_and_where(shared_kb, topic):
    kb = shared_kb
    for place in kb.places():
        convo = Conversation(metadata={"city": place.name, "mode": "elder"})
        convo.user(QUESTIONS[topic], topic)
        messages = (await convo.run(ActionAnswerTopic(), {}))[0]
        reply = texts(messages)
        # The answer itself: related topics may follow it as buttons.
        answer_text = next(m["text"] for m, after in zip(messages, messages[1:])
                           if (after.get("custom") or {}).get("answer"))
        local = kb.answer(topic, place.name)
        case = (place.name, topic, reply)
        assert_brief_said(local, reply)
        assert source_line(local) in reply, case
        assert say("aspects.steps.short") not in reply, case
        _, step_source, steps = expected_source(kb, topic, place.name, "steps")
        _, channel_source, channels = expected_source(kb, topic, place.name, "channels")
        if steps:
            assert say("elder.first_step", step=steps[0]) in reply, case
            assert all(s not in reply for s in steps[1:] if s not in steps[0]), case
        if channels:
            assert any(c in reply for c in channels), case
        used_national = [s for s in (step_source, channel_source) if s is not None and s != local]
        for national in used_national:
            assert say("elder.national_part") in reply and source_line(national) in reply, case
        offered = [a for a in ("materials", "eligibility", "time", "offline", "proxy")
                   if expected_source(kb, topic, place.name, a)[1] is not None]
        if offered:
            assert answer_text.endswith(hint(offered)), case
        for aspect in ("materials", "time"):
            assert say(f"aspects.{aspect}.short") not in reply, case


def _entry(**fields) -> Answer:
    base = dict(id="x.filing", topic="ask_remote_care_filing", title="异地就医备案", answer="本地说明。",
                brief="本地简要说明。", steps=(), channels=(), materials=(), applies_to=(), handoff=False,
                source=Source("本地规划", "一、", "引文", 2020), place="长春市", scope="local")
    base.update(fields)
    return Answer(**base)


@pytest.mark.parametrize("mode", ["standard", "elder"])
def test_local_entry_with_only_a_hotline_does_not_hide_the_national_channels(mode):
    """长春's filing entry named only 12393: the resident must still learn of the app."""
    local = _entry(channels=("12393医保服务热线",))
    national = _entry(id="national.filing", scope="national", steps=("先确定备案类型", "在APP提交"),
                      channels=("国家医保服务平台APP", "参保地医保经办机构窗口"),
                      materials=("有效身份证件",), source=Source("医保发〔2022〕22号", "二、", "引文", None))
    ctx = Context(place=None, place_text=None, mode=mode, channel="web", person_type=None, text="")
    reply = compose(local, ctx, [], national, where="请拨打12393。")
    assert "国家医保服务平台APP" in reply and "先确定备案类型" in reply
    assert reply.index(source_line(local)) < reply.index("国家医保服务平台APP") < reply.index(source_line(national))
    if mode == "elder":
        assert "在APP提交" not in reply and say("elder.more_steps") in reply
    else:
        assert "有效身份证件" in reply and "在APP提交" in reply
    # Without the national entry nothing is invented: the missing parts are named.
    alone = compose(dataclasses.replace(local, steps=("本地第一步",)), ctx, [], None, where="请拨打12393。")
    if mode == "standard":
        labels = common.join(say(f"aspects.{a}.label") for a in ("channels", "materials"))
        assert say("answer.missing", labels=labels, where="请拨打12393。") in alone


def test_what_the_plan_leaves_out_comes_after_the_national_procedure():
    """The hotline is the last resort: first what the national procedure can tell."""
    gap = "本地有没有不同的要求，规划没有写明，请拨打12393。"
    local = _entry(channels=("12393医保服务热线",), gap=gap)
    national = _entry(id="national.filing", scope="national", steps=("先确定备案类型", "在APP提交"),
                      channels=("国家医保服务平台APP",), source=Source("医保发〔2022〕22号", "二、", "引文", None))
    ctx = Context(place=None, place_text=None, mode="standard", channel="web", person_type=None, text="")
    reply = compose(local, ctx, [], national, where="请拨打12393。")
    assert reply.index(local.answer) < reply.index("先确定备案类型") < reply.index(source_line(national)) \
        < reply.index(gap)
    # With nothing national to add, it follows the place's own source line.
    alone = compose(local, ctx, [], None)
    assert alone.index(source_line(local)) < alone.index(gap)
    # Elder mode keeps to the brief, which says where to ask in its own short words.
    assert gap not in compose(local, dataclasses.replace(ctx, mode="elder"), [], national)


def test_elder_mode_says_the_hotline_after_the_answers_own_first_step():
    """A national answer where the place has none: "请打12393" after what to do first."""
    answer = _entry(id="national.transfer", scope="national", brief="先在新地方参保。",
                    brief_gap="不清楚的，请打12393。", steps=("在转入地参保", "申请转移"),
                    gap="当地的具体要求，请拨打12393。")
    ctx = Context(place=None, place_text=None, mode="elder", channel="web", person_type=None, text="")
    reply = compose(answer, ctx, [], None)
    assert reply.index("先在新地方参保。") < reply.index("在转入地参保") < reply.index("不清楚的，请打12393。")
    assert reply.index(say("elder.source_line", source=answer.source.short)) < reply.index("不清楚的，请打12393。")
    # With no steps to say, the brief's gap still comes last, as a full answer's gap does.
    alone = compose(dataclasses.replace(answer, steps=()), ctx, [], None).split("\n")
    assert alone[-1] == "不清楚的，请打12393。" and alone.index("先在新地方参保。") < len(alone) - 2
    assert answer.gap not in "\n".join(alone)  # elder mode says the brief's own words
    # Where calling is the way itself (a complaint: the entry leaves nothing out), it leads.
    complaint = _entry(id="national.complain", scope="national", brief="不满意，请打12393。我可以帮您转人工。",
                       steps=("说明参保地和事情经过",))
    reply = compose(complaint, ctx, [], None)
    assert reply.index("不满意，请打12393。") < reply.index("说明参保地和事情经过")


async def test_every_gap_is_said_last_in_the_real_answers(shared_kb):
    """Local entries, and the national ones a place without its own entry gets."""
    kb = shared_kb
    said, national = 0, 0
    for place in kb.places():
        for entry in kb.entries_for_place(place.name):
            if not entry.gap:
                continue
            national += entry.scope == "national"
            convo = Conversation(metadata={"city": place.name})
            convo.user("请问一下", entry.topic)   # no detail named: the full answer
            reply = texts((await convo.run(ActionAnswerTopic(), {}))[0])
            case = (entry.id, reply)
            assert entry.gap in reply, case
            # Every citation, the national one included, comes before it.
            assert reply.rindex("依据：") < reply.index(entry.gap), case
            said += 1
    assert said >= 80 and national >= 10


async def test_elder_answers_say_what_the_plan_leaves_out_after_every_citation(shared_kb):
    """"现在怎么备案、带什么材料，规划没写" before "第一步…" told an elder there is no way:
    in elder mode too, the gap and where to ask come after what can be told."""
    kb = shared_kb
    said = 0
    for place in kb.places():
        for entry in kb.entries_for_place(place.name):
            if not entry.gap:
                continue
            convo = Conversation(metadata={"city": place.name, "mode": "elder"})
            convo.user("请问一下", entry.topic)
            reply = texts((await convo.run(ActionAnswerTopic(), {}))[0])
            lines = reply.split("\n")
            last_source = max(i for i, line in enumerate(lines) if line.startswith(say("elder.source_line", source="")))
            told_missing = [i for i, line in enumerate(lines) if UNSTATED.search(line)]
            if entry.brief_gap:
                told_missing.append(lines.index(entry.brief_gap.split("\n")[0]))
            assert all(i > last_source for i in told_missing), (entry.id, reply)
            said += bool(told_missing)
    assert said >= 80


async def test_place_and_question_in_one_message_answers_that_question_there(shared_kb):
    """"正宁县的居民医保在哪交": the channels for 正宁县, not "好的，记下了"."""
    kb = shared_kb
    convo = Conversation()
    text = "正宁县的居民医保在哪交"
    convo.user(text, "ask_payment_channels", [entity("city", "正宁县"), entity("person_type", "居民")])
    reply = texts((await convo.run(ActionAnswerTopic(), {}))[0])
    local, source, channels = expected_source(kb, "ask_payment_channels", "正宁县", "channels")
    assert reply.startswith(say("answer.aspect_title", place="正宁县", title=local.title))
    assert all(c in reply for c in channels) and source_line(source) in reply
    assert say("follow_up.place_noted", place="正宁县") not in reply
    assert convo.slots["topic"] == "ask_payment_channels" and convo.slots["city"] == "正宁县"


async def test_a_new_place_with_an_aspect_answers_the_aspect_for_the_new_place(shared_kb):
    kb = shared_kb
    convo = Conversation()
    convo.user("门诊慢特病怎么办", "ask_chronic_disease_outpatient", [entity("city", "开州区", "开州")])
    await convo.run(ActionAnswerTopic(), {})
    convo.user("那在正宁县要带什么材料", "inform", [entity("city", "正宁县"), entity("aspect", "materials", "材料")])
    reply = texts((await convo.run(ActionInform(), {}))[0])
    local, source, materials = expected_source(kb, "ask_chronic_disease_outpatient", "正宁县", "materials")
    assert reply.startswith(say("answer.aspect_title", place="正宁县", title=local.title))
    if source is None:
        assert say("aspects.materials.label") in reply
    else:
        assert all(m in reply for m in materials) and source_line(source) in reply
    assert convo.slots["city"] == "正宁县"


async def test_an_aspect_asked_before_the_place_is_answered_once_the_place_is_known(shared_kb):
    kb = shared_kb
    convo = Conversation()
    convo.user("异地就医备案要带什么材料", "ask_remote_care_filing", [entity("aspect", "materials", "材料")])
    first = texts((await convo.run(ActionAnswerTopic(), {}))[0])
    assert first == say("ask.city") and convo.slots["aspect"] == "materials"
    convo.user("长春", "inform", [entity("city", "长春市", "长春")])
    reply = texts((await convo.run(ActionInform(), {}))[0])
    _, source, materials = expected_source(kb, "ask_remote_care_filing", "长春市", "materials")
    if source is not None:
        assert all(m in reply for m in materials)
    title = kb.answer("ask_remote_care_filing", "长春市").title
    assert say("aspects.materials.label") in reply or say("aspects.materials.heading", title=title) in reply
    assert convo.slots["aspect"] is None and convo.slots["pending_topic"] is None


async def test_an_aspect_without_a_topic_offers_topics_that_keep_place_and_aspect(shared_kb):
    convo = Conversation(metadata={"city": "江门市"})
    ranking = [{"name": "inform", "confidence": 0.7}, {"name": "ask_chronic_disease_outpatient", "confidence": 0.2},
               {"name": "greet", "confidence": 0.1}]
    convo.user("慢性病要带什么材料", "inform", [entity("aspect", "materials", "材料")], ranking=ranking)
    messages, _ = await convo.run(ActionInform(), {})
    buttons = messages[-1]["buttons"]
    assert buttons[0]["title"] == common.service_topics()["ask_chronic_disease_outpatient"]
    assert buttons[0]["payload"] == '/ask_chronic_disease_outpatient{"city": "江门市", "aspect": "materials"}'
    assert say("aspects.materials.label") in messages[-1]["text"]


async def test_a_first_question_about_a_detail_no_source_gives_still_gets_the_answer(shared_kb):
    """Asked "…能代办吗" where no source covers proxies: say so, then all we do know."""
    kb = shared_kb
    for topic in KEY_TOPICS:
        for place in kb.places():
            local, source, _ = expected_source(kb, topic, place.name, "proxy")
            if source is not None:
                continue
            convo = Conversation(metadata={"city": place.name})
            convo.user(f"{QUESTIONS[topic]} 能代办吗", topic, [entity("aspect", "proxy", "能代办吗")])
            reply = texts((await convo.run(ActionAnswerTopic(), {}))[0])
            where = common.where_to_ask(kb, place, topic)
            assert reply.startswith(say("follow_up.missing", title=local.title,
                                        label=say("aspects.proxy.label"), where=where))
            assert local.answer in reply and source_line(local) in reply


@pytest.mark.parametrize("mode", ["standard", "elder"])
async def test_the_answer_payload_lists_exactly_the_sources_the_text_cites(shared_kb, mode):
    """Channels render sources from data (issue 14.1), so data and text must agree."""
    kb = shared_kb
    for topic in KEY_TOPICS:
        for place in kb.places():
            for follow in (None, "materials", "proxy"):
                convo = Conversation(metadata={"city": place.name, "mode": mode})
                convo.user(QUESTIONS[topic], topic)
                messages, _ = await convo.run(ActionAnswerTopic(), {})
                if follow:
                    convo.user("…", "inform", [entity("aspect", follow, "…")])
                    messages, _ = await convo.run(ActionInform(), {})
                    if not any(m.get("custom") for m in messages):
                        continue
                at = next(i for i, m in enumerate(messages) if (m.get("custom") or {}).get("answer"))
                payload, text = messages[at]["custom"]["answer"], messages[at - 1]["text"]
                cited = [line[len("依据："):] for line in text.splitlines() if line.startswith("依据：")]
                assert [s["short"] for s in payload["sources"]] == cited, (place.name, topic, follow)
                assert payload["aspect"] == follow
                # The lines are the text, and the action itself marks which line cites which source.
                assert "\n".join(line["text"] for line in payload["lines"]) == text
                marked = [(line["text"], line["source"]) for line in payload["lines"] if "source" in line]
                assert [i for _, i in marked] == list(range(len(payload["sources"]))), (place.name, topic, follow)
                for (line, _), s in zip(marked, payload["sources"]):
                    assert line in {say(k, source=s["short"]) for k in ("answer.source_line", "elder.source_line")}


async def test_unclear_words_after_an_answer_ask_which_detail_instead_of_repeating(shared_kb):
    kb = shared_kb
    convo = Conversation(metadata={"city": "长春市"})
    convo.user(QUESTIONS["ask_enrolment"], "ask_enrolment")
    first = texts((await convo.run(ActionAnswerTopic(), {}))[0])
    convo.user("么么哒 嘿嘿", "inform")      # the classifier's "inform" with nothing in it
    messages, _ = await convo.run(ActionInform(), {})
    local = kb.answer("ask_enrolment", "长春市")
    assert messages[0]["text"] == say("ask.which_detail", title=local.title) and first not in texts(messages)
    offered = [a for a in ("steps", "channels", "materials", "eligibility", "time", "offline", "proxy")
               if expected_source(kb, "ask_enrolment", "长春市", a)[1] is not None]
    buttons = messages[0]["buttons"]
    assert [b["title"] for b in buttons[:-1]] == [say(f"aspects.{a}.label") for a in offered]
    assert buttons[0]["payload"] == f'/inform{{"aspect": "{offered[0]}"}}'
    assert buttons[-1]["payload"] == "/request_human"


async def test_unclear_words_before_any_question_offer_the_likeliest_topics(shared_kb):
    convo = Conversation(metadata={"city": "江门市"})
    ranking = [{"name": "inform", "confidence": 0.6}, {"name": "ask_e_voucher", "confidence": 0.2},
               {"name": "ask_transfer", "confidence": 0.1}]
    convo.user("那个码的事儿来着", "inform", ranking=ranking)
    messages, _ = await convo.run(ActionInform(), {})
    assert messages[0]["text"] == say("ask.what_topic")
    titles = [b["title"] for b in messages[0]["buttons"]]
    assert titles[:2] == [common.service_topics()["ask_e_voucher"], common.service_topics()["ask_transfer"]]
    assert messages[0]["buttons"][0]["payload"] == '/ask_e_voucher{"city": "江门市"}'


async def test_a_place_alone_is_noted_with_the_likeliest_topics_for_that_place(shared_kb):
    convo = Conversation()
    ranking = [{"name": "inform", "confidence": 0.8}, {"name": "ask_enrolment", "confidence": 0.1},
               {"name": "ask_payment_channels", "confidence": 0.05}]
    convo.user("正宁县的居民医保", "inform", [entity("city", "正宁县")], ranking=ranking)
    messages, _ = await convo.run(ActionInform(), {})
    assert messages[0]["text"] == say("follow_up.place_noted", place="正宁县")
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert payloads[:2] == ['/ask_enrolment{"city": "正宁县"}', '/ask_payment_channels{"city": "正宁县"}']
    assert convo.slots["city"] == "正宁县"
