"""The real-question set (tests/nlu_real/questions.yml) stays out of training.

The set measures how the NLU copes with questions written by real residents. It is only
worth anything while none of its items (nor a re-punctuated copy) is trained on, so the
leak check normalises text the way the tokenizer does and compares it with every example
under data/nlu and every entry under data/dict.
"""
from __future__ import annotations

import functools
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from textproc.normalize import normalize

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "tests" / "nlu_real" / "questions.yml"
DATA = ROOT / "data"

KINDS = {"long", "dialect", "elderly", "asr", "short", "old_term"}
SPOKEN_KINDS = {"dialect", "elderly", "asr"}
MIN_ITEMS, MIN_LONG, MIN_SPOKEN = 300, 100, 100
LONG_CHARS = 80
# Shorter texts are too generic ("医保") to call a leak when inside a longer example.
MIN_CONTAINED = 8
# A training example this long (after normalisation) found inside a test narrative means
# a piece of it was copied out.
MIN_COPIED_PIECE = 16

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def canonical(text: str) -> str:
    """Tokenizer normalisation, then no punctuation, no whitespace, lower case."""
    return _NOT_WORD.sub("", normalize(text)).lower()


def load_questions(path: Path = QUESTIONS) -> dict:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def domain_intents() -> set[str]:
    with (ROOT / "domain.yml").open(encoding="utf-8") as handle:
        domain = yaml.safe_load(handle)
    return {i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]}


def training_texts(data_root: Path) -> list[tuple[str, str]]:
    """(where, text) for every NLU example, synonym/lookup entry and dictionary word."""
    found: list[tuple[str, str]] = []
    for path in sorted((data_root / "nlu").rglob("*.yml")):
        # Rasa's own reader, one file at a time so a leak names its file: it strips entity
        # markup and reads every example form Rasa accepts (a block of lines, or a list of
        # {text, metadata} that keeps a real question's source beside it).
        data = RasaYAMLReader().read(str(path))
        texts = [m.get(TEXT) for m in data.training_examples]
        texts += list(data.entity_synonyms)
        texts += [element for table in data.lookup_tables for element in table["elements"]]
        found += [(str(path), text) for text in texts if text]
    for path in sorted((data_root / "dict").rglob("*")):
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    found.append((str(path), line.split()[0]))
    return found


# A resident re-posting a narrative under a new message number, with a few characters
# edited, is still the same question: texts of this many canonical characters or more
# that share at least NEAR_COPY_SHARE of the shorter one's SHINGLE-character pieces.
# (Real re-posts found share 75–97 %; distinct posts on one topic stay under 30 %.)
NEAR_COPY_MIN, NEAR_COPY_SHARE, SHINGLE = 40, 0.5, 6


@functools.lru_cache(maxsize=None)
def _shingles(canonical_text: str) -> frozenset[str]:
    return frozenset(canonical_text[i:i + SHINGLE] for i in range(len(canonical_text) - SHINGLE + 1))


def near_copy(mine: str, other: str) -> bool:
    if min(len(mine), len(other)) < NEAR_COPY_MIN:
        return False
    a, b = _shingles(mine), _shingles(other)
    return len(a & b) >= NEAR_COPY_SHARE * min(len(a), len(b))


def leaks(items: list[dict], data_root: Path) -> list[str]:
    """Describe every test item that appears, after normalisation, in training data."""
    train = [(where, canonical(text)) for where, text in training_texts(data_root)]
    exact = {}
    for where, text in train:
        exact.setdefault(text, where)
    problems = []
    for item in items:
        test = canonical(item["text"])
        if not test:
            continue
        shown = repr(item["text"][:40])
        if test in exact:
            problems.append(f"{shown} is a training example in {exact[test]}")
            continue
        for where, text in train:
            if len(test) >= MIN_CONTAINED and test in text:
                problems.append(f"{shown} is inside a training example in {where}")
                break
            if len(text) >= MIN_COPIED_PIECE and text in test:
                problems.append(f"a piece of {shown} is a training example in {where}")
                break
            if near_copy(test, text):
                problems.append(f"{shown} is re-worded in a training example in {where}")
                break
    return problems


@pytest.fixture(scope="module")
def questions() -> dict:
    return load_questions()


def test_format_and_provenance(questions):
    assert questions["version"] == 1
    sources = questions["sources"]
    for key, source in sources.items():
        for field in ("name", "url", "licence", "how_obtained"):
            assert str(source.get(field) or "").strip(), f"source {key} lacks {field}"
    intents = domain_intents()
    seen = set()
    for item in questions["items"]:
        text = item["text"]
        assert isinstance(text, str) and text.strip(), item
        assert item["intent"] in intents, f"unknown intent {item['intent']!r}"
        assert item["source"] in sources, f"source {item['source']!r} is not described"
        assert str(item.get("ref") or "").strip(), f"no ref for {text[:30]!r}"
        kinds = set(item["kinds"])
        assert kinds <= KINDS, kinds - KINDS
        # "long" is a measured property, so it must agree with the text.
        assert ("long" in kinds) == (len(text) >= LONG_CHARS), text[:30]
        if "derived" in item:
            assert str(item["derived"]).startswith("asr_from "), item["derived"]
        key = canonical(text)
        assert key not in seen, f"duplicate item {text[:30]!r}"
        seen.add(key)


