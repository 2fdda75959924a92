"""What every catalogue of answers asserts of `derive.check`'s verdict: a correct answer is accepted with no
diagnosis (exit code 0); a wrong one is rejected (exit code 1) with a diagnosis that names the mistake.
Shared by tests/test_check.py and tests/test_student_catalogue.py."""
from derive.checking.answers import check


def assert_accepted(model, quantity, answer):
    result = check(model, quantity, answer)
    assert result.correct and result, result.diagnosis
    assert result.diagnosis is None and result.exit_code == 0


def assert_rejected(model, quantity, answer, words):
    result = check(model, quantity, answer)
    assert not result.correct and not result and result.exit_code == 1
    for word in words:
        assert word in result.diagnosis, result.diagnosis
