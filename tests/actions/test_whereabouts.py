"""Where the resident is insured and where they go for care, as their words say.

Rasa's city entity keeps the last place named: "我是连云港的，去江门看病要备案吗" filled
the slot with 江门 and was answered from 江门's plan.
"""
from __future__ import annotations

import pytest

from actions import whereabouts
from actions.answers import ActionAnswerTopic, ActionInform
from tests.actions.conftest import NATIONAL_HOTLINE, Conversation, entity, wording

answer, inform = ActionAnswerTopic(), ActionInform()


def texts(messages) -> list[str]:
    return [line for m in messages if m.get("text") for line in m["text"].splitlines()]


def answered_city(messages) -> str | None:
    return next(m["custom"]["answer"]["city"] for m in messages if m.get("custom"))


def city_slot(events) -> list:
    return [e["value"] for e in events if e["name"] == "city"]


@pytest.mark.parametrize("text, insured, care", [
    ("我是连云港的，去江门看病要备案吗", "连云港市", "江门市"),
    ("在江门住院，我是长春的医保，能直接结算吗", "长春市", "江门市"),
    ("深圳的医保在江门能用吗", "深圳市", "江门市"),
    ("我们江门医保喺佛山住院可唔可以直接结算", "江门市", "佛山市"),
    ("在开州交了居民医保，去重庆主城看病能报不", "开州区", "重庆市"),
    # The 医保's place over "X人"; going back ("回") to 江门 is where care is, beside it.
    ("我是江门人在深圳上班，深圳交的医保回江门看病能用吗", "深圳市", "江门市"),
    ("我爸在台山，去广州看病要办什么手续", "江门市", "广州市"),  # "在台山" is not care: the clause ends
    ("我妈去年在深圳住院，现在回连云港了还能不能报", "连云港市", "深圳市"),  # "回" is going home
    ("老家是灌南的，在昆山上班", "连云港市", "昆山市"),
    ("去北京看病要备案吗", None, "北京市"),
    ("江门医保定点医院有哪些", "江门市", None),
    ("南京鼓楼医院能用医保吗", None, "南京市"),
    ("深圳医保绍兴能用吗", "深圳市", "绍兴市"),       # beside the place of insurance, the other one
    ("江苏连云港的医保在哪交", "连云港市", None),       # ... but not the province it is in
    ("前年去了深圳打工，家里的新农合还要交吗", None, "深圳市"),
    ("开州的去万州看病要备案不", "开州区", "万州区"),      # districts of 重庆 by their short names
    ("我在浦东住院，长春的医保", "长春市", "浦东新区"),
    # A strong cue beats a weak one said later; the weak one's place is then where care is.
    ("深圳交的医保，我是江门人，在江门住院能直接报吗", "深圳市", "江门市"),
    ("现在回连云港了，在深圳住院的钱还能报吗", "连云港市", "深圳市"),
    ("喺广州睇病要唔要备案", None, "广州市"),
    ("江门嘅医保喺佛山用唔用得", "江门市", "佛山市"),
    ("江门人在广州住院能报吗", "江门市", "广州市"),
    ("江门户口，去广州住院", "江门市", "广州市"),
    ("鼓楼区医保在江门能用吗", None, "江门市"),          # 鼓楼区 is in several cities: none
    ("户口在灌云，在苏州上班", "连云港市", "苏州市"),
    ("我是开平的，去广州看病要备案吗", "江门市", "广州市"),  # places inside ours are ours
    ("我在深圳买的药能报销吗，我是江门医保", "江门市", "深圳市"),  # 买的药 is no insurance
    ("在南京交了押金住院，连云港的医保能报吗", "连云港市", "南京市"),
    ("去广州买的药回来能报销吗", None, "广州市"),
    ("我在江门社保局问过了，说长春的医保不能在这用", "长春市", "江门市"),  # an office, not insurance
    ("医保一直是长春的，现在在江门住院了", "长春市", "江门市"),
    ("医保是成都嘞", "成都市", None),
    ("我们开州的娃儿在成都读书", "开州区", "成都市"),
    ("赣榆的，去青岛住院要备案吗", "连云港市", "青岛市"),
    ("切重庆看病要备案不", None, "重庆市"),              # 切 is 去 in 重庆 speech
    ("中山医保去江门住院可以吗", "中山市", "江门市"),
    ("四川达州的医保在开州能用不", "达州市", "开州区"),    # the city, not the province before it
    ("鹤山市民，去佛山住院怎么报", "江门市", "佛山市"),
    # Our places with the right sounds and the wrong characters, as speech recognition writes them.
    ("我是连运港的在苏州打工生病了住院怎么办备案", "连云港市", "苏州市"),
    ("开周区的医保在重庆主城看病报销比例低吗", "开州区", "重庆市"),
    ("江们的医保怎么交费", "江门市", None),
    ("我们一家都是正宁的，儿子在银川打工", "正宁县", "银川市"),
])

