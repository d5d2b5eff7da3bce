"""The simple peer every NLU score is compared with: TF-IDF character 1–3-grams and a
linear SVM, trained on exactly the project's training examples, raw text in.

A pipeline that cannot beat this in the same run is not earning its complexity.
"""
from __future__ import annotations

from pathlib import Path


class Peer:
    def __init__(self) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        self.vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        self.classifier = LinearSVC(random_state=0)

    def fit(self, texts: list[str], labels: list[str]) -> "Peer":
        self.classifier.fit(self.vectorizer.fit_transform(texts), labels)
        return self

    def predict(self, texts: list[str]) -> list[str]:
        return [str(label) for label in self.classifier.predict(self.vectorizer.transform(texts))]


def training_examples(nlu_dir: Path) -> tuple[list[str], list[str]]:
    """(texts, intents) of every intent example, entity markup removed by Rasa's reader."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(nlu_dir))
    examples = [m for m in data.intent_examples if m.get("text")]
    return [m.get("text") for m in examples], [m.get("intent") for m in examples]
