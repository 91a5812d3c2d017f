"""The Debian package, as an installer meets it: built from this tree with
dpkg-buildpackage, lintian clean, installed with apt into a bare Debian 12 that
boots a real systemd (systemd-nspawn), and the hardened service checked there.
Runs as root (debootstrap, chroot, nspawn); the container base is built once and
kept in the build tree (tests/package/container_base.sh)."""
import glob
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

SOURCE = os.environ.get("ACCESSGW_SOURCE",
                        os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.environ.get("ACCESSGW_BUILD", os.path.join(SOURCE, "build"))
BASE = os.path.join(BUILD, "container-base")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: debootstrap, nspawn")


def run(cmd, timeout=600, check=True, **kw):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and out.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (cmd, out.returncode, out.stdout[-3000:],
                                                            out.stderr[-3000:]))
    return out


def source_files(root):
    """The tree's files, relative to root: git's list in a checkout; in a release
    tarball (no .git, and perhaps no git installed) every file, build directories,
    caches and editors' leftovers left out."""
    if os.path.isdir(os.path.join(root, ".git")) and shutil.which("git"):
        listed = run(["git", "ls-files", "-co", "--exclude-standard"], cwd=root).stdout.split("\n")
        return sorted(f for f in listed if f and not f.startswith("build")
                      and os.path.isfile(os.path.join(root, f)))
    files = []
    for top, dirs, names in os.walk(root):
        rel = os.path.relpath(top, root)
        dirs[:] = [d for d in dirs if not (rel == "." and d.startswith("build"))
                   and d not in (".git", "__pycache__", "node_modules", ".pytest_cache")]
        files += [os.path.normpath(os.path.join(rel, n)) for n in names
                  if not n.endswith((".pyc", "~", ".swp"))]
    return sorted(files)


def copy_tree(root, dest):
    for f in source_files(root):
        os.makedirs(os.path.dirname(os.path.join(dest, f)), exist_ok=True)
        shutil.copy2(os.path.join(root, f), os.path.join(dest, f))


def test_a_release_tarball_is_a_source_tree(tmp_path):
    """Issue 26, item 12: from a release tarball (no .git; git not installed) the
    package test failed listing the tree with `git ls-files`.  The same files are
    found either way."""
    tarball = tmp_path / "accessgw-src"
    copy_tree(SOURCE, str(tarball))
    assert not (tarball / ".git").exists()
    from_git = source_files(SOURCE)
    saved = os.environ["PATH"]
    os.environ["PATH"] = "/nonexistent"  # as on a bare Debian 12 without git
    try:
        assert shutil.which("git") is None
        assert source_files(str(tarball)) == from_git
    finally:
        os.environ["PATH"] = saved
    assert "CMakeLists.txt" in from_git and "debian/control" in from_git


@pytest.fixture(scope="module")
def debs():
    """The packages, built the Debian way from a copy of this tree."""
    tmp = tempfile.mkdtemp(prefix="agw-deb-")
    src = os.path.join(tmp, "accessgw")
    copy_tree(SOURCE, src)
    run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, timeout=900)
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


def test_lintian_clean(debs):
    """No error and no warning that is not overridden with a reason."""
    changes = glob.glob(os.path.join(debs, "accessgw_*.changes"))[0]
    out = run(["lintian", "--fail-on", "error,warning", "--tag-display-limit", "0", changes],
              check=False)
    tags = [l for l in out.stdout.splitlines() if re.match(r"^[EW]: ", l)]
    assert out.returncode == 0 and not tags, out.stdout


