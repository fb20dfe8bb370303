"""The suite's no-silent-skips hook: a skip without a GPU reason fails; a GPU skip and an xfail stay what they are."""

from __future__ import annotations

import pytest

from tests.conftest import REPO

pytest_plugins = ["pytester"]

# The inner run loads the very hooks tests/conftest.py loads.
CONFTEST = "from tests.no_silent_skips import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401\n"


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.syspathinsert(REPO)
    pytester.makeconftest(CONFTEST)
    return pytester


def test_a_skip_for_a_missing_tool_fails_with_its_reason(inner: pytest.Pytester) -> None:
    inner.makepyfile("""
        from pytest import skip

        def test_needs_rsync():
            skip("rsync missing")
    """)
    result = inner.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*skipped without a GPU reason: rsync missing (a missing dependency must fail, "
                                 "see tests/requirements.py)*"])


def test_a_skip_for_a_missing_gpu_stays_skipped(inner: pytest.Pytester) -> None:
    inner.makepyfile("""
        from pytest import skip

        def test_needs_cuda():
            skip("needs a CUDA GPU")
    """)
    result = inner.runpytest("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs a CUDA GPU*"])


def test_a_skip_in_a_fixture_and_a_module_level_skip_fail_too_but_xfail_is_left_alone(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        test_fixture="""
            import pytest
            from pytest import skip

            @pytest.fixture
            def nginx():
                skip("nginx is not installed")

            def test_needs_nginx(nginx):
                pass

            @pytest.mark.xfail(reason="known bug", strict=True)
            def test_known_bug():
                assert False
        """,
        test_module_level="""
            from pytest import skip

            skip("wrk is not installed", allow_module_level=True)

            def test_needs_wrk():
                pass
        """)
    result = inner.runpytest("-p", "no:cacheprovider", "--continue-on-collection-errors")
    result.assert_outcomes(errors=2, xfailed=1)
    result.stdout.fnmatch_lines(["*skipped without a GPU reason: nginx is not installed*"])
    result.stdout.fnmatch_lines(["*skipped without a GPU reason: wrk is not installed*"])
