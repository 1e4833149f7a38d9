"""`endpoint_url = notaurl` and `AWS_ENDPOINT_URL_STS=notaurl` through the real command:
exit 2, one line naming the profile and the value, no code asked for (issue 9, item 7)."""

from __future__ import annotations

import shlex

import pytest

from tests.faults.helpers import answer, assert_one_line
from tests.loopback.conftest import Aws


def set_endpoint(aws: Aws, url: str) -> None:
    text = aws.config.read_text()
    aws.config.write_text(text.replace("[profile project-dev]\n",
                                       f"[profile project-dev]\nendpoint_url = {url}\n"))


@pytest.mark.parametrize(("url", "env", "cause"), [
    ("notaurl", {"AWS_ENDPOINT_URL_STS": ""}, "endpoint_url 'notaurl'"),
    (None, {"AWS_ENDPOINT_URL_STS": "notaurl"}, "AWS_ENDPOINT_URL_STS 'notaurl'"),
])
@pytest.mark.parametrize("command", [["-j"], ["process"]])
def test_an_endpoint_that_is_not_a_url_is_a_config_error_before_any_code(
        aws: Aws, url: str | None, env: dict[str, str], cause: str, command: list[str]) -> None:
    marker = aws.home / "token-ran"
    aws.config.write_text(aws.config.read_text().replace(
        f"generate_token = {aws.token_command}",
        "generate_token = sh -c " + shlex.quote(f"touch {marker}; exec {aws.token_command}")))
    if url:
        set_endpoint(aws, url)
    done = aws.run(*command, "project-dev", env=env)
    line = assert_one_line(done, 2, cause)
    assert line == f"rolebar: profile project-dev: {cause} is not a URL (https://host[:port])"
    assert not marker.exists()  # no code was asked for
    assert sum(aws.double.counts.values()) == 0


def test_a_good_endpoint_in_the_profile_still_works(aws: Aws) -> None:
    set_endpoint(aws, aws.double.endpoint)
    answer(aws.run("process", "project-dev", env={"AWS_ENDPOINT_URL_STS": ""}))
    assert aws.double.counts["AssumeRole"] == 1
