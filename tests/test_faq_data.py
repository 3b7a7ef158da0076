from __future__ import annotations

from pathlib import Path

import pytest

from nlp.faq_data import FaqFileError, load_faq

SAMPLE = Path(__file__).resolve().parents[1] / "bot" / "demo_data" / "faq.yaml"


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
