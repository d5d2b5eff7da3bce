"""`make eval`'s bookkeeping: leaked items leave the score, metrics count fallbacks as misses."""
from __future__ import annotations

from pathlib import Path

from devtools.evaluate import FALLBACK, by_kind, gate_failures, paired, score
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


def test_paired_comparison_counts_items_only_one_system_gets_right():
    truth = ["a"] * 12
    # The project alone is right on 10, the peer alone on none, both on 2.
    result = paired(truth, ["a"] * 12, ["b"] * 10 + ["a"] * 2)
    assert result["only_project"] == 10 and result["only_peer"] == 0
    assert abs(result["p_value"] - 2 / 2 ** 10) < 1e-12
    # An even split, or no split at all, is no evidence either way.
    assert paired(truth, ["a"] * 5 + ["b"] * 5 + ["c"] * 2, ["b"] * 5 + ["a"] * 5 + ["c"] * 2)["p_value"] == 1.0
    assert paired(truth, truth, truth) == {"only_project": 0, "only_peer": 0, "p_value": 1.0}
    # 7 against 2: two-sided exact binomial, 2 * P(X <= 2 | n=9) = 2 * 46 / 512.
    assert abs(paired(["a"] * 9, ["a"] * 7 + ["b"] * 2, ["b"] * 7 + ["a"] * 2)["p_value"] - 92 / 512) < 1e-12


def test_peer_is_reproducible():
    texts = ["医保在哪交", "居民医保怎么缴费", "生孩子能报吗", "生育津贴怎么领", "异地备案", "外地看病备案"]
    labels = ["pay", "pay", "mat", "mat", "file", "file"]
    query = ["医保费去哪交", "产检能报吗", "去外地要备案吗"]
    assert Peer().fit(texts, labels).predict(query) == Peer().fit(texts, labels).predict(query)


def _result(metric, project, peer):
    return {"name": "s", "gated_on": metric,
            "project": {"accuracy": project, "macro_f1": project}, "peer": {"accuracy": peer, "macro_f1": peer}}


def test_a_gated_set_fails_below_the_peer_or_the_floor_and_the_tuning_set_never_does():
    assert gate_failures(_result("accuracy", 0.74, 0.72), 0.65) == []
    assert gate_failures(_result("accuracy", 0.70, 0.72), 0.65) == ["s: project accuracy 0.700 below the peer's 0.720"]
    assert gate_failures(_result("macro_f1", 0.80, 0.70), 0.90) == ["s: project macro_f1 0.800 below 0.9"]
    # The development set is for trying changes: reported, never a reason to fail.
    assert gate_failures(_result(None, 0.10, 0.90), None) == []


def test_answered_or_offered_counts_a_right_answer_or_a_right_topic_one_tap_away():
    from devtools.evaluate import Predictions, answered_or_offered

    def ranked(*pairs):
        return [{"name": n, "confidence": c} for n, c in pairs]

    test = EvalSet("t", Path("x"), ["a", "b", "c", "d"],
                   ["ask_enrolment", "ask_payment_channels", "ask_transfer", "ask_maternity"])
    predictions = Predictions("project", ["ask_enrolment", "ask_enrolment", "ask_enrolment", FALLBACK], [
        ranked(("ask_enrolment", 0.9), ("ask_payment_channels", 0.05)),        # right answer
        ranked(("ask_enrolment", 0.5), ("ask_payment_channels", 0.4)),         # right topic offered
        ranked(("ask_enrolment", 0.95), ("ask_transfer", 0.04)),               # sure and wrong
        ranked((FALLBACK, 0.4), ("ask_maternity", 0.3), ("ask_enrolment", 0.2)),  # fallback offers it
    ])
    result = answered_or_offered(test, predictions, below=0.7, with_related=False)
    assert result == {"threshold": 0.7, "rate": 0.75, "with_alternatives": 0.25}
    # With alternatives switched off only the right answer and the fallback's offer count.
    assert answered_or_offered(test, predictions, below=0.0, with_related=False)["rate"] == 0.5
    # Every answer about enrolment offers payment (knowledge/topics.yml `related`), sure or not.
    assert answered_or_offered(test, predictions, below=0.0) == {
        "threshold": 0.0, "rate": 0.75, "with_alternatives": 0.75}


def test_agreement_with_a_second_annotation_matches_items_by_source_and_ref():
    from devtools.evaluate import agreement

    test = EvalSet("t", Path("x"), ["1", "2", "3", "4"], ["a", "b", "c", "a"], refs=[
        ("s", "1"), ("s", "2"), ("s", "3"), ("t", "1")])
    # The second annotator differs on item 2; item ("t", "1") was never annotated.
    second = {("s", "1"): "a", ("s", "2"): "c", ("s", "3"): "c", ("x", "9"): "a"}
    result = agreement(test, second, {"project": ["a", "c", "b", "a"]})
    assert result["items"] == 3 and result["agreed_items"] == 2
    assert result["agreement"] == 2 / 3
    assert 0 < result["kappa"] < 1
    # Against the second annotation the project is right on items 1 and 2; on the two
    # items both annotators label alike it is right on item 1 only.
    assert result["systems"]["project"] == {"accuracy_vs_second": 2 / 3, "accuracy_on_agreed": 0.5}


def test_the_second_annotation_covers_every_real_question_once():
    from devtools.evaluate import ROOT, load_real, load_second_annotation

    real = load_real(ROOT / "tests" / "nlu_real" / "questions.yml")
    second = load_second_annotation(ROOT / "tests" / "nlu_real" / "second_annotation.yml")
    assert sorted(second) == sorted(real.refs)
    domain = (ROOT / "domain.yml").read_text(encoding="utf-8")
    assert all(f"  - {intent}\n" in domain for intent in set(second.values()))


def test_real_items_keep_their_refs_when_leaked_items_leave():
    test = EvalSet("t", Path("x"), ["医保在哪交", "生孩子能报吗"], ["b", "c"], [(), ()], refs=[("s", "1"), ("s", "2")])
    assert test.without(["医保在哪交"]).refs == [("s", "2")]
