#!/usr/bin/python3
"""An org.bluez that takes the name and never answers: GetManagedObjects is
received and left unanswered, as a bluetoothd stuck at start (or D-Bus
activation of a bluetooth.service that systemd skipped, which the caller sees
as the same silence until the bus's 25 s timeout) looks to a client.

Run it on a private bus (DBUS_SYSTEM_BUS_ADDRESS); it prints "ok ready" once
it owns the name, "call GetManagedObjects" for each call it swallows, and
ends at EOF on stdin."""
import os
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

OM = "org.freedesktop.DBus.ObjectManager"


class Root(dbus.service.Object):
    def __init__(self, bus):
        super().__init__(bus, "/")
        self.kept = []  # the callbacks, kept so that no answer is ever sent

    @dbus.service.method(OM, out_signature="a{oa{sa{sv}}}",
                         async_callbacks=("reply", "error"))
    def GetManagedObjects(self, reply, error):
        self.kept.append((reply, error))
        print("call GetManagedObjects", flush=True)


dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
bus.request_name("org.bluez")
root = Root(bus)
loop = GLib.MainLoop()
GLib.io_add_watch(sys.stdin, GLib.IO_IN | GLib.IO_HUP,
                  lambda s, c: loop.quit() if not sys.stdin.readline() else True)
print("ok ready", flush=True)
loop.run()
