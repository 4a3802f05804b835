from .conftest import none_in


def test_the_campaign_start_and_end_are_not_deadlines() -> None:
    assert none_in("此次专项行动自2016年12月1日开始,至2017年2月28日结束。")


def test_a_phase_is_not_a_deadline() -> None:
    assert none_in("(一)动员部署阶段(2016年12月1日至10日)。要制定具体工作方案。")


def test_an_inspection_frequency_is_not_a_deadline() -> None:
    assert none_in("各乡镇对企业每月巡查不少于3次。")


def test_reporting_at_any_time_has_no_deadline() -> None:
    assert none_in("遇有重大案件和情况,随时上报。重要情况及时报送。")


def test_a_downward_circular_is_not_a_submission() -> None:
    assert none_in("每月对各单位查办案件情况进行通报。对督查情况,区局将以书面形式予以通报。")


def test_a_publication_window_is_not_a_submission() -> None:
    assert none_in("查办的行政处罚案件信息20个工作日内在国家企业信用信息公示系统上公示。")


def test_the_issuer_publishing_a_quarterly_round_up_is_not_a_submission() -> None:
    assert none_in("省商务厅将每季度通报各地数据报送情况。")


def test_feedback_of_review_opinions_flows_downwards() -> None:
    assert none_in("省教育厅将在收到后10个工作日内反馈审核意见。")


def test_a_meeting_date_is_not_a_deadline() -> None:
    assert none_in("县安委会定于3月12日上午9时召开动员部署会议。")


def test_an_inspection_visit_is_not_a_deadline() -> None:
    assert none_in("县安委会将于4月中旬组成督查组,对各乡镇进行督查。")


def test_finishing_work_by_a_date_is_not_a_submission() -> None:
    assert none_in("各医疗机构于6月30日前完成整改。")


def test_a_registration_cut_off_is_not_a_report() -> None:
    assert none_in("培训报名截止时间为8月20日。")


def test_an_as_of_date_is_not_a_deadline() -> None:
    assert none_in("统计数据截至上季度最后一日,截至10月31日的就餐人数随自查表一并报送。")


def test_a_deadline_already_met_is_history() -> None:
    assert none_in("我局已于6月30日前完成半年工作总结上报。各村于去年11月15日前上报了台账。")


def test_a_start_date_is_not_a_deadline() -> None:
    assert none_in("自10月1日起施行。")


def test_a_year_end_summary_has_no_obligations() -> None:
    assert none_in("县卫生健康局2023年工作总结\n\n我局于3月20日前将年度计划报送市卫健委。")


def test_a_daily_patrol_is_not_a_daily_report() -> None:
    assert none_in("禁烧期间每日开展巡查。")


def test_handing_case_leads_over_is_not_reporting() -> None:
    assert none_in("发现的案件线索请于发现后24小时内移交局执法稽查队。")


def test_failures_to_report_are_not_reports() -> None:
    assert none_in("对迟报、漏报、瞒报的,予以通报批评。")


def test_the_period_of_a_daily_report_scheme_is_not_a_deadline() -> None:
    assert none_in("各县区及时启动日报工作,日报时间为2024年1月24日-2月11日。")


def test_a_bare_jiao_outside_handing_over_is_not_a_submission() -> None:
    assert none_in("请于3月5日前交流经验做法。")


def test_setting_up_a_reporting_system_by_a_date_is_not_a_submission() -> None:
    assert none_in("到2025年6月底前,各地全面建立信息报告制度和报送机制。")
