"""Generated NLU vocabularies: the aspect words are written once, in the actions' wording."""
from __future__ import annotations

import yaml

from knowledge import lexicon


def _synonyms(text: str) -> dict[str, list[str]]:
    blocks = yaml.safe_load(text)["nlu"]
    return {b["synonym"]: [line[2:].strip() for line in b["examples"].splitlines() if line.strip()]
            for b in blocks if "synonym" in b}


def test_every_cue_the_actions_use_is_an_nlu_synonym_of_the_same_aspect():
    wording = yaml.safe_load(lexicon.ACTIONS_WORDING.read_text("utf-8"))["aspects"]
    nlu = _synonyms(lexicon.ASPECT_NLU.read_text("utf-8"))
    assert set(nlu) == set(wording)
    for name, spec in wording.items():
        words = {w.lower() for w in nlu[name]}
        for field in lexicon.ASPECT_WORD_FIELDS:
            missing = [w for w in spec.get(field) or () if w.lower() not in words]
            assert not missing, f"{name}.{field} not in {lexicon.ASPECT_NLU.name}: {missing}"
    # One word, one aspect: a synonym mapping to two aspects would be a coin toss.
    owners: dict[str, str] = {}
    for name, words in nlu.items():
        for w in words:
            assert owners.setdefault(w.lower(), name) == name, (w, owners[w.lower()], name)


def test_a_cue_added_to_the_wording_makes_the_nlu_file_stale(tmp_path, monkeypatch, content):
    assert lexicon.stale(content) == []
    doc = yaml.safe_load(lexicon.ACTIONS_WORDING.read_text("utf-8"))
    doc["aspects"]["proxy"]["cues"].append("托人办")
    path = tmp_path / "actions.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    monkeypatch.setattr(lexicon, "ACTIONS_WORDING", path)
    assert lexicon.stale(content) == [lexicon.ASPECT_NLU]
    assert "托人办" in _synonyms(lexicon.render_aspects())["proxy"]
