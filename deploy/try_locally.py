"""Start the deployment in this folder on this machine and use it, to see that it works.

    python -m deploy.try_locally [--postgres URL] [--people 40]

What it starts, from the files next to it (the same command lines, ports and timeouts):

- a PostgreSQL database of its own on the server at --postgres (default
  $CUIBAO_TEST_POSTGRES_URL, else postgresql://postgres@127.0.0.1:5432/postgres), dropped
  at the end;
- fakegram, the project's fake Telegram, in this process (nothing reaches Telegram);
- two `cuibao-web@` receivers, two `cuibao-worker@` workers and one `cuibao-jobs@`,
  each the `ExecStart` line of its unit with the paths pointed at a temporary folder;
- nginx with the `location` block of `nginx-cuibao.conf` (plain HTTP on 127.0.0.1).

Then, with the real CLI, it loads a plan and prints the invitations. `--people` simulated
liaisons open their link and fill in a form through nginx, and a coordinator asks for
/export meanwhile: the workbook must come from the jobs process. Halfway through, one
worker is stopped with SIGTERM, and it must exit within its unit's TimeoutStopSec. At the
end every form must be in the database, and /healthz of a receiver, of the other worker
and of the jobs process must say ok. It prints one line per step, exits 0 if everything
held, or 1 naming what did not. Needs nginx (`apt install nginx-light`) and a PostgreSQL
server; without them it says so and exits 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO
from uuid import uuid4

import aiohttp
import asyncpg
from sqlalchemy import func, select

from fakegram import FakeTelegram
from storage import models as m
from storage.database import Database
from tests.procs import bot_says, form_plan, free_port, fresh_database

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIELDS = 4
STEP = 30.0  # seconds a simulated person waits for an answer
WEB_PORTS = (8081, 8082)  # as in nginx-cuibao.conf; mapped to free ports here
CONFIRM = "✅ 确认提交"


class Missing(Exception):
    """Something this machine lacks (nginx, PostgreSQL): not a failure of the deployment."""


def unit_command(unit: str, instance: int, config: Path) -> tuple[list[str], float]:
    """The unit's ExecStart as argv for this checkout, and its TimeoutStopSec."""
    text = (HERE / unit).read_text(encoding="utf-8")
    start = re.search(r"^ExecStart=(.+)$", text, re.M)
    stop = re.search(r"^TimeoutStopSec=(\d+)", text, re.M)
    if start is None or stop is None:
        raise SystemExit(f"{unit}: no ExecStart or TimeoutStopSec")
    argv = shlex.split(start.group(1).replace("%i", str(instance)))
    argv = [a.replace("/etc/cuibao/config.toml", str(config)) for a in argv]
    assert argv[0].endswith("/cuibao"), argv
    return [sys.executable, "-m", "bot", *argv[1:]], float(stop.group(1))


def local_config(
    db_url: str, fake: FakeTelegram, proxy: int, files: Path, coordinator: int
) -> str:
    text = (HERE / "config.toml").read_text(encoding="utf-8")
    text = re.sub(
        r'^webhook_url = ".*"$',
        f'webhook_url = "http://127.0.0.1:{proxy}/telegram"',
        text,
        flags=re.M,
    )
    text = re.sub(r'^url = "postgresql://.*"$', f'url = "{db_url}"', text, flags=re.M)
    text = re.sub(r'^dir = ".*"$', f'dir = "{files}"', text, flags=re.M)
    return (
        text.replace(
            "[bot]\n",
            f'[bot]\napi_base_url = "{fake.base_url}"\napi_file_url = "{fake.base_file_url}"\n'
            f"coordinators = [{coordinator}]\n",
        )
        + "\n[reminders]\nenabled = false\n"
    )


