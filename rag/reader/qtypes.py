"""What kind of answer a question asks for, and where such answers stand in a sentence.

A question with 多少 wants a number, 哪一年 a time, 哪家 an organisation, 哪些 a list. Knowing
that lets the answer step prefer the sentence that actually holds a number (not just the one that
repeats the question's words), and mark the key span inside it.
"""

from __future__ import annotations

import re

from rag.reader.names import name_spans
from rag.textproc import fold, fold_in_place

# Order matters: the first pattern that matches decides (哪一年 is a time, not a generic 哪).
_QUESTION_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # How long something takes (多久, 多长时间): answered by a length of time, which a "when" is not.
    ("duration", re.compile(r"多久|多长的?时间|多少时间|\bhow long (?:does|did|do|will|would|can|could|has|have|had|is it|was it)\b",
                            re.I)),
    ("time", re.compile(r"何时|什么时候|哪一?年|哪一?天|哪个月|几月|几号|几日|几点|哪个时期|"
                        r"(?:西元|公元)前?\s*(?:几|多少)\s*年|"
                        r"\bwhen\b|what (year|date|time)|which (year|date|month)|how long", re.I)),
    ("ordinal", re.compile(r"第几|排[名在]?第?几|名次|\bwhat (rank|place|position)\b|\bwhich (rank|place)\b|"
                           r"\brank(s|ed)? (in|among|within)\b", re.I)),
    ("number", re.compile(r"多少|(?<!哪)几(?![百千万亿])[个户家名项座条种所位次倍岁类十]?|"
                          # (not 许多高明, 很多大学: 多 ending 许多/很多/更多…)
                          r"(?<![许很好更太诸众较颇繁])多[大高长重远深宽低矮短浅轻近小快慢厚粗细]|"
                          r"\bhow (many|much|large|big|tall|high|long|far|old)\b|what (percentage|number|share)|"
                          r"\bnumber of\b|\bwhat (is|was|are|were) the (total |overall |annual )?"
                          r"(investment|cost|price|area|population|revenue|output|value|amount|size|length|distance)\b",
                          re.I)),
    # A role's name is a person's (局长叫什么名字); a flower's name is not.
    # (A "whose" inside an English question is mostly relative: patients whose condition…)
    ("person", re.compile(r"谁|何人|哪一?位|什么人|哪个人|\bwho\b|\bwhom\b|^\W*whose\b|"
                          r"(?:长|书记|主任|主席|经理|总裁|总监|负责人|人|者|员|师|官|代表)的?(?:叫什么|名字|姓名|尊姓|姓什么)|"
                          r"\bwhat is the name of the (?:head|director|chair\w*|president|mayor|secretary|manager|principal)\b", re.I)),
    ("org", re.compile(r"哪[家个所些]*(公司|企业|机构|单位|大学|学校|集团|部门|组织)|什么(公司|企业|机构|单位|组织)|"
                       r"which (company|companies|firm|enterprise|organi[sz]ation|institution)|"
                       r"what (company|firm|enterprise|organi[sz]ation)", re.I)),
    ("location", re.compile(r"哪里|哪儿|在哪(?![些个几种类方])|什么地方|哪一?个(城市|省|国家|地区)|哪座|\bwhere\b|which (city|province|country|region)",
                            re.I)),
    ("reason", re.compile(r"为什么|为何|何以|怎么会|什么原因|原因是|原因有|缘故|为了什么|目的是什么|什么目的|出于什么|用意|"
                          r"\bwhy\b|\bwhat (is|are|was|were) the (reasons?|purpose|aim|goal)\b|\bfor what (reason|purpose)\b",
                          re.I)),
    ("manner", re.compile(r"什么方式|什么方法|什么办法|什么手段|什么途径|通过什么|靠什么|凭什么|怎样|怎么|如何|\bhow (do|does|did|can|should|to|is|are|was|were|will|would|could)\b|"
                          r"\bin what way\b|\bby what means\b|\bwhat (did|does|do|should|can|will) .{2,60}\b(do|take|adopt)\b|"
                          r"\bwhat (measures|steps|actions)\b", re.I)),
    ("list", re.compile(r"哪些|哪几|有什么|包括什么|包含什么|\bwhat are\b|\bwhich\b.*\b(are|were)\b|\blist\b", re.I)),
    # Words that suggest a number without asking for one (按一定比例混合会得到什么颜色, 在几百年中…哪一个):
    # only a question that asks for nothing else wants a number for them.
    ("number", re.compile(r"^(?!.*(?:什么|哪|谁|怎|如何|为何|何时|何人|\bwh|\bhow\b)).*(?:百分之|比例|几[百千万亿])", re.I | re.S)),
]

