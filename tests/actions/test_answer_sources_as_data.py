"""The sources of an answer travel as data: every field a channel shows or reads out."""
from __future__ import annotations

from actions.answers import ActionAnswerTopic
from tests.actions.conftest import Conversation, entity


async def test_the_answer_data_carries_each_cited_source_in_full(shared_kb):
    local = shared_kb.answer("ask_chronic_disease_outpatient", "长春市")
    convo = Conversation(metadata={"city": "长春市"})
    convo.user("长春门诊慢特病怎么申请", "ask_chronic_disease_outpatient", [entity("city", "长春市", "长春")])
    messages, _ = await convo.run(ActionAnswerTopic(), {})
    sources = next(m["custom"]["answer"] for m in messages if m.get("custom"))["sources"]
    own = next(s for s in sources if s["entry_id"] == local.id)
    src = local.source
    assert own == {"scope": "local", "entry_id": local.id, "short": src.short, "document": src.document,
                   "section": src.section, "quote": src.quote, "as_of": src.as_of, "doc_no": src.doc_no,
                   "date": src.date}
    assert src.document and src.short
