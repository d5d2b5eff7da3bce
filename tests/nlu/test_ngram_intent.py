"""The n-gram intent model and its blend with DIET's ranking."""
from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.features import PLACE_TOKEN, fold_places, model_view
from nlu.ngram_intent import NgramEnsembleIntentClassifier, NgramModel

EXAMPLES = {
    "ask_remote_care_filing": ["异地就医怎么备案", "去外地看病要先备案吗", "备案在哪里办", "跨省就医备案流程"],
    "ask_payment_channels": ["医保费在哪里交", "居民医保怎么缴费", "手机上能交医保吗", "今年医保交多少钱"],
    "ask_maternity": ["生孩子能报销吗", "生育津贴怎么领", "产检费用能报吗", "生育保险怎么报销"],
}


def _data() -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for intent, examples in EXAMPLES.items():
        texts += examples
        labels += [intent] * len(examples)
    return texts, labels


def test_place_names_are_folded_so_where_says_nothing_about_what():
    assert fold_places("我在上海看病") == f"我在{PLACE_TOKEN}看病"
    # Our own places come from the project dictionary, so they are folded too.
    assert PLACE_TOKEN in fold_places("正宁县的医保在哪交")
    assert "备案" in fold_places("异地就医备案")


def test_coded_and_masked_place_names_are_folded_like_real_ones():
    # Published messages write A市/B7县 and 南*; the question around them must survive.
    assert fold_places("我在A7县交的新农合在B市住院能报吗") == f"我在{PLACE_TOKEN}交的新农合在{PLACE_TOKEN}住院能报吗"
    assert fold_places("恩*新农合在外地可以报销吗") == f"{PLACE_TOKEN}新农合在外地可以报销吗"
    assert fold_places("滁*的医保卡去贵*能用吗") == f"{PLACE_TOKEN}的医保卡去{PLACE_TOKEN}能用吗"
    # Only one character before the mask is taken: the scheme name after it stays.
    assert "居民医保" in fold_places("宁*居民医保如何报销")
    # Not a place: arithmetic and Latin abbreviations stay as written.
    assert fold_places("5*3等于几") == "5*3等于几"
    assert fold_places("CT检查能报吗") == "CT检查能报吗"


def test_a_chain_of_masked_names_is_one_place_and_keeps_the_word_before_it():
    # A town inside a city, both masked: one place, no stray star left to vote.
    assert fold_places("宁*市*道*的新农合要带什么") == f"{PLACE_TOKEN}的新农合要带什么"
    assert fold_places("**市**区医保怎么交") == f"{PLACE_TOKEN}医保怎么交"
    # A wholly masked county after 在: 在 is the question's word, not the name's first character.
    assert fold_places("我在*县住院能报吗") == f"我在{PLACE_TOKEN}住院能报吗"


def test_number_placeholders_say_nothing_about_the_question():
    assert model_view("号码[手机号]，身份证[身份证号]请回电") == model_view("号码 ，身份证 请回电")
    assert "手机" not in model_view("[手机号]")


def test_model_view_normalises_traditional_and_full_width():
    assert model_view("醫保費在哪裡交") == model_view("医保费在哪里交")


def test_model_learns_and_ranks_probabilities():
    texts, labels = _data()
    model = NgramModel().fit(texts, labels)
    probabilities = model.predict_proba(["我想问问生孩子的费用医保报不报", "外地住院前要备案不"])
    assert probabilities.shape == (2, 3)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert [model.classes[i] for i in probabilities.argmax(axis=1)] == ["ask_maternity", "ask_remote_care_filing"]


def test_a_message_the_model_knows_nothing_of_votes_for_no_intent():
    texts, labels = _data()
    model = NgramModel().fit(texts + ["生育津贴 怎么领?"], labels + ["ask_maternity"])
    # Spaces and punctuation the training data has are no evidence either.
    probabilities = model.predict_proba(["😀😀😀", "鑫垚犇淼", "의료보험 어떻게 신청해요？"])
    assert np.allclose(probabilities, 1.0 / 3)
    # One known character is enough to vote.
    assert model.predict_proba(["生"]).max() > 0.5


def test_model_survives_save_and_load(tmp_path):
    texts, labels = _data()
    model = NgramModel().fit(texts, labels)
    model.save(tmp_path)
    assert not list(tmp_path.glob("*.pkl")), "models are stored as arrays and JSON, never pickles"
    loaded = NgramModel.load(tmp_path)
    query = ["医保在哪交", "生育津贴"]
    assert loaded.classes == model.classes
    assert np.allclose(loaded.predict_proba(query), model.predict_proba(query), atol=1e-5)


@pytest.fixture
def component(tmp_path):
    storage = LocalModelStorage(tmp_path)
    resource = Resource("ngram")
    context = ExecutionContext(graph_schema=None, model_id="test")
    classifier = NgramEnsembleIntentClassifier.create(
        {**NgramEnsembleIntentClassifier.get_default_config(), "ngram_weight": 0.5},
        storage, resource, context)
    texts, labels = _data()
    training = TrainingData([Message(data={TEXT: t, INTENT: i}) for t, i in zip(texts, labels)])
    classifier.train(training)
    return NgramEnsembleIntentClassifier.load(
        {**NgramEnsembleIntentClassifier.get_default_config(), "ngram_weight": 0.5},
        storage, resource, context)


def test_component_blends_with_the_ranking_diet_left(component):
    text = "生孩子的费用能报吗"
    alone = component.model.predict_proba([text])[0]
    maternity = component.model.classes.index("ask_maternity")
    # DIET is sure of something else: the blend is the average of the two rankings.
    message = Message(data={TEXT: text, INTENT_RANKING_KEY: [
        {"name": "ask_payment_channels", "confidence": 1.0}]})
    component.process([message])
    ranking = {r["name"]: r["confidence"] for r in message.get(INTENT_RANKING_KEY)}
    payment = component.model.classes.index("ask_payment_channels")
    assert ranking["ask_maternity"] == pytest.approx(0.5 * alone[maternity], abs=1e-6)
    assert ranking["ask_payment_channels"] == pytest.approx(0.5 * alone[payment] + 0.5, abs=1e-6)
    assert message.get(INTENT)["name"] == max(ranking, key=ranking.get)
    assert abs(sum(ranking.values()) - 1.0) < 1e-5


def test_component_without_a_trained_model_keeps_diets_answer(tmp_path):
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(graph_schema=None, model_id="test")
    classifier = NgramEnsembleIntentClassifier.load({}, storage, Resource("missing"), context)
    message = Message(data={TEXT: "你好", INTENT: {"name": "greet", "confidence": 0.9}})
    classifier.process([message])
    assert message.get(INTENT)["name"] == "greet"


def test_a_changed_place_dictionary_retrains_the_component(tmp_path, monkeypatch):
    """Rasa's training cache keys a component by its class source, config and inputs;
    the view's code and word lists live elsewhere, so the component adds their hash."""
    import nlu.features as features

    before = NgramEnsembleIntentClassifier.fingerprint_addon({})
    assert before == NgramEnsembleIntentClassifier.fingerprint_addon({})
    for path in features.DICTIONARY_DIR.glob("*.txt"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "places.txt").write_text((tmp_path / "places.txt").read_text(encoding="utf-8") + "\n新设县 10 ns\n",
                                         encoding="utf-8")
    monkeypatch.setattr(features, "DICTIONARY_DIR", tmp_path)
    assert NgramEnsembleIntentClassifier.fingerprint_addon({}) != before