def test_runtime_package_contents(debs):
    deb = glob.glob(os.path.join(debs, "accessgw_*_*.deb"))[0]
    files = run(["dpkg-deb", "-c", deb]).stdout
    for path in ("./usr/sbin/accessgwd", "./usr/bin/accessgwctl", "./etc/accessgw/accessgw.ini",
                 "./usr/sbin/accessgw-uplink", "./lib/systemd/system/accessgw-uplink.service",
                 "./usr/sbin/accessgw-web", "./usr/share/man/man8/accessgw-web.8.gz",
                 "./usr/share/man/man8/accessgw-uplink.8.gz",
                 "./lib/systemd/system/accessgw.service", "./lib/udev/rules.d/60-accessgw.rules",
                 "./usr/share/accessgw/profiles/generic-consumer.ini",
                 "./usr/share/man/man8/accessgwd.8.gz", "./usr/share/man/man5/accessgw.ini.5.gz",
                 "./usr/share/man/man1/accessgwctl.1.gz"):
        assert path in files, path
    assert re.search(r"\./usr/lib/[^/]+/accessgw/plugins/idcard-sam\.so", files)
    assert re.search(r"\./usr/lib/[^/]+/accessgw/accessgw-plugin-host", files)
    assert "skeleton" not in files  # a template, not a device: it is in -dev's examples
    conffiles = run(["dpkg-deb", "-I", deb, "conffiles"]).stdout
    assert "/etc/accessgw/accessgw.ini" in conffiles
    dev = glob.glob(os.path.join(debs, "accessgw-dev_*.deb"))[0]
    devfiles = run(["dpkg-deb", "-c", dev]).stdout
    assert "accessgw/plugin.h" in devfiles and "pkgconfig/accessgw.pc" in devfiles
    assert "examples/skeleton.c" in devfiles