_CN_NUM = "零〇一二两三四五六七八九十百千万亿"
_MAGNITUDE = r"(?:万亿|千亿|百亿|十亿|亿|千万|百万|十万|万|千|百)"
_UNIT = (r"(?:%|％|‰|个百分点|元|美元|日元|欧元|港元|英镑|户|家|个月|个|名|位|项|座|条|种|类|所|人次|人|次|倍|吨|千瓦|兆瓦|瓦|平方公里|平方米|立方米|"
         r"公里|千米|公尺|公分|公斤|公克|英里|英尺|光年|厘米|毫米|微米|纳米|米|亩|公顷|毫升|公升|升|摄氏度|华氏度|℃|°\s*[cf]|°|度|年|周岁|岁|周|星期|天|小时|分钟|秒|级|层|届|期|批|台|辆|艘|件|部|"
         r"篇|本|册|套|张|只|头|匹|颗|棵|首|场|间|份|成|(?i:k?m[²2](?!\d)|km|cm|mm|kg|m|g|t|kw|mw|gw)(?![A-Za-z]))")
_CN_COUNT = rf"[零〇一二两三四五六七八九十][{_CN_NUM}]*"
# A number with at most one magnitude and one unit: 137户, 200亿元, 4个 (not 4个千亿级); a fraction
# (五分之一, 百万分之一); a written-out number with a magnitude (六亿七千多万).
# A lone 一 before a measure word is mostly an article (一批企业 "a group of firms"), not a count.
NUMBER_RE = re.compile(rf"(?<![\d-])(?:\d{{3,4}}-\d{{7,8}}|400-\d{{3}}-\d{{4}})(?![\d-])"  # phone numbers, whole
                       rf"|(?<![第\d.,])(?:\d+(?:\.\d+)?|[{_CN_NUM}]+)分之(?:\d+(?:\.\d+)?|[{_CN_NUM}]+)|一半|半数"
                       rf"|(?<![第\d.,])(?!\d{{4}}\s*年)(?!一(?![{_CN_NUM}]))(?:\d+(?:[.,]\d+)*|{_CN_COUNT})\s*(?:多|余)?"
                       rf"\s*{_MAGNITUDE}?\s*{_UNIT}"
                       rf"|(?<![第\d.,])\d+(?:[.,]\d+)*\s*(?:多|余)?\s*{_MAGNITUDE}"
                       rf"|(?<![第{_CN_NUM}])[一二两三四五六七八九][{_CN_NUM}]*[十百千万亿](?:多|余)?{_MAGNITUDE}?"
                       rf"|(?<![第\d.,])\d+(?:[.,]\d+)*(?![\d.,]|\s*[年月日号])")
_PERIOD_END = r"(?:时期|时代|期间|年间|初年|末年|初期|末期|中期|后期|前期|早期|晚期|前夕|年代|以来|纪)"
TIME_RE = re.compile(r"(?:公元前?|西元前?)?\d{1,4}\s*年(?:\s*\d{1,2}\s*月)?(?:\s*\d{1,2}\s*[日号])?(?:\s*[至到-]\s*\d{1,2}\s*[日号])?"
                     r"|\d{1,2}\s*月\s*\d{1,2}\s*[日号]|\d{1,2}\s*世纪(?:\d{1,2}\s*年代)?|[春夏秋冬]季|春节前夕|"
                     r"(?:上|下|中)?半年|\d{1,2}\s*月(?:份)?|[一二三四五六七八九十〇零]{2,4}年"
                     # durations and how long ago: 8小时, 不足两年, 八千多年前
                     rf"|(?:\d+(?:\.\d+)?|{_CN_COUNT})\s*(?:多|余)?\s*(?:个月|年|周|星期|天|小时|分钟|秒)(?:以前|以后|之前|之后|前|后)?"
                     r"|[正一二三四五六七八九十]{1,2}月(?:[一二三四五六七八九十]{1,3}[日号]?)?|\d{1,2}[:：]\d{2}"
                     # clock times: 20点30分, 晚上8点, 8点半 (not the 3点 of 3点建议)
                     r"|(?:(?:上午|下午|晚上|凌晨|早上|中午|傍晚)\s*)?\d{1,2}\s*[点时](?:\s*\d{1,2}\s*分|半|整)"
                     r"|(?:上午|下午|晚上|凌晨|早上|中午|傍晚)\s*\d{1,2}\s*[点时]"
                     # 21时 alone is an hour of the day (not 3点 alone: 3点建议 counts points)
                     r"|(?<![\d.])(?:[01]?\d|2[0-4])\s*时(?![间期代候刻])"
                     # a named period: 清朝末年, 美国大萧条时期, 上白垩纪早期 (the name after 在/于/是… or a break)
                     rf"|(?:(?<=[在于自从到至是为约，。；：、（\s])|^)(?:(?![在于自从到至是为约的])[\u4e00-\u9fff\d]){{1,8}}?{_PERIOD_END}"
                     r"(?:[早中晚末初]期)?")
