"""The shared pipeline: masking first, empty/long text, rate limit, conversion."""
from __future__ import annotations

import logging

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from bot.chat import cap_length, convert, has_content, reply_lines
from tests.bot.conftest import hold_rate_window

ID_CARD = "320706199001011234"
MOBILE = "13912345678"


async def test_personal_numbers_never_reach_rasa_or_logs(client, rasa_stub, caplog):
    _, state = rasa_stub
    caplog.set_level(logging.DEBUG)
    text = f"我的身份证{ID_CARD}，手机 {MOBILE}，全角１３９１２３４５６７８，异地怎么备案"
    resp = await client.post("/api/chat", json={"sender": "p1", "text": text})
    data = await resp.json()
    sent = state.requests[-1]["message"]
    assert ID_CARD not in sent and MOBILE not in sent and "[身份证号]" in sent and "[手机号]" in sent
    assert "13912345678" not in sent  # the full-width copy was folded, then masked
    assert data["replies"][0].get("notice") is True
    assert "隐去" in data["replies"][0]["text"]
    assert ID_CARD not in caplog.text and MOBILE not in caplog.text


async def test_empty_or_emoji_only_text_gets_a_prompt_without_rasa(client, rasa_stub):
    _, state = rasa_stub
    for text in ["", "   ", "😀😀👍", "？？！"]:
        resp = await client.post("/api/chat", json={"sender": "p2", "text": text})
        data = await resp.json()
        assert resp.status == 200
        assert data["replies"][-1]["buttons"][0]["title"] == "异地就医备案"
    assert state.requests == []


async def test_long_text_is_capped_with_a_polite_notice(make_client, settings, rasa_stub):
    _, state = rasa_stub
    client = await make_client(settings, max_text_chars=50)
    text = "我想问一下异地就医备案怎么办理。" + "然后我还想说说家里的情况，" * 20
    data = await (await client.post("/api/chat", json={"sender": "p3", "text": text})).json()
    sent = state.requests[-1]["message"]
    assert len(sent) <= 50 and sent.startswith("我想问一下异地就医备案怎么办理")
    assert any("比较长" in r["text"] for r in data["replies"])


async def test_rate_limit_is_per_session_and_polite(make_client, settings, rasa_stub):
    _, state = rasa_stub
    client = await make_client(settings, rate_limit_per_minute=3)
    hold_rate_window(client)
    texts = []
    for _ in range(5):
        data = await (await client.post("/api/chat", json={"text": "你好"})).json()
        texts.append(data["replies"][0]["text"])
    assert "太快" in texts[3] and "太快" in texts[4]
    assert len(state.requests) == 3
    # Another session from the same address still gets answers (the address limit is higher).
    client.session.cookie_jar.clear()
    await client.get("/api/session")
    other = await (await client.post("/api/chat", json={"text": "你好"})).json()
    assert other["replies"][0]["text"] == "收到：你好"


async def test_slow_rasa_answers_within_budget_with_hotline(make_client, settings, rasa_stub):
    import time

    client = await make_client(settings, rasa_timeout=0.5)
    started = time.monotonic()
    data = await (await client.post("/api/chat", json={"sender": "p4", "text": "慢慢说"})).json()
    assert time.monotonic() - started < 1.5
    assert "12393" in data["replies"][0]["text"]


async def test_traditional_text_is_normalised(client, rasa_stub):
    _, state = rasa_stub
    await client.post("/api/chat", json={"sender": "p5", "text": "異地就醫怎麼備案"})
    assert state.requests[-1]["message"] == "异地就医怎么备案"


def test_convert_attaches_answer_and_handoff():
    source = {"scope": "local", "entry_id": "e", "short": "《文件》一", "quote": "原文", "as_of": 2025, "extra": "x"}
    lines = [{"text": "答案"}, {"text": "依据：《文件》一", "source": 0}]
    replies, handoff = convert([
        {"text": "答案\n依据：《文件》一", "buttons": [{"title": "A", "payload": "/a"}, {"bad": 1}]},
        {"custom": {"answer": {"topic": "t", "scope": "local", "sources": [source, {"short": 5}], "lines": lines}}},
        {"text": "请拨打0518-12345。"},
        {"custom": {"handoff": {"hotline": "0518-12345", "ticket": "AB12CD"}}},
        {"image": "http://x/y.png"},
    ])
    clean = {k: v for k, v in source.items() if k != "extra"}  # only the contract's fields
    assert replies == [
        {"text": "答案\n依据：《文件》一", "buttons": [{"title": "A", "payload": "/a"}],
         "meta": {"topic": "t", "scope": "local", "sources": [source, {"short": 5}], "lines": lines},
         "sources": [clean], "lines": [{"text": "答案"}, {"text": "依据：《文件》一", "source": 0}]},
        # The hand-off rides on the reply that announces it; its text is the action's only.
        {"text": "请拨打0518-12345。", "handoff": {"hotline": "0518-12345", "ticket": "AB12CD"}},
    ]
    # The routed hotline is passed through as it is (routing data may name a local one).
    assert handoff == {"hotline": "0518-12345", "ticket": "AB12CD"}
    _, handoff = convert([{"custom": {"handoff": {"hotline": "call us", "ticket": "AB12CD"}}}], "12393")
    assert handoff["hotline"] == "12393"  # not a phone number at all: the default


