"""The words of submission: verbs, who reports, to whom, and what."""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERB = re.compile(
    r"报送|上报|直报|呈报|报告|报备|报审|报批|报来|提交|递交|上交|送交|交至|送达|送至|反馈|回传"
    r"|发送|发至|传至|传真至|填报|上传|录入|申报|汇报|报(?![名到道销警表刊纸价复关废案社馆亭考账修失])"
    r"|交(?=[至到给]|所在|[县市区镇乡省街村学各])"
)
# A bare 交 hands something over only in 将X交Y; elsewhere it starts 交流, 交通, 交办 ...
_HAND_OVER = re.compile(r"[将把][^,。;]{1,30}$")
# Before a bare 报 these make another word: 通报 and 公报 go downwards or outwards,
# 举报 is a complaint, 迟报/漏报/瞒报 name failures, 日报/周报/月报 name a report series.
_NOT_BEFORE_BARE = set("通公预举情简快海电回汇日周月季年旬画捷喜谎瞒漏迟错误虚晚谍警抄未")
# Before 报告 these make the noun (自查报告, 总结报告, 书面报告 ...), not the verb.
_REPORT_NOUN_BEFORE = set("查结析估题作研况展验面度终职述测价性改")
_WITHIN_MEANS = re.compile(r"(?:之内|以内|内)\s*(?:以|用)?(?:书面|电话|口头)(?:形式|方式)?$")
_PAST_AFTER = re.compile(r"了|过(?!程)")
# 报告制度 / 报送机制 name an arrangement; the verb is not being used.
_NOUN_AFTER = re.compile(r"制度|机制|流程|渠道|率|人员|专员")
_PAST_BEFORE = re.compile(r"已经?(?:按时|按期|如期|全部|陆续)?$|均已$")
# 录入上一年度数据 reports statistics into a system; 录入发放信息 only keeps records.
_ENTERED_DATA = re.compile(r"[^,。;]{0,30}(?:数据|统计|报表)")
# Feedback of opinions or results flows down from the issuer, not up to it.
_DOWNWARD_OBJECT = re.compile(r"(?:审核|审查|审定|处理|评审|核查|检查)?(?:意见|结果)")

ORG_SUFFIX = (
    r"(?:局|办|办公室|中心|委|委员会|科|股|处|室|组|所|站|部|院|队|会|邮箱|信箱|系统|平台|政府"
    r"|街道|镇|乡|县|区|市|省|厅|分局|专班|指挥部|公司|协会|学校|单位|小组|窗口|企业|社区|村"
    r"|乡镇|部门|医院|高校|网站|机构|机关|卫生院|卫生室|幼儿园|银行|园区|居委会|村委会)"
)
_ORG_END = re.compile(rf"{ORG_SUFFIX}$")
_TARGET = re.compile(r"\s*(?:至|到|给)?\s*(?P<t>[^,。;:、()《》“”\s]{2,40})")
_TARGET_PROCEDURE = re.compile(r"(?:备案|审核|审批|审定|存档|汇总|审查|核查|确认)$")
_MAILBOX = re.compile(r"^(?P<box>.*?(?:邮箱|信箱))")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_TOWARD = re.compile(r"向(?P<t>[^,。;:、()\s]{2,30}?)(?:报送|上报|报告|提交|反馈|汇报|报)")
_THROUGH = re.compile(r"通过“?(?P<t>[^,。;:“”]{2,30}?(?:系统|平台|邮箱|网站|APP|小程序))”?")
# 自 is "from" (自6月起), except in the 自查 / 自评 / 自检 words that name the thing itself.
SELF_WORD = r"(?:查|评|检|纠|测|愿)"
_BOUNDARY = r"(?=[要应须需务请于在每将按自从,、:;。\s和与及等对负均统汇)]|$)"
_SUBJECT_SUFFIX = rf"(?:{ORG_SUFFIX}|地区|地|级)"
_NAME_CHAR = r"(?:[^,。;:、()\s各于在将每前报送]|\([^()]{0,8}\))"
_EACH = re.compile(rf"各{_NAME_CHAR}{{0,18}}?{_SUBJECT_SUFFIX}(?:\([^()]{{0,8}}\))?{_BOUNDARY}")
_UP_TO_ORG = re.compile(rf".*{_SUBJECT_SUFFIX}")
_EACH_SHORT = re.compile(rf"各{_NAME_CHAR}{{0,6}}?{_SUBJECT_SUFFIX}")
_EACH_MORE = re.compile(rf"、各{_NAME_CHAR}{{0,18}}?{_SUBJECT_SUFFIX}{_BOUNDARY}")
_ENUMERATOR = re.compile(
    r"\s*(?:\(?[一二三四五六七八九十\d]{1,3}[)、.]|\([一二三四五六七八九十\d]{1,3}\))"
)
_LEADING_SUBJECT = re.compile(
    r"(?:请|由)?(?P<s>[^,。;:]{2,24}?)"
    r"(?:要|应当|应|须|需|务必|必须|请|于|在|每|将|汇总后|统一|按照|按|自|从)"
)
_SALUTATION = re.compile(r"^[^。;:\n]{2,80}:$", re.MULTILINE)
_OBJECT_STOP = re.compile(r"[,。;:!?]")
_LEADING_ACTION = re.compile(
    r"^(?:并|及时|认真|要|请|须|需|应|务必|按时|统一|分别|同时|组织)*"
    r"(?:结合实际制定|填写|制定|制订|形成|撰写|整理|汇总|梳理|确定|编制|完成|报送|上报)?"
)
_TRAILING_JUNK = re.compile(
    r"(?:于|在|并于|请于|须于|需于|应于|要于|务必于|均于|分别于|并|后|,|及时|统一|分别)+$"
)