ORG_RE = re.compile(r"[\u4e00-\u9fffA-Za-z0-9（）()]{2,24}?(?:股份有限公司|有限责任公司|有限公司|公司|集团|大学|学院|研究院|研究所|"
                    r"委员会|党校|政府|银行|协会|中心|医院|分公司|部|局|厅|署)")
# 排名第四, 第3批, 第十届: the rank itself (the number pattern leaves out what follows 第).
ORDINAL_RE = re.compile(r"第\s*(?:\d+|[一二三四五六七八九十百]+)\s*(?:名|位|批|届|次|个|大|家)?")
PERSON_HINT_RE = re.compile(r"[\u4e00-\u9fff]{2,4}(?=(?:总书记|主席|教授|先生|女士|院士|同志|表示|指出|强调|认为|说))")
# The patterns read folded text (fold_in_place), where ，；！？ are , ; ! ?: a clause's end names both forms.
MANNER_RE = re.compile(r"(?:通过|借助|依托|利用|采用|运用|依靠)[^，。；！？,;!?]{2,40}|以[^，。；！？,;!?]{2,24}(?:方式|手段|途径|为抓手|为引领)")
REASON_RE = re.compile(r"(?:因为|由于|为了|原因是|原因在于|旨在|目的是|是因为)[^，。；！？,;!?]{2,40}")
LOCATION_RE = re.compile(r"(?:(?<=[在于到至往赴、和与及，。；：“（\s])|^)[\u4e00-\u9fff]{1,6}?(?:省|市|县|区|镇|乡|村|港|岛|湾|洲|国)")

_ENTITY_RES: dict[str, list[re.Pattern[str]]] = {
    "number": [NUMBER_RE],
    "time": [TIME_RE],  # less the bare lengths of time (see entity_spans)
    "duration": [TIME_RE],
    "ordinal": [ORDINAL_RE],
    "org": [ORG_RE],
    "list": [],  # enumerations are found by enumeration_spans (below), which trims each end to an item
    "person": [PERSON_HINT_RE],
    "location": [LOCATION_RE],
    "manner": [MANNER_RE],
    "reason": [REASON_RE],
}


