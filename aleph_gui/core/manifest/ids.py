"""Plugin id rules and the sanitising Aleph applies to names from TOML, package.json and Claude manifests."""

from __future__ import annotations

import re

from aleph_gui.core.manifest.model import ID_MAX, ID_PATTERN

ID_RULE = "use lowercase letters, digits and single hyphens, starting with a letter (at most 64 characters)"


def is_valid_id(value: str) -> bool:
    return len(value) <= ID_MAX and bool(ID_PATTERN.match(value))


def sanitize_id(name: str) -> str:
    """`My Plugin` -> `my-plugin`, `@org/x` -> `x`, `My_Plugin` -> `my-plugin`. May return '' (then invalid)."""
    if name.startswith("@") and "/" in name:
        name = name.split("/", 1)[1]
    value = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")
    value = re.sub(r"^[0-9-]+", "", value)  # must start with a letter
    return value[:ID_MAX].rstrip("-")
