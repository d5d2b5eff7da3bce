"""Follow-ups the national baseline answers where a place's own entry is silent.

A resident who asks "谁能办", "多久能办好", "不用手机怎么办" or "可以让我儿子帮我去办不"
about a topic whose local entry says nothing about it gets the national rule, with
the national document cited and a note that it is the national rule, instead of
"no source says it, call 12393". The phrases below are the rules themselves
(knowledge/content/national.yml): emptying one of those lists fails its case.
"""
from __future__ import annotations

import pytest

from actions.common import say
from tests.actions.test_aspects import MODES, QUESTIONS, follow_up, useful

QUESTIONS = {
    **QUESTIONS,
    "ask_transfer": "换城市工作了医保关系怎么转",
    "ask_personal_account": "医保个人账户的钱家里人能用吗",
    "ask_reimbursement": "看病医保怎么报销",
    "ask_manual_reimbursement": "自己垫钱了怎么手工报销",
    "ask_maternity": "生孩子的费用能报销吗",
    "ask_critical_illness": "大病保险是怎么回事",
    "ask_medical_assistance": "医疗救助怎么申请",
    "ask_long_term_care": "长期护理保险是什么",
    "report_fraud": "我想举报有人骗医保",
    "ask_e_voucher": "医保电子凭证怎么用",
    "ask_designated_institutions": "哪些医院是医保定点的",
    "ask_drug_catalogue": "这个药医保能报吗",
    "ask_service_channels": "医保业务去哪里办",
    "ask_cross_region_settlement": "在外省住院能直接结算吗",
}

# (topic, aspect, words of the national rule that must reach the resident)
CASES = [
    ("ask_chronic_disease_outpatient", "proxy", "家人或亲友"),
    ("ask_chronic_disease_outpatient", "offline", "拒绝受理"),
    ("ask_chronic_disease_outpatient", "materials", "不超过4种"),
    ("ask_remote_care_filing", "proxy", "家人或亲友"),
    ("ask_remote_care_filing", "offline", "不能因为网上能办"),
    ("ask_transfer", "time", "10个工作日内办完转出"),
    ("ask_transfer", "time", "不超过6个月的待遇等待期"),
    ("ask_transfer", "time", "居民医保的待遇等待期规定"),
    ("ask_transfer", "eligibility", "参加下一年度居民医保后"),
    ("ask_transfer", "offline", "转入地或转出地医保经办机构的窗口"),
    ("ask_transfer", "proxy", "可以由单位替本人申请办理"),
    ("ask_personal_account", "proxy", "代办人要带上委托人和代办人自己的身份证明"),
    ("ask_reimbursement", "eligibility", "应当由第三人负担的"),
    ("ask_reimbursement", "proxy", "暂停医疗费用联网结算3到12个月"),
    ("ask_manual_reimbursement", "eligibility", "补办备案后，可以按参保地的规定申请手工报销"),
    ("ask_manual_reimbursement", "time", "在出院结算前补办好备案，就能直接结算"),
    ("ask_maternity", "eligibility", "个人不用另交生育保险费"),
    ("ask_maternity", "time", "98天产假"),
    ("ask_maternity", "steps", "直接结算"),
    ("ask_maternity", "materials", "不超过4种"),
    ("ask_maternity", "offline", "拒绝受理"),
    ("ask_critical_illness", "eligibility", "参加城乡居民基本医保的人"),
    ("ask_medical_assistance", "eligibility", "低保边缘家庭成员"),
    ("ask_long_term_care", "eligibility", "不是每个地方都有"),
    ("ask_medical_assistance", "steps", "由县级医保部门审批"),
    ("ask_medical_assistance", "materials", "如实申报家庭的收入和财产情况"),
    ("ask_medical_assistance", "offline", "统一受理社会救助申请的窗口"),
    ("report_fraud", "time", "5个工作日内"),
    ("report_fraud", "offline", "写信邮寄"),
    ("report_fraud", "eligibility", "最高不超过20万元"),
    ("report_fraud", "materials", "有效证据"),
    ("ask_e_voucher", "eligibility", "3至12个月"),
    ("ask_designated_institutions", "proxy", "代买人双方的身份证明"),
    ("ask_designated_institutions", "eligibility", "签了服务协议"),
    ("ask_drug_catalogue", "eligibility", "乙类药品要先由个人自付一定比例"),
    ("ask_drug_catalogue", "steps", "是甲类还是乙类"),
    ("ask_service_channels", "eligibility", "医保咨询服务"),
    ("ask_cross_region_settlement", "offline", "出示社会保障卡也可以"),
    ("ask_cross_region_settlement", "proxy", "替他办异地就医备案"),
    ("ask_manual_reimbursement", "offline", "窗口申请手工报销"),
    ("ask_manual_reimbursement", "proxy", "家人或亲友可以到参保地医保经办机构窗口替他申请"),
    ("ask_personal_account", "offline", "不会用手机办共济绑定的"),
]


