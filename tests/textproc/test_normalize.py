"""What the NLU sees of a resident's message: one spelling however it was typed or
dictated, and the tokenizer of the pipeline applying it at prediction time."""
from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from textproc import normalize
from textproc.rasa_tokenizer import NormalizingJiebaTokenizer


@pytest.mark.parametrize("said, seen", [
    # A dictated hotline or phone number becomes digits.
    ("打幺二三九三", "打12393"),
    ("电话一二三四五", "电话12345"),
    ("幺三八零零一三八零零零", "13800138000"),
    ("〇九三一八八八八", "09318888"),
    # 幺 makes a run of the ambiguous words a number too ("洞" is 0, "拐" 7, "勾" 9).
    ("幺拐洞勾两", "17092"),
    # Without 幺 they are words: "两" is "two of", "勾"/"拐"/"洞" are verbs and nouns.
    ("两三四五六", "两三四五六"),
    ("拐三四五六", "拐三四五六"),
    ("洞三四五六", "洞三四五六"),
    ("勾三四五六", "勾三四五六"),
    # Four digit words are an ordinary word ("一二三四" as counting), left alone.
    ("一二三四", "一二三四"),
])
def test_dictated_digit_runs(said, seen):
    assert normalize(said) == seen


def test_traditional_full_width_and_invisible_characters_fold_to_one_spelling():
    assert normalize("醫療保險報銷") == "医疗保险报销"
    assert normalize("撥打１２３９３　ＡＰＰ") == "拨打12393 APP"
    assert normalize("医\u200b保\ufeff卡\x07") == "医保卡"
    assert normalize("  异地\t\n就医  备案 ") == "异地 就医 备案"


def test_empty_input_is_an_empty_string():
    assert normalize("") == ""
    assert normalize(None) == ""
    assert normalize("\u200b \n") == ""


def test_the_pipeline_tokenizer_normalises_before_segmenting(tmp_path):
    tokenizer = NormalizingJiebaTokenizer.create(
        NormalizingJiebaTokenizer.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("tokenizer"),
        ExecutionContext(GraphSchema({}), "test"),
    )
    dictated = Message(data={TEXT: "醫保熱線是幺二三九三嗎"})
    no_text = Message(data={"intent": "greet"})
    tokenizer.process([dictated, no_text])
    assert dictated.get(TEXT) == "医保热线是12393吗"
    tokens = [t.text for t in dictated.get("text_tokens")]
    assert "12393" in tokens and "".join(tokens) == "医保热线是12393吗"
    assert no_text.get(TEXT) is None
