"""botocore's own cached path, as the AWS CLI uses it: AssumeRoleProvider + JSONFileCache.

`python botocore_cache.py PROFILE [CODE]` prints credential_process JSON. With CODE it
answers botocore's MFA prompt (priming the cache); without, a warm ~/.aws/cli/cache must
answer, since the prompt then fails.
"""

from __future__ import annotations

import json
import sys

import botocore.session
from botocore.utils import JSONFileCache


def main() -> int:
    profile, code = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
    session = botocore.session.Session(profile=profile)
    provider = session.get_component("credential_provider").get_provider("assume-role")
    provider.cache = JSONFileCache()  # ~/.aws/cli/cache, as the AWS CLI sets it

    def prompt(_: str) -> str:
        if code is None:
            raise SystemExit("botocore_cache: the cache missed and no code was given")
        return code

    provider._prompter = prompt
    creds = session.get_credentials().get_frozen_credentials()
    print(json.dumps({"Version": 1, "AccessKeyId": creds.access_key, "SecretAccessKey":
                      creds.secret_key, "SessionToken": creds.token}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
