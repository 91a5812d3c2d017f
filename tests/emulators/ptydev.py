"""A device on a pty: the real termios device the gateway opens, behind a
symlink that survives re-plugging (a new pty, the same path)."""
import os
import select
import threading
import tty


class PtyDevice:
    def __init__(self, link):
        self.link = link
        self.master = None
        self._slave = None
        self.received = b""  # what the gateway wrote to the device (with start_collecting)
        self.stopped = threading.Event()
        self.thread = None

    def start_collecting(self):
        """Opens the pty and keeps what the gateway writes in self.received."""
        self.open_pty()
        self.thread = threading.Thread(target=self._collect, daemon=True)
        self.thread.start()
        return self

    def _collect(self):
        while not self.stopped.is_set():
            try:
                ready, _, _ = select.select([self.master], [], [], 0.1)
            except (OSError, ValueError, TypeError):
                return
            if ready:
                self.received += self.read_available()

    def write(self, data):
        os.write(self.master, data)

    def stop(self):
        self.stopped.set()
        if self.thread:
            self.thread.join(2)
        self.close_pty()

    def open_pty(self):
        master, slave = os.openpty()
        tty.setraw(master)
        tmp = self.link + ".tmp"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self.link)
        # the slave stays open here too: no EIO on the master before the gateway opens it
        self.master, self._slave = master, slave

    def close_pty(self, unlink=False):
        for fd in (self.master, self._slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.master = self._slave = None
        if unlink and os.path.lexists(self.link):
            os.unlink(self.link)

    def read_available(self, size=4096):
        try:
            return os.read(self.master, size)
        except (OSError, TypeError):
            return b""
