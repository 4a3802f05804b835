"""`cuibao people`: list, revoke, unbind/replace, invitation material and unit-list import
on a real SQLite database, each change asked first; a mistake is one line, exit 1."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from bot.cli import main
from services.access import AccessService, Redeemed
from storage.database import Database

ROOT = Path(__file__).resolve().parents[2]
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
CAMPAIGN = "daguan-2017-anticounterfeit"


@pytest.fixture
def config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    path = tmp_path / "config.toml"
    path.write_text('[database]\nurl = "sqlite:///cuibao.sqlite3"\n', encoding="utf-8")
    assert main(["plan", "load", str(DAGUAN), "--config", str(path)]) == 0
    capsys.readouterr()
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _people(config: Path, *argv: str) -> tuple[str, ...]:
    return ("people", *argv, "--config", str(config))


def _sql(config: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(config.parent / "cuibao.sqlite3") as db:
        return db.execute(query).fetchall()


def _bind(config: Path, token: str, user: str) -> None:
    async def go() -> None:
        async with Database.open(f"sqlite:///{config.parent / 'cuibao.sqlite3'}") as db:
            access = AccessService(db.sessions)
            from datetime import UTC, datetime

            now = datetime.now(UTC)
            actor = await access.identify(user, f"联络员{user}", None, now)
            assert isinstance(await access.redeem(token, actor, now), Redeemed)

    asyncio.run(go())


def _links(out: str) -> dict[str, str]:
    return {line.split("\t")[0]: line.rsplit("start=", 1)[1] for line in out.splitlines()}


def test_people_invite_writes_the_workbook_and_a_qr_code_per_link(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    code, out, err = _run(
        capsys,
        *_people(
            config,
            "invite",
            "--campaign",
            CAMPAIGN,
            "--bot-username",
            "cuibao_bot",
            "--out",
            str(tmp_path / "kit"),
        ),
    )

    assert code == 0
    assert len(_links(out)) == 6
    workbook = tmp_path / "kit" / f"{CAMPAIGN}-邀请链接.xlsx"
    assert err == (
        f"已写入 {workbook}(可转发的链接表)和 {tmp_path / 'kit' / '二维码'}/"
        "(二维码 6 张,可打印)。链接 14 天内有效。\n"
    )
    sheet = load_workbook(workbook).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("单位", "分组", "绑定角色", "邀请链接", "有效期至", "通知")
    assert [r[0] for r in rows[1:]] == list(_links(out))
    assert all(str(r[5]).endswith(str(r[3])) for r in rows[1:])
    codes = sorted((tmp_path / "kit" / "二维码").iterdir())
    assert [p.name for p in codes][:2] == ["001-德宽路市场监管所.png", "002-玉琳路市场监管所.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in codes) and len(codes) == 6


def test_people_invite_with_revoke_old_asks_and_leaves_only_the_new_links(
    capsys: pytest.CaptureFixture[str],
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    invite = _people(
        config,
        "invite",
        "--campaign",
        CAMPAIGN,
        "--bot-username",
        "b",
        "--out",
        str(tmp_path / "kit"),
        "--units",
        "dekuan,yulin",
    )
    _run(capsys, *invite)

    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    declined = _run(capsys, *invite, "--revoke-old")
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    code, out, _ = _run(capsys, *invite, "--revoke-old")

    assert declined[0] == 1 and declined[2] == "已取消,未做任何改动。\n"
    assert code == 0
    assert out.startswith(
        "这些单位此前生成的 2 个邀请链接仍然有效,将被撤销,只保留这次的新链接。\n"
    )
    assert _sql(config, "SELECT count(*) FROM invites WHERE revoked_at IS NOT NULL") == [(2,)]
    assert _sql(config, "SELECT count(*) FROM invites WHERE revoked_at IS NULL") == [(2,)]


def test_people_list_shows_each_units_people_and_unused_links(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    _, out, _ = _run(
        capsys,
        *_people(
            config,
            "invite",
            "--campaign",
            CAMPAIGN,
            "--bot-username",
            "b",
            "--out",
            str(tmp_path / "k"),
        ),
    )
    _bind(config, _links(out)["德宽路市场监管所"], "11")

    code, listing, _ = _run(capsys, *_people(config, "list", "--campaign", CAMPAIGN))

    lines = listing.splitlines()
    assert code == 0
    assert lines[0] == "“2017年元旦春节期间打假专项行动”各单位人员与邀请链接(共 6 个单位):"
    assert lines[1] == "· 德宽路市场监管所(市场监管所)  [dekuan]"
    assert lines[2].startswith("  联络员11(信息联络员)最近活动 ")
    assert lines[3].startswith("  未用邀请链接 1 个,有效至 ")  # still open for a deputy
    assert lines[4] == "· 玉琳路市场监管所(市场监管所):未绑定  [yulin]"


def test_people_revoke_asks_first_and_a_no_changes_nothing(
    capsys: pytest.CaptureFixture[str],
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _run(
        capsys,
        *_people(
            config,
            "invite",
            "--campaign",
            CAMPAIGN,
            "--bot-username",
            "b",
            "--out",
            str(tmp_path / "k"),
        ),
    )
    revoke = _people(config, "revoke", "--campaign", CAMPAIGN)

    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal: nothing is done
    declined = _run(capsys, *revoke)
    untouched = _sql(config, "SELECT count(*) FROM invites WHERE revoked_at IS NULL")
    done = _run(capsys, *revoke, "--yes")
    again = _run(capsys, *revoke, "--yes")

    assert declined[0] == 1 and declined[2].endswith("已取消,未做任何改动。\n")
    assert untouched == [(6,)]
    assert done[0] == 0 and done[1].endswith("已撤销 6 个邀请链接。\n")
    assert again == (0, "“2017年元旦春节期间打假专项行动”目前没有可用的未用邀请链接。\n", "")


def test_people_unbind_takes_a_liaison_off_and_replace_prints_a_new_link(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    _, out, _ = _run(
        capsys,
        *_people(
            config,
            "invite",
            "--campaign",
            CAMPAIGN,
            "--bot-username",
            "b",
            "--out",
            str(tmp_path / "k"),
        ),
    )
    link = _links(out)["德宽路市场监管所"]
    _bind(config, link, "11")
    _bind(config, link, "12")
    unbind = _people(config, "unbind", "--campaign", CAMPAIGN, "--unit", "dekuan", "--yes")

    code, out, err = _run(capsys, *unbind)
    gone = _run(capsys, *unbind)
    replaced = _run(capsys, *unbind, "--role", "deputy", "--replace", "--bot-username", "b")

    assert code == 0
    assert out.splitlines()[-1] == (
        "已解绑“德宽路市场监管所”的 联络员11;作废本单位邀请链接 1 个。"
        "已报送的材料仍保留并记在其名下。"
    )
    assert err == "未设置 TELEGRAM_BOT_TOKEN,无法通知本人;对方已失去报送权限。\n"
    assert gone == (1, "", "“德宽路市场监管所”目前没有信息联络员。\n")
    assert replaced[0] == 0
    assert (
        replaced[1]
        .splitlines()[-1]
        .startswith("新链接(14 天内有效,请转发给接替的人):https://t.me/b?start=")
    )
    assert _sql(config, "SELECT count(*) FROM memberships") == [(0,)]


def _unit_list(path: Path, *rows: list[object]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["单位名称", "分组", "联系人", "手机"])
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_people_import_adds_a_unit_list_to_a_plan_file_or_to_the_campaign(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    listed = _unit_list(
        tmp_path / "通讯录.xlsx",
        ["德宽路市场监管所", "市场监管所"],
        ["综合科", "股室", "周敏", "13912345678"],
    )
    out_plan = tmp_path / "new.toml"

    to_plan = _run(
        capsys, "people", "import", str(listed), "--plan", str(DAGUAN), "--out", str(out_plan)
    )
    printed = _run(capsys, "people", "import", str(listed), "--plan", str(DAGUAN))
    checked = _run(capsys, "plan", "check", str(out_plan))
    to_campaign = _run(
        capsys, *_people(config, "import", str(listed), "--campaign", CAMPAIGN, "--yes")
    )
    again = _run(capsys, *_people(config, "import", str(listed), "--campaign", CAMPAIGN))

    assert to_plan[:2] == (
        0,
        f"已写入 {out_plan}:新增 1 个单位。用 cuibao plan check 检查后再载入。\n",
    )
    liaison = 'liaison = { name = "周敏", mobile = "13912345678" }\n'
    assert 'id = "u001"\nname = "综合科"\ngroup = "股室"\n' + liaison in (
        out_plan.read_text(encoding="utf-8")
    )
    assert printed[1] == out_plan.read_text(encoding="utf-8")
    assert checked[0] == 0
    assert to_campaign[0] == 0
    assert to_campaign[1].splitlines()[-1] == (
        "已新增 1 个单位(方案第 2 版)。发送 /invite 生成它们的邀请链接。"
    )
    assert again == (
        0,
        "通讯录中的单位都已在“2017年元旦春节期间打假专项行动”中(2 个),无需导入。\n",
        "",
    )
    assert _sql(config, "SELECT name, active FROM units WHERE code = 'u001'") == [("综合科", 1)]


def test_a_bad_unit_list_is_one_line_naming_row_and_column(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    listed = _unit_list(tmp_path / "通讯录.xlsx", ["综合科", "股室"], ["", "股室"])

    result = _run(capsys, *_people(config, "import", str(listed), "--campaign", CAMPAIGN, "--yes"))

    assert result == (1, "", f"通讯录 {listed} 未导入:第 3 行 A 列:单位名称为空\n")
    assert _sql(config, "SELECT count(*) FROM units") == [(6,)]


def test_an_unknown_campaign_or_a_missing_database_is_one_line(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "other" / "config.toml"
    elsewhere.parent.mkdir()
    elsewhere.write_text('[database]\nurl = "sqlite:///none.sqlite3"\n', encoding="utf-8")

    unknown = _run(capsys, *_people(config, "list", "--campaign", "nope"))
    missing = _run(capsys, "people", "list", "--campaign", CAMPAIGN, "--config", str(elsewhere))

    assert unknown == (1, "", "找不到活动或单位:nope\n")
    listed = _unit_list(tmp_path / "list.xlsx", ["综合科", "股室", None, "123"])
    english = _run(
        capsys, *_people(config, "import", str(listed), "--campaign", CAMPAIGN, "--lang", "en")
    )
    assert english == (
        1,
        "",
        (
            f"Unit list {listed} not imported: row 2, column D: “123” is "
            "not a mobile number (11 digits, e.g. 13812345678)\n"
        ),
    )
    assert missing[0] == 1 and missing[2].startswith("没有数据库 ")
    assert not (elsewhere.parent / "none.sqlite3").exists()
