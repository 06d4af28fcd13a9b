"""Where the repository's sources and the build outputs are."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("TUNLAB_BUILD", REPO / "build"))
AGENT_DIR = REPO / "harness" / "agent"
GUEST_IMAGE_DIR = REPO / "guest-image"
LOGS = BUILD / "logs"
