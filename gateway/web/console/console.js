/* The staff console: the zone's state rebuilt from the public event stream
 * (Server-Sent Events, replayed from the start of the gateway's current epoch,
 * so a reload or a gateway restart loses nothing), and the two things staff
 * do: acknowledge a call, mark a bad rating handled.  No framework, no build:
 * this file is served as it is.  Text from events goes in with textContent,
 * never as HTML. */
"use strict";

const PREFIXES = ["callbell/", "evaluation/", "device/", "idcard/", "magnifier/", "hearing/",
  "gateway/"];
const KIND_ZH = { emergency: "紧急呼叫", service: "服务呼叫" };
const STATE_ZH = { up: "正常", stale: "无响应", error: "故障", detached: "已断开", attached: "已接入" };
const CLASS_ZH = { callbell: "呼叫器", evaluation: "评价器", idcard: "身份证读卡器", magnifier: "助视器",
  hearing: "助听设备", skeleton: "示例设备" };

const zone = {
  calls: new Map(),    // call_id -> {device, kind, location, since, repeat, escalated}
  devices: new Map(),  // id -> {cls, location, state, reason, last, batteryLow, battery}
  ratings: new Map(),  // window -> {label_zh, level, bad, time}
  windows: new Map(),  // window -> {reads: [..], magnifier: n}
  followups: [],
};

const $ = (id) => document.getElementById(id);
const staffInput = $("staff"), tokenInput = $("token");
staffInput.value = localStorage.getItem("accessgw.staff") || "";
tokenInput.value = localStorage.getItem("accessgw.token") || "";
staffInput.addEventListener("change", () => localStorage.setItem("accessgw.staff", staffInput.value.trim()));
tokenInput.addEventListener("change", () => localStorage.setItem("accessgw.token", tokenInput.value.trim()));

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

function clock(t) { return new Date(t).toLocaleTimeString("zh-CN", { hour12: false }); }
function since(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? s + " 秒" : Math.floor(s / 60) + " 分 " + (s % 60) + " 秒";
}
function windowOf(dev, data) {
  return (data && data.location) || (zone.devices.get(dev) || {}).location || dev;
}
function deviceOf(id) {
  if (!zone.devices.has(id)) zone.devices.set(id, { cls: "", location: "", state: "", reason: "", last: null });
  return zone.devices.get(id);
}
function windowEntry(w) {
  if (!zone.windows.has(w)) zone.windows.set(w, { reads: [], magnifier: 0 });
  return zone.windows.get(w);
}

/* ---- events into state ---- */

function apply(topic, ev) {
  const [cls, dev, name] = topic.split("/");
  const d = ev.data || {};
  if (cls !== "device") deviceOf(dev).last = ev.time;
  if (cls === "callbell") {
    if (name === "pressed") {
      const prev = zone.calls.get(d.call_id);
      zone.calls.set(d.call_id, { device: dev, kind: d.kind, location: d.location || windowOf(dev),
        since: Date.parse(ev.time) - (d.after_ms || 0), repeat: d.repeat || 0,
        escalated: prev ? prev.escalated : false });
    } else if (name === "escalated" && zone.calls.has(d.call_id)) {
      zone.calls.get(d.call_id).escalated = true;
    } else if (name === "acknowledged" || name === "cancelled") {
      zone.calls.delete(d.call_id);
    }
  } else if (cls === "device") {
    const dv = deviceOf(dev);
    if (name === "attached") Object.assign(dv, { cls: d.class, location: d.location || "", state: "attached",
      reason: "", parent: d.parent || "" });
    else if (name === "state") Object.assign(dv, { state: d.state, reason: d.reason || "" });
    else if (name === "detached") Object.assign(dv, { state: "detached", reason: d.reason || "" });
  } else if (cls === "gateway" && name === "followup_handled") {
    // handled on any console: cleared on every one at once
    const f = zone.followups.find((x) => x.id === d.id);
    if (f && !f.handled) Object.assign(f, { handled: true, handled_by: d.by });
  } else if (cls === "evaluation" && name === "rating") {
    zone.ratings.set(windowOf(dev, d), { id: ev.id, label_zh: d.label_zh, level: d.level, bad: d.bad, time: ev.time });
    if (d.bad) loadFollowups();
  } else if (cls === "idcard" && name === "read") {
    const w = windowEntry(windowOf(dev, d));
    w.reads.unshift({ name: d.name, card: d.card_type, time: ev.time });
    w.reads.length = Math.min(w.reads.length, 3);
  } else if (cls === "magnifier" && name === "control") {
    windowEntry(windowOf(dev, d)).magnifier++;
  } else if (cls === "hearing") {
    const dv = deviceOf(dev);
    if (name === "battery-low") dv.batteryLow = true;
    if (name === "status" && d.battery_pct !== undefined) {
      dv.battery = d.battery_pct;
      dv.batteryLow = d.battery_pct < 20;
    }
  }
  scheduleRender();
}

/* ---- rendering ---- */

/* A device behind another (a pad on an RS-485 bus) has no state of its own: its
 * parent's.  One just attached shows 已接入 only until its state comes. */