def test_roles_of_the_places_named(shared_kb, text, insured, care):
    found = whereabouts.read(text, shared_kb)
    assert (found.insured.name if found.insured else None, found.care.name if found.care else None) == (insured, care)


@pytest.mark.parametrize("text", [
    "云南白药能用医保买吗", "手机打开平台点缴费就行吗", "医保卡丢了重新会不会收费", "离开县城去市里看病能报吗",
    "吃了长春藤叶片过敏了能报吗", "北京同仁堂的药能报吗", "江苏银行能交医保吗", "中山医院能刷医保吗",
    # Words that sound like our places: 干预 (赣榆), 无意 (五邑), 泰山 (台山).
    "早期干预治疗能报销吗", "无意中发现医保卡被人用了", "爬泰山摔伤了能报吗",
])
def test_words_that_only_look_like_places(shared_kb, text):
    assert whereabouts.read(text, shared_kb).named == ()


async def test_the_place_of_insurance_not_the_last_place_named(shared_kb, domain):
    convo = Conversation()
    convo.user("我是连云港的，去江门看病要备案吗", "ask_remote_care_filing",
               [entity("city", "连云港市", "连云港"), entity("city", "江门市", "江门")])
    messages, events = await convo.run(answer, domain)
    assert answered_city(messages) == "连云港市" and city_slot(events) == ["连云港市"]
    # 江门 is in another province: the national cross-province rules that follow apply.
    assert texts(messages)[0] == wording("whereabouts.other_province").format(
        care="江门市（广东省）", province="江苏省", home="连云港市")


async def test_care_in_the_same_province_is_not_sold_as_cross_province(shared_kb, domain):
    convo = Conversation()
    convo.user("我是连云港参保的，要去南京住院，要备案吗", "ask_remote_care_filing", [entity("city", "连云港市", "连云港")])
    messages, _ = await convo.run(answer, domain)
    note = wording("whereabouts.same_province").format(care="南京市", home="连云港市", province="江苏省")
    assert texts(messages)[0] == note and "不算跨省" in note
    # What 江苏 does inside its borders is in no source: where to ask comes at the end.
    assert NATIONAL_HOTLINE not in note and NATIONAL_HOTLINE in "".join(texts(messages)[1:])
    # 重庆 is a province-level city: 开州 is in it.
    convo = Conversation()
    convo.user("在开州交了居民医保，去重庆主城看病能报不", "ask_cross_region_settlement", [entity("city", "开州区", "开州")])
    messages, _ = await convo.run(answer, domain)
    assert texts(messages)[0] == wording("whereabouts.inside_province").format(home="开州区", province="重庆市")