def _answer(text: str, sources: list, lines) -> list[dict]:
    return [{"text": text}, {"custom": {"answer": {"topic": "t", "sources": sources, "lines": lines}}}]


def test_citation_lines_are_the_actions_data_not_found_in_the_words():
    a, b = {"short": "《甲文件》第一条"}, {"short": "《乙文件》二、备案"}
    text = "答案，参见《甲文件》第一条。\n出处甲\n补充\n出处乙"
    # The first line names a source's citation but is not marked: it stays a plain line;
    # the marked lines name no citation at all: they are citations because the data says so.
    marked = [{"text": "答案，参见《甲文件》第一条。"}, {"text": "出处甲", "source": 0}, {"text": "补充"},
              {"text": "出处乙", "source": 1}]
    [reply], _ = convert(_answer(text, [a, b], marked))
    assert reply["lines"] == marked and reply["sources"] == [a, b]
    # A malformed source is left out and the other's index follows it; its line loses the mark.
    [reply], _ = convert(_answer(text, [{"short": ""}, b], marked))
    assert reply["sources"] == [b]
    assert [line.get("source") for line in reply["lines"]] == [None, None, None, 0]


def test_lines_that_are_not_the_text_are_not_used(caplog):
    """An older action server (no lines) or lines that disagree with the text: no citation is
    guessed; the text is shown line by line, unmarked, and the mismatch is logged."""
    a = {"short": "《甲文件》第一条"}
    text = "答案\n依据：《甲文件》第一条"
    for lines in (None, [{"text": "答案"}], [{"text": "答案"}, {"text": "依据：《别的》", "source": 0}],
                  [{"text": "答案"}, {"text": 5, "source": 0}], "答案"):
        caplog.clear()
        [reply], _ = convert(_answer(text, [a], lines))
        assert "lines" not in reply and reply["sources"] == [a]
        assert reply_lines(reply) == [{"text": "答案"}, {"text": "依据：《甲文件》第一条"}]
        assert "do not match" in caplog.text


def test_the_gateway_code_names_no_source_or_hand_off_wording():
    """Issue 14.1: channels render sources and hand-offs from data, so no code in
    the gateway (the staff console aside) contains the source line's or the
    hand-off's wording: both are the actions' alone."""
    import re
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[2]
    handoff = yaml.safe_load((root / "knowledge/wording/hotline.yml").read_text(encoding="utf-8"))["handoff"]
    actions = yaml.safe_load((root / "knowledge/wording/actions.yml").read_text(encoding="utf-8"))
    templates = [*handoff.values(), actions["answer"]["source_line"], actions["elder"]["source_line"]]
    # The fixed words of each template ("依据：", "您的转接编号是："…), placeholders removed.
    fragments = {f.strip() for t in templates for f in re.split(r"\{[^}]*\}", t) if len(f.strip()) >= 3}
    fragments |= {"依据", "工单号", "转接编号"}
    files = [p for p in (root / "bot").rglob("*") if p.suffix in (".py", ".js", ".html")
             and "staff" not in p.relative_to(root / "bot").parts]
    assert len(files) > 10
    found = {(str(p.relative_to(root)), f) for p in files for f in fragments if f in p.read_text(encoding="utf-8")}
    assert found == set()
    # Nor does the gateway's wording file hold a hand-off line of its own (one naming a ticket).
    gateway = (root / "knowledge/wording/gateway.yml").read_text(encoding="utf-8")
    assert "{ticket}" not in gateway and "{code}" not in gateway


_small_text = st.text(max_size=8)
_value = st.one_of(
    st.none(), _small_text, st.integers(),
    st.lists(st.dictionaries(st.sampled_from(["title", "payload", "x"]), _small_text, max_size=3), max_size=3),
    st.dictionaries(st.sampled_from(["handoff", "answer"]),
                    st.one_of(_small_text, st.dictionaries(
                        st.sampled_from(["hotline", "ticket", "sources", "lines"]),
                        st.one_of(_small_text, st.lists(st.dictionaries(st.sampled_from(["short", "quote", "text",
                                                                                         "source"]),
                                                                        st.one_of(_small_text, st.integers())),
                                                        max_size=3)))),
                    max_size=2),
)


@hsettings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["text", "buttons", "custom", "image"]), _value, max_size=4),
                max_size=5))
def test_convert_never_fails_on_odd_messages(messages):
    replies, handoff = convert(messages)
    assert all(isinstance(r["text"], str) for r in replies)
    for r in replies:  # lines always spell the text, and point only at sources that exist
        assert "\n".join(line["text"] for line in reply_lines(r)) == r["text"]
        assert all(0 <= line.get("source", 0) < max(1, len(r.get("sources", []))) for line in reply_lines(r))
    assert handoff is None or set(handoff) == {"hotline", "ticket"}


@given(st.text(), st.integers(min_value=1, max_value=600))
def test_cap_length_keeps_the_head(text, limit):
    capped, truncated = cap_length(text, limit)
    assert len(capped) <= limit and truncated == (len(text) > limit)
    assert text.startswith(capped)


def test_has_content():
    assert has_content("备案") and has_content("12393") and not has_content("😀 ！ ")