function shownState(d) {
  if (d.state === "attached" && d.parent && zone.devices.has(d.parent)) return shownState(zone.devices.get(d.parent));
  return d.state;
}

let renderQueued = false;
function scheduleRender() {
  if (!renderQueued) { renderQueued = true; requestAnimationFrame(render); }
}

function render() {
  renderQueued = false;
  const calls = [...zone.calls.entries()].sort((a, b) =>
    (a[1].kind === "emergency" ? 0 : 1) - (b[1].kind === "emergency" ? 0 : 1) || a[1].since - b[1].since);
  renderCalls(calls);
  $("calls-count").textContent = calls.length;
  document.body.dataset.alarm = calls.some(([, c]) => c.kind === "emergency") ? "on" : "off";

  const open = zone.followups.filter((f) => !f.handled);
  $("followups-count").textContent = open.length;
  $("followups").replaceChildren(...[...open, ...zone.followups.filter((f) => f.handled).slice(-5)].map((f) =>
    el("li", { class: f.handled ? "handled" : "open", "data-id": f.id },
      el("span", {}, clock(f.time) + " · " + (f.data.location || f.device) + " · " + f.data.label_zh +
        (f.data.staff ? " · 工号 " + f.data.staff : "")),
      f.handled ? el("span", {}, "已处理 · " + f.handled_by)
        : el("button", { onclick: () => markHandled(f) }, "已处理 ", el("small", {}, "Handled")))));

  $("ratings").replaceChildren(...[...zone.ratings.entries()].map(([w, r]) => {
    const handled = r.bad && zone.followups.some((f) => f.id === r.id && f.handled);
    return el("tr", {}, el("td", {}, w),
      el("td", { class: r.bad && !handled ? "bad" : "" }, r.label_zh + " (" + r.level + ")",
        handled ? el("span", { class: "handled-note" }, " · 已处理") : null),
      el("td", {}, clock(r.time)));
  }));

  $("devices").replaceChildren(...[...zone.devices.entries()].filter(([, d]) => d.cls).map(([id, d]) => {
    const state = shownState(d);
    return el("tr", { "data-device": id }, el("td", {}, id),
      el("td", {}, CLASS_ZH[d.cls] || d.cls, el("small", {}, " " + d.cls)), el("td", {}, d.location),
      el("td", { class: "state-" + state }, (STATE_ZH[state] || state) +
        (d.reason && state !== "up" ? " · " + d.reason : ""),
        d.batteryLow ? el("span", { class: "battery-low" }, " · 电量低 battery low" +
          (d.battery !== undefined ? " " + d.battery + "%" : "")) : null),
      el("td", {}, d.last ? clock(d.last) : "—"));
  }));

  $("windows").replaceChildren(...[...zone.windows.entries()].map(([w, a]) =>
    el("tr", {}, el("td", {}, w),
      el("td", {}, a.reads.map((r) => clock(r.time) + " " + r.name + " (" + r.card + ")").join("；") || "—"),
      el("td", {}, a.magnifier ? a.magnifier + " 次" : "—"))));
}

/* The calls list is updated in place, keyed by call_id: a button under a finger is never
 * replaced by a new one between press and release. */
const callItems = new Map(); // call_id -> {li, where, meta}
function renderCalls(calls) {
  const list = $("calls");
  for (const [id, item] of callItems) if (!zone.calls.has(id)) { item.li.remove(); callItems.delete(id); }
  for (const [id, c] of calls) {
    let item = callItems.get(id);
    if (!item) {
      const where = el("span", { class: "where" }), meta = el("span", { class: "meta" });
      const error = el("span", { class: "call-error", role: "alert", hidden: "" });
      const li = el("li", { "data-call": id }, where,
        el("button", { onclick: () => acknowledge(id, zone.calls.get(id)) }, "确认 ", el("small", {}, "Acknowledge")),
        meta, error);
      item = { li, where, meta, error };
      callItems.set(id, item);
    }
    item.li.className = c.kind;
    item.where.textContent = (KIND_ZH[c.kind] || c.kind) + " · " + c.location;
    item.meta.replaceChildren("已等待 " + since(c.since) + " · 第 " + (c.repeat + 1) + " 次 · " + c.device,
      c.escalated ? el("span", { class: "escalated" }, " · 已升级 escalated") : "");
    list.append(item.li); // moves it into sorted order
  }
}

setInterval(() => renderCalls([...zone.calls.entries()].sort((a, b) => a[1].since - b[1].since)
  .sort((a, b) => (a[1].kind === "emergency" ? 0 : 1) - (b[1].kind === "emergency" ? 0 : 1))), 1000);

/* ---- what staff do ---- */

/* Errors are said in the page, never in a dialog: a dialog would hold every other call
 * (and the alarm) until someone closes it. */
function notify(zh, en, where) {
  const box = where || $("notice");
  box.replaceChildren(zh + " ", el("small", {}, en));
  box.hidden = false;
  clearTimeout(box.hideTimer);
  box.hideTimer = setTimeout(() => { box.hidden = true; }, 15000);
}

