"use strict";
// The visitor display: announce/<dev>/call events whose window is this screen's location
// (or, for a call without a window, whose device's location is).  It keeps up by itself:
// EventSource resumes with Last-Event-ID after a blip, and the journal answers for what
// was published while the gateway restarted.
const place = new URLSearchParams(location.search).get("location") || "";
const RECENT = 5;
const calls = [];  // newest first: {ticket, window, text, time}
document.getElementById("place").textContent = place ? place + " 叫号 Now calling" : "叫号 Now calling";

function mine(d) {
  return !place || (d.window ? d.window === place : d.location === place);
}

function show(fresh) {
  const [now, ...before] = calls;
  document.getElementById("ticket").textContent = now ? (now.ticket || now.text) : "—";
  document.getElementById("window").textContent = now && now.window ? "到 " + now.window : "";
  const list = document.getElementById("recent");
  list.replaceChildren(...before.slice(0, RECENT).map(c => {
    const li = document.createElement("li");
    li.textContent = (c.ticket || c.text) + (c.window ? "  " + c.window : "");
    return li;
  }));
  const box = document.getElementById("current");
  if (fresh) {  // restart the flash: a new call for a few seconds
    box.classList.remove("new");
    void box.offsetWidth;
    box.classList.add("new");
  }
}

function link(text) {
  document.getElementById("link").textContent = text;
}

async function start() {
  let epoch = 0;
  try {
    epoch = (await (await fetch("/status")).json()).epoch;
  } catch (e) {
    link("连接中断，正在重试 Reconnecting…");
    setTimeout(start, 3000);
    return;
  }
  // since the start of this epoch: the calls made today before this screen was switched on
  const source = new EventSource("/events?unnamed=1&prefix=announce/&since=" + epoch + ":0");
  source.onopen = () => link("已连接 Connected");
  source.onerror = () => link("连接中断，正在重试 Reconnecting…");
  source.onmessage = m => {
    const ev = JSON.parse(m.data);
    if (!ev.type || ev.type !== "accessgw.announce.call" || !mine(ev.data)) return;
    calls.unshift({ticket: ev.data.ticket, window: ev.data.window, text: ev.data.text});
    calls.length = Math.min(calls.length, RECENT + 1);
    // a replayed call is history; a call made now flashes
    show(Date.now() - Date.parse(ev.time) < 10000);
  };
}
start();
