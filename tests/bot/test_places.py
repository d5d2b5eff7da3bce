"""Places come from the knowledge base: a sixth place file is offered everywhere."""
from __future__ import annotations

from tests.bot.conftest import load_with_sixth_place


async def test_api_places_lists_the_knowledge_base_with_a_sixth_place(make_client, settings, tmp_path, rasa_stub):
    url = load_with_sixth_place(tmp_path)
    client = await make_client(settings, database_url=url)
    resp = await client.get("/api/places")
    assert resp.status == 200
    places = (await resp.json())["places"]
    names = [p["name"] for p in places]
    assert "测试县" in names and {"连云港市", "开州区", "长春市", "江门市", "正宁县"} <= set(names)
    assert "全国" not in names and len(names) == 6
    assert {"id": "ceshi", "name": "测试县", "province": "测试省"} in places
    # …and the gateway accepts it as the resident's place.
    resp = await client.post("/api/chat", json={"text": "你好", "city": "测试县"})
    assert resp.status == 200 and rasa_stub[1].requests[-1]["metadata"]["city"] == "测试县"


async def test_city_check_follows_the_store(client):
    places = [p["name"] for p in (await (await client.get("/api/places")).json())["places"]]
    assert "测试县" not in places
    resp = await client.post("/api/chat", json={"text": "你好", "city": "测试县"})
    assert resp.status == 400 and "连云港市" in (await resp.json())["error"]


async def test_places_from_the_content_files_while_the_store_is_empty(make_client, settings, tmp_path):
    import yaml

    from knowledge.db import make_engine
    from knowledge.models import Base
    from knowledge.schema import CONTENT_DIR

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    client = await make_client(settings, database_url=url)
    names = [p["name"] for p in (await (await client.get("/api/places")).json())["places"]]
    expected = sorted(yaml.safe_load(f.read_text("utf-8"))["place"]["name"]
                      for f in CONTENT_DIR.glob("*.yml") if f.stem != "national")
    assert sorted(names) == expected and len(names) >= 5
    ok = await client.post("/api/chat", json={"text": "你好", "city": expected[0]})
    assert ok.status == 200
    bad = await client.post("/api/chat", json={"text": "你好", "city": "火星"})
    assert bad.status == 400


def test_no_place_is_named_in_the_gateway_code():
    """A place is one data file: bot/ (its code and page) names none of them."""
    from pathlib import Path

    import yaml

    from knowledge.schema import CONTENT_DIR

    bot = Path(__file__).resolve().parents[2] / "bot"
    names = [yaml.safe_load(f.read_text("utf-8"))["place"]["name"] for f in CONTENT_DIR.glob("*.yml")
             if f.stem != "national"]
    for path in [*bot.rglob("*.py"), *bot.rglob("*.js"), *bot.rglob("*.html")]:
        if "staff" in path.relative_to(bot).parts:
            continue  # the staff console is its own package
        text = path.read_text("utf-8")
        assert not [n for n in names if n in text], path