# A number question that names a measure wants that measure's unit: 面积 wants 平方公里, not 10家.
# The first matching measure decides (增长率 is a rate even when the question says GDP).
_MEASURES: list[tuple[re.Pattern[str], re.Pattern[str]]] = [
    (re.compile(r"(?<![频速倍比汇])率|增速|比例|比重|占比|百分之|\b(rate|percentage|share)\b", re.I), re.compile(r"%|％|百分|成")),
    (re.compile(r"面积|\barea\b", re.I), re.compile(r"平方|亩|公顷|²|㎡|(?i:k?m)2(?!\d)")),
    (re.compile(r"人口|\bpopulation\b", re.I), _PEOPLE := re.compile(r"人")),
    (re.compile(r"气温|温度|\btemperature\b", re.I), re.compile(r"度|℃|°")),
    (re.compile(r"投资|收入|产值|GDP|金额|资金|价格|票价|售价|费用|成本|营收|钱|薪|工资|补贴|补助|奖金|花费|"
                r"\b(price|cost|invest\w*|revenue|income|salary|wage|money)\b", re.I),
     re.compile(r"元|镑|美金")),
    # (Not 多高: 级别多高, 评价多高 ask no length.)
    (re.compile(r"距离|多远|长度|多宽|多深|多厚|高度|身高|宽度|深度|厚度|海拔|\b(distance|how far|length|how (?:tall|wide|deep))\b",
                re.I), _LENGTH := re.compile(r"米|公里|公尺|光年|英里|海里|(?i:km|cm|mm|m)(?![A-Za-z²2])")),
    (re.compile(r"重量|多重|\bweigh", re.I), re.compile(r"吨|克|斤|磅|(?i:kg|t)(?![A-Za-z])")),
    # 热线电话是多少 wants a phone number (0731-88889999, 12345, 119), not 30分钟 or 10个
    # (电话回访了多少名患者 counts people: see measure_unit.)
    (re.compile(r"电话|热线|号码|手机号|传真|\b(?:phone|hotline|fax)\b", re.I), _PHONE := re.compile(r"^\d[\d-]{2,}$")),
    # 多少岁, 多少年 / 几天 (a length of time: 设计寿命多少年 is not answered by 14.6亿元)
    (re.compile(r"年龄|岁数|年纪|\bhow old\b", re.I), re.compile(r"岁")),
    (re.compile(r"寿命|年限|工期|时长|\bhow many (?:years|months|weeks|days|hours|minutes)\b", re.I),
     _TIME_LENGTH := re.compile(r"年|个月|周|星期|天|日|小时|钟头|分钟|秒")),
    # 有多长: a length (龙窑长约6米) or a span of time (质保期有多长 → 5年), not 三次.
    (re.compile(r"多长"), re.compile(f"{_LENGTH.pattern}|{_TIME_LENGTH.pattern}")),
]


# 多少元, 几户: the unit a number question names after 多少/几 (any unit a counted number may carry).
_ASKED_UNIT_RE = re.compile(rf"(?:多少|几)\s*{_MAGNITUDE}?\s*({_UNIT})")


_TIME_UNITS = {unit: re.compile(pattern) for unit, pattern in (
    ("年", "年"), ("个月", "个月"), ("周", "周|星期"), ("星期", "周|星期"), ("天", "天|日"), ("小时", "小时|钟头"),
    ("分钟", "分钟"), ("秒", "秒"))}


# 多少名听众 is answered by a number of people (600名, 600余人, 600), not by 50场 or 4条: people are
# counted in any of 名/位/人/员, but never in a counter of events or things. (On the training sets, 33
# of 36 answers to 多少名/位/人 carry one of them; the other 3 are bare numbers, which count too.)
PEOPLE_COUNTERS = {"名", "位", "人", "人次"}
_COUNTED_PEOPLE = re.compile(r"名|位|人|员|口|^[\d.,零〇一二两三四五六七八九十百千万亿多余\s]+$")


def asked_unit(question: str) -> str | None:
    """The measuring unit a number question names right after 多少/几, if any (folded: 個 → 个)."""
    found = _ASKED_UNIT_RE.search(fold(question))
    return found.group(1) if found else None


def measure_unit(question: str) -> re.Pattern[str] | None:
    """The unit pattern a number question's measure calls for, if it names one: by a measure word
    (面积, 投资) or by a measuring unit after 多少 (多少吨 wants a weight: 3万吨 or 800公斤, not 12个;
    多少年 wants years, not 40分钟)."""
    question = fold(question)
    named = asked_unit(question)
    if named in _TIME_UNITS:
        return _TIME_UNITS[named]
    found = next((unit for measure, unit in _MEASURES
                  if measure.search(question) and not (named and unit is _PHONE)), None)
    if found is None and named in PEOPLE_COUNTERS:
        return _COUNTED_PEOPLE
    if found is None and named:
        # People are counted in 名/位/户 as often as in 人: only units that measure narrow the numbers.
        found = next((unit for _, unit in _MEASURES if unit is not _PEOPLE and unit.search(named)), None)
    return found


# A who-question that asks who someone *is* (局长是谁, 叫什么名字) wants a name; one that asks who
# *does* a job (由谁负责, 谁担任组长, who is responsible) may be answered by a role or a body
# (由市长担任, 由市住建局负责). The patterns read the folded question (誰 → 谁, lower case).
_AGENT_RE = re.compile(r"由谁|谁来|谁(?:负责|担任|牵头|主持|承担|组织|实施|主管|管理|分管|操作)|\bby whom\b|"
                       r"\bwho (?:is|was|are|were|will be) (?:responsible|in charge)\b")
