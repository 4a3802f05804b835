"""``python -m fakegram --port 8081``: run the fake Bot API server standalone (127.0.0.1)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal

from fakegram.server import FakeTelegram


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fakegram",
        description="Fake Telegram Bot API server on 127.0.0.1 (state in memory).",
    )
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", help="bot token to accept (random by default)")
    parser.add_argument("--bot-username", default="cuibao_test_bot")
    parser.add_argument("--users", type=int, default=0, help="create N simulated users")
    parser.add_argument(
        "--flood",
        type=float,
        default=None,
        help="answer 429 past this many sends per second overall",
    )
    parser.add_argument(
        "--flood-per-chat",
        type=float,
        default=None,
        help="answer 429 past this many sends per second per chat",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the connection details as one JSON line"
    )
    return parser


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeTelegram(port=args.port, token=args.token, bot_username=args.bot_username)
    async with fake:
        if args.users:
            fake.add_users(args.users)
        if args.flood or args.flood_per_chat:
            fake.set_flood_limit(args.flood, per_chat_per_second=args.flood_per_chat)
        if args.json:
            print(json.dumps(fake.describe(), ensure_ascii=False), flush=True)
        else:
            print(
                f"fakegram listening on {fake.url}\n"
                f"  token:         {fake.token}\n"
                f"  base_url:      {fake.base_url}\n"
                f"  base_file_url: {fake.base_file_url}\n"
                f"  control API:   {fake.control_url}/info",
                flush=True,
            )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