@dataclass(frozen=True)
class Verb:
    """A submission verb at [start, end)."""

    start: int
    end: int


def _accept(text: str, match: re.Match[str]) -> bool:
    word, start = match.group(), match.start()
    before = text[start - 1] if start > 0 else ""
    # 23日报 is a date followed by the verb, 日报 alone is a daily report.
    date_then_verb = before == "日" and start > 1 and text[start - 2].isdigit()
    if word == "报" and before in _NOT_BEFORE_BARE and not date_then_verb:
        return False
    if _NOUN_AFTER.match(text, match.end()):
        return False
    # 整改报告上报X: a 报告 followed by the verb is the thing sent.
    if word == "报告" and _VERB.match(text, match.end()):
        return False
    if word == "报告" and _WITHIN_MEANS.search(text, max(0, start - 8), start):
        return True  # 24小时内书面报告: right after a time limit, the means and the verb
    if word == "报告" and before in _REPORT_NOUN_BEFORE:
        # 自查报告 is a noun, but 书面报告县局 is the verb.
        return _ORG_END.search(recipient_after(text, match.end()) or "") is not None
    if word == "录入" and not _ENTERED_DATA.match(text, match.end()):
        return False
    if word == "反馈" and _DOWNWARD_OBJECT.match(text, match.end()):
        return False
    # 于9月20日交学区办公室: a bare 交 right after a date hands something over too.
    if (
        word == "交"
        and before not in "日号"
        and not _HAND_OVER.search(text, max(0, start - 31), start)
    ):
        return False
    return not _PAST_AFTER.match(text, match.end()) and not _PAST_BEFORE.search(
        text[max(0, start - 6) : start]
    )


def find_verbs(text: str, start: int, end: int) -> list[Verb]:
    """Submission verbs in text[start:end]."""
    return [Verb(m.start(), m.end()) for m in _VERB.finditer(text, start, end) if _accept(text, m)]


def verb_at(text: str, pos: int) -> Verb | None:
    """The submission verb that begins exactly at pos (after a date: 23日报 counts)."""
    match = _VERB.match(text, pos)
    if match is None or _PAST_AFTER.match(text, match.end()):
        return None
    if match.group() == "反馈" and _DOWNWARD_OBJECT.match(text, match.end()):
        return None
    return Verb(match.start(), match.end())


def is_org(name: str) -> bool:
    """Does the phrase name a body, a mailbox or a system?"""
    return _ORG_END.search(name) is not None


def recipient_after(text: str, pos: int) -> str | None:
    """Who receives, if what follows a verb names a body, a mailbox or a system."""
    email = _EMAIL.search(text, pos, min(len(text), pos + 60))
    if email is not None and email.start() - pos < 12:
        return email.group()
    match = _TARGET.match(text, pos)
    if match is None:
        return None
    target = _TARGET_PROCEDURE.sub("", match.group("t"))
    to = max(target.rfind("至"), target.rfind("到"))
    if to >= 2 and is_org(target[to + 1 :]):
        target = target[to + 1 :]  # 报送统计表至县执法大队: the body after 至
    mailbox = _MAILBOX.match(target)
    if mailbox is not None:
        return mailbox.group("box")
    return target if len(target) >= 2 and is_org(target) else None


def recipient_toward(text: str, start: int, end: int) -> str | None:
    """向X报送 or 通过X系统报送: X, if written in text[start:end]."""
    match = _TOWARD.search(text, start, end) or _THROUGH.search(text, start, end)
    return match.group("t") if match else None