def places_without(kb, topic: str, aspect: str) -> list[str]:
    """Places whose own entry for ``topic`` says nothing about ``aspect``."""
    return [p.name for p in kb.places()
            if kb.answer(topic, p.name).scope == "local" and not useful(kb.answer(topic, p.name), aspect)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("topic,aspect,phrase", CASES)
async def test_a_place_without_the_aspect_gets_the_national_rule_and_its_citation(shared_kb, topic, aspect,
                                                                                phrase, mode):
    kb = shared_kb
    national = kb.answer(topic, None)
    items = useful(national, aspect)
    assert any(phrase in item for item in items), f"national {topic} {aspect} lacks {phrase!r}: {items}"
    places = places_without(kb, topic, aspect)
    assert places, f"every place answers {topic} {aspect} itself; the national rule is never used"
    for place in places:
        reply, _ = await follow_up(kb, place, topic, mode, aspect, question=QUESTIONS[topic])
        case = f"{place} {topic} {aspect} {mode}: {reply}"
        assert say("follow_up.national_for_place", place=place) in reply, case
        assert f"依据：{national.source.short}" in reply, case
        # Elder mode reads steps one at a time: the first now, the rest on "下一步".
        expected = items[:1] if aspect == "steps" and mode == "elder" else items
        assert all(item in reply for item in expected), case
        assert "都没有写明" not in reply, case


def test_the_national_rules_name_their_documents(shared_kb):
    kb = shared_kb
    cited = {
        "ask_maternity": ("国办发〔2019〕10号", "国务院令第619号"),
        "ask_long_term_care": ("医保发〔2020〕37号",),
        "ask_medical_assistance": ("国办发〔2021〕42号",),
        "ask_critical_illness": ("国办发〔2015〕57号",),
        "ask_chronic_disease_outpatient": ("医保发〔2020〕54号", "全国医疗保障经办政务服务事项清单"),
        "ask_remote_care_filing": ("医保发〔2020〕54号",),
        "report_fraud": ("国家医疗保障局令第5号", "医保办发〔2022〕22号"),
        "ask_designated_institutions": ("国家医疗保障局令第2号",),
    }
    for topic, documents in cited.items():
        short = kb.answer(topic, None).source.short
        assert all(d in short for d in documents), (topic, short)
    # The citation residents read names documents and parts, not notes to maintainers.
    for topic in cited:
        short = kb.answer(topic, None).source.short
        assert "文件标题" not in short and "54号关于" not in short, (topic, short)
    # Long-term care is a pilot; it must never read as a benefit everyone has.
    care = kb.answer("ask_long_term_care", None)
    assert "试点" in care.answer


def test_chronic_materials_name_no_list_no_document_gives(shared_kb):
    """病历和检查报告 was stated without a document saying so; the place decides."""
    national = shared_kb.answer("ask_chronic_disease_outpatient", None)
    assert national.materials and all("病历" not in m for m in national.materials + national.steps)
    assert any("参保地" in m and "12393" in m for m in national.materials)


def test_class_a_drugs_are_not_promised_direct_full_payment(shared_kb):
    """甲类 is paid under the place's cost sharing; only 乙类 has a share paid first."""
    national = shared_kb.answer("ask_drug_catalogue", None)
    assert not any("直接报销" in line or "不用先自付" in line for line in national.steps + national.eligibility)


@pytest.mark.parametrize("mode", MODES)
async def test_paying_without_a_smartphone_gets_the_national_rule_where_the_place_has_no_payment_entry(shared_kb, mode):
    """江门市 and 连云港市 answer ask_payment_channels from the national entry only (no
    local entry, so CASES cannot reach them): "不会用手机怎么缴费" now gets 国办发〔2020〕45号."""
    kb = shared_kb
    places = [p.name for p in kb.places() if kb.answer("ask_payment_channels", p.name).scope != "local"]
    assert places
    for place in places:
        reply, _ = await follow_up(kb, place, "ask_payment_channels", mode, "offline")
        assert "不得用通知、告示等方式拒收现金" in reply, reply
        assert "国办发〔2020〕45号" in reply and "都没有写明" not in reply, reply


@pytest.mark.parametrize("mode", MODES)
async def test_materials_given_as_rules_read_as_sentences_not_a_run_on_list(shared_kb, mode):
    """Materials are usually names joined with "、"; the national maternity materials are two
    rules, and "…各地还可以再精简、申领生育津贴…" ran them into one sentence."""
    kb = shared_kb
    national = kb.answer("ask_maternity", None)
    first, second = national.materials
    place = places_without(kb, "ask_maternity", "materials")[0]
    reply, _ = await follow_up(kb, place, "ask_maternity", mode, "materials", question=QUESTIONS["ask_maternity"])
    assert f"{first}。{second}。" in reply, reply
    assert f"{first}、" not in reply, reply



def test_materials_that_are_names_are_still_listed_with_a_pause_mark():
    from actions.answers import _listed

    assert _listed(("身份证", "户口本", "出生医学证明")) == "身份证、户口本、出生医学证明"
    assert _listed(("身份证", "要交的材料都不超过4种，各地还可以再精简")) == "身份证。要交的材料都不超过4种，各地还可以再精简。"
