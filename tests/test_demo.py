"""`creatorbot demo` end to end with the real models (slow)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_prints_the_transcript_and_exits_0(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    proc = subprocess.run([sys.executable, "-m", "bot", "demo", "--db", str(db)], capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    for expected in ("== The channel ==", "bot → Ana: Hi Ana!", "I shoot with a Sony A7 IV",
                     "bot → 李雷: 航拍用的是大疆", "Negative comments are surging", "⏰ Reminder: post the sunrise",
                     "💬 The creator answered your question", "📊 Week report"):
        assert expected in out, expected
    assert db.exists() and (tmp_path / "report-week.png").read_bytes()[:4] == b"\x89PNG"
