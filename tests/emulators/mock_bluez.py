#!/usr/bin/python3
"""A mock org.bluez with a hearing aid on it, for tests and the demo.

It behaves as bluetoothd does on D-Bus, checked against BlueZ's own source
and API docs (doc/org.bluez.Device.rst, GattCharacteristic.rst, Battery.rst;
src/gatt-client.c, src/device.c, profiles/battery/battery.c), not against
what accessgw expects:

- The hearing aid's GATT services (HAS 0x1854, VCS 0x1844, BAS 0x180F, ASHA
  0xFDF0) are exported only while bluetoothd does not claim them.  The battery
  plugin claims BAS, and the level is org.bluez.Battery1.Percentage on the
  device, registered once connected (after the plugin subscribed) and removed
  at disconnect.  --battery picks which bluetoothd this is:
    claimed    BAS hidden, Battery1 only (BlueZ 5.48-5.54; 5.80+ with
               GATT.ExportClaimedServices=no) -- the default
    shared     BAS exported beside Battery1 (5.55-5.79, Debian 12's 5.66:
               commit 713f6f09f made the battery profile "external"; 5.80+
               exports claimed services read-only by default)
    gatt-only  no Battery1, BAS exported (bluetoothd -P battery)
  --experimental models bluetoothd -E on 5.66: its vcp plugin claims VCS.
- ReadValue stores the value in the cache and so emits PropertiesChanged(Value)
  before replying; Value is absent until read or notified; Notifying turns
  true on StartNotify, which a characteristic without notify/indicate refuses
  (NotSupported); while disconnected reads and writes fail "Not connected"
  (StartNotify succeeds and is kept); the objects stay exported across a
  disconnect.  An ATT application error comes as org.bluez.Error.Failed
  "Operation failed with ATT error: 0xNN".
- Device1 carries what bluetoothd exports (Address, AddressType, Name, Alias,
  Paired, Trusted, Blocked, LegacyPairing, Connected, UUIDs, Adapter,
  ServicesResolved); the adapter /org/bluez/hci0 is an object too.
  Disconnect sends ServicesResolved and Connected false in one signal, as
  gdbus batches them; connect sends Connected, then ServicesResolved.

Run it on a private bus (DBUS_SYSTEM_BUS_ADDRESS).  Commands on stdin:
    disconnect | connect | battery N | garbage | bump-counter | restart | remove | quit
Options set the hearing aid itself: --features, --presets (see --help).
"""
import argparse
import os
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

BUS_NAME = "org.bluez"
OM = "org.freedesktop.DBus.ObjectManager"
PROPS = "org.freedesktop.DBus.Properties"
DEVICE = "org.bluez.Device1"
BATTERY = "org.bluez.Battery1"
SERVICE = "org.bluez.GattService1"
CHAR = "org.bluez.GattCharacteristic1"
DESC = "org.bluez.GattDescriptor1"
ADDRESS = os.environ.get("MOCK_BLUEZ_ADDRESS", "AA:BB:CC:DD:EE:01")
ADAPTER_PATH = "/org/bluez/hci0"
DEV_PATH = ADAPTER_PATH + "/dev_" + ADDRESS.replace(":", "_")

opts = argparse.ArgumentParser()
opts.add_argument("--battery", choices=["claimed", "shared", "gatt-only"], default="claimed")
opts.add_argument("--experimental", action="store_true", help="bluetoothd -E: vcp claims VCS")
opts.add_argument("--features", default="31", help="HAS Hearing Aid Features, hex")
opts.add_argument("--no-asha", action="store_true", help="an aid without the ASHA service")
opts.add_argument("--name", default="Demo Hearing Aid")
opts.add_argument("--presets", default="1:3:Universal,2:2:Hall loop,3:2:Quiet",
                  help="INDEX:PROPERTIES:NAME,... (properties: 1 writable, 2 available)")
args = opts.parse_args()


def uuid16(x):
    return "0000%04x-0000-1000-8000-00805f9b34fb" % x


def error(name, message):
    e = dbus.DBusException(message)
    e._dbus_error_name = "org.bluez.Error." + name
    return e


def att_error(code):
    return error("Failed", "Operation failed with ATT error: 0x%02x" % code)


class Obj(dbus.service.Object):
    def __init__(self, bus, path, ifaces):
        if bus:
            super().__init__(bus, path)
        else:  # what bluetoothd keeps to itself: not on the bus at all
            super().__init__()
        self.path, self.ifaces = path, ifaces

    @dbus.service.signal(PROPS, signature="sa{sv}as")
    def PropertiesChanged(self, iface, changed, invalidated):
        pass

    @dbus.service.method(PROPS, in_signature="ss", out_signature="v")
    def Get(self, iface, name):
        return self.ifaces[iface][name]

    @dbus.service.method(PROPS, in_signature="s", out_signature="a{sv}")
    def GetAll(self, iface):
        return self.ifaces[iface]

    def set(self, iface, **props):
        self.ifaces[iface].update(props)
        self.PropertiesChanged(iface, props, [])


