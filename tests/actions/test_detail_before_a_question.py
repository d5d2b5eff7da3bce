"""A detail asked before any question ("要带什么材料？"): which service is it about?"""
from __future__ import annotations

from actions import common
from actions.answers import ActionInform
from actions.common import say
from tests.actions.conftest import NATIONAL_HOTLINE, Conversation, entity, wording


async def test_a_detail_alone_offers_the_likeliest_services_keeping_the_detail_and_place(shared_kb):
    convo = Conversation(metadata={"city": "长春市"})
    ranking = [{"name": "inform", "confidence": 0.7}, {"name": "ask_chronic_disease_outpatient", "confidence": 0.2},
               {"name": "ask_remote_care_filing", "confidence": 0.1}]
    convo.user("要带什么材料", "inform", [entity("aspect", "materials", "材料")], ranking=ranking)
    messages, events = await convo.run(ActionInform(), {})
    assert messages[0]["text"] == say("ask.aspect_without_topic", label=say("aspects.materials.label"))
    buttons = messages[0]["buttons"]
    labels = common.service_topics()
    # The classifier's likeliest services first, each button asking for the materials there.
    assert [b["title"] for b in buttons[:2]] == [labels["ask_chronic_disease_outpatient"],
                                                labels["ask_remote_care_filing"]]
    assert buttons[0]["payload"] == '/ask_chronic_disease_outpatient{"city": "长春市", "aspect": "materials"}'
    assert buttons[-1]["payload"] == "/request_human"
    assert {e["name"]: e["value"] for e in events} == {"aspect": None, "city": "长春市"}


async def test_a_detail_alone_without_a_ranking_is_matched_by_its_words(shared_kb):
    convo = Conversation()
    convo.user("异地就医备案要带什么材料", "inform", [entity("aspect", "materials", "材料")],
               ranking=[{"name": "inform", "confidence": 0.9}])
    messages, _ = await convo.run(ActionInform(), {})
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert payloads[0] == '/ask_remote_care_filing{"aspect": "materials"}'


async def test_a_place_we_do_not_cover_is_said_so_and_kept_for_national_answers(shared_kb):
    convo = Conversation()
    convo.user("北京的医保", "inform", [entity("city", "北京市", "北京")],
               ranking=[{"name": "inform", "confidence": 0.9}])
    messages, events = await convo.run(ActionInform(), {})
    places = "、".join(p.name for p in shared_kb.places())
    assert messages[0]["text"].splitlines() == [
        wording("whereabouts.outside").format(places=places, place="北京市"),
        wording("whereabouts.outside_noted").format(place="北京市")]
    assert [(e["name"], e["value"]) for e in events] == [("city", "北京市")]
    # The entity may miss it: the words still say it.
    convo = Conversation()
    convo.user("我是南京的", "inform", ranking=[{"name": "inform", "confidence": 0.9}])
    messages, events = await convo.run(ActionInform(), {})
    assert messages[0]["text"].startswith("南京市不在我们的资料范围内")
    assert [(e["name"], e["value"]) for e in events] == [("city", "南京市")]
    # One of our places the entity missed is noted as such.
    convo = Conversation()
    convo.user("俺是东海县的", "inform", ranking=[{"name": "inform", "confidence": 0.9}])
    messages, events = await convo.run(ActionInform(), {})
    assert messages[0]["text"] == wording("follow_up.place_noted").format(place="连云港市")
    # A place no county or city is named so: forgotten, as before.
    convo = Conversation()
    convo.user("周庄的医保", "inform", [entity("city", "周庄", "周庄")], ranking=[{"name": "inform", "confidence": 0.9}])
    messages, events = await convo.run(ActionInform(), {})
    assert [m["text"] for m in messages] == [
        wording("follow_up.place_unknown").format(places=places, hotline=NATIONAL_HOTLINE)]
    assert [(e["name"], e["value"]) for e in events] == [("city", None)]


async def test_unclear_words_without_a_ranking_are_matched_by_their_words(shared_kb):
    convo = Conversation()
    convo.user("医保电子凭证那个事", "inform", ranking=[{"name": "inform", "confidence": 0.9}])
    messages, _ = await convo.run(ActionInform(), {})
    assert messages[0]["text"] == say("ask.what_topic")
    assert messages[0]["buttons"][0]["payload"] == "/ask_e_voucher"


async def test_nothing_to_go_on_offers_the_common_services(shared_kb):
    convo = Conversation()
    convo.user("嗯", "inform", ranking=[{"name": "inform", "confidence": 0.9}])
    messages, _ = await convo.run(ActionInform(), {})
    labels = common.service_topics()
    offered = [b["title"] for b in messages[0]["buttons"][:-1]]
    assert offered == [labels[t] for t in common.wording()["ask"]["rephrase_topics"]]
