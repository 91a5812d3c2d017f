"""A real pcscd (Debian's, with the vsmartcard vpcd reader driver) that never
touches the machine's own: it runs in a private mount namespace where a test
directory is bind-mounted on /run/pcscd (pcscd 1.9.9 ignores
PCSCLITE_CSOCK_NAME and always listens on /run/pcscd/pcscd.comm; clients
honour it), with its own reader.conf.d (-c) naming free TCP ports for vpcd's
two slots.  Needs root (for the namespace), as the tests run in CI."""
import os
import signal
import socket
import subprocess
import time

VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
# vpcd names its two slots "<FRIENDLYNAME> 00 00" and "<FRIENDLYNAME> 00 01"
READER = "Virtual PCD 00 00"
READER2 = "Virtual PCD 00 01"


def _free_port_pair():
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 65000:
            with socket.socket() as s2:
                try:
                    s2.bind(("0.0.0.0", port + 1))
                    return port
                except OSError:
                    continue


class Pcscd:
    def __init__(self, tmp_path):
        self.dir = os.path.join(str(tmp_path), "pcscd")
        self.run = os.path.join(self.dir, "run")
        self.conf = os.path.join(self.dir, "reader.conf.d")
        os.makedirs(self.run, exist_ok=True)
        os.makedirs(self.conf, exist_ok=True)
        self.port = _free_port_pair()
        with open(os.path.join(self.conf, "vpcd"), "w") as f:
            f.write('FRIENDLYNAME "Virtual PCD"\nDEVICENAME /dev/null:%d\nLIBPATH %s\n'
                    "CHANNELID %d\n" % (self.port, VPCD_DRIVER, self.port))
        self.socket = os.path.join(self.run, "pcscd.comm")
        self.log_path = os.path.join(self.dir, "pcscd.log")
        self.proc = None

    @property
    def env(self):
        return dict(os.environ, PCSCLITE_CSOCK_NAME=self.socket)

    def start(self, timeout=10):
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        os.makedirs("/run/pcscd", exist_ok=True)
        script = ('mount --bind "$1" /run/pcscd && exec pcscd --foreground --apdu -c "$2"')
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "pcscd",
             self.run, self.conf], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("pcscd did not start (needs root for its mount "
                                     "namespace):\n" + open(self.log_path).read())
            time.sleep(0.05)
        return self

    def slot_port(self, slot=0):
        return self.port + slot

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if os.path.exists(self.socket):
            os.unlink(self.socket)

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


def main():
    """The demo's pcscd: started in DIR, the socket's path and the first slot's port
    printed (one a line), stopped on SIGTERM or SIGINT."""
    import sys
    p = Pcscd(sys.argv[1]).start()
    print(p.socket)
    print(p.slot_port(0), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (p.stop(), sys.exit(0)))
    try:
        signal.pause()
    except KeyboardInterrupt:
        p.stop()


if __name__ == "__main__":
    main()
