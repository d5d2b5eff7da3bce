"""`make eval`'s bookkeeping: leaked items leave the score, metrics count fallbacks as misses."""
from __future__ import annotations

from pathlib import Path

from devtools.evaluate import FALLBACK, by_kind, score
from devtools.evaluate import TestSet as EvalSet  # not a pytest class
from devtools.peer import Peer


def test_items_that_occur_in_training_data_leave_the_test_set():
    test = EvalSet("t", Path("x"), ["異地就醫備案怎麼辦？", "医保在哪交", "生孩子能报吗"],
                   ["a", "b", "c"], [("long",), (), ("short",)])
    # Same text after normalisation (traditional, punctuation) counts as the same item.
    kept = test.without(["异地就医备案怎么办", "别的句子"])
    assert kept.texts == ["医保在哪交", "生孩子能报吗"]
    assert kept.intents == ["b", "c"] and kept.kinds == [(), ("short",)]
    assert kept.dropped == 1


def test_a_fallback_is_a_miss_and_not_a_class():
    result = score(["a", "a", "b", "b"], ["a", FALLBACK, "b", "a"])
    assert result["accuracy"] == 0.5
    assert result["fallback_rate"] == 0.25
    assert set(result["per_intent_f1"]) == {"a", "b"}
    assert {"true": "a", "predicted": FALLBACK, "count": 1} in result["confusions"]


def test_accuracy_by_kind_counts_each_kind_an_item_has():
    test = EvalSet("t", Path("x"), ["1", "2", "3"], ["a", "b", "c"], [("long", "asr"), ("asr",), ()])
    table = by_kind(test, ["a", "x", "c"])
    assert table["asr"] == {"n": 2, "accuracy": 0.5}
    assert table["long"] == {"n": 1, "accuracy": 1.0}
    assert table["plain"] == {"n": 1, "accuracy": 1.0}


def test_peer_is_reproducible():
    texts = ["医保在哪交", "居民医保怎么缴费", "生孩子能报吗", "生育津贴怎么领", "异地备案", "外地看病备案"]
    labels = ["pay", "pay", "mat", "mat", "file", "file"]
    query = ["医保费去哪交", "产检能报吗", "去外地要备案吗"]
    assert Peer().fit(texts, labels).predict(query) == Peer().fit(texts, labels).predict(query)
