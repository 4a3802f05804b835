"""`cuibao backup --out DIR` and `cuibao restore DIR`: the database and the stored files."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def add_backup_parsers(commands: Any, common: argparse.ArgumentParser, h: Any) -> None:
    backup = commands.add_parser("backup", parents=[common], help=h("backup"))
    backup.add_argument("--out", type=Path, required=True, help=h("backup_out"))
    backup.set_defaults(run=backup_command)
    restore = commands.add_parser("restore", parents=[common], help=h("restore"))
    restore.add_argument("folder", type=Path, help=h("restore_folder"))
    restore.add_argument("--yes", action="store_true", help=h("restore_yes"))
    restore.set_defaults(run=restore_command)


def backup_command(args: argparse.Namespace) -> int:
    from bot.cli_common import UsageError, database_setup
    from storage.backup import BackupError, backup

    settings, catalogue, language, url = database_setup(args)
    try:
        made = backup(url, settings.files_dir, args.out, datetime.now(UTC))
    except BackupError as exc:
        raise UsageError(catalogue.text(f"cli.{exc.code}", language, **exc.params)) from None
    print(
        catalogue.text(
            "cli.backup_done",
            language,
            folder=str(made.folder),
            backend=made.backend,
            kb=made.database_bytes // 1024,
            files=made.files,
        )
    )
    return 0


def restore_command(args: argparse.Namespace) -> int:
    from bot.cli_common import UsageError, database_setup
    from storage.backup import BackupError, restore

    settings, catalogue, language, url = database_setup(args)
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError(catalogue.text("cli.restore_needs_yes", language))
        try:
            answer = input(catalogue.text("cli.restore_ask", language, folder=str(args.folder)))
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes", "是"):
            raise UsageError(catalogue.text("cli.restore_declined", language))
    try:
        done = restore(url, settings.files_dir, args.folder)
    except BackupError as exc:
        raise UsageError(catalogue.text(f"cli.{exc.code}", language, **exc.params)) from None
    print(catalogue.text("cli.restore_done", language, folder=str(done.folder), files=done.files))
    return 0
