"""The fault suite runs on the loopback suite's STS double and AWS files."""

from __future__ import annotations

from tests.loopback.conftest import aws, double  # noqa: F401 - fixtures, re-exported
