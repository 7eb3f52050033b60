"""Build benchmarks/gibberish_train.jsonl: unanswerable questions for TRAINING a reject/“no answer” signal.

This set is separate from the held-out benchmarks/gibberish_questions.jsonl (ids gb-…); no question
string appears in both, nor in seed_questions.jsonl / seed_questions_en.jsonl.

Kinds (same as the held-out file):
  mash         keyboard mashing: row walks, repeated keys, punctuation runs (ASCII and full-width)   generated
  latin        pseudo-words built from random syllables, lorem-ipsum word samples                    generated
  cjk          random common Chinese characters, repeated interjections, function-word salad         generated
  mixed        letters + digits + emoji + CJK + symbols mixed together                               generated
  offtopic-zh  natural Chinese questions on other topics                                             hand-written
  offtopic-en  natural English questions on other topics                                             hand-written
  near-miss    questions using the essays' names/terms about facts the essays do not contain         hand-written
               (checked by hand against seeds/yingkou-essays-2025.txt)
  single-word  greetings and one-word inputs                                                         hand-written

Deterministic: one random.Random(SEED); the generated kinds draw in a fixed order. A generated string
that already occurs (in this file, the held-out file or the seed question files) is skipped and drawn
again, so the output only changes if those files change.

Run:  python benchmarks/make_gibberish_train.py            (writes benchmarks/gibberish_train.jsonl)
      python benchmarks/make_gibberish_train.py --check    (rebuilds in memory, compares with the file)
Each line: {"id": "gt-001", "question": ..., "answers": [], "kind": ...}
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "gibberish_train.jsonl"
HELD_OUT = HERE / "gibberish_questions.jsonl"
SEED_FILES = [HERE / "seed_questions.jsonl", HERE / "seed_questions_en.jsonl"]
SEED = 20250601
COUNTS = {"mash": 32, "latin": 30, "cjk": 30, "mixed": 26}

KEY_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890", "poiuytrewq", "lkjhgfdsa", "mnbvcxz"]
PUNCT_ASCII = list(";',./[]\\-=`~!?")
PUNCT_FULL = list("；‘’。、，！？【】《》…（）“”：")
CONSONANTS = list("bcdfghjklmnpqrstvwxz") + ["br", "tr", "st", "pl", "gr", "sn", "kr", "th", "ch", "sh"]
VOWELS = list("aeiou") + ["oo", "ea", "ai", "ou"]
LOREM = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut "
         "labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris "
         "nisi aliquip ex ea commodo consequat").split()
# common characters with no topical bias (no 营/口/治/理 etc. on purpose)
CJK_POOL = list("天地人大小上下山水火木金土日月风云花草鸟鱼马牛羊狗猫红绿蓝白黑高低长短多少"
                "开关来去走跑飞吃喝看听说写读唱笑哭东南西北春夏秋冬左右前后里外门窗桌椅")
INTERJECTIONS = list("啊哦嗯呃哈嘿呵唉喵啦哇咦嘻哎呜噢")
FUNCTION_WORDS = list("的了是在和也都就还又把被给着过吗呢吧")
EMOJI = ["😀", "😂", "🤔", "👍", "🙏", "🔥", "❤️", "🎉", "😅", "🐱"]
SYMBOLS = list("#$%^&*@+=_|~")


def mash(r: random.Random) -> str:
    style = r.randrange(5)
    if style == 0:  # walk along a keyboard row
        row = r.choice(KEY_ROWS)
        i = r.randrange(len(row) - 3)
        return row[i:i + r.randint(4, len(row) - i)]
    if style == 1:  # one key held down, maybe two groups
        s = r.choice("abcdefghijklmnopqrstuvwxyz") * r.randint(5, 12)
        return s if r.random() < 0.5 else s + " " + r.choice("abcdefghijklmnopqrstuvwxyz") * r.randint(2, 5)
    if style == 2:  # random home-row / left-hand letters in 1–3 groups
        keys = r.choice(["asdfjkl;", "qweasdzxc", "uiojklm", "dfghcvb"])
        return " ".join("".join(r.choice(keys) for _ in range(r.randint(3, 8))) for _ in range(r.randint(1, 3)))
    if style == 3:  # full-width punctuation run
        return "".join(r.choice(PUNCT_FULL) for _ in range(r.randint(3, 9)))
    return "".join(r.choice(PUNCT_ASCII) for _ in range(r.randint(3, 9)))  # ASCII punctuation run


def pseudo_word(r: random.Random) -> str:
    return "".join(r.choice(CONSONANTS) + r.choice(VOWELS) for _ in range(r.randint(1, 3))) + (
        r.choice(CONSONANTS) if r.random() < 0.5 else "")


def latin(r: random.Random) -> str:
    if r.random() < 0.35:  # lorem-ipsum sample
        i = r.randrange(len(LOREM) - 4)
        words = LOREM[i:i + r.randint(2, 6)]
        s = " ".join(words)
        return s.capitalize() + "." if r.random() < 0.3 else s
    s = " ".join(pseudo_word(r) for _ in range(r.randint(1, 4)))
    t = r.random()
    if t < 0.15:
        s = s.upper()
    elif t < 0.3:
        s += "?"
    return s


def cjk(r: random.Random) -> str:
    style = r.randrange(3)
    if style == 0:  # random characters
        return "".join(r.choice(CJK_POOL) for _ in range(r.randint(3, 9)))
    if style == 1:  # repeated interjections
        parts = [r.choice(INTERJECTIONS) * r.randint(2, 4) for _ in range(r.randint(1, 2))]
        return " ".join(parts) + r.choice(["", "", "？", "……", "！"])
    return "".join(r.choice(FUNCTION_WORDS) for _ in range(r.randint(4, 8)))  # function-word salad


def mixed(r: random.Random) -> str:
    pieces = []
    for _ in range(r.randint(2, 3)):
        k = r.randrange(5)
        if k == 0:
            pieces.append("".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(2, 6))))
        elif k == 1:
            pieces.append("".join(r.choice("0123456789") for _ in range(r.randint(2, 8))))
        elif k == 2:
            pieces.append("".join(r.choice(EMOJI) for _ in range(r.randint(1, 3))))
        elif k == 3:
            pieces.append("".join(r.choice(CJK_POOL + INTERJECTIONS) for _ in range(r.randint(1, 3))))
        else:
            pieces.append("".join(r.choice(SYMBOLS) for _ in range(r.randint(1, 4))))
    return r.choice(["", " "]).join(pieces)


GENERATORS = {"mash": mash, "latin": latin, "cjk": cjk, "mixed": mixed}

HAND = {
    "offtopic-zh": [
        "饺子怎么包才不会破？", "上海迪士尼的门票多少钱？", "孔子是哪国人？", "怎么给手机贴膜不起气泡？",
        "为什么月亮会有阴晴圆缺？", "黄河的源头在哪里？", "高血压患者饮食要注意什么？", "周末带孩子去哪里玩比较好？",
        "怎么用Excel做数据透视表？", "西红柿炒鸡蛋应该先放哪个？", "光合作用的原理是什么？", "秦始皇统一六国是哪一年？",
        "怎样才能考上研究生？", "狗狗为什么会摇尾巴？", "北京故宫有多少间房？", "如何提高孩子的学习兴趣？",
        "电动车电池应该怎么保养？", "地铁晚上几点停运？", "珠穆朗玛峰有多高？", "量子计算机是怎么工作的？",
        "辞职信应该怎么写？", "人为什么会做梦？", "最近有什么好听的歌？", "《三国演义》里谁的武功最厉害？",
        "怎么申请信用卡？",
    ],
    "offtopic-en": [
        "How do I change a car tire?", "Who wrote Pride and Prejudice?", "What's the best way to learn Python?",
        "Why do leaves change color in autumn?", "How far is the Moon from Earth?", "What is the population of Canada?",
        "How do vaccines work?", "Who discovered penicillin?", "What's a good recipe for lasagna?",
        "How do I install Windows 11?", "Why do we yawn?", "What is the tallest building in the world?",
        "How do I apply for a passport?", "Which team won the NBA finals in 2020?",
        "How does a refrigerator keep things cold?", "What is the meaning of life?",
        "How can I improve my credit score?", "What are the basic rules of chess?",
        "When did the Western Roman Empire fall?", "Where can I find cheap flights to London?",
    ],
    # Checked by hand against seeds/yingkou-essays-2025.txt: the essays name these people/firms/places
    # or topics but do not state the asked-for fact.
    "near-miss": [
        "营口市的市委书记是谁？", "鞍钢股份有限公司鲅鱼圈钢铁分公司成立于哪一年？", "营口高科合成耐火材料有限公司的地址在哪里？",
        "华能产业园一期工程投资了多少钱？", "营口2024年的工业增加值增长了多少？", "王献笛在党校讲授什么课程？",
        "冯也的文章发表在哪家报纸上？", "营口海上风电的装机容量有多大？", "营口市现在有多少家养老院？",
        "营口市公安局局长是谁？", "新山鹰报警是哪一年成立的？", "营口黄金产业集群去年的产值是多少？",
        "营口目前有多少名科技人才？", "营口建成了多少个众创空间？", "营口“最多跑一次”覆盖了多少个审批事项？",
        "营口港的集装箱吞吐量是多少？", "康辉新材料的工厂建在营口哪个区？",
        "Who is the Party secretary of Yingkou?", "When was the Huaneng clean energy industrial park founded?",
        "How much did Yingkou's GDP grow in 2024?", "What is the population of Bayuquan district?",
    ],
    "single-word": ["嗨", "哈喽", "早上好", "晚安", "bye", "yes", "no", "嗯", "测试", "thank you", "喂", "拜拜"],
}


def known_questions() -> set[str]:
    seen: set[str] = set()
    for path in [HELD_OUT, *SEED_FILES]:
        if path.exists():
            seen |= {json.loads(line)["question"] for line in path.open(encoding="utf-8") if line.strip()}
    return seen


def build() -> list[dict]:
    r = random.Random(SEED)
    taken = known_questions()
    rows: list[tuple[str, str]] = []
    for kind, n in COUNTS.items():
        made = 0
        while made < n:
            q = GENERATORS[kind](r).strip()
            if len(q) < 2 or q in taken:
                continue
            taken.add(q)
            rows.append((kind, q))
            made += 1
    for kind, qs in HAND.items():
        for q in qs:
            if q in taken:
                raise SystemExit(f"hand-written question overlaps another set: {q!r}")
            taken.add(q)
            rows.append((kind, q))
    return [{"id": f"gt-{i:03d}", "question": q, "answers": [], "kind": k} for i, (k, q) in enumerate(rows, 1)]


def dump(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare a fresh build with the file; write nothing")
    args = ap.parse_args()
    text = dump(build())
    if args.check:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        print("gibberish_train.jsonl is up to date" if same else "gibberish_train.jsonl differs from a fresh build")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10))} questions to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