# An office named in place of a name (由市长任总指挥): it answers a who-question too.
# (Not 长官, nor 城市长期/战区长官: a 长 that starts the next word.)
ROLE_RE = re.compile(r"(?:副?(?:省|市|县|区|州|镇|乡|村)(?:长|委书记)|(?:局|厅|部|处|科|校|院|馆|所|行|站|社|会|署|队|组|董事|理事|秘书)长|"
                     r"总经理|总裁|总监|主任|书记|主席|总指挥|负责人)(?![官期远久])")
# Names in Latin script (John Smith), which the tagger does not read.
_LATIN_NAME_RE = re.compile(r"\b[A-Z][a-z]+(?:[ .·-][A-Z][a-z]+)+\b")


# 承建单位是谁, 投资方是谁, 链主企业是谁: a body is asked for, in the words of a who-question.
# (The body ends the question: 芝加哥大学是谁创办的 asks for a person.)
_BODY_ASKED_RE = re.compile(r"(?:单位|企业|公司|机构|部门|组织|团队|集团|银行|医院|学校|大学|平台|方|厂|商)(?:是|为)谁\W*$")


def asks_for_a_name(folded_question: str, qtype: str | None) -> bool:
    """A who-question that only a person's name answers (not 由谁负责: see _AGENT_RE; not 承建单位是谁:
    see _BODY_ASKED_RE)."""
    return qtype == "person" and not _AGENT_RE.search(folded_question) and not _BODY_ASKED_RE.search(folded_question)


# An office an English question names, as the Chinese text writes it (Who is the mayor of … → 市长).
_ENGLISH_OFFICES: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(r"\bmayor\b"), ("市长",)),
    (re.compile(r"\bgovernor\b"), ("省长", "州长")),
    (re.compile(r"\bparty secretary\b"), ("书记",)),
    (re.compile(r"\bchair(?:man|woman|person)\b"), ("董事长", "主席", "理事长")),
    (re.compile(r"\b(?:principal|headmaster|headmistress)\b"), ("校长",)),
    (re.compile(r"\bdirector\b"), ("主任", "局长", "馆长", "所长", "院长", "总监", "处长", "厅长", "部长")),
    (re.compile(r"\b(?:ceo|chief executive|general manager)\b"), ("总经理", "总裁")),
]


def offices_asked(folded_question: str) -> tuple[str, ...]:
    """The offices a who-question names (县委书记 in 临川县现任县委书记是谁; 市长 for Who is the
    mayor…), as the text would write them: whoever answers is named as one of them. (On trial and
    DRCD, all 17 answerable who-questions naming an office have it in the sentence that answers.)"""
    chinese = tuple(("副" if m.start() and folded_question[m.start() - 1] == "副" and not m.group().startswith("副") else "")
                    + m.group() for m in ROLE_RE.finditer(folded_question))
    return chinese + tuple(o for pattern, offices in _ENGLISH_OFFICES if pattern.search(folded_question) for o in offices)


def says_office(folded_sentence: str, office: str) -> bool:
    """The sentence names ``office`` itself, not its deputy (副局长 is not the 局长 asked about)."""
    at = folded_sentence.find(office)
    while at >= 0:
        if office.startswith("副") or at == 0 or folded_sentence[at - 1] != "副":
            return True
        at = folded_sentence.find(office, at + 1)
    return False


def novel_offices(sentence: str, folded_question: str) -> list[tuple[int, int]]:
    """Spans of the offices the sentence names and the question does not (市长 in 由市长任总指挥 for
    总指挥是谁): the answer to a who-question whose text names an office in place of a person."""
    folded = fold_in_place(sentence)
    return [m.span() for m in ROLE_RE.finditer(folded) if m.group() not in folded_question]


def names_a_role_or_latin_name(sentence: str, folded_question: str) -> bool:
    """The sentence names an office the question does not (市长 for 总指挥是谁) or a Latin-script name;
    only the name when the question asks for a name in so many words (局长叫什么名字: 县长 is none)."""
    if _PERSONAL_NAME_RE.search(folded_question):
        return bool(_LATIN_NAME_RE.search(sentence))
    return bool(novel_offices(sentence, folded_question)) or bool(_LATIN_NAME_RE.search(sentence))


_PERSONAL_NAME_RE = re.compile(r"名字|姓名|叫什么|尊姓|姓什么|\bname\b")


#: Kinds answered by an answer passage (1–4 sentences) when one sentence does not hold the answer.
PASSAGE_TYPES = frozenset({"manner", "reason", "list"})