_PAIRS = (("(", ")"), ("《", "》"), ("“", "”"))


def _balanced(chunk: str) -> str:
    """Drop brackets and quotes a cut left unpaired at either end; close a dangling "("."""
    chunk = chunk.strip()
    for opening, closing in _PAIRS:
        while chunk.endswith(closing) and chunk.count(closing) > chunk.count(opening):
            chunk = chunk[:-1].rstrip()
        while chunk.startswith(opening) and chunk.count(opening) > chunk.count(closing):
            chunk = chunk[1:].lstrip()
    if chunk.count("(") > chunk.count(")"):
        chunk += ")"
    return chunk


def object_after(text: str, pos: int, end: int) -> str | None:
    """The thing named right after a verb, when it is not a recipient."""
    stop = _OBJECT_STOP.search(text, pos, end)
    chunk = _balanced(text[pos : stop.start() if stop else end])
    to = max(chunk.rfind("至"), chunk.rfind("到"))
    if to >= 2 and is_org(chunk[to + 1 :]):
        chunk = chunk[:to]  # 报送统计表至县执法大队: the thing, without where it goes
    if chunk.startswith(("至", "到", "给")):
        return None
    if len(chunk) < 2 or is_org(chunk):
        return None
    return chunk[:60]


def object_between(text: str, start: int, end: int) -> str | None:
    """将X报送: X, or the noun phrase that opens a clause before a deadline."""
    chunk = text[start:end]
    for marker in ("将", "把"):
        index = chunk.rfind(marker)
        if index >= 0:
            chunk = chunk[index + 1 :]
            break
    enumerator = _ENUMERATOR.match(chunk)
    chunk = chunk[enumerator.end() :] if enumerator else chunk
    chunk = chunk.lstrip(" ,")  # 结束后15个工作日内,各县报送X: the clause break is no thing
    subject = _EACH.match(chunk.strip()) or _LEADING_SUBJECT.match(chunk.strip())
    if subject is not None and subject.group().startswith("各"):
        chunk = chunk.strip()[subject.end() :]
    chunk = _LEADING_ACTION.sub("", chunk.strip())
    chunk = _TRAILING_JUNK.sub("", chunk).strip()
    chunk = _balanced(chunk)
    if chunk.startswith("(") or len(chunk) < 2 or is_org(chunk):
        return None
    return chunk[:60]


def subject_in(text: str, start: int, end: int, *, last: bool = False) -> str | None:
    """A 各X subject (各单位, 各乡镇、各部门, 各牵头单位 ...) written in text[start:end]."""
    # A list 各乡镇、各部门 is one subject; its later members never start one.
    matches = [
        m for m in _EACH.finditer(text, start, end) if text[m.start() - 1 : m.start()] != "、"
    ]
    if not matches:
        return None
    match = matches[-1] if last else matches[0]
    subject, pos = match.group(), match.end()
    while more := _EACH_MORE.match(text, pos, end):
        subject += more.group()
        pos = more.end()
    return subject


def skip_enumerator(text: str, start: int, end: int) -> int:
    """Where a clause starts once a list number such as (一) or 2. is skipped."""
    match = _ENUMERATOR.match(text, start, end)
    return match.end() if match else start


def after_subject(text: str, start: int, end: int) -> int:
    """Where text continues after an opening 各X subject: 各单位收到通知后 -> 收到通知后."""
    match = _EACH.match(text, start, end) or _EACH_SHORT.match(text, start, end)
    return match.end() if match else start


def leading_subject(text: str, start: int, end: int) -> str | None:
    """The body that opens a clause: 镇生态环境办汇总后于..., 事发单位要在..."""
    enumerator = _ENUMERATOR.match(text, start, end)
    match = _LEADING_SUBJECT.match(text, enumerator.end() if enumerator else start, end)
    if match is None:
        return None
    subject = match.group("s").strip()
    if subject.startswith("各"):
        listed = subject_in(text, match.start("s"), match.end("s") + 1)
        # 各燃气经营企业不迟于: cut after the last word that names a body.
        cut = _UP_TO_ORG.match(subject)
        return listed or (cut.group() if cut else None)
    return subject if is_org(subject) and _VERB.search(subject) is None else None


def salutation(text: str) -> str | None:
    """The addressee line of the cover letter (机关各股(室)、各市场监管所:)."""
    head = text[: min(len(text), 1500)]
    for match in _SALUTATION.finditer(head):
        line = match.group().strip()
        if "各" in line or re.search(ORG_SUFFIX + ":$", line):
            return line.rstrip(":").strip()
    return None
