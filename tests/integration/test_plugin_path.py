"""The plugin search path: [gateway] plugin_path = DIR:DIR..., searched in order; an id
found again later is shadowed, never loaded twice; mistakes name FILE:LINE."""
import os
import shutil

from agwtest import PLUGIN_DIR, Gateway


def test_earlier_directory_wins_and_the_later_is_said_shadowed(tmp_path):
    local = tmp_path / "local"
    local.mkdir(mode=0o755)
    shutil.copy(os.path.join(PLUGIN_DIR, "skeleton.so"), local / "skeleton.so")
    os.chmod(local / "skeleton.so", 0o755)
    gw = Gateway(tmp_path, "[device counter-1]\nplugin = skeleton\ntransport = none\n",
                 gateway_extra="plugin_path = %s:%s\n" % (local, PLUGIN_DIR), log_level="debug")
    text = open(gw.config).read().replace("plugin_dir = %s\n" % PLUGIN_DIR, "")
    open(gw.config, "w").write(text)
    gw.start()
    devices = gw.request({"verb": "devices"})["result"]["devices"]
    assert [d["id"] for d in devices] == ["counter-1"]
    log = gw.log_text()
    assert "from %s/skeleton.so" % local in log
    assert "%s/skeleton.so: id 'skeleton' is shadowed by %s/skeleton.so" % (PLUGIN_DIR, local) in log
    assert "idcard-sam" in log  # the rest still comes from the later directory
    gw.stop()


def config_error(tmp_path, extra, drop_plugin_dir):
    gw = Gateway(tmp_path, gateway_extra=extra)
    if drop_plugin_dir:
        text = open(gw.config).read().replace("plugin_dir = %s\n" % PLUGIN_DIR, "")
        open(gw.config, "w").write(text)
    gw.start(wait=False)
    assert gw.proc.wait(10) != 0
    return gw.log_text()


def test_mistakes_name_file_and_line(tmp_path):
    log = config_error(tmp_path, "plugin_path = %s:/no/such/dir\n" % PLUGIN_DIR, True)
    assert "gw.ini:" in log and "plugin_path" in log and "/no/such/dir" in log, log
    os.unlink(os.path.join(str(tmp_path), "gateway.log"))
    log = config_error(tmp_path, "plugin_path = %s\n" % PLUGIN_DIR, False)
    assert "plugin_dir and plugin_path" in log and "gw.ini:" in log, log
