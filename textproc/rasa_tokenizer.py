"""Jieba tokenizer that normalises text first, so NLU sees one spelling.

Traditional characters, full-width digits and spoken digit runs reach the model
already folded; the gateway applies the same ``normalize`` so both paths agree.
"""
from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from textproc.normalize import normalize


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True
)
class NormalizingJiebaTokenizer(JiebaTokenizer):
    """``JiebaTokenizer`` preceded by :func:`textproc.normalize` at prediction time."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str):
                message.set(TEXT, normalize(text))
        return super().process(messages)
