"""The STS endpoint a profile configures is checked when its plan is made (issue 9, item 7):
a value botocore cannot use is a configuration error naming the profile, not an internal
error after a code was asked for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rolebar.core.endpoints import _is_url, sts_endpoint
from rolebar.core.errors import ConfigError
from rolebar.core.profiles import Catalog

CONFIG = """\
[profile keys]
aws_access_key_id = AKIAEXAMPLEEXAMPLE01
aws_secret_access_key = example/secret

[profile dev]
role_arn = arn:aws:iam::111111111111:role/developer
source_profile = keys
{extra}
[services local]
sts =
  endpoint_url = {service}
"""


def catalog(tmp_path: Path, extra: str = "", service: str = "http://127.0.0.1:1",
            **env: str) -> Catalog:
    (tmp_path / "config").write_text(CONFIG.format(extra=extra, service=service))
    return Catalog.load({"AWS_CONFIG_FILE": str(tmp_path / "config"),
                         "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), **env})


@pytest.mark.parametrize(("extra", "env", "where"), [
    ("endpoint_url = notaurl", {}, "endpoint_url 'notaurl'"),
    ("endpoint_url = ftp://example.com", {}, "endpoint_url 'ftp://example.com'"),
    ("endpoint_url = https://", {}, "endpoint_url 'https://'"),
    ("endpoint_url = http://[::1", {}, "endpoint_url 'http://[::1'"),
    ("", {"AWS_ENDPOINT_URL_STS": "notaurl"}, "AWS_ENDPOINT_URL_STS 'notaurl'"),
    ("", {"AWS_ENDPOINT_URL": "no url"}, "AWS_ENDPOINT_URL 'no url'"),
    ("endpoint_url = https://ok.example\nservices = local", {},
     "[services local] sts endpoint_url 'bad'"),
])
def test_an_endpoint_botocore_cannot_use_is_a_config_error(
        tmp_path: Path, extra: str, env: dict[str, str], where: str) -> None:
    found = catalog(tmp_path, extra, service="bad", **env)
    with pytest.raises(ConfigError) as caught:
        found.plan("dev")
    assert caught.value.exit_code == 2
    assert str(caught.value) == f"profile dev: {where} is not a URL (https://host[:port])"
    assert [p.name for p in found.assumable()] == ["dev"]  # still listed


def test_a_services_name_with_no_section_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no \[services gone\] section"):
        catalog(tmp_path, "services = gone").plan("dev")


@pytest.mark.parametrize("url", ["http://127.0.0.1:4566", "https://sts.eu-west-1.amazonaws.com",
                                 "http://[::1]:8080/", "https://localhost"])
def test_usable_endpoints_pass(tmp_path: Path, url: str) -> None:
    assert catalog(tmp_path, f"endpoint_url = {url}").plan("dev").profile == "dev"
    assert catalog(tmp_path, "endpoint_url = bad", AWS_ENDPOINT_URL_STS=url).plan("dev")


def test_botocores_order_and_the_ignore_switch() -> None:
    services = {"s": {"sts": {"endpoint_url": "c"}}}
    values = {"endpoint_url": "d", "services": "s"}
    env = {"AWS_ENDPOINT_URL_STS": "a", "AWS_ENDPOINT_URL": "b"}
    assert sts_endpoint(values, services, env) == ("AWS_ENDPOINT_URL_STS", "a")
    assert sts_endpoint(values, services, {"AWS_ENDPOINT_URL": "b"})[1] == "b"  # type: ignore[index]
    assert sts_endpoint(values, services, {}) == ("[services s] sts endpoint_url", "c")
    assert sts_endpoint({"endpoint_url": "d"}, services, {}) == ("endpoint_url", "d")
    assert sts_endpoint({**values, "ignore_configured_endpoint_urls": "true"}, services,
                        env) is None
    assert sts_endpoint(values, services, {**env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "TRUE"}
                        ) is None


_HOST_PARTS = st.sampled_from(["a", "Z", "0", "9", "-", ".", "_", ":", "%", "%25", "[", "]",
                               "ff", "::", "1.2.3.4", "eth0", "fe80", "\t", "\n", " ", "~",
                               "xn--", "a" * 64, "@", "/", "?", "#"])
_URLS = st.builds(lambda scheme, host, port: f"{scheme}://{host}{port}",
                  st.sampled_from(["http", "https", "ftp", ""]),
                  st.lists(_HOST_PARTS, max_size=8).map("".join),
                  st.sampled_from(["", ":8080", ":x", "/path", ":65536"]))


IPV6_HOSTS = ["::ffff:1.2.3.4", "1:2:3:4:5:6:7::", "fe80::1%eth0", "fe80::1%25", "::1%zz%",
              "::1%25%41", "1:2:3:4:5:6:7:8:9", "::", "00001::", "1::2::3", "::256.1.1.1",
              "FE80::A", "::1%", "::1%%41"]


@pytest.mark.parametrize("host", IPV6_HOSTS)
def test_ipv6_hosts_as_botocore_takes_them(host: str) -> None:
    test_the_url_check_agrees_with_botocores.hypothesis.inner_test(url=f"http://[{host}]:80")


@settings(max_examples=3000, deadline=None)
@given(url=st.one_of(_URLS, st.text(max_size=40)))
def test_the_url_check_agrees_with_botocores(url: str) -> None:
    """endpoints restates botocore's rule to keep botocore.utils out of the tray."""
    import botocore.utils

    try:
        expected = urlsplit(url).scheme in ("http", "https") and bool(
            botocore.utils.is_valid_endpoint_url(url)
            or botocore.utils.is_valid_ipv6_endpoint_url(url))
    except ValueError:
        expected = False
    assert _is_url(url) == expected


def test_checking_urls_leaves_botocore_utils_unloaded() -> None:
    code = ("import sys; from rolebar.core.endpoints import _is_url; "
            "assert _is_url('http://[fe80::1%25eth0]:1') and not _is_url('x'); "
            "print(sorted(m for m in sys.modules if m.startswith(('botocore.u', 'urllib3'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