async def test_a_follow_up_on_the_same_question_does_not_repeat_the_note(shared_kb, domain):
    convo = Conversation()
    convo.user("我是连云港的，去江门看病要备案吗", "ask_remote_care_filing",
               [entity("city", "连云港市", "连云港"), entity("city", "江门市", "江门")])
    await convo.run(answer, domain)
    convo.user("要带啥子", "inform", [entity("aspect", "materials", "带啥子")])
    messages, _ = await convo.run(inform, domain)
    assert not any("跨省" in line and "不在" in line for line in texts(messages))
    assert answered_city(messages) == "连云港市"


async def test_the_place_of_care_alone_is_not_taken_for_the_place_of_insurance(shared_kb, domain):
    convo = Conversation()
    convo.user("去江门看病要备案吗", "ask_remote_care_filing", [entity("city", "江门市", "江门")])
    messages, events = await convo.run(answer, domain)
    assert texts(messages) == [wording("ask.city")]
    assert (("pending_topic", "ask_remote_care_filing") in [(e["name"], e["value"]) for e in events]
            and city_slot(events) == [None])
    # Told where, the answer is theirs and says what going to 江门 is.
    convo.user("/inform", "inform", [entity("city", "长春市", "长春")])
    messages, _ = await convo.run(inform, domain)
    assert answered_city(messages) == "长春市"
    assert texts(messages)[0] == wording("whereabouts.other_province").format(
        care="江门市（广东省）", province="吉林省", home="长春市")


async def said_changchun(domain) -> Conversation:
    convo = Conversation()
    convo.user("我是长春的", "inform", [entity("city", "长春市", "长春")])
    await convo.run(inform, domain)
    return convo


@pytest.mark.parametrize("between", [False, True])
async def test_a_place_said_before_stays_the_place_of_insurance(shared_kb, domain, between):
    convo = await said_changchun(domain)
    if between:
        convo.user("谢谢", "thank")   # answered by a template: no action, no slot event
    convo.user("去江门看病要备案吗", "ask_remote_care_filing", [entity("city", "江门市", "江门")])
    messages, events = await convo.run(answer, domain)
    assert answered_city(messages) == "长春市" and city_slot(events) == ["长春市"]


async def test_insured_outside_our_places_get_the_national_answer_said_once(shared_kb, domain):
    convo = Conversation()
    convo.user("深圳的医保在江门能用吗", "ask_cross_region_settlement", [entity("city", "江门市", "江门")])
    messages, events = await convo.run(answer, domain)
    lines = texts(messages)
    places = "、".join(p.name for p in shared_kb.places())
    assert lines[0] == wording("whereabouts.outside").format(place="深圳市", places=places)
    assert lines[1] == wording("whereabouts.same_province").format(care="江门市", home="深圳市", province="广东省")
    assert answered_city(messages) is None and city_slot(events) == ["深圳市"]
    # The next question is theirs too, answered nationally without the whole note again.
    convo.user("那慢性病呢", "ask_chronic_disease_outpatient")
    messages, _ = await convo.run(answer, domain)
    assert answered_city(messages) is None
    assert not any("不在我们的资料范围内" in line for line in texts(messages))
    assert texts(messages)[0] == wording("answer.national_no_place")


async def test_a_place_outside_named_only_for_care_is_not_theirs(shared_kb, domain):
    convo = Conversation()
    convo.user("去北京看病要备案吗", "ask_remote_care_filing", [entity("city", "北京市", "北京")])
    messages, _ = await convo.run(answer, domain)
    assert wording("ask.city") in texts(messages)
    assert not any("不在我们的资料范围内" in line for line in texts(messages))


async def test_a_place_outside_named_for_a_hospital_is_theirs_outside_care_topics(shared_kb, domain):
    convo = Conversation()
    convo.user("重庆肛肠医院哪家可以用医保", "ask_designated_institutions", [entity("city", "重庆市", "重庆")])
    messages, _ = await convo.run(answer, domain)
    # 开州区 is in 重庆市: how to be answered for 开州.
    assert texts(messages)[0] == wording("whereabouts.wider").format(place="重庆市", served="开州区")
    convo = Conversation()
    convo.user("北京哪家医院可以用医保", "ask_designated_institutions", [entity("city", "北京市", "北京")])
    messages, _ = await convo.run(answer, domain)
    assert texts(messages)[0].startswith("北京市不在我们的资料范围内")


