#!/usr/bin/python3
"""A mock org.bluez with a hearing aid on it, for tests and the demo: the
Device1/Battery1 objects BlueZ exports and the GATT services of a hearing
aid (HAS 0x1854 with presets, VCS 0x1844 with the change counter, BAS),
answering control-point writes with notifications as a real one does.
Run it on a private bus (DBUS_SYSTEM_BUS_ADDRESS).  Commands on stdin:
    disconnect | connect | battery N | garbage | bump-counter | restart | remove | quit
"""
import os
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

BUS_NAME = "org.bluez"
OM = "org.freedesktop.DBus.ObjectManager"
PROPS = "org.freedesktop.DBus.Properties"
CHAR = "org.bluez.GattCharacteristic1"
ADDRESS = os.environ.get("MOCK_BLUEZ_ADDRESS", "AA:BB:CC:DD:EE:01")
DEV_PATH = "/org/bluez/hci0/dev_" + ADDRESS.replace(":", "_")


def uuid16(x):
    return "0000%04x-0000-1000-8000-00805f9b34fb" % x


class Failed(dbus.DBusException):
    _dbus_error_name = "org.bluez.Error.Failed"


class Obj(dbus.service.Object):
    def __init__(self, bus, path, ifaces):
        super().__init__(bus, path)
        self.path, self.ifaces = path, ifaces

    @dbus.service.signal(PROPS, signature="sa{sv}as")
    def PropertiesChanged(self, iface, changed, invalidated):
        pass

    def set(self, iface, **props):
        self.ifaces[iface].update(props)
        self.PropertiesChanged(iface, props, [])


class Characteristic(Obj):
    def __init__(self, bus, path, service, uuid, value, on_write=None):
        super().__init__(bus, path, {CHAR: {"UUID": uuid, "Service": dbus.ObjectPath(service),
                                            "Value": dbus.Array(value, signature="y"),
                                            "Flags": dbus.Array(["read", "write", "notify"], signature="s")}})
        self.on_write = on_write

    @dbus.service.method(CHAR, in_signature="a{sv}", out_signature="ay")
    def ReadValue(self, options):
        return self.ifaces[CHAR]["Value"]

    @dbus.service.method(CHAR, in_signature="aya{sv}")
    def WriteValue(self, value, options):
        if self.on_write:
            self.on_write(bytes(value))

    @dbus.service.method(CHAR)
    def StartNotify(self):
        pass

    def notify(self, data):
        self.set(CHAR, Value=dbus.Array(list(data), signature="y"))


class Root(dbus.service.Object):
    def __init__(self, bus, aid):
        super().__init__(bus, "/")
        self.aid = aid

    @dbus.service.method(OM, out_signature="a{oa{sa{sv}}}")
    def GetManagedObjects(self):
        return {dbus.ObjectPath(o.path): o.ifaces for o in self.aid.objects}

    @dbus.service.signal(OM, signature="oa{sa{sv}}")
    def InterfacesAdded(self, path, ifaces):
        pass

    @dbus.service.signal(OM, signature="oas")
    def InterfacesRemoved(self, path, ifaces):
        pass


