"""A real Mosquitto broker on a free port, accessgw-uplink processes, and a
platform-side MQTT 5 subscriber (paho) that counts what it receives, for the
uplink's tests and bench/."""
import json
import os
import signal
import subprocess
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from agwtest import BUILD, free_port

UPLINK = os.path.join(BUILD, "gateway", "accessgw-uplink")


class Broker:
    """mosquitto -c CONF; persistence on or off; restartable on the same port."""

    def __init__(self, tmpdir, persistence=True, port=None):
        self.dir = str(tmpdir)
        self.port = port or free_port()
        self.persistence = persistence
        self.proc = None
        self.log_path = os.path.join(self.dir, "mosquitto-%d.log" % self.port)

    def write_config(self):
        path = os.path.join(self.dir, "mosquitto-%d.conf" % self.port)
        with open(path, "w") as f:
            # user root: mosquitto started as root would otherwise drop to its own user, which
            # cannot write its persistence file into the test's directory
            f.write("user root\nlistener %d 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"
                    "persistence %s\npersistence_location %s/\nautosave_interval 1\n"
                    "log_dest stderr\nlog_type error\nlog_type warning\n" %
                    (self.port, "true" if self.persistence else "false", self.dir))
        return path

    def start(self, persistence=None):
        if persistence is not None:
            self.persistence = persistence
        if not self.persistence:
            try:
                os.unlink(os.path.join(self.dir, "mosquitto.db"))
            except FileNotFoundError:
                pass
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(["mosquitto", "-c", self.write_config()],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            c = mqtt.Client(protocol=mqtt.MQTTv5)
            try:
                c.connect("127.0.0.1", self.port)
                c.disconnect()
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("mosquitto did not start on port %d" % self.port)

    def stop(self, kill=False):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            self.proc.wait(10)
            self.log.close()


class Uplink:
    def __init__(self, config, log_path):
        self.config = config
        self.log_path = log_path
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([UPLINK, "--config", self.config], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        return self

    def stop(self, kill=False):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            self.proc.wait(10)
            self.log.close()
        return self.proc.returncode if self.proc else None

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


class Platform:
    """An MQTT 5 client with a persistent session (as a platform's ingest would
    have) that records every message on `accessgw/...`, and sends commands."""

    def __init__(self, port, topic="accessgw/#", client_id=None):
        self.port = port
        self.messages = []  # (topic, payload bytes, properties, retain)
        self.replies = {}
        self.lock = threading.Lock()
        self.client = mqtt.Client(client_id=client_id or "platform-" + uuid.uuid4().hex[:8],
                                  protocol=mqtt.MQTTv5)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p=None: c.subscribe(topic, qos=1)
        self.client.reconnect_delay_set(0.05, 0.2)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.reply_topic = "platform/replies/" + uuid.uuid4().hex[:8]
        self.client.connect("127.0.0.1", port, clean_start=False, properties=props)
        self.client.subscribe(self.reply_topic, qos=1)
        self.client.loop_start()

    def _on_message(self, client, userdata, msg):
        with self.lock:
            if msg.topic == self.reply_topic:
                corr = getattr(msg.properties, "CorrelationData", None)
                self.replies[corr] = json.loads(msg.payload)
            else:
                self.messages.append((msg.topic, msg.payload, msg.properties, msg.retain))

    def events(self):
        """(topic, CloudEvent) of every event message received, duplicates included."""
        with self.lock:
            msgs = list(self.messages)
        return [(t, json.loads(p)) for t, p, _, _ in msgs
                if not t.endswith("/online") and not t.endswith("/control")]

    def wait(self, pred, timeout=10.0, what="message"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                for m in self.messages:
                    if pred(*m):
                        return m
            time.sleep(0.02)
        raise AssertionError("no %s on the broker within %.1fs" % (what, timeout))

    def command(self, gateway_id, request, timeout=10.0, raw=None):
        corr = uuid.uuid4().hex.encode()
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = self.reply_topic
        props.CorrelationData = corr
        payload = raw if raw is not None else json.dumps(request)
        self.client.publish("accessgw/%s/control" % gateway_id, payload, qos=1, properties=props)
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if corr in self.replies:
                    return self.replies.pop(corr)
            time.sleep(0.02)
        raise AssertionError("no reply to %r from %s" % (request, gateway_id))

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def uplink_section(broker_port, extra=""):
    return "[uplink]\nbroker = mqtt://127.0.0.1:%d\n%s" % (broker_port, extra)


def journal_events(gw, prefixes=None):
    """Every event the gateway's journal holds, paged through as a client would."""
    out, epoch, seq = [], 0, 0
    while True:
        args = {"since": {"epoch": epoch, "seq": seq}}
        if prefixes:
            args["prefixes"] = prefixes
        r = gw.request({"id": "j", "verb": "replay", "args": args})
        assert r["ok"], r
        out += [(e["topic"], e["event"]) for e in r["result"]["events"]]
        epoch, seq = r["result"]["next_since"]["epoch"], r["result"]["next_since"]["seq"]
        if not r["result"]["more"]:
            return out
