"""The udev rules: generated from the plugins' ID tables (and committed
without drift), valid udev syntax, agreeing with the gateway's own hotplug
matching, and installed, re-installed and removed cleanly by install.sh."""
import os
import re
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "lib"))
from agwtest import ACCESSGWCTL, BUILD, PLUGIN_DIR, SOURCE  # noqa: E402

UDEV = os.path.join(SOURCE, "udev")
INSTALL = os.path.join(UDEV, "install.sh")


def generate(*args):
    out = subprocess.run([ACCESSGWCTL, "udev-rules", "--plugin-dir", PLUGIN_DIR] + list(args),
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_committed_rules_do_not_drift():
    for name, args in (("60-accessgw.rules", ()), ("61-accessgw-generic.rules.in", ("--generic",))):
        with open(os.path.join(UDEV, name)) as f:
            assert f.read() == generate(*args), (
                "udev/%s differs from `accessgwctl udev-rules %s`: run `make -C build udev-rules` and commit udev/"
                % (name, " ".join(args)))


# udev rules grammar (udev(7)): comma-separated KEY[{attr}] OP "value"
PAIR = re.compile(r'^\s*([A-Z_]+)(\{[A-Za-z0-9_./-]+\})?\s*(==|!=|\+=|-=|:=|=)\s*"((?:[^"\\]|\\.)*)"\s*$')
MATCH_KEYS = {"ACTION", "SUBSYSTEM", "ATTR", "ATTRS", "ENV", "KERNEL", "DRIVERS", "TAG"}
ASSIGN_KEYS = {"GROUP", "MODE", "ENV", "TAG", "GOTO", "LABEL", "OWNER"}


def check_rule_line(line):
    pairs = []
    for part in re.split(r',\s*(?=[A-Z_]+(?:\{[^}]*\})?\s*(?:==|!=|\+=|-=|:=|=)\s*")', line):
        m = PAIR.match(part)
        assert m, "not a udev key/value pair: %r in %r" % (part, line)
        key, attr, op, value = m.groups()
        if op in ("==", "!="):
            assert key in MATCH_KEYS, (key, line)
        else:
            assert key in ASSIGN_KEYS, (key, line)
        if key in ("ATTR", "ATTRS", "ENV"):
            assert attr, "%s needs {name}: %r" % (key, line)
        pairs.append((key, attr, op, value))
    return pairs


def rule_lines(text):
    return [l for l in text.splitlines() if l.strip() and not l.startswith("#")]


def test_every_line_is_valid_udev_syntax():
    for text in (generate(), generate("--generic")):
        for line in rule_lines(text):
            check_rule_line(line)


def test_access_is_group_0660_never_world():
    for text in (generate(), generate("--generic")):
        for line in rule_lines(text):
            pairs = check_rule_line(line)
            if any(k == "SUBSYSTEM" for k, *_ in pairs):
                assert ("MODE", None, "=", "0660") in pairs, line
                assert ("GROUP", None, "=", "accessgw") in pairs, line
                assert any(k == "ENV" and a == "{ACCESSGW_PLUGIN}" for k, a, _, _ in pairs), line
            assert "0666" not in line


def test_generic_bridges_only_in_opt_in_file():
    bridges = {("1a86", "7523"), ("10c4", "ea60"), ("0403", "6001"), ("067b", "2303")}
    main = generate()
    for vid, pid in bridges:
        assert '"%s"' % pid not in main or '"%s"' % vid not in main, (vid, pid)
    for line in rule_lines(generate("--generic")):
        if "SUBSYSTEM" in line:
            assert 'ATTRS{serial}=="@SERIAL@"' in line, line


def test_rules_agree_with_hotplug_matching():
    """The gateway's own matcher claims exactly what each rule names."""
    out = subprocess.run([os.path.join(BUILD, "tests", "udev_agreement"), PLUGIN_DIR],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "rules checked" in out.stdout


def run(*args, ok=True):
    out = subprocess.run([INSTALL] + list(args), capture_output=True, text=True)
    if ok:
        assert out.returncode == 0, out.stdout + out.stderr
    return out


def tree(root):
    found = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            found[os.path.relpath(p, root)] = stat.S_IMODE(os.stat(p).st_mode)
    return found


def test_install_idempotent_and_uninstall_clean(tmp_path):
    root = str(tmp_path / "root")
    first = run("install", "--destdir", root)
    assert "installed: %s/etc/udev/rules.d/60-accessgw.rules (mode 0644, owner root:root)" % root in first.stdout
    assert "intent: system group accessgw and system user accessgw" in first.stdout
    files = tree(root)
    assert files == {"etc/udev/rules.d/60-accessgw.rules": 0o644,
                     "etc/systemd/system/accessgw.service": 0o644}
    with open(os.path.join(root, "etc/udev/rules.d/60-accessgw.rules")) as f:
        assert f.read() == open(os.path.join(UDEV, "60-accessgw.rules")).read()
    second = run("install", "--destdir", root)
    assert "nothing to do: already installed" in second.stdout
    assert "installed:" not in second.stdout
    assert tree(root) == files
    run("uninstall", "--destdir", root)
    assert not os.path.exists(os.path.join(root, "etc"))


def test_generic_file_only_when_asked(tmp_path):
    root = str(tmp_path / "root")
    run("install", "--destdir", root)
    assert not os.path.exists(os.path.join(root, "etc/udev/rules.d/61-accessgw-generic.rules"))
    # a bare serial: access for that adapter, but no plugin claims it (two plugins could)
    bare = run("install", "--destdir", root, "--with-generic", "A1B2C3")
    assert "access only" in bare.stdout
    with open(os.path.join(root, "etc/udev/rules.d/61-accessgw-generic.rules")) as f:
        lines = rule_lines(f.read())
    ch340 = [l for l in lines if '"1a86"' in l and 'ATTRS{serial}=="A1B2C3"' in l]
    assert len(ch340) == 1 and "ACCESSGW_PLUGIN" not in ch340[0] and 'MODE="0660"' in ch340[0]
    for line in lines:
        check_rule_line(line)
    run("install", "--destdir", root, "--with-generic", "idcard-sam:A1B2C3", "callbell-rf:0001")
    with open(os.path.join(root, "etc/udev/rules.d/61-accessgw-generic.rules")) as f:
        text = f.read()
    assert "@SERIAL@" not in text
    lines = rule_lines(text)
    reader = [l for l in lines if 'ATTRS{serial}=="A1B2C3"' in l]
    bell = [l for l in lines if 'ATTRS{serial}=="0001"' in l]
    assert reader and all('ACCESSGW_PLUGIN}="idcard-sam"' in l for l in reader)
    assert bell and all('ACCESSGW_PLUGIN}="callbell-rf"' in l for l in bell)
    for line in lines:
        check_rule_line(line)
    run("install", "--destdir", root)  # without --with-generic: the opt-in file goes
    assert not os.path.exists(os.path.join(root, "etc/udev/rules.d/61-accessgw-generic.rules"))


def test_dry_run_writes_nothing(tmp_path):
    root = str(tmp_path / "root")
    out = run("install", "--dry-run", "--destdir", root, "--with-generic", "idcard-sam:X1")
    assert "would install: %s/etc/udev/rules.d/60-accessgw.rules" % root in out.stdout
    assert not os.path.exists(root)


def test_bad_arguments(tmp_path):
    assert run("bogus", ok=False).returncode == 2
    bad = run("install", "--destdir", str(tmp_path), "--with-generic", 'x"; rm -rf /', ok=False)
    assert bad.returncode == 2 and "must be letters" in bad.stderr
    nope = run("install", "--destdir", str(tmp_path), "--with-generic", "toaster:1", ok=False)
    assert nope.returncode == 2 and "has no generic-bridge rules" in nope.stderr


def test_clear_errors_before_any_change(tmp_path):
    # no udevadm: refused before anything is touched (as root this would install for real)
    out = subprocess.run([INSTALL, "install"], capture_output=True, text=True,
                         env=dict(os.environ, UDEVADM="/nonexistent/udevadm"))
    if os.getuid() == 0:
        assert out.returncode == 1 and "udevadm not found" in out.stderr
    # not root
    out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                          "/bin/sh", INSTALL, "install"], capture_output=True, text=True)
    assert out.returncode == 1 and "must run as root" in out.stderr
