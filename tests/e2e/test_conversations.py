"""Residents' conversations through the running gateway, model and action server."""
from __future__ import annotations

import uuid

import pytest

from actions.common import say
from tests.actions.test_aspects import expected_source
from tests.e2e.conftest import Resident, get_json

pytestmark = pytest.mark.stack


def resident(gateway: str, **kw) -> Resident:
    return Resident(gateway, f"e2e-{uuid.uuid4().hex[:8]}", **kw)


def test_health_reports_every_part(gateway):
    status, body = get_json(f"{gateway}/health")
    assert status == 200 and body == {"status": "ok", "rasa": "ok", "actions": "ok"}


def test_place_given_first_is_used_for_the_question(gateway):
    r = resident(gateway)
    r.say("你好")
    r.say("我在长春")
    reply = r.say("异地就医备案咋整啊")
    text = Resident.text(reply)
    assert "依据：" in text and "您是在哪里参保的" not in text
    assert reply["handoff"] is None


def test_the_bot_asks_for_the_place_then_answers_without_repeating(gateway):
    r = resident(gateway)
    first = r.say("我妈高血压 能不能办门诊慢特病")
    assert "您是在哪里参保的" in Resident.text(first)
    titles = [b["title"] for b in first["replies"][-1]["buttons"]]
    assert "正宁县" in titles
    button = next(b for b in first["replies"][-1]["buttons"] if b["title"] == "正宁县")
    answer = Resident.text(r.say(button["payload"]))
    assert "慢特病" in answer and "依据：" in answer


def test_follow_ups_refine_the_same_topic(gateway):
    r = resident(gateway, city="开州区")
    r.say("怎么办理异地就医备案")
    for follow_up in ("那需要带什么材料", "在哪里办"):
        text = Resident.text(r.say(follow_up))
        assert "依据：" in text or "12393" in text, follow_up


def test_elder_mode_answers_briefly_and_repeats(gateway):
    standard = Resident.text(resident(gateway, city="江门市").say("医保电子凭证怎么激活"))
    elder_resident = resident(gateway, city="江门市", mode="elder")
    elder = Resident.text(elder_resident.say("医保电子凭证怎么激活"))
    assert len(elder) < len(standard)
    assert Resident.text(elder_resident.say("再说一遍")) == elder


def test_plan_figures_come_with_their_year(gateway):
    text = Resident.text(resident(gateway, city="正宁县").say("正宁县居民门诊慢特病有多少种"))
    assert "52" in text and "2020" in text


def test_asking_for_a_person_gives_a_ticket(gateway):
    reply = resident(gateway, city="连云港市").say("我要转人工")
    assert reply["handoff"]["hotline"] == "12393"
    assert reply["handoff"]["ticket"] in Resident.text(reply)


def test_out_of_scope_is_not_answered_as_medical_insurance(gateway):
    text = Resident.text(resident(gateway).say("我的公积金怎么提取"))
    assert "12345" in text and "依据：" not in text


def test_traditional_and_full_width_input(gateway):
    text = Resident.text(resident(gateway, city="长春市").say("異地就醫備案怎麼辦理"))
    assert "依据：" in text


# ---------------------------------------------------------------- real phrasing (issues 10 and 11)
#
# These depend on the NLU model understanding residents' own words; expected content
# is read from the knowledge base (the same files the stack loads), never written here.

def answered(reply: dict) -> dict:
    """The answer payload (topic, city, entry, sources) of a reply, or {}."""
    return next((r["meta"] for r in reply["replies"] if r.get("meta")), {})


def answered_topic(reply: dict) -> str | None:
    return answered(reply).get("topic")


def test_place_and_question_in_one_message_answers_it_for_that_place(gateway, kb):
    reply = resident(gateway).say("正宁县的居民医保在哪交")
    text = Resident.text(reply)
    assert say("follow_up.place_noted", place="正宁县") not in text
    assert answered_topic(reply) == "ask_payment_channels"
    _, source, channels = expected_source(kb, "ask_payment_channels", "正宁县", "channels")
    assert all(c in text for c in channels) and f"依据：{source.source.short}" in text


def test_a_place_question_typed_the_old_way_is_answered(gateway):
    reply = resident(gateway).say("在开州，门诊慢特病咋个申请")
    assert answered_topic(reply) == "ask_chronic_disease_outpatient"
    assert answered(reply)["city"] == "开州区" and "依据：" in Resident.text(reply)


