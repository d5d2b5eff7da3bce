"""What a hand-off gives the resident and the staff beyond the number: the place's own
channels, the details on the ticket, the unanswered-question log, and a reply when
the database is down."""
from __future__ import annotations

from actions import common
from actions.common import resources, say
from actions.handoff import ActionHandoff
from hotline import tickets
from tests.actions.conftest import NATIONAL_HOTLINE, Conversation, entity, wording


def handoff_payload(messages) -> dict | None:
    return next((m["custom"]["handoff"] for m in messages if (m.get("custom") or {}).get("handoff")), None)


async def test_the_place_own_channels_are_offered_besides_the_hotline(action_db, domain):
    local = common.store().answer("ask_service_channels", "长春市")
    assert local.scope == "local" and local.channels  # the content this test relies on
    expected = say("handoff.alternatives", channels=common.join(local.channels))
    convo = Conversation(metadata={"city": "长春市"})
    convo.user("转人工", "request_human")
    messages, _ = await convo.run(ActionHandoff(), domain)
    assert expected in messages[0]["text"].splitlines()
    # Read aloud to an older resident, the number alone: no list of channels.
    elder = Conversation(sender="elder-1", metadata={"city": "长春市", "mode": "elder"})
    elder.user("转人工", "request_human")
    spoken, _ = await elder.run(ActionHandoff(), domain)
    assert expected not in spoken[0]["text"]


async def test_the_ticket_and_the_log_carry_the_place_the_topic_and_the_details(action_db, domain):
    convo = Conversation(metadata={"channel": "wechat"})
    convo.user("江门退休人员异地就医备案要什么", "ask_remote_care_filing",
               [entity("city", "江门市", "江门"), entity("person_type", "retiree", "退休人员")])
    convo.slots["topic"] = "ask_remote_care_filing"
    convo.user("我要找人工", "request_human")
    messages, _ = await convo.run(ActionHandoff(), domain)
    ticket = tickets.get_by_code(resources.sessions, handoff_payload(messages)["ticket"])
    assert (ticket.place, ticket.topic, ticket.channel) == ("江门市", "ask_remote_care_filing", "wechat")
    assert ticket.slots == {"city": "江门市", "person_type": "retiree", "topic": "ask_remote_care_filing"}
    logged = tickets.unanswered_summary(resources.sessions)
    assert [(g.topic, g.place, g.by_reason) for g in logged.groups] == [
        ("ask_remote_care_filing", "江门市", {"handoff": 1})]
    assert logged.groups[0].examples == ["我要找人工"]  # what was said when asking for a person


async def test_with_the_database_down_the_resident_still_gets_the_number(convo, domain):
    # The action server started against a database that does not answer.
    resources.restart("postgresql://nobody@127.0.0.1:1/none")
    try:
        convo.user("转人工", "request_human", metadata={"channel": "web"})
        messages, events = await convo.run(ActionHandoff(), domain)
    finally:
        resources.stop()
    lines = messages[0]["text"].splitlines()
    assert lines[0] == wording("handoff.intro").format(name="医保服务热线", hotline=NATIONAL_HOTLINE)
    assert say("handoff.no_ticket") in lines
    assert handoff_payload(messages) is None and events[0]["name"] == "last_answer"
