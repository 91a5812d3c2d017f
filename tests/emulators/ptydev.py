"""A device on a pty: the real termios device the gateway opens, behind a
symlink that survives re-plugging (a new pty, the same path)."""
import os
import tty


class PtyDevice:
    def __init__(self, link):
        self.link = link
        self.master = None
        self._slave = None

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
