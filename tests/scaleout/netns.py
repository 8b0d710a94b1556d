"""Several hosts on one machine: Linux network namespaces joined by a bridge (tests/scaleout/test_hosts.py).

:func:`network` makes one namespace per host name (``examrig-<token>-<name>``), each with its own loopback and
one veth interface on a bridge of the root namespace (``exr<token>``), with an address of a random
``10.x.y.0/24``: a process in one namespace reaches another only over that bridge, a real network hop. The root
namespace has the ``.1`` address, so the test itself is a client of every host. Everything is deleted on the way
out, failed or not: the processes still running in a namespace (the test's own children) are killed first.

Namespaces need root (CAP_SYS_ADMIN): :func:`require_netns` skips without it, and fails under ``CI=true`` (CI
runs as root, where ``ip netns`` works).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pytest

IP = shutil.which("ip") or "/usr/sbin/ip"
UNSHARE = shutil.which("unshare")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IP, *args], capture_output=True, text=True, check=check, timeout=30)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required under CI=true: CI runs as root)")
    pytest.skip(reason)


def require_netns() -> None:
    """Skip (fail under ``CI=true``) unless this process can make network namespaces."""
    if not os.path.exists(IP):
        _unavailable("iproute2's `ip` is missing: several hosts need network namespaces (apt-get install iproute2)")
    if os.geteuid() != 0:
        _unavailable("not root: several hosts need network namespaces (`ip netns add` needs CAP_SYS_ADMIN)")
    probe = f"examrig-probe-{secrets.token_hex(3)}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        _unavailable(f"`ip netns add` refused: {made.stderr.strip()} (a container without CAP_SYS_ADMIN?)")
    _ip("netns", "del", probe, check=False)


@dataclass
class Host:
    """One namespace: its name, its address on the bridge."""

    name: str
    ns: str
    address: str

    def argv(self, *command: str) -> list[str]:
        """``command`` run inside this host's namespace, with its own host name (a UTS namespace of its own,
        when util-linux's ``unshare`` is there) as on a host of its own: ``/_examrig/health``'s ``process``."""
        if UNSHARE is None:
            return [IP, "netns", "exec", self.ns, *command]
        return [IP, "netns", "exec", self.ns, UNSHARE, "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', self.ns,
                *command]


@dataclass
class Network:
    """The hosts of one test and the root namespace's address on their bridge."""

    token: str
    bridge: str
    gateway: str
    hosts: dict[str, Host] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]


def _free_subnet() -> ipaddress.IPv4Network:
    """A random 10.x.y.0/24 that no interface of the root namespace is on (other tests' bridges included)."""
    used = [ipaddress.ip_interface(word).network for line in _ip("-o", "-4", "addr").stdout.splitlines()
            for word in line.split()[3:4]]
    for _ in range(100):
        subnet = ipaddress.IPv4Network(f"10.{random.randint(64, 250)}.{random.randint(0, 255)}.0/24")
        if not any(subnet.overlaps(u) for u in used):
            return subnet
    raise AssertionError(f"no free 10.x.y.0/24 (in use: {used})")


def _kill_inside(ns: str) -> None:
    """SIGKILL what still runs in namespace ``ns``: only ever this test's children (the namespace is its own)."""
    listed = _ip("netns", "pids", ns, check=False).stdout.split()
    for pid in listed:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


@contextlib.contextmanager
def network(names: Sequence[str]) -> Iterator[Network]:
    """Namespaces ``names`` on one bridge; all deleted (their processes killed) when the block ends."""
    token = secrets.token_hex(3)
    subnet = _free_subnet()
    addresses = list(subnet.hosts())
    net = Network(token, f"exr{token}", str(addresses[0]))
    made: list[str] = []
    try:
        _ip("link", "add", net.bridge, "type", "bridge")
        _ip("addr", "add", f"{net.gateway}/{subnet.prefixlen}", "dev", net.bridge)
        _ip("link", "set", net.bridge, "up")
        for i, name in enumerate(names):
            host = Host(name, f"examrig-{token}-{name}", str(addresses[i + 1]))
            _ip("netns", "add", host.ns)
            made.append(host.ns)
            outside = f"exr{token}{i}"
            _ip("link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", host.ns)
            _ip("link", "set", outside, "master", net.bridge, "up")
            _ip("-n", host.ns, "link", "set", "lo", "up")
            _ip("-n", host.ns, "addr", "add", f"{host.address}/{subnet.prefixlen}", "dev", "eth0")
            _ip("-n", host.ns, "link", "set", "eth0", "up")
            net.hosts[name] = host
        yield net
    finally:
        for ns in made:
            _kill_inside(ns)
        for ns in made:
            _ip("netns", "del", ns, check=False)  # its veth end goes with it, and so the one on the bridge
        _ip("link", "del", net.bridge, check=False)
