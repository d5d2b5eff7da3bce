"""The development set (tests/nlu_dev/questions.yml) is for tuning the NLU, so the test set
(tests/nlu_real/questions.yml) can stay untuned. That only holds while the two sets share no
resident's question and neither is trained on. The checks reuse the test set's own: the same
format rules, the same leak check against data/, the same canonical form.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import tests.test_nlu_real_separation as real

DEV = real.ROOT / "tests" / "nlu_dev" / "questions.yml"
MIN_DEV_ITEMS = 250


def shared_items(dev: list[dict], test: list[dict]) -> list[str]:
    """Dev items that are a test item: the same source reference, the same canonical
    text, one text inside the other (both sides of 8+ canonical characters), or a
    re-post of a long text with a few edits."""
    test_refs = {(i["source"], i["ref"]) for i in test}
    test_texts = [real.canonical(i["text"]) for i in test]
    problems = []
    for item in dev:
        shown = repr(item["text"][:40])
        if (item["source"], item["ref"]) in test_refs:
            problems.append(f"{shown} has the same reference as a test item: {item['ref']}")
            continue
        mine = real.canonical(item["text"])
        for other in test_texts:
            if mine == other or (
                min(len(mine), len(other)) >= real.MIN_CONTAINED
                and (mine in other or other in mine)
            ):
                problems.append(f"{shown} is a test item")
                break
            if real.near_copy(mine, other):
                problems.append(f"{shown} is a re-post of a test item")
                break
    return problems


@pytest.fixture(scope="module")
def dev() -> dict:
    return real.load_questions(DEV)


def test_dev_format_and_provenance(dev):
    # Intents exist in domain.yml, kinds are known, "long" agrees with the length,
    # every source is described, no duplicate texts: the test set's own rules.
    real.test_format_and_provenance(dev)


def test_dev_counts(dev):
    items = dev["items"]
    assert len(items) >= MIN_DEV_ITEMS
    assert not [i for i in items if "derived" in i], "the dev set holds real items only"
    per_intent = Counter(i["intent"] for i in items)
    assert per_intent["out_of_scope"] <= 0.1 * len(items)


def test_no_dev_item_is_in_training_data(dev):
    assert real.leaks(dev["items"], real.DATA) == []


def test_dev_and_test_sets_share_no_item(dev):
    assert shared_items(dev["items"], real.load_questions()["items"]) == []


def test_sharing_check_catches_a_copied_test_item(dev):
    """A test item copied into the dev set, re-punctuated and in traditional characters,
    or a trimmed piece of it, is caught; so is an item with a test item's reference."""
    test = real.load_questions()["items"]
    victim = next(i for i in test if "long" in i["kinds"])
    disguised = dict(victim, text=victim["text"].replace("，", " ").replace("医保", "醫保"),
                     ref="elsewhere")
    piece = dict(victim, text=victim["text"][10:40], ref="elsewhere")
    same_ref = dict(victim, text="完全不同的一句话")
    # A re-post under another number: a greeting added, every 15th character changed.
    edited = "".join("某" if n % 15 == 7 else ch for n, ch in enumerate(victim["text"]))
    repost = dict(victim, text="您好，" + edited, ref="elsewhere")
    assert len(shared_items([disguised, piece, same_ref, repost], test)) == 4
    assert "re-post" in shared_items([repost], test)[0]
    assert shared_items([{"text": "医保", "source": "x", "ref": "y"}], test) == []
    # The real dev set itself passes (checked above); a scratch copy of it must too.
    assert shared_items(dev["items"][:5], test) == []


def test_dev_file_is_not_the_test_file():
    assert Path(DEV).resolve() != Path(real.QUESTIONS).resolve()