def nginx_config(tmp: Path, listen: int, web_ports: list[int]) -> str:
    example = (HERE / "nginx-cuibao.conf").read_text(encoding="utf-8")
    location = re.search(r"^    location /telegram \{.*?^    \}", example, re.M | re.S)
    if location is None:
        raise SystemExit("nginx-cuibao.conf: no `location /telegram` block")
    servers = "".join(f"        server 127.0.0.1:{p};\n" for p in web_ports)
    temp = "".join(
        f"    {kind}_temp_path {tmp / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
daemon off;
worker_processes 1;
pid {tmp / "nginx.pid"};
error_log {tmp / "nginx-error.log"} warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
{temp}    client_body_buffer_size 1m;
    upstream cuibao_web {{
{servers}    }}
    server {{
        listen 127.0.0.1:{listen};
{location.group(0)}
    }}
}}
"""


@contextlib.asynccontextmanager
async def database(server: str) -> AsyncIterator[str]:
    try:
        await (await asyncpg.connect(server)).close()
    except (OSError, asyncpg.PostgresError) as exc:
        raise Missing(f"no PostgreSQL at {server}: {exc}") from None
    async with fresh_database(server) as url:
        yield url


def cli(*argv: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bot", *argv], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"cuibao {' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def plan_text(people: int) -> str:
    today = datetime.now(UTC).date()
    return form_plan(
        people,
        campaign="try-deploy",
        start=today - timedelta(days=3),
        due=today + timedelta(days=10),
        fields=FIELDS,
        name="部署试运行",
    )


async def person(fake: FakeTelegram, user: int, token: str) -> None:
    """Open the invitation, then /submit, the deadline, the answers, 确认提交."""
    sent = fake.send_start(user, token)
    await bot_says(fake, user, sent.message_id, None, STEP)
    sent = fake.send_command(user, "submit")
    tasks = await bot_says(fake, user, sent.message_id, "填报", STEP)
    fake.press_button(user, tasks.message_id, tasks.callback_data("填报"))
    last = await bot_says(fake, user, tasks.message_id, "指标1", STEP)
    for f in range(FIELDS):
        sent = fake.send_text(user, str(user * 10 + f))
        expected = f"指标{f + 2}" if f + 1 < FIELDS else CONFIRM
        last = await bot_says(fake, user, sent.message_id, expected, STEP)
    fake.press_button(user, last.message_id, text=CONFIRM)
    await fake.wait_until(
        lambda: bool(last.edits) or None, STEP, describe=f"the receipt for {user}"
    )


async def export(fake: FakeTelegram, coordinator: int) -> None:
    """/export: a progress message at once, the workbook from the jobs process."""
    sent = fake.send_command(coordinator, "export")
    await bot_says(fake, coordinator, sent.message_id, "正在生成", STEP)
    chat = fake.chat(coordinator)
    await fake.wait_until(
        lambda: any(m.document is not None for m in chat.messages.values()) or None,
        STEP,
        describe="the workbook",
    )
    say("a coordinator's /export came back as a workbook from the jobs process")


async def healthy(port: int) -> dict[str, object]:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"http://127.0.0.1:{port}/healthz") as answer:
                    if answer.status == 200:
                        body: dict[str, object] = await answer.json()
                        return body
            await asyncio.sleep(0.1)
    raise AssertionError(f"nothing healthy on port {port}")


def find_nginx() -> str | None:
    found = shutil.which("nginx")
    return found or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def spawn(argv: list[str], env: dict[str, str], log: BinaryIO | None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log or subprocess.DEVNULL
    )


def keep_logs(tmp: Path, into: Path) -> None:
    for path in tmp.glob("*.log"):
        shutil.copy(path, into)


def say(line: str) -> None:
    print(line, flush=True)


async def main_async(args: argparse.Namespace) -> int:
    nginx = find_nginx()
    if nginx is None:
        raise Missing("nginx is not installed (apt install nginx-light)")
    with tempfile.TemporaryDirectory(prefix="cuibao-deploy-") as folder:
        tmp = Path(folder)
        async with database(args.postgres) as db_url, FakeTelegram() as fake:
            proxy = free_port()
            config = tmp / "config.toml"
            [coordinator] = [u.id for u in fake.add_users(1)]
            config.write_text(
                local_config(db_url, fake, proxy, tmp / "files", coordinator), encoding="utf-8"
            )
            env = {
                **os.environ,
                "TELEGRAM_BOT_TOKEN": fake.token,
                "CUIBAO_WEBHOOK_SECRET": "s3cret-" + uuid4().hex,
            }
            cli("db", "upgrade", "--config", str(config), env=env)
            (tmp / "plan.toml").write_text(plan_text(args.people), encoding="utf-8")
            cli("plan", "load", str(tmp / "plan.toml"), "--config", str(config), env=env)
            links = cli(
                "invite",
                "--campaign",
                "try-deploy",
                "--bot-username",
                "cuibao_test_bot",
                "--config",
                str(config),
                env=env,
            )
            tokens = [
                line.rsplit("start=", 1)[1] for line in links.splitlines() if "start=" in line
            ]
            say(f"plan loaded, {len(tokens)} invitations printed")

            web_ports = [free_port() for _ in WEB_PORTS]
            worker_ports = [free_port(), free_port()]
            jobs_ports = [free_port()]
            processes: list[tuple[str, subprocess.Popen[bytes], float]] = []
            logs = []
            try:
                for unit, ports in (
                    ("cuibao-web@.service", web_ports),
                    ("cuibao-worker@.service", worker_ports),
                    ("cuibao-jobs@.service", jobs_ports),
                ):
                    for port in ports:
                        argv, stop_s = unit_command(unit, port, config)
                        log = (tmp / f"{unit.split('@')[0]}-{port}.log").open("wb")
                        logs.append(log)
                        name = f"{unit.split('@')[0]}@{port}"
                        processes.append((name, spawn(argv, env, log), stop_s))
                for port in [*web_ports, *worker_ports, *jobs_ports]:
                    await healthy(port)
                say(
                    f"2 receivers (ports {web_ports}), 2 workers (health on {worker_ports}),"
                    f" 1 jobs process (health on {jobs_ports[0]}) up"
                )
                (tmp / "nginx.conf").write_text(
                    nginx_config(tmp, proxy, web_ports), encoding="utf-8"
                )
                server = spawn([nginx, "-p", str(tmp), "-c", str(tmp / "nginx.conf")], env, None)
                try:
                    await asyncio.sleep(0.5)
                    if server.poll() is not None:
                        raise AssertionError(f"nginx did not start: see {tmp / 'nginx-error.log'}")
                    say(f"nginx in front on port {proxy}")
                    users = [u.id for u in fake.add_users(len(tokens))]
                    started = time.monotonic()
                    flows = asyncio.gather(
                        *(person(fake, u, t) for u, t in zip(users, tokens, strict=True)),
                        export(fake, coordinator),
                    )
                    await asyncio.sleep(2.0)
                    name, victim, stop_s = processes[3]
                    victim.send_signal(signal.SIGTERM)
                    began = time.monotonic()
                    await asyncio.get_running_loop().run_in_executor(None, victim.wait, stop_s)
                    took = time.monotonic() - began
                    say(f"{name} stopped by SIGTERM in {took:.1f} s (unit allows {stop_s:.0f} s)")
                    await flows
                    took = time.monotonic() - started
                    say(f"{len(users)} people filled in their form through nginx in {took:.1f} s")
                finally:
                    server.send_signal(signal.SIGQUIT)
                    server.wait(10)
                async with Database.open(db_url, migrate=False) as db, db.sessions() as s:
                    count = await s.scalar(select(func.count()).select_from(m.Submission))
                if count != len(users):
                    raise AssertionError(f"{count} forms in the database, not {len(users)}")
                say(f"all {count} forms are in the database")
                for port in (web_ports[0], worker_ports[0], jobs_ports[0]):
                    body = await healthy(port)
                    if body.get("status") != "ok" or body.get("queue_depth") != 0:
                        raise AssertionError(f"/healthz on {port}: {body}")
                say(
                    "/healthz: ok, queue empty, on a receiver, the remaining worker"
                    " and the jobs process"
                )
            finally:
                for _, process, _ in processes:
                    if process.poll() is None:
                        process.send_signal(signal.SIGTERM)
                for name, process, stop_s in processes:
                    try:
                        process.wait(stop_s)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        raise AssertionError(
                            f"{name} did not stop within {stop_s:.0f} s"
                        ) from None
                for log in logs:
                    log.close()
                if args.keep_logs:
                    keep_logs(tmp, args.keep_logs)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres",
        default=os.environ.get("CUIBAO_TEST_POSTGRES_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres",
    )
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--keep-logs", type=Path, help="copy the processes' logs into this folder")
    args = parser.parse_args()
    try:
        code = asyncio.run(main_async(args))
    except Missing as exc:
        print(f"skipped: {exc}", file=sys.stderr)
        return 2
    except AssertionError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print("OK")
    return code


if __name__ == "__main__":
    sys.exit(main())