#: Kinds whose names the LAC tagger finds (``names``), besides the patterns.
NAMED_TYPES = frozenset({"person", "location", "org"})

#: Kinds whose entities the patterns find reliably: a sentence without one cannot be the answer.
RELIABLE_TYPES = frozenset({"number", "time", "duration", "ordinal"})

#: Kinds whose absence from the chosen sentence is evidence that the corpus does not answer (a
#: who-question quoting a sentence that names nobody): weighed by the decision, not a rule.
ABSENCE_TYPES = RELIABLE_TYPES | {"person"}


_SENTENCE_END_RE = re.compile(r"[。！？!?；;]")


def is_passage_lookup(question: str) -> bool:
    """A pasted passage (several sentences, not ending in a question mark) is looked up, not asked:
    a 如何 inside it is part of the text, not a request for a method."""
    text = question.strip()
    return len(text) > 40 and bool(_SENTENCE_END_RE.search(text[:-1])) and not text.endswith(("？", "?"))


def question_type(question: str) -> str | None:
    """The kind of answer ``question`` asks for (in any script: the patterns read its folded form)."""
    question = fold(question)
    if is_passage_lookup(question):
        return None
    for name, pattern in _QUESTION_PATTERNS:
        if pattern.search(question):
            return name
    return None


def entity_spans(sentence: str, qtype: str | None) -> list[tuple[int, int]]:
    """Spans in ``sentence`` of the kind of thing ``qtype`` asks for (empty when unknown); the
    patterns read its folded form (Traditional characters, full-width digits), offsets unchanged."""
    if qtype is None:
        return []
    sentence = pattern_text(sentence)
    spans = [(m.start(), m.end()) for pattern in _ENTITY_RES[qtype] for m in pattern.finditer(sentence)]
    if qtype in NAMED_TYPES and (names := name_spans(sentence, qtype)):
        # The tagger's name over a pattern's guess at it (台北市政府, not 在台北市政府).
        spans = names + [sp for sp in spans if not any(sp[0] < e and s < sp[1] for s, e in names)]
    if qtype == "list":
        spans += enumeration_spans(sentence)
    if qtype in ("number", "duration"):  # the 3 of 凌安X3, the 60 of 青禾T60: a model's name, no number
        spans = [sp for sp in spans if not (sp[0] and sentence[sp[0] - 1].isascii() and sentence[sp[0] - 1].isalpha())]
    if qtype in ("number", "duration"):  # the 三位 of 三位一体, the 四面 of 四面八方: an idiom counts nothing
        idioms = [m.span() for m in _NUMBER_IDIOM_RE.finditer(sentence)]
        spans = [sp for sp in spans if not any(s <= sp[0] and sp[1] <= e for s, e in idioms)]
    if qtype == "number":  # 10:00 is a clock time, not the numbers 10 and 00
        clocks = [m.span() for m in _CLOCK_RE.finditer(sentence)]
        spans = [sp for sp in spans if not any(s <= sp[0] and sp[1] <= e for s, e in clocks)]
    if qtype == "time":  # 车程约40分钟 does not say when (民国三年 may: years stay)
        spans = [sp for sp in spans if not _BARE_LENGTH_OF_TIME_RE.fullmatch(sentence, *sp)]
    if qtype in ("time", "duration"):  # 50年一遇 is a flood's rarity: neither a year nor a length of time
        spans = [sp for sp in spans if not sentence.startswith("一遇", sp[1])]
    return sorted(set(spans))


def pattern_text(sentence: str) -> str:
    """The folded sentence the entity patterns read, with the full-width comma kept as it is: folded
    to ',' it reads as a digit separator, and 会上，12家企业签约 or 火警电话119，… held no number."""
    folded = fold_in_place(sentence)
    if "，" not in sentence:
        return folded
    return "".join("，" if original == "，" else character for original, character in zip(sentence, folded, strict=True))


# A four-character idiom of two numerals (三位一体, 五湖四海, 千方百计, 七上八下). Not when the last
# character counts (一年两次; 三人一组 is read as an idiom) or a time word pairs them (三天两夜).
_IDIOM_NUMERAL = "一二两三四五六七八九十百千万"
_NUMBER_IDIOM_RE = re.compile(rf"(?<![{_CN_NUM}\d])[{_IDIOM_NUMERAL}](?![{_CN_NUM}年月日天夜周时])[\u4e00-\u9fff]"
                              rf"[{_IDIOM_NUMERAL}](?![{_CN_NUM}年月日天夜周时次遍回倍])[\u4e00-\u9fff](?![{_CN_NUM}])")