class HearingAid:
    def __init__(self, bus):
        self.bus = bus
        self.presets = [[1, 0x03, "Universal"], [2, 0x02, "Hall loop"], [3, 0x02, "Quiet"]]
        self.active = 1
        self.volume, self.mute, self.counter = 100, 0, 0
        self.battery = 80
        self.export()

    def export(self):
        b = self.bus
        self.device = Obj(b, DEV_PATH, {
            "org.bluez.Device1": {"Address": ADDRESS, "Name": "Demo Hearing Aid",
                                  "Connected": True, "ServicesResolved": True,
                                  "UUIDs": dbus.Array([uuid16(0x1854), uuid16(0x1844), uuid16(0x180F)], signature="s")},
            "org.bluez.Battery1": {"Percentage": dbus.Byte(self.battery)}})
        s_has, s_vcs, s_bas, s_asha = (DEV_PATH + "/service000%d" % i for i in (1, 2, 3, 4))
        services = [Obj(b, p, {"org.bluez.GattService1": {"UUID": uuid16(u), "Primary": True,
                                                           "Device": dbus.ObjectPath(DEV_PATH)}})
                    for p, u in ((s_has, 0x1854), (s_vcs, 0x1844), (s_bas, 0x180F), (s_asha, 0xFDF0))]
        self.features = Characteristic(b, s_has + "/char0001", s_has, uuid16(0x2BDA), [0x31])
        self.cp = Characteristic(b, s_has + "/char0002", s_has, uuid16(0x2BDB), [], self.write_cp)
        self.active_char = Characteristic(b, s_has + "/char0003", s_has, uuid16(0x2BDC), [self.active])
        self.vol = Characteristic(b, s_vcs + "/char0004", s_vcs, uuid16(0x2B7D), self.vol_value())
        self.vcp = Characteristic(b, s_vcs + "/char0005", s_vcs, uuid16(0x2B7E), [], self.write_vcp)
        self.batt = Characteristic(b, s_bas + "/char0006", s_bas, uuid16(0x2A19), [self.battery])
        # ASHA ReadOnlyProperties: version 1, right side, binaural, HiSyncId, render delay 40 ms
        self.asha = Characteristic(b, s_asha + "/char0007", s_asha, "6333651e-c481-4a3e-9169-7c902aad37bb",
                                   [1, 0x03, 1, 2, 3, 4, 5, 6, 7, 8, 1, 40, 0, 0, 0, 2, 0])
        self.objects = [self.device] + services + [self.features, self.cp, self.active_char,
                                                   self.vol, self.vcp, self.batt, self.asha]
        self.root = Root(b, self)

    def unexport(self):
        for o in self.objects + [self.root]:
            o.remove_from_connection()

    def vol_value(self):
        return [self.volume, self.mute, self.counter]

    def preset(self, p, last):
        name = p[2].encode()
        return bytes([0x02, 1 if last else 0, p[0], p[1]]) + name

    def write_cp(self, v):
        if v[0] == 0x01 and len(v) == 3:  # read presets: answered by notifications
            chosen = [p for p in self.presets if p[0] >= v[1]][:v[2]]
            if not chosen:
                raise Failed("0x83")
            for i, p in enumerate(chosen):
                GLib.idle_add(self.cp.notify, self.preset(p, i == len(chosen) - 1))
        elif v[0] == 0x05 and len(v) == 2:
            if not any(p[0] == v[1] and p[1] & 2 for p in self.presets):
                raise Failed("0x83")
            self.set_active(v[1])
        elif v[0] in (0x06, 0x07) and len(v) == 1:
            ids = [p[0] for p in self.presets if p[1] & 2]
            i = ids.index(self.active) if self.active in ids else 0
            self.set_active(ids[(i + (1 if v[0] == 0x06 else -1)) % len(ids)])
        else:
            raise Failed("0x80" if v[0] not in (1, 5, 6, 7) else "0x84")

    def set_active(self, idx):
        self.active = idx
        GLib.idle_add(self.active_char.notify, bytes([idx]))

    def write_vcp(self, v):
        if len(v) < 2:
            raise Failed("0x81")
        if v[1] != self.counter:
            raise Failed("0x80")  # invalid change counter
        op = v[0]
        if op == 0x04 and len(v) == 3:
            self.volume = v[2]
        elif op == 0x06:
            self.mute = 1
        elif op == 0x05:
            self.mute = 0
        elif op in (0x00, 0x01):
            self.volume = max(0, min(255, self.volume + (16 if op == 1 else -16)))
        else:
            raise Failed("0x81")
        self.counter = (self.counter + 1) % 256
        GLib.idle_add(self.vol.notify, bytes(self.vol_value()))

    def command(self, words):
        if words[0] == "disconnect":
            self.device.set("org.bluez.Device1", Connected=False, ServicesResolved=False)
        elif words[0] == "connect":
            self.device.set("org.bluez.Device1", Connected=True)
            self.device.set("org.bluez.Device1", ServicesResolved=True)
        elif words[0] == "battery":
            self.battery = int(words[1])
            self.device.set("org.bluez.Battery1", Percentage=dbus.Byte(self.battery))
        elif words[0] == "garbage":
            self.vol.notify(b"\x01\x02")          # a volume state one byte short
            self.cp.notify(b"\x03\x09\x00\x01")   # an unknown preset ChangeId
        elif words[0] == "bump-counter":          # someone else changed the volume (not notified)
            self.counter = (self.counter + 1) % 256
            self.vol.ifaces[CHAR]["Value"] = dbus.Array(self.vol_value(), signature="y")
        elif words[0] == "restart":               # bluetoothd restarts: name and objects go and come back
            self.unexport()
            self.bus.release_name(BUS_NAME)
            GLib.timeout_add(300, self.come_back)
        elif words[0] == "remove":                # unpaired: the device object goes
            self.unexport()
            self.root = Root(self.bus, self)
            self.objects = []
            self.root.InterfacesRemoved(dbus.ObjectPath(DEV_PATH), ["org.bluez.Device1", "org.bluez.Battery1"])
        elif words[0] == "quit":
            loop.quit()

    def come_back(self):
        self.bus.request_name(BUS_NAME)
        self.export()
        return False


def on_stdin(source, condition):
    line = sys.stdin.readline()
    if not line:
        loop.quit()
        return False
    words = line.split()
    if words:
        aid.command(words)
        print("ok %s" % words[0], flush=True)
    return True


dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
bus.request_name(BUS_NAME)
aid = HearingAid(bus)
loop = GLib.MainLoop()
GLib.io_add_watch(sys.stdin, GLib.IO_IN | GLib.IO_HUP, on_stdin)
print("ok ready", flush=True)
loop.run()
