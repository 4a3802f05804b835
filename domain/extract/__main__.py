"""python -m domain.extract NOTICE.txt [--json]"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from domain.extract import extract_obligations, render_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m domain.extract")
    parser.add_argument("path", type=Path, help="notice text file (UTF-8)")
    parser.add_argument("--json", action="store_true", help="print the annotation schema")
    args = parser.parse_args(argv)
    extraction = extract_obligations(args.path.read_text(encoding="utf-8"))
    if args.json:
        json.dump(extraction.to_json(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print(render_text(extraction))
    return 0


if __name__ == "__main__":
    sys.exit(main())
