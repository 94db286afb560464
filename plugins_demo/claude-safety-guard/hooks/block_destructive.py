"""PreToolUse hook: refuse destructive shell commands. Claude Code protocol: exit 2 = block (stderr = why)."""

import json
import re
import sys

DESTRUCTIVE = [
    (re.compile(r"\brm\s+(-[a-zA-Z]*r[a-zA-Z]*f|-[a-zA-Z]*f[a-zA-Z]*r|-r\s+-f|-f\s+-r)\b"), "rm -rf deletes without asking"),
    (re.compile(r"\bmkfs(\.\w+)?\b"), "mkfs erases a whole file system"),
    (re.compile(r"\bdd\b.*\bof=/dev/"), "dd onto a device overwrites a disk"),
    (re.compile(r":\(\)\s*\{\s*:\|:&\s*\};:"), "a fork bomb freezes the machine"),
]


def main() -> int:
    try:
        event = json.load(sys.stdin)
    except ValueError:
        print("claude-safety-guard: the hook input was not JSON", file=sys.stderr)
        return 1
    command = str((event.get("tool_input") or {}).get("command", ""))
    for pattern, why in DESTRUCTIVE:
        if pattern.search(command):
            print(f"Blocked by claude-safety-guard: {why} ({command.strip()[:80]})", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
