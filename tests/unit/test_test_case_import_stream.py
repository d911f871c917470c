"""A large import reads its S3 object as a stream of lines: the same test cases as the whole
text, whatever the pieces the body arrives in."""

from __future__ import annotations


def test_a_streamed_csv_reads_as_the_whole_text_does() -> None:
    from chalicelib.domain.testcase_files import read_csv, stream_csv
    from chalicelib.services.testcase_imports import _split_lines

    text = (
        "Test Case ID,Title,Steps\r\n"
        'A-1,One,"1. Open\n2. Click"\r\n'
        'A-2,"Two, with\ra break",1. Go\n'
        "A-1,Again,\n"
    )
    pieces = [text[i : i + 5] for i in range(0, len(text), 5)]  # split anywhere, mid-line too
    lines = list(_split_lines(iter(pieces)))
    assert "".join(lines) == text and all(line.endswith("\n") for line in lines)
    streamed, problems, unknown = stream_csv(lines)
    whole, _, _ = read_csv(text)
    assert [c.content for c in streamed] == [c.content for c in whole]
    assert problems == [] and unknown == []
    assert [e.problem for c in whole for e in c.errors] == ["repeats the test case of row 2"]