function flagMissing() {
  let missing = false;
  for (const input of [staffInput, tokenInput]) {
    const empty = !input.value.trim();
    input.classList.toggle("missing", empty);
    input.setAttribute("aria-invalid", empty ? "true" : "false");
    missing = missing || empty;
  }
  return missing;
}
staffInput.addEventListener("input", flagMissing);
tokenInput.addEventListener("input", flagMissing);

function credentials(where) {
  const staff = staffInput.value.trim(), token = tokenInput.value.trim();
  if (flagMissing()) {
    notify("请先填写值班人员和令牌", "Enter your name and the token first", where);
    (staff ? tokenInput : staffInput).focus();
    return null;
  }
  localStorage.setItem("accessgw.staff", staff);
  localStorage.setItem("accessgw.token", token);
  return { staff, token };
}

/* What went wrong, Chinese first, as staff read it. */
function problem(status, reply) {
  const code = (reply && reply.error && reply.error.code) || "";
  const message = (reply && reply.error && reply.error.message) || "";
  if (status === 401) return ["令牌错误", "Wrong token: check the token field"];
  if (status === 503) return ["命令暂不可用", "Commands are unavailable: " + message];
  if (code === "already_handled") return ["已被他人处理", message];
  if (code === "unknown_call") return ["该呼叫已被处理", "This call was already acknowledged"];
  return ["操作失败", code + (message ? ": " + message : "")];
}

async function post(path, body, token) {
  try {
    const r = await fetch(path, { method: "POST", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + token } });
    let reply = null;
    try { reply = await r.json(); } catch (e) { /* an answer that is not JSON */ }
    return { status: r.status, reply: reply || { ok: false } };
  } catch (e) {
    return { status: 0, reply: { ok: false, error: { code: "unreachable", message: "无法连接 cannot reach the gateway" } } };
  }
}

async function acknowledge(callId, call) {
  const item = callItems.get(callId);
  const where = item ? item.error : null;
  const who = credentials(where);
  if (!who) return;
  const { status, reply } = await post("/control", { id: "ack-" + callId, verb: "callbell.ack",
    device: call.device, args: { call_id: callId, by: who.staff } }, who.token);
  // success shows as callbell/<dev>/acknowledged on every open console
  if (!reply.ok) notify(...problem(status, reply), where);
}

async function markHandled(f) {
  const who = credentials();
  if (!who) return;
  const { status, reply } = await post("/followups", { id: f.id, by: who.staff }, who.token);
  if (!reply.ok) notify(...problem(status, reply));
  loadFollowups();
}

async function loadFollowups() {
  try {
    zone.followups = (await (await fetch("/followups")).json()).items;
    scheduleRender();
  } catch (e) { /* the next rating or reconnect tries again */ }
}

/* ---- the alarm: a beep every 1.5 s while an emergency call is open ---- */

let audio = null, soundOn = false;
function showSound() {
  const b = $("sound");
  b.setAttribute("aria-pressed", soundOn ? "true" : "false");
  b.replaceChildren(soundOn ? "声音已开 · 点击关闭 " : "开启声音 ",
    el("small", {}, soundOn ? "Sound on — tap to mute" : "Sound off — tap to turn on"));
}
$("sound").addEventListener("click", () => {
  soundOn = !soundOn;
  if (soundOn) {
    audio = audio || new AudioContext();
    audio.resume();
  }
  showSound();
});
showSound();
setInterval(() => {
  if (!audio || !soundOn || document.body.dataset.alarm !== "on") return;
  const o = audio.createOscillator(), g = audio.createGain();
  o.frequency.value = 880;
  g.gain.value = 0.3;
  o.connect(g).connect(audio.destination);
  o.start();
  o.stop(audio.currentTime + 0.4);
}, 1500);

/* ---- the stream ---- */

function setLink(state, zh, en) {
  document.body.dataset.link = state;
  $("link").replaceChildren(zh + " ", el("small", {}, en));
}

function topicOf(ev) {
  // "accessgw.callbell.pressed" + subject "bell-1" -> "callbell/bell-1/pressed"
  const [, cls, name] = ev.type.split(".");
  return cls + "/" + ev.subject + "/" + name;
}

async function connect() {
  let epoch = 0;
  try { epoch = (await (await fetch("/status")).json()).epoch; } catch (e) { /* the stream retries */ }
  const query = PREFIXES.map((p) => "prefix=" + encodeURIComponent(p)).join("&");
  // since the start of this epoch: calls still open, device states, today's activity;
  // EventSource itself resumes with Last-Event-ID after a lost connection.  unnamed=1:
  // every event as a plain message (EventSource has no listener for "any name")
  const source = new EventSource("/events?unnamed=1&" + query + "&since=" + epoch + ":0");
  source.onopen = () => setLink("open", "已连接", "connected");
  source.onerror = () => setLink("lost", "连接中断，重连中", "reconnecting");
  source.onmessage = (e) => {
    try {
      const ev = JSON.parse(e.data);
      apply(topicOf(ev), ev);
    } catch (err) { console.error(err); }
  };
  source.addEventListener("truncated", () => console.warn("events were lost before", epoch));
}

flagMissing(); // the fields to fill are flagged before the first 确认, not after
loadFollowups();
connect();
