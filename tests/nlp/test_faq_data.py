from __future__ import annotations

from pathlib import Path

import pytest

from nlp.faq_data import FaqFileError, load_faq

SAMPLE = Path(__file__).resolve().parents[2] / "bot" / "demo_data" / "faq.yaml"


def test_sample_faq_loads() -> None:
    entries = load_faq(SAMPLE)
    assert len(entries) == 12
    camera = next(e for e in entries if e.id == "camera")
    assert "What camera do you use?" in camera.questions and "gear" in camera.tags


def test_csv_groups_questions_that_share_an_answer(tmp_path: Path) -> None:
    f = tmp_path / "faq.csv"
    f.write_text('question,answer,tags\nWhat camera?,Sony A7 IV,gear\nWhich body?,Sony A7 IV,\n'
                 'Where to buy prints?,"In the shop, see link",shop|prints\n')
    entries = load_faq(f)
    assert [len(e.questions) for e in entries] == [2, 1]
    assert entries[1].tags == ["shop", "prints"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("question,answer\nWhat camera?,\n", "line 2: the answer is empty"),
        ("question,answer\nWhat camera?,Sony\nwhat  CAMERA?,Canon\n", "line 3: the question 'what  CAMERA?' already has another answer (line 2)"),
        ("question,answer\nLong?," + "x" * 4100 + "\n", "line 2: the answer has 4100 characters"),
        ("q,a\nx,y\n", "line 1: the header needs the columns question,answer"),
    ],
)
def test_csv_errors_carry_line_numbers(tmp_path: Path, content: str, expected: str) -> None:
    f = tmp_path / "faq.csv"
    f.write_text(content)
    with pytest.raises(FaqFileError) as info:
        load_faq(f)
    assert expected in str(info.value)


def test_yaml_errors_carry_line_numbers(tmp_path: Path) -> None:
    f = tmp_path / "faq.yaml"
    f.write_text('- questions: ["Hi?"]\n  answer: Hello\n- questions: ["Price?"]\n  answer: ""\n'
                 '- questions: ["Hi?"]\n  answer: Other\n')
    with pytest.raises(FaqFileError) as info:
        load_faq(f)
    message = str(info.value)
    assert "line 3: the answer is empty" in message
    assert "line 5: the question 'Hi?' already has another answer (line 1)" in message


def test_faq_import_command_reports_line_numbers_and_stores(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = tmp_path / "bad.csv"
    bad.write_text("question,answer\nHi?,\n")
    env_args = ["--config", str(tmp_path / "c.toml")]
    (tmp_path / "c.toml").write_text(f'[database]\nurl = "sqlite:///{tmp_path / "f.db"}"\n')
    proc = subprocess.run([sys.executable, "-m", "bot", *env_args, "faq", "import", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "line 2: the answer is empty" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "bot", *env_args, "faq", "import", str(SAMPLE)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "imported 12 answers with 50 questions (12 new answers, 50 new questions)" in proc.stderr