def test_counts(questions):
    items = questions["items"]
    real = [i for i in items if "derived" not in i]
    assert len(items) >= MIN_ITEMS
    assert sum("long" in i["kinds"] for i in real) >= MIN_LONG
    assert sum(bool(SPOKEN_KINDS & set(i["kinds"])) for i in items) >= MIN_SPOKEN
    # A derived variant never outnumbers what it was derived from.
    assert len(real) > len(items) - len(real)
    per_intent = Counter(i["intent"] for i in items)
    assert per_intent["out_of_scope"] <= 0.1 * len(items)
    for intent in ("ask_remote_care_filing", "ask_chronic_disease_outpatient",
                   "ask_enrolment", "ask_payment_channels"):
        assert per_intent[intent] >= 5, intent


def test_no_test_item_is_in_training_data(questions):
    assert leaks(questions["items"], DATA) == []


def test_leak_check_catches_a_copied_item(questions, tmp_path):
    """Copy one real item into a scratch copy of data/ (re-punctuated, in traditional
    characters and full-width digits) and the check must name it."""
    scratch = tmp_path / "data"
    shutil.copytree(DATA, scratch)
    items = questions["items"]
    assert leaks(items, scratch) == []

    victim = next(i for i in items if "long" in i["kinds"])
    disguised = victim["text"].replace("，", " ").replace("？", "?").replace("医保", "醫保")
    disguised = disguised.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    (scratch / "nlu" / "leaked.yml").write_text(
        'version: "3.1"\nnlu:\n  - intent: ask_enrolment\n    examples: |\n'
        f"      - {disguised}\n",
        encoding="utf-8",
    )
    found = leaks(items, scratch)
    assert len(found) == 1 and victim["text"][:40] in found[0]


def test_leak_check_reads_examples_that_carry_their_source(questions, tmp_path):
    """Examples written as a list of {text, metadata} (how a real question would keep its
    source) are read too: a test item copied that way is named like any other."""
    data = tmp_path / "data"
    (data / "nlu").mkdir(parents=True)
    (data / "dict").mkdir()
    victim = questions["items"][0]
    (data / "nlu" / "real.yml").write_text(yaml.safe_dump({"version": "3.1", "nlu": [
        {"intent": victim["intent"], "examples": [
            {"text": "生孩子能报多少钱", "metadata": {"source": "x", "ref": "1"}},
            {"text": victim["text"], "metadata": {"source": "x", "ref": "2"}}]}]}, allow_unicode=True),
        encoding="utf-8")
    found = leaks(questions["items"], data)
    assert len(found) == 1 and victim["text"][:20] in found[0]


def test_leak_check_reads_synonym_and_lookup_entries(questions, tmp_path):
    """Synonyms and lookup tables are training data too: an item copied into either is named."""
    data = tmp_path / "data"
    (data / "nlu").mkdir(parents=True)
    (data / "dict").mkdir()
    first, second = [i for i in questions["items"] if 8 <= len(i["text"]) <= 30][:2]
    for kind, item in (("synonym", first), ("lookup", second)):
        (data / "nlu" / f"{kind}.yml").write_text(yaml.safe_dump({"version": "3.1", "nlu": [
            {kind: "city" if kind == "lookup" else "居民医保", "examples": f"- 新农合\n- {item['text']}\n"}]},
            allow_unicode=True), encoding="utf-8")
    found = leaks(questions["items"], data)
    assert len(found) == 2
    assert any(first["text"][:20] in f and "synonym.yml" in f for f in found)
    assert any(second["text"][:20] in f and "lookup.yml" in f for f in found)


def test_leak_check_catches_a_piece_copied_out_of_a_narrative(tmp_path):
    data = tmp_path / "data"
    (data / "nlu").mkdir(parents=True)
    (data / "dict").mkdir()
    narrative = "我妈买的A市医保，前一阵子在重庆帮我带孩子，摔倒了骨折住院，这种异地医保报销程序是怎么样"
    (data / "nlu" / "x.yml").write_text(
        'version: "3.1"\nnlu:\n  - intent: ask_cross_region_settlement\n'
        "    examples: |\n"
        "      - 前一阵子在[重庆](city)帮我带孩子，摔倒了骨折住院\n"
        "      - 异地医保\n",
        encoding="utf-8",
    )
    assert len(leaks([{"text": narrative}], data)) == 1
    # A short common phrase shared with a narrative is not a leak.
    assert leaks([{"text": "异地医保报销需要什么"}], data) == []
    (data / "dict" / "terms.txt").write_text("医保 5000 n\n", encoding="utf-8")
    assert len(leaks([{"text": "医保！"}], data)) == 1


def test_leak_check_catches_a_reworded_narrative(tmp_path):
    """A long item written into the training data with a greeting added and a few words
    swapped is still that resident's message."""
    data = tmp_path / "data"
    (data / "nlu").mkdir(parents=True)
    (data / "dict").mkdir()
    narrative = "我妈买的A市医保，前一阵子在重庆帮我带孩子，摔倒了骨折住院，这种异地医保报销程序是怎么样的，需要先回去办手续吗"
    reworded = "您好，" + narrative.replace("我妈", "我母亲").replace("程序", "流程")
    (data / "nlu" / "x.yml").write_text(
        'version: "3.1"\nnlu:\n  - intent: ask_cross_region_settlement\n'
        f"    examples: |\n      - {reworded}\n",
        encoding="utf-8",
    )
    assert [p for p in leaks([{"text": narrative}], data) if "re-worded" in p]
    # Another resident's narrative on the same topic is not a copy.
    other = "我爸是B县新农合，在广州打工时住院了，出院后回老家报销要带什么材料，要多久才能办好"
    assert leaks([{"text": other}], data) == []