class Container:
    """A copy of the base with the package installed, booted under nspawn."""

    def __init__(self, debs):
        run([os.path.join(SOURCE, "tests", "package", "container_base.sh"), BASE], timeout=1800)
        self.root = tempfile.mkdtemp(prefix="agw-ct-")
        run(["cp", "-a", BASE + "/.", self.root])
        deb = glob.glob(os.path.join(debs, "accessgw_*_*.deb"))[0]
        shutil.copy(deb, os.path.join(self.root, "root", "accessgw.deb"))
        run(["chroot", self.root, "sh", "-c",
             "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "
             "/root/accessgw.deb"], timeout=900)
        self.log = open(os.path.join(self.root + ".log"), "w")
        self.nspawn = subprocess.Popen(
            # nspawn's own filter (systemd 252) predates Landlock: let the container make
            # those calls, so that the service's unit, as on a real machine, decides
            ["systemd-nspawn", "--keep-unit", "--register=no", "-q", "-D", self.root, "-b",
             "--system-call-filter=landlock_create_ruleset landlock_add_rule landlock_restrict_self"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.time() + 60
        self.pid1 = None
        while time.time() < deadline and not self.pid1:
            kids = run(["pgrep", "-P", str(self.nspawn.pid)], check=False).stdout.split()
            self.pid1 = kids[0] if kids else None
            time.sleep(0.2)
        assert self.pid1, "the container's systemd did not start"
        state = self.sh("systemctl is-system-running --wait", timeout=120, check=False)
        assert state.stdout.strip() in ("running", "degraded"), state.stdout + self.journal()

    def sh(self, command, timeout=60, check=True):
        return run(["nsenter", "--target", self.pid1, "--mount", "--uts", "--ipc", "--net",
                    "--pid", "sh", "-c", command], timeout=timeout, check=check)

    def prop(self, name):
        return self.sh("systemctl show -p %s --value accessgw" % name).stdout.strip()

    def wait_active(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.sh("systemctl is-active accessgw", check=False).stdout.strip() == "active":
                return
            time.sleep(0.3)
        raise AssertionError("accessgw is not active:\n" + self.journal())

    def journal(self):
        return self.sh("journalctl -u accessgw --no-pager -n 60", check=False).stdout

    def close(self):
        self.sh("systemctl poweroff", check=False)
        try:
            self.nspawn.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.nspawn.pid, signal.SIGKILL)
            self.nspawn.wait(10)
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def box(debs):
    c = Container(debs)
    yield c
    c.close()


def test_service_starts_ready_and_hardened(box):
    box.wait_active()
    assert box.prop("Type") == "notify" and box.prop("User") == "accessgw"
    assert box.sh("accessgwctl ping").returncode == 0
    out = box.sh("systemd-analyze security accessgw --no-pager", check=False).stdout
    level = float(re.search(r"Overall exposure level for accessgw\.service: ([0-9.]+)", out).group(1))
    assert level <= 2.0, out


def test_private_events_with_the_packaged_key_path(box):
    """keygen --group accessgw: root:accessgw 0640, readable by the service only."""
    box.sh("accessgwctl keygen /etc/accessgw/gateway --group accessgw && "
           "accessgwctl keygen /etc/accessgw/window-3 && "
           "sed -n 's/^ *public-key = \"\\(.*\\)\"$/\\1 window-3/p' /etc/accessgw/window-3.pub "
           "> /etc/accessgw/authorized_keys && "
           "sed -i -e 's|^;private_events|private_events|' -e 's|^;curve_secret_key|curve_secret_key|' "
           "-e 's|^;authorized_keys|authorized_keys|' /etc/accessgw/accessgw.ini")
    assert box.sh("stat -c '%U:%G %a' /etc/accessgw/gateway.key").stdout.strip() == "root:accessgw 640"
    box.sh("systemctl restart accessgw")
    box.wait_active()
    ping = box.sh("accessgwctl ping").stdout
    gateway_key = re.search(r'public-key = "(.*)"', box.sh("cat /etc/accessgw/gateway.pub").stdout)
    assert gateway_key.group(1) in ping
    # a listed application gets in (the gateway's ZAP handler says so)
    box.sh("timeout 3 accessgwctl watch --private --key /etc/accessgw/window-3 idcard/ "
           ">/dev/null 2>&1; true", timeout=20)
    assert "admitted subscriber window-3" in box.journal()


def test_reload_keeps_it_up(box):
    pid = box.prop("MainPID")
    box.sh("systemctl reload accessgw")
    box.wait_active()
    assert box.prop("MainPID") == pid
    assert "RELOADING" not in box.sh("systemctl show -p ActiveState --value accessgw").stdout


def test_a_crash_is_restarted(box):
    restarts = int(box.prop("NRestarts"))
    pid = box.prop("MainPID")
    box.sh("systemctl kill -s SEGV accessgw")
    deadline = time.time() + 30
    while time.time() < deadline and (box.prop("MainPID") in (pid, "0") or
                                      int(box.prop("NRestarts")) == restarts):
        time.sleep(0.3)
    box.wait_active()
    assert int(box.prop("NRestarts")) == restarts + 1


def test_watchdog_does_not_fire_with_a_long_heartbeat(box):
    """heartbeat_ms = 60000 under WatchdogSec=4s: pinged on its own clock, never killed."""
    box.sh("sed -i 's|^\\[gateway\\]|[gateway]\\nheartbeat_ms = 60000|' /etc/accessgw/accessgw.ini && "
           "mkdir -p /etc/systemd/system/accessgw.service.d && "
           "printf '[Service]\\nWatchdogSec=4s\\n' > /etc/systemd/system/accessgw.service.d/wd.conf && "
           "systemctl daemon-reload && systemctl restart accessgw")
    box.wait_active()
    restarts, pid = box.prop("NRestarts"), box.prop("MainPID")
    time.sleep(12)
    assert box.prop("NRestarts") == restarts and box.prop("MainPID") == pid, box.journal()
    assert "Watchdog timeout" not in box.journal()


def test_a_serial_device_in_the_accessgw_group_is_opened(box):
    """DevicePolicy=closed lets it reach a ttyUSB node given to its group: the kernel, not
    the sandbox or the permissions, answers (no usb-serial adapter is behind the node)."""
    box.sh("mknod -m 0660 /dev/ttyUSB7 c 188 7 && chgrp accessgw /dev/ttyUSB7 && "
           "printf '\\n[device reader-1]\\nplugin = idcard-sam\\ntransport = serial\\n"
           "path = /dev/ttyUSB7\\nlocation = Window 3\\n' >> /etc/accessgw/accessgw.ini && "
           "systemctl reload accessgw")
    deadline = time.time() + 20
    reason = ""
    while time.time() < deadline:
        devices = box.sh("accessgwctl devices", check=False).stdout
        line = [l for l in devices.splitlines() if "reader-1" in l]
        reason = line[0] if line else ""
        if "No such device" in reason or " up" in reason:
            break
        time.sleep(0.5)
    assert "No such device" in reason, reason + "\n" + box.journal()
    assert "Permission denied" not in reason and "not permitted" not in reason
    # the reader's plugin runs in its own process, under its own seccomp filter inside the
    # service's (which must let it install one)
    status = box.sh("for p in /proc/[0-9]*; do grep -qa accessgw-plugin-host $p/cmdline 2>/dev/null"
                    " && grep -aq idcard-sam $p/cmdline && cat $p/status; done; true").stdout
    assert re.search(r"NoNewPrivs:\s+1", status) and re.search(r"Seccomp:\s+2", status), \
        status + box.journal()
    # ... and inside Landlock (the unit lets it), with the node opened by accessgwd:
    # nothing of the sandbox was refused or missing
    journal = box.journal()
    for said in ("has no Landlock", "cannot limit the files", "refused by the sandbox"):
        assert said not in journal, journal


def test_uplink_service_forwards_to_a_broker(box):
    """Installed but not enabled; once [uplink] names the broker and it is enabled, the
    hall is online on Debian's mosquitto and its events arrive, from a hardened unit."""
    assert box.sh("systemctl is-enabled accessgw-uplink", check=False).stdout.strip() == "disabled"
    box.sh("systemctl start mosquitto && printf '\\n[uplink]\\nbroker = mqtt://127.0.0.1:1883\\n' "
           ">> /etc/accessgw/accessgw.ini && systemctl restart accessgw")
    box.wait_active()
    box.sh("systemctl enable --now accessgw-uplink")
    try:
        online = box.sh("mosquitto_sub -h 127.0.0.1 -t 'accessgw/+/online' -C 1 -W 20",
                        timeout=30, check=False).stdout
        assert online.strip() == "true", online + box.sh(
            "journalctl -u accessgw-uplink -n 30 --no-pager").stdout
        # the serial test's reader-1: its state is retained, so a late subscriber has it at once
        state = box.sh("mosquitto_sub -h 127.0.0.1 -t 'accessgw/+/device/+/state' -C 1 -W 20",
                       timeout=30)
        assert '"specversion":"1.0"' in state.stdout and "reader-1" in state.stdout
        cursor = box.sh("ls /var/lib/accessgw/ /var/lib/private/accessgw/ 2>/dev/null; true")
        assert "journal" in cursor.stdout
        out = box.sh("systemd-analyze security accessgw-uplink --no-pager", check=False).stdout
        level = float(re.search(r"Overall exposure level for accessgw-uplink\.service: "
                                r"([0-9.]+)", out).group(1))
        assert level <= 2.0, out
    finally:
        box.sh("systemctl disable --now accessgw-uplink", check=False)


def test_web_console_is_started_by_the_service(box):
    """[web] added and reloaded: accessgwd starts accessgw-web inside its sandbox, and the
    console and the status answer over HTTP."""
    box.sh("head -c 18 /dev/urandom | base64 > /etc/accessgw/web.token && "
           "chgrp accessgw /etc/accessgw/web.token && chmod 0640 /etc/accessgw/web.token && "
           "printf '\\n[web]\\nlisten = 127.0.0.1:8080\\ntoken_file = /etc/accessgw/web.token\\n' "
           ">> /etc/accessgw/accessgw.ini && systemctl reload accessgw")
    get = ("bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080 && printf \"GET %s HTTP/1.0\\r\\n\\r\\n\" >&3 "
           "&& cat <&3'")
    deadline = time.time() + 20
    status = ""
    while time.time() < deadline and '"live":true' not in status:
        status = box.sh(get % "/status", check=False).stdout
        time.sleep(0.5)
    assert '"live":true' in status, status + box.journal()
    page = box.sh(get % "/").stdout
    assert "200 OK" in page and "console.js" in page
    assert "accessgw-web started" in box.journal()


def test_purge_leaves_nothing_behind(box):
    box.sh("DEBIAN_FRONTEND=noninteractive apt-get purge -y -q accessgw", timeout=300)
    left = box.sh("ls -d /etc/accessgw /var/lib/accessgw /var/lib/private/accessgw "
                  "/lib/systemd/system/accessgw.service /lib/udev/rules.d/60-accessgw.rules "
                  "/etc/systemd/system/multi-user.target.wants/accessgw.service 2>/dev/null; "
                  "getent passwd accessgw; getent group accessgw; true").stdout.split()
    # our own drop-in from the watchdog test is the installer's file, not the package's
    left = [p for p in left if not p.startswith("/etc/systemd/system/accessgw.service.d")]
    assert left == [], left
    assert "ii" not in box.sh("dpkg -l accessgw 2>/dev/null; true").stdout
