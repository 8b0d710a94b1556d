"""npm packages installed at test time into a temporary directory (third-party tools are never vendored).

npm is run *inside* the directory (a minimal package.json makes it the local prefix) rather than with
``--prefix DIR``: ``--prefix`` also moves npm's global config to ``DIR/etc/npmrc``, so the machine's
``/usr/etc/npmrc`` (where Debian and CI images put ``cafile`` for an intercepting proxy) is silently dropped and
every request fails with SELF_SIGNED_CERT_IN_CHAIN after minutes of retries.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path


def npm_install(directory: Path, packages: list[str], *, timeout: float = 600) -> str | None:
    """Install *packages* into ``directory/node_modules``; the reason when that is impossible, else None."""
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed (apt-get install npm)"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "package.json").write_text(json.dumps({"name": "examrig-test-tools", "private": True}))
    # a cache of its own: no lock contention with another npm install of the same run (seen to stall for ten
    # minutes on a loaded host); a bounded fetch timeout with retries instead of a stalled socket
    cmd = [npm, "install", "--no-audit", "--no-fund", "--no-package-lock", "--cache", str(directory / ".npm"),
           "--fetch-timeout=60000", "--fetch-retries=3", *packages]
    try:
        done = subprocess.run(cmd, cwd=directory, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"npm install {' '.join(packages)} took over {timeout:.0f} s"
    if done.returncode != 0:
        return f"npm install {' '.join(packages)} failed: {done.stderr.strip()[-400:]}"
    return None