FOLLOW_UPS = [
    ("materials", "要带啥子"),
    ("channels", "在哪办"),
    ("steps", "流程是啥"),
    ("eligibility", "谁能办"),
    ("time", "多久能办好"),
    ("offline", "不用手机怎么办"),
    ("proxy", "必须本人去吗"),
    ("proxy", "能不能代办"),
]


@pytest.mark.parametrize("aspect,text", FOLLOW_UPS)
def test_each_follow_up_answers_its_aspect_for_the_current_topic(gateway, kb, aspect, text):
    r = resident(gateway, city="长春市")
    assert answered_topic(r.say("门诊慢特病咋申请")) == "ask_chronic_disease_outpatient"
    reply = Resident.text(r.say(text))
    local, source, items = expected_source(kb, "ask_chronic_disease_outpatient", "长春市", aspect)
    if source is None:
        assert say(f"aspects.{aspect}.label") in reply and "12393" in reply, reply
    else:
        assert all(i in reply for i in items) and f"依据：{source.source.short}" in reply, reply
    if aspect != "time":
        assert say("aspects.time.label") not in reply, "answered with 办理时限 instead"


def test_next_step_in_elder_mode_reads_one_step_at_a_time(gateway, kb):
    r = resident(gateway, city="正宁县", mode="elder")
    r.say("异地就医备案咋弄")
    _, _, steps = expected_source(kb, "ask_remote_care_filing", "正宁县", "steps")
    reply = Resident.text(r.say("下一步"))
    assert say("elder.step", n=2, step=steps[1]) in reply


@pytest.mark.parametrize("text,aspect", [
    ("俺不会弄手机 还有啥别的法子", "offline"),
    ("可以让我儿子帮我去办不", "proxy"),
    ("要带咩材料啊", "materials"),
])
def test_dialect_follow_ups(gateway, kb, text, aspect):
    r = resident(gateway, city="江门市")
    r.say("异地就医备案点样办")
    reply = Resident.text(r.say(text))
    _, source, items = expected_source(kb, "ask_remote_care_filing", "江门市", aspect)
    if source is None:
        assert say(f"aspects.{aspect}.label") in reply, reply
    else:
        assert all(i in reply for i in items), reply


def test_a_long_story_is_answered_from_its_last_question(gateway):
    story = ("我是连云港市海州区的，今年六十八了，老伴前年查出来糖尿病，一直在社区医院拿药，"
             "每个月光买药就要好几百块钱，孩子们都在外地打工，家里就我们两个老的。"
             "听邻居说有个门诊慢性病可以多报销一点，我们也不知道从哪下手，"
             "请问门诊慢特病怎么申请？")
    reply = resident(gateway).say(story)
    assert answered_topic(reply) == "ask_chronic_disease_outpatient"
    assert answered(reply)["city"] == "连云港市"


def test_a_story_of_care_without_filing_opens_with_the_late_filing_rule(gateway):
    # Read as 备案, 手工报销 or 报销 alike, the answer starts with what the rule allows.
    story = ("我在开州参保，我妈上个月去广东我哥那儿，摔了一跤住进医院，走得急没来得及备案，"
             "现在还没出院，这个钱咋个报？")
    reply = resident(gateway).say(story)
    data = answered(reply)
    assert data["city"] == "开州区"
    assert data["sources"][0]["entry_id"] == "national.fact.filing_late", data
    first = data["lines"][0]["text"]
    assert first.startswith(say("answer.rule_lead", text="")) and "出院结算前补办" in first
    assert data["lines"][1]["source"] == 0


def test_not_understood_offers_topics_then_hands_off(gateway):
    # A resident writing in Korean (长春 is in Jilin, home of the Yanbian Koreans): the
    # model knows none of it. (Emoji alone never reach it: the gateway answers them
    # with the topic menu. Unrelated Chinese phrases such as "区块链挖矿算力" are
    # answered as out of scope, vague words as "inform".)
    r = resident(gateway, city="长春市")
    first = r.say("의료보험 어떻게 신청해요")
    buttons = [b for rep in first["replies"] for b in rep.get("buttons") or []]
    assert first["handoff"] is None and any(b["payload"] == "/request_human" for b in buttons), first
    second = r.say("도와주세요")
    assert second["handoff"] and second["handoff"]["ticket"] in Resident.text(second), second


def test_vague_words_after_an_answer_ask_which_detail(gateway):
    r = resident(gateway, city="长春市")
    r.say("门诊慢特病咋申请")
    reply = r.say("那个啥")
    buttons = [b for rep in reply["replies"] for b in rep.get("buttons") or []]
    assert any(b["payload"].startswith('/inform{"aspect"') for b in buttons), reply