class Characteristic(Obj):
    def __init__(self, aid, path, service, uuid, value, flags, on_write=None, exported=True):
        super().__init__(aid.bus if exported else None, path, {CHAR: {
            "UUID": uuid, "Service": dbus.ObjectPath(service),
            "Flags": dbus.Array(flags, signature="s")}})
        if "notify" in flags or "indicate" in flags:
            self.ifaces[CHAR]["Notifying"] = False
        self.aid, self.value, self.flags, self.on_write = aid, bytes(value), flags, on_write

    @dbus.service.method(CHAR, in_signature="a{sv}", out_signature="ay")
    def ReadValue(self, options):
        if not self.aid.connected:
            raise error("Failed", "Not connected")
        if "read" not in self.flags:
            raise error("NotPermitted", "Read not permitted")
        self.cache(self.value)  # the cached Value changes: bluetoothd says so first
        return dbus.Array(self.value, signature="y")

    @dbus.service.method(CHAR, in_signature="aya{sv}")
    def WriteValue(self, value, options):
        if not self.aid.connected:
            raise error("Failed", "Not connected")
        if "write" not in self.flags and "write-without-response" not in self.flags:
            raise error("NotPermitted", "Write not permitted")
        if self.on_write:
            self.on_write(bytes(value))

    @dbus.service.method(CHAR)
    def StartNotify(self):
        if "notify" not in self.flags and "indicate" not in self.flags:
            raise error("NotSupported", "Operation is not supported")
        if not self.ifaces[CHAR]["Notifying"]:
            self.set(CHAR, Notifying=True)

    @dbus.service.method(CHAR)
    def StopNotify(self):
        if self.ifaces[CHAR].get("Notifying"):
            self.set(CHAR, Notifying=False)

    def cache(self, data):
        self.value = bytes(data)
        self.set(CHAR, Value=dbus.Array(list(self.value), signature="y"))

    def notify(self, data):
        """The device notifies: the cache changes, seen by subscribers."""
        self.value = bytes(data)
        if self.aid.connected and self.ifaces[CHAR].get("Notifying"):
            self.cache(data)


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
        self.presets = [[int(i), int(p), name] for i, p, name in
                        (spec.split(":", 2) for spec in args.presets.split(","))]
        self.active = self.presets[0][0]
        self.volume, self.mute, self.counter = 100, 0, 0
        self.battery = 80
        self.connected = True
        self.export()

    def claimed(self, service):
        if service == 0x180F:
            return args.battery == "claimed"
        if service == 0xFDF0:
            return args.no_asha  # not claimed: absent, which looks the same to a client
        return service == 0x1844 and args.experimental

    def export(self):
        b = self.bus
        self.adapter = Obj(b, ADAPTER_PATH, {"org.bluez.Adapter1": {
            "Address": "00:1A:7D:DA:71:13", "AddressType": "public", "Name": "hall-gw",
            "Alias": "hall-gw", "Powered": True, "Discoverable": False, "Pairable": True,
            "Discovering": False}})
        self.device = Obj(b, DEV_PATH, {DEVICE: {
            "Address": ADDRESS, "AddressType": "public", "Name": args.name, "Alias": args.name, "Paired": True, "Trusted": True, "Blocked": False,
            "LegacyPairing": False, "Connected": True, "Adapter": dbus.ObjectPath(ADAPTER_PATH),
            "UUIDs": dbus.Array([uuid16(u) for u in (0x1800, 0x1801, 0x180F, 0x1844, 0x1854, 0xFDF0)],
                                signature="s"),
            "ServicesResolved": True}})
        paths = {u: DEV_PATH + "/service%04x" % (0x10 * i + 0x10)
                 for i, u in enumerate((0x1854, 0x1844, 0x180F, 0xFDF0))}
        objects = [self.adapter, self.device]
        for u, p in paths.items():
            if not self.claimed(u):
                objects.append(Obj(b, p, {SERVICE: {"UUID": uuid16(u), "Primary": True,
                                                    "Device": dbus.ObjectPath(DEV_PATH),
                                                    "Includes": dbus.Array([], signature="o")}}))
        chars = []

        def char(service, n, uuid, value, flags, on_write=None):
            c = Characteristic(self, "%s/char%04x" % (paths[service], n), paths[service], uuid,
                               value, flags, on_write, exported=not self.claimed(service))
            if not self.claimed(service):
                chars.append(c)
                if "notify" in flags or "indicate" in flags:  # its CCC descriptor
                    chars.append(Obj(b, c.path + "/desc%04x" % (n + 2), {DESC: {
                        "UUID": uuid16(0x2902), "Characteristic": dbus.ObjectPath(c.path),
                        "Flags": dbus.Array(["read", "write"], signature="s")}}))
            return c

        self.features = char(0x1854, 0x11, uuid16(0x2BDA), bytes.fromhex(args.features), ["read"])
        self.cp = char(0x1854, 0x14, uuid16(0x2BDB), [], ["write", "indicate"], self.write_cp)
        self.active_char = char(0x1854, 0x17, uuid16(0x2BDC), [self.active], ["read", "notify"])
        self.vol = char(0x1844, 0x21, uuid16(0x2B7D), self.vol_value(), ["read", "notify"])
        self.vcp = char(0x1844, 0x24, uuid16(0x2B7E), [], ["write"], self.write_vcp)
        self.batt = char(0x180F, 0x31, uuid16(0x2A19), [self.battery], ["read", "notify"])
        # ASHA ReadOnlyProperties: version 1, right side, binaural, HiSyncId, render delay 40 ms
        self.asha = char(0xFDF0, 0x41, "6333651e-c481-4a3e-9169-7c902aad37bb",
                         [1, 0x03, 1, 2, 3, 4, 5, 6, 7, 8, 1, 40, 0, 0, 0, 2, 0], ["read"])
        self.objects = objects + chars
        self.root = Root(b, self)
        if self.connected:
            self.register_battery()

    def unexport(self):
        for o in self.objects + [self.root]:
            o.remove_from_connection()
        self.device.ifaces.pop(BATTERY, None)

    # The battery plugin: Battery1 registered once it subscribed, gone at disconnect.
    def battery_plugin(self):
        return args.battery != "gatt-only"

    def register_battery(self):
        if not self.battery_plugin() or BATTERY in self.device.ifaces:
            return False
        self.device.ifaces[BATTERY] = {"Percentage": dbus.Byte(self.battery),
                                       "Source": "GATT Battery Service"}
        self.root.InterfacesAdded(dbus.ObjectPath(DEV_PATH), {BATTERY: self.device.ifaces[BATTERY]})
        return False

    def unregister_battery(self):
        if self.device.ifaces.pop(BATTERY, None) is not None:
            self.root.InterfacesRemoved(dbus.ObjectPath(DEV_PATH), [BATTERY])

    def vol_value(self):
        return [self.volume, self.mute, self.counter]

    def preset(self, p, last):
        name = p[2].encode()
        return bytes([0x02, 1 if last else 0, p[0], p[1]]) + name

    def write_cp(self, v):
        if v[0] == 0x01 and len(v) == 3:  # read presets: answered by indications
            chosen = [p for p in self.presets if p[0] >= v[1]][:v[2]]
            if not chosen:
                raise att_error(0x83)
            for i, p in enumerate(chosen):
                GLib.idle_add(self.cp.notify, self.preset(p, i == len(chosen) - 1))
        elif v[0] == 0x05 and len(v) == 2:
            if not any(p[0] == v[1] and p[1] & 2 for p in self.presets):
                raise att_error(0x83)
            self.set_active(v[1])
        elif v[0] in (0x06, 0x07) and len(v) == 1:
            ids = [p[0] for p in self.presets if p[1] & 2]
            i = ids.index(self.active) if self.active in ids else 0
            self.set_active(ids[(i + (1 if v[0] == 0x06 else -1)) % len(ids)])
        else:
            raise att_error(0x80 if v[0] not in (1, 5, 6, 7) else 0x84)

    def set_active(self, idx):
        self.active = idx
        GLib.idle_add(self.active_char.notify, bytes([idx]))

    def write_vcp(self, v):
        if len(v) < 2:
            raise att_error(0x81)
        if v[1] != self.counter:
            raise att_error(0x80)  # invalid change counter
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
            raise att_error(0x81)
        self.counter = (self.counter + 1) % 256
        GLib.idle_add(self.vol.notify, bytes(self.vol_value()))

    def command(self, words):
        if words[0] == "disconnect":
            self.connected = False
            self.device.set(DEVICE, ServicesResolved=False, Connected=False)
            self.unregister_battery()
        elif words[0] == "connect":
            self.connected = True
            self.device.set(DEVICE, Connected=True)
            self.device.set(DEVICE, ServicesResolved=True)
            GLib.timeout_add(50, self.register_battery)  # after the plugin's CCC write
        elif words[0] == "battery":
            self.battery = int(words[1])
            if BATTERY in self.device.ifaces:  # the plugin got the notification first
                self.device.set(BATTERY, Percentage=dbus.Byte(self.battery))
            self.batt.notify(bytes([self.battery]))
        elif words[0] == "garbage":
            self.vol.notify(b"\x01\x02")          # a volume state one byte short
            self.cp.notify(b"\x03\x09\x00\x01")   # an unknown preset ChangeId
        elif words[0] == "bump-counter":          # someone else changed the volume (not notified)
            self.counter = (self.counter + 1) % 256
            self.vol.value = bytes(self.vol_value())
        elif words[0] == "restart":               # bluetoothd restarts: name and objects go and come back
            self.unexport()
            self.bus.release_name(BUS_NAME)
            GLib.timeout_add(300, self.come_back)
        elif words[0] == "remove":                # unpaired: the device object goes
            gone = [i for i in self.device.ifaces]
            self.unexport()
            self.root = Root(self.bus, self)
            self.objects = []
            self.root.InterfacesRemoved(dbus.ObjectPath(DEV_PATH), gone)
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
