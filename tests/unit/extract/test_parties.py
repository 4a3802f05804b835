from domain.extract import extract_obligations

from .conftest import only


def test_the_recipient_follows_the_verb() -> None:
    assert only("请于3月15日前将名单报送县安委办。").recipient == "县安委办"


def test_a_recipient_after_zhi_is_read() -> None:
    assert only("每月5日前将统计表报送至市局执法稽查处。").recipient == "市局执法稽查处"


def test_a_recipient_named_with_xiang_is_read() -> None:
    assert only("每天下午4:30前向镇生态环境办报告当日巡查情况。").recipient == "镇生态环境办"


def test_a_recipient_named_later_in_the_paragraph_is_used() -> None:
    text = "每周四下午15:00前报送相关报表。材料及相关报表报送至投诉举报中心。"
    assert only(text).recipient == "投诉举报中心"


def test_an_email_address_is_a_recipient() -> None:
    found = only("请于3月10日前将联络员名单发送至邮箱swt_tj@gd.gov.cn。")
    assert found.recipient == "swt_tj@gd.gov.cn"


def test_a_filing_procedure_is_not_part_of_the_recipient() -> None:
    found = only("请自本通知印发之日起10日内制定实施方案并报市局执法稽查处备案。")
    assert found.recipient == "市局执法稽查处"


def test_the_subject_of_the_sentence_is_the_sender() -> None:
    assert only("各区县卫生健康局于每月5日前报送进展情况。").sender == "各区县卫生健康局"


def test_a_list_of_subjects_is_one_sender() -> None:
    found = only("各乡镇、各行业主管部门每周五下午4点前报送统计表。")
    assert found.sender == "各乡镇、各行业主管部门"


def test_a_named_body_opening_the_clause_is_the_sender() -> None:
    text = "各村于10月28日前报送总结,镇生态环境办汇总后于11月15日前报县生态环境分局。"
    first, second = extract_obligations(text).obligations
    assert first.sender == "各村"
    assert second.sender == "镇生态环境办"


def test_the_addressee_line_is_the_fallback_sender() -> None:
    text = "关于开展检查的通知\n\n机关各股室、各市场监管所:\n\n请于3月15日前报送名单。"
    assert only(text).sender == "机关各股室、各市场监管所"


def test_what_is_sent_is_the_object_of_jiang() -> None:
    assert only("请于3月15日前将大检查联络员名单报送县安委办。").what == "大检查联络员名单"


def test_what_is_sent_may_follow_the_verb() -> None:
    assert only("每周四下午15:00前报送相关报表。").what == "相关报表"


def test_what_is_sent_may_open_the_clause() -> None:
    found = only("安排信息联络员一名(名单12月15日前报送投诉举报中心)。")
    assert found.what == "名单"


def test_a_titled_form_keeps_its_book_title_marks() -> None:
    found = only("填写《专项整治工作联络名单》9月18日前报区级联席会议办公室。")
    assert found.what == "《专项整治工作联络名单》"


def test_the_quote_is_verbatim_from_the_original_text() -> None:
    found = only("请于１２月３日（周五）前将名单报送县局，逾期不候。")
    assert found.quote == "请于１２月３日（周五）前将名单报送县局"


def test_the_quote_keeps_a_bracketed_recipient_whole() -> None:
    found = only("于下发之日起5个工作日内报镇经科信局邮箱(OA地址：镇质监工作站)。")
    assert found.quote == "于下发之日起5个工作日内报镇经科信局邮箱(OA地址：镇质监工作站)"


def test_handing_a_form_to_the_community_is_a_submission() -> None:
    found = only("各餐饮企业应在收到通知后两日内完成自查,并将自查表交所在社区。")
    assert (found.offset, found.what, found.recipient) == (2, "自查表", "所在社区")


def test_what_was_made_a_clause_earlier_is_what_is_sent() -> None:
    text = "各医疗机构开展自查,形成自查报告,经审核后,于2025年7月15日前报送省卫健委医政处。"
    found = only(text)
    assert (found.what, found.sender) == ("自查报告", "各医疗机构")


def test_what_is_sent_is_spelled_as_in_the_original() -> None:
    found = only("各企业要于每日上午10点前报送前一日相关数据。")
    assert found.what == "前一日相关数据"
