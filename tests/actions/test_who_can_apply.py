""""谁能办" where no source states eligibility: the groups the entry applies to, cited."""
from __future__ import annotations

import dataclasses

import pytest

from actions import common
from actions.answers import ActionAnswerTopic, ActionInform
from actions.aspects import resolve
from actions.common import join, say
from hotline.models import create_schema
from knowledge.db import make_engine, make_session_factory
from knowledge.loader import load
from knowledge.store import KnowledgeStore
from tests.actions.conftest import Conversation, entity

PLACE, TOPIC = "连云港市", "ask_maternity"


@pytest.fixture
def kb_without_eligibility(content, sqlite_url, monkeypatch):
    """The real content with every eligibility rule for 生育保险 removed, local and
    national alike: the case of an entry that names its groups and nothing else, which
    real content can reach again whenever a topic has no eligibility rule yet."""
    def strip(place):
        entries = [dataclasses.replace(e, eligibility=()) if e.topic == TOPIC else e for e in place.entries]
        return dataclasses.replace(place, entries=entries)

    engine = make_engine(sqlite_url)
    load(engine, [strip(place) for place in content])
    create_schema(engine)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    common.resources.restart()
    yield KnowledgeStore(make_session_factory(engine))
    common.resources.stop()
    engine.dispose()


async def test_who_can_apply_names_the_groups_the_entry_covers_with_its_source(kb_without_eligibility):
    local = kb_without_eligibility.answer(TOPIC, PLACE)
    national = kb_without_eligibility.answer(TOPIC, None)
    assert local.scope == "local" and local.applies_to and resolve("eligibility", local, national).missing
    convo = Conversation(metadata={"city": PLACE})
    convo.user("连云港生育津贴怎么领", TOPIC, [entity("city", PLACE, "连云港")])
    await convo.run(ActionAnswerTopic(), {})
    convo.user("谁能办", "inform", [entity("aspect", "eligibility", "谁能办")])
    messages, _ = await convo.run(ActionInform(), {})
    lines = messages[0]["text"].splitlines()
    assert lines == [say("follow_up.eligibility_people", title=local.title, people=join(local.applies_to)),
                     say("answer.source_line", source=local.source.short)]
