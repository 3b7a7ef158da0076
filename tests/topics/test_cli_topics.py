from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=120)


def test_topics_suggest_prints_json_only(tmp_path: Path) -> None:
    posts = tmp_path / "P.csv"
    posts.write_text("post,tags,time\n"
                     + "".join(f"h{i},#hiking|outdoors,2026-0{i + 1}-01T10:00:00+00:00\n" for i in range(4))
                     + "".join(f"g{i},gear,{1767261600 + i * 86400}\n" for i in range(4))
                     + "d0,drone,2026-05-01T10:00:00Z\n")
    inter = tmp_path / "I.csv"
    lines = ["follower,post,intensity,time"]
    for i in range(4):
        lines += [f"f{u},h{i},3,2026-0{i + 1}-01T12:00:00+00:00" for u in range(5)]
        lines += [f"f0,g{i},,{1767261600 + i * 86400 + 60}"]
    lines += ["f1,d0,1,2026-05-01T11:00:00+00:00", "f2,nope,1,2026-05-01T11:00:00+00:00", "f3,h0,abc,0"]
    inter.write_text("\n".join(lines) + "\n")
    proc = run("topics", "suggest", "--interactions", str(inter), "--posts", str(posts), "--per-follower", "--top", "3")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    names = [a["tag"] for a in out["audience"]]
    assert names[0] in ("hiking", "outdoors") and "drone" in names
    drone = next(a for a in out["audience"] if a["tag"] == "drone")
    assert drone["experiment"] is True and drone["posts"] == 1 and drone["why"]
    assert set(out["audience"][0]) >= {"tag", "score", "expected_engagement", "posts", "experiment", "why"}
    assert out["followers"]["f0"][0]["tag"] in ("hiking", "outdoors", "gear")
    assert "I.csv:27: post 'nope' is not in the posts file" in proc.stderr
    assert "I.csv:28: intensity 'abc' is not a number" in proc.stderr


def test_topics_suggest_reports_missing_columns(tmp_path: Path) -> None:
    posts = tmp_path / "P.csv"
    posts.write_text("id,tags\n1,a\n")
    inter = tmp_path / "I.csv"
    inter.write_text("follower,post,time\n")
    proc = run("topics", "suggest", "--interactions", str(inter), "--posts", str(posts))
    assert proc.returncode == 2 and "missing column(s) post, time" in proc.stderr and proc.stdout == ""
