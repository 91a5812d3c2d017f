"""Where the tests find accessgw's testkit (agwtest.py: a real accessgwd on free ports,
pyzmq clients, schema checks; ptydev.py: an emulator on a pty; regress.py: captures played
to the gateway and compared with their golden events):

- in accessgw's source tree: tests/lib and tests/emulators;
- out of tree (a plugin copied from this skeleton): the installed SDK's testkit, from
  ACCESSGW_TESTKIT or `pkg-config --variable=testkitdir accessgw`.

A plugin's own event schemas go in <plugin>/schemas/events/<class>.<event>.json; they are
added to ACCESSGW_SCHEMA_PATH here.  Which accessgwd runs and where the plugin's .so is:
ACCESSGWD and ACCESSGW_PLUGIN_DIR (docs/PLUGINS.md, "Testing a plugin")."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TREE = os.path.join(HERE, "..", "..", "..")


def testkit_dirs():
    if os.path.isfile(os.path.join(TREE, "tests", "lib", "agwtest.py")):
        return [os.path.join(TREE, "tests", d) for d in ("lib", "emulators", "regress")]
    kit = os.environ.get("ACCESSGW_TESTKIT")
    if not kit:
        kit = subprocess.run(["pkg-config", "--variable=testkitdir", "accessgw"],
                             capture_output=True, text=True).stdout.strip()
    if not kit or not os.path.isfile(os.path.join(kit, "agwtest.py")):
        raise RuntimeError("accessgw's testkit not found: install the SDK (accessgw-dev) "
                           "or set ACCESSGW_TESTKIT")
    return [kit]


sys.path[:0] = testkit_dirs()
own_schemas = os.path.join(HERE, "..", "schemas")
if os.path.isdir(own_schemas):
    os.environ["ACCESSGW_SCHEMA_PATH"] = ":".join(
        p for p in (os.path.abspath(own_schemas), os.environ.get("ACCESSGW_SCHEMA_PATH")) if p)
