"""What pyproject.toml cannot say: how the `rolebar` command is installed.

On POSIX it is a plain script (packaging/bin/rolebar): pip's console-script wrapper
imports `re` first, which costs 0.6x of Python's start-up on every cached
`credential_process` answer. Windows needs the console-script `.exe` launcher instead.
"""

import sys

from setuptools import setup

if sys.platform == "win32":
    setup(entry_points={"console_scripts": ["rolebar = rolebar.core.cli:main"]})
else:
    setup(scripts=["packaging/bin/rolebar"])