async def test_a_place_the_entity_missed_is_still_read(shared_kb, domain):
    convo = Conversation()
    convo.user("南昌糖尿病报销多少", "ask_reimbursement")
    messages, events = await convo.run(answer, domain)
    assert texts(messages)[0].startswith("南昌市不在我们的资料范围内") and city_slot(events) == ["南昌市"]
    convo = Conversation()
    convo.user("东海县慢性病咋办", "ask_chronic_disease_outpatient")
    messages, _ = await convo.run(answer, domain)
    assert answered_city(messages) == "连云港市"


async def test_elders_hear_the_notes_in_short_sentences(shared_kb, domain):
    convo = Conversation(metadata={"mode": "elder"})
    convo.user("我是连云港的，去江门看病要备案吗", "ask_remote_care_filing",
               [entity("city", "连云港市", "连云港"), entity("city", "江门市", "江门")])
    messages, _ = await convo.run(answer, domain)
    note = wording("whereabouts.elder.other_province").format(care="江门市（广东省）", province="江苏省",
                                                             home="连云港市")
    assert texts(messages)[0] == note
    assert len(note) < len(wording("whereabouts.other_province").format(
        care="江门市（广东省）", province="江苏省", home="连云港市"))


async def test_a_place_outside_given_when_asked_is_not_asked_again(shared_kb, domain):
    convo = Conversation()
    convo.user("孩子刚出生怎么上医保", "ask_enrolment")
    messages, _ = await convo.run(answer, domain)
    assert texts(messages) == [wording("ask.city")]
    # The entity missed 南京: the gazetteer still reads it as the answer to the question.
    convo.user("南京", "inform")
    messages, events = await convo.run(inform, domain)
    assert texts(messages)[0].startswith("南京市不在我们的资料范围内")
    assert answered_city(messages) is None and city_slot(events) == ["南京市"]
    # A later "那长春呢" switches to 长春's own answer.
    convo.user("那长春呢", "inform", [entity("city", "长春市", "长春")])
    messages, _ = await convo.run(inform, domain)
    assert answered_city(messages) == "长春市"


async def test_a_place_in_a_story_is_not_taken_for_theirs(shared_kb, domain):
    story = "我父亲原来是单位职工，1989年退休回到原籍地重庆定居，年纪大了经常生病，没有医保卡很不方便，现在全国联网了吗"
    for entities in ([], [entity("city", "重庆市", "重庆")]):
        convo = Conversation()
        convo.user(story, "ask_cross_region_settlement", entities)
        # Rasa's normaliser hands the action full-width punctuation folded: not a second message.
        convo.latest["text"] = story.replace("，", ",").replace("？", "?")
        messages, _ = await convo.run(answer, domain)
        assert texts(messages)[-1] == wording("ask.city")
        assert not any("本地资料" in line for line in texts(messages))


async def test_our_place_inside_the_province_named_as_theirs_says_more(shared_kb, domain):
    convo = Conversation()
    convo.user("江门的，以前在广东的社保能转过来吗", "ask_transfer", [entity("city", "江门市", "江门")])
    messages, _ = await convo.run(answer, domain)
    assert answered_city(messages) == "江门市"
    assert not any("本地资料" in line for line in texts(messages))


async def test_the_prefecture_around_one_of_our_places_says_how_to_be_answered_for_it(shared_kb, domain):
    convo = Conversation()
    convo.user("我是庆阳的，合作医疗在哪交", "ask_payment_channels")
    messages, _ = await convo.run(answer, domain)
    assert texts(messages)[0] == wording("whereabouts.wider").format(place="庆阳市", served="正宁县")


