"""Another program editing its own section of the credentials file in a loop, the way
tools without locks do: read the whole file, change a line, write a temporary file and
rename it over the original. Checks on every round that its previous edit is still there
(a lost edit means someone wrote back an older copy of the file). Prints one JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time

parser = argparse.ArgumentParser()
parser.add_argument("--section", default="editor-notes")
parser.add_argument("--duration", type=float, default=60)
parser.add_argument("--interval", type=float, default=0.2)
args = parser.parse_args()

path = os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.expanduser("~/.aws/credentials")
header = f"[{args.section}]"
counter_line = re.compile(rf"^\[{re.escape(args.section)}\]\n# edited by editor\ncounter = (\d+)$",
                          re.M)
summary = {"edits": 0, "lost": 0, "last": 0, "problems": []}
last = 0
end = time.time() + args.duration
while time.time() < end:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    found = counter_line.search(text)
    if found is None and header in text:
        summary["problems"].append("section mangled")
        summary["lost"] += 1
    elif found is not None and int(found[1]) != last:
        summary["lost"] += 1
        summary["problems"].append(f"counter {found[1]} where {last} was written")
    last += 1
    block = f"{header}\n# edited by editor\ncounter = {last}"
    if found is not None:
        text = text[:found.start()] + block + text[found.end():]
    else:
        text = text.rstrip("\n") + f"\n\n{block}\n"
    tmp = f"{path}.editor.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    summary["edits"] += 1
    summary["last"] = last
    time.sleep(args.interval)
summary["problems"] = summary["problems"][:20]
print(json.dumps(summary))
