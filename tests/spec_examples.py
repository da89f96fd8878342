"""Read the JSON examples out of the protocol document.

The examples carry ``//`` and ``/* */`` comments and trailing commas, and six of them are
broken beyond that; `SPEC_FIXES` holds the hand repairs, keyed by the line the block
starts on, so the repaired documents stay regression fixtures for the parser.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SPEC = Path("shared") / "spec" / "rlink-mqtt-2.0.md"


def _find_spec() -> Path:
    """The protocol document: $RLINK_SPEC, else shared/ beside this checkout or its origin."""
    if "RLINK_SPEC" in os.environ:
        return Path(os.environ["RLINK_SPEC"])
    repo = Path(__file__).resolve().parents[1]
    candidates = [repo.parent / _SPEC]
    try:  # a clone made elsewhere: look beside the repository it came from
        origin = subprocess.run(
            ["git", "-C", str(repo), "remote", "get-url", "origin"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except OSError, subprocess.SubprocessError:
        origin = ""
    if origin and Path(origin).is_dir():
        candidates.append(Path(origin).resolve().parent / _SPEC)
    return next((c for c in candidates if c.exists()), candidates[0])


SPEC_PATH = _find_spec()

# line of the opening fence -> (broken text, repaired text)
SPEC_FIXES: dict[int, tuple[str, str]] = {
    244: ('"events":[],\n        ""', '"events":[]'),  # model, complete: stray ""
    288: ('"events":[],\n        ""', '"events":[]'),  # model, simple
    361: ('{"key":value}', '{"key":"value"}'),  # config reply: unquoted placeholder
    748: ('"events":[],\n        ""', '"events":[]'),  # sub_model, complete
    793: ('"events":[],\n        ""', '"events":[]'),  # sub_model, simple
    2378: ('"respType":"start_tall"//', '"respType":"start_tall",//'),  # common_cmd reply
    2646: ('"type":"white_list" //', '"type":"white_list", //'),  # config_settings request
    3631: ('"trdUuid":"xxxxxx"//', '"trdUuid":"xxxxxx",//'),  # app find notification
}


@dataclass(frozen=True)
class Example:
    line: int  # line of the opening fence
    text: str  # the block as written
    section: str  # nearest heading above it

    def cleaned(self) -> str:
        """Comments and trailing commas removed, hand repairs applied."""
        text = self.text
        fix = SPEC_FIXES.get(self.line)
        if fix is not None:
            assert fix[0] in text, f"repair for line {self.line} no longer applies"
            text = text.replace(fix[0], fix[1])
        return strip_trailing_commas(strip_comments(text))

    def load(self) -> Any:
        return json.loads(self.cleaned())


def _scan(text: str, on_code: Any) -> str:
    """Walk JSON-ish text, letting `on_code` see characters outside string literals."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
            continue
        i = on_code(text, i, out)
    return "".join(out)


def _comment_step(text: str, i: int, out: list[str]) -> int:
    if text.startswith("//", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        return len(text) if end < 0 else end + 2
    out.append(text[i])
    return i + 1


def strip_comments(text: str) -> str:
    return _scan(text, _comment_step)


def _comma_step(text: str, i: int, out: list[str]) -> int:
    if text[i] == ",":
        rest = text[i + 1 :].lstrip()
        if rest[:1] in ("}", "]"):
            return i + 1
    out.append(text[i])
    return i + 1


def strip_trailing_commas(text: str) -> str:
    return _scan(text, _comma_step)


_FENCE = re.compile(r"^```JSON\s*$", re.IGNORECASE)


def spec_examples(path: Path = SPEC_PATH) -> list[Example]:
    lines = path.read_text(encoding="utf-8").splitlines()
    examples: list[Example] = []
    section = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        if _FENCE.match(line.strip()):
            start = i
            body: list[str] = []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            examples.append(Example(start + 1, "\n".join(body), section))
        i += 1
    return examples