async def test_where_to_ask_is_added_last_when_the_answer_names_no_hotline(shared_kb, domain):
    # The elder national filing answer names no hotline: the notes' open questions get one.
    convo = Conversation(metadata={"mode": "elder"})
    convo.user("深圳的医保，去广州看病要备案吗", "ask_remote_care_filing")
    messages, _ = await convo.run(answer, domain)
    lines = texts(messages)
    asks = [wording("whereabouts.elder.ask_outside").format(place="深圳市", hotline=NATIONAL_HOTLINE),
            wording("whereabouts.elder.ask_province").format(province="广东省", hotline=NATIONAL_HOTLINE)]
    assert [line for line in lines if line in asks] == asks
    # After the answer, before the follow-up hint, which stays last.
    assert lines.index(asks[0]) > lines.index(wording("answer.national_no_place"))
    assert lines[lines.index(asks[1]) + 1].startswith("您还可以问我")
    # In standard mode the answer's own gap names the hotline: no second line for it.
    convo = Conversation()
    convo.user("深圳的医保，去广州看病要备案吗", "ask_remote_care_filing")
    messages, _ = await convo.run(answer, domain)
    assert not any(line.startswith("在广东省内看病要不要备案") for line in texts(messages))


async def test_care_at_home_needs_no_note(shared_kb, domain):
    convo = await said_changchun(domain)
    convo.user("在长春住院要备案吗", "ask_remote_care_filing", [entity("city", "长春市", "长春")])
    messages, _ = await convo.run(answer, domain)
    assert answered_city(messages) == "长春市"
    assert not any("跨省" in line and ("不在" in line or "同在" in line) for line in texts(messages))


async def test_every_care_topic_gets_the_note(shared_kb, domain):
    # Filing, settlement, and the claim made after paying in full elsewhere.
    for topic in ("ask_remote_care_filing", "ask_cross_region_settlement", "ask_manual_reimbursement"):
        convo = Conversation()
        convo.user("我是连云港的，在南京住院了", topic, [entity("city", "连云港市", "连云港")])
        messages, _ = await convo.run(answer, domain)
        assert texts(messages)[0].startswith("南京市和连云港市同在江苏省"), topic


async def test_the_outside_note_comes_before_the_rule_for_their_situation(shared_kb, domain):
    convo = Conversation()
    convo.user("深圳的医保，去海南住院没备案，能报吗", "ask_remote_care_filing")
    messages, _ = await convo.run(answer, domain)
    lines = texts(messages)
    assert lines[0].startswith("深圳市不在我们的资料范围内")
    assert lines[1].startswith(wording("answer.rule_lead").format(text=""))


async def test_a_new_place_after_an_outside_one_is_answered_for_the_new_place(shared_kb, domain):
    convo = Conversation()
    convo.user("深圳的医保在江门能用吗", "ask_cross_region_settlement", [entity("city", "江门市", "江门")])
    await convo.run(answer, domain)
    convo.user("那长春呢", "inform")   # the entity missed it
    messages, _ = await convo.run(inform, domain)
    assert answered_city(messages) == "长春市"
    assert not any("深圳" in line for line in texts(messages))


async def test_of_two_places_no_word_assigns_the_first_named_is_theirs(shared_kb, domain):
    # Residents name their own place first; the choice does not depend on set order.
    for _ in range(3):
        convo = Conversation()
        convo.user("南昌和九江哪里报得多", "ask_reimbursement")
        messages, events = await convo.run(answer, domain)
        assert texts(messages)[0].startswith("南昌市不在我们的资料范围内") and city_slot(events) == ["南昌市"]


async def test_a_guess_by_order_does_not_override_a_place_said_before(shared_kb, domain):
    convo = await said_changchun(domain)
    convo.user("北京和上海哪个报得多", "ask_reimbursement")
    messages, _ = await convo.run(answer, domain)
    assert answered_city(messages) == "长春市"