_CLOCK_RE = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?::\d{2})?(?!\d)")
_BARE_LENGTH_OF_TIME_RE = re.compile(rf"(?:\d+(?:\.\d+)?|{_CN_COUNT})\s*(?:多|余)?\s*(?:个月|周|星期|天|小时|分钟|秒)")


# Clauses end at any punctuation but the enumeration comma 、.
_CLAUSE_RE = re.compile(r"[^，。；：！？,;:!?\n“”\"（）()《》]+")
_LAST_ITEM_END_RE = re.compile(r"等|为代表|为主|为重点|为核心|在内|相结合|这|这些|几|方面|领域|地区|行业|产业|企业|部门|多个|多种|诸多")
_AND_RE = re.compile(r"以及|和|及|与|或")


# Quoted names in a row are a list too: “放管服”“一网通办”“最多跑一次”, 「嘉義」、「台南」.
_QUOTED_RUN_RE = re.compile(r"(?:“[^“”\n]{1,24}”|「[^「」\n]{1,24}」)(?:[、和及与]?(?:“[^“”\n]{1,24}”|「[^「」\n]{1,24}」))+")


def enumeration_spans(sentence: str) -> list[tuple[int, int]]:
    """The enumerations in ``sentence`` (电子、包装、医疗、建筑 in 广泛应用于电子、包装、医疗、建筑等领域),
    each trimmed to its items: the words before the first 、 are cut to about one item's length,
    and the last item ends at 等 (or at about one item's length); and runs of quoted names."""
    sentence = fold_in_place(sentence)
    quoted = [(m.start(), m.end()) for m in _QUOTED_RUN_RE.finditer(sentence)]
    spans = list(quoted)
    for clause in _CLAUSE_RE.finditer(sentence):
        text = clause.group()
        if "、" not in text:
            continue
        parts = text.split("、")
        last = parts[-1]
        cut = _LAST_ITEM_END_RE.search(last)
        tail_items = [p for p in _AND_RE.split(last[:cut.start()] if cut else last) if p]
        middle = [p for p in parts[1:-1] if p] + tail_items[:-1]
        typical = sum(map(len, middle)) / len(middle) if middle else len(tail_items[-1] if tail_items else last)
        last_kept = _words_up_to(last, typical, from_end=False) if cut is None else last[:cut.start()]
        first_kept = _first_item(parts[0], typical)
        if not first_kept or not last_kept:
            continue
        start = clause.start() + len(parts[0]) - len(first_kept)
        end = clause.start() + len(text) - len(last) + len(last_kept)
        if not any(q_start <= start and end <= q_end for q_start, q_end in quoted):
            spans.append((start, end))
    return spans


# What introduces a list's first item: 如/包括/例如 … (新兴产业项目，如新能源汽车电池材料、高端装备制造).
_INTRODUCER_RE = re.compile(r"(?:如|包括|包含|例如|比如|诸如|涵盖|涉及|覆盖|有|是|为|在|于|对|向|将|把|了|从|到|以)(?=[^如包例比诸涵涉覆有是为在于对向将把了从到以]*$)")


def _first_item(text: str, typical: float) -> str:
    """The first item of a list: what follows the word that introduces it, else about one item's
    length of whole words."""
    introduced = _INTRODUCER_RE.search(text)
    if introduced and 0 < len(text) - introduced.end() <= 3 * typical:
        return text[introduced.end():]
    return _words_up_to(text, typical, from_end=True)


def _words_up_to(text: str, length: float, from_end: bool) -> str:
    """Whole jieba words from one end of ``text`` until about ``length`` characters."""
    import jieba

    words = jieba.lcut(text)
    if from_end:
        words = words[::-1]
    kept: list[str] = []
    for word in words:
        if kept and sum(map(len, kept)) >= length - 0.5:
            break
        kept.append(word)
    return "".join(kept[::-1] if from_end else kept)


def enumeration_around(sentence: str, span: tuple[int, int]) -> tuple[int, int] | None:
    """The enumeration that contains ``span`` (a place, a firm…), if it is one item of a list."""
    for start, end in enumeration_spans(sentence):
        if start <= span[0] < end or start < span[1] <= end:
            return start, end
    return None
