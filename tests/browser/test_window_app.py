"""Issue 28, items 5 and 6: the demo's window page (demo/window/index.html) in Debian's
Chromium.  Served from the origin its [app] lists, it fills its form from the card read at
its window, in full; the very same page served from another origin is refused and shows
nothing; the public side stays masked meanwhile."""
import http.server
import os
import subprocess
import socketserver
import threading

from selenium.webdriver.common.by import By

from agwtest import ACCESSGWCTL, SOURCE, free_port
from pcscd_rig import Pcscd
from sam_reader import SamReader
from sscard_vicc import Card, VirtualCard
from test_console import browser, wait
from test_web import Sse, token_file, wait_web, web_gateway

PAGE_DIR = os.path.join(SOURCE, "demo", "window")
APP_TOKEN = "window-3-token-0123456789abcdef"


def serve_page(port):
    """The window system's own web server: another origin than accessgw-web's."""
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=PAGE_DIR, **k)  # noqa: E731
    server = socketserver.TCPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def open_page(d, port, web_port):
    d.get("http://127.0.0.1:%d/index.html?gateway=http://127.0.0.1:%d" % (port, web_port))
    d.execute_script("sessionStorage.setItem('accessgw.window-token', arguments[0]);", APP_TOKEN)
    d.refresh()


def test_the_window_page_fills_its_form_only_from_its_own_origin(tmp_path):
    allowed, other = free_port(), free_port()
    servers = [serve_page(allowed), serve_page(other)]
    reader = SamReader(str(tmp_path / "ttySAM")).start()
    tok = token_file(tmp_path, "w3.token", APP_TOKEN)
    devices = ("[device reader-1]\nplugin = idcard-sam\ntransport = serial\npath = %s\n"
               "baud = 115200\npoll_ms = 100\nlocation = Window 3\n"
               "[app window-3]\ntoken_file = %s\ndevices = reader-1\norigins = http://127.0.0.1:%d\n"
               % (reader.link, tok, allowed))
    gw = web_gateway(tmp_path, devices)
    gw.start()
    window, stranger = browser(), browser()
    try:
        wait_web(gw)
        open_page(window, allowed, gw.web_port)
        open_page(stranger, other, gw.web_port)
        wait(lambda: window.find_element(By.TAG_NAME, "body").get_attribute("data-link") == "open",
             what="the window page's stream")
        wait(lambda: stranger.find_element(By.TAG_NAME, "body").get_attribute("data-link") == "refused",
             what="the other origin's refusal")
        public = Sse(gw.web_port, "/events?prefix=idcard/")
        reader.place("resident")
        wait(lambda: window.find_element(By.ID, "name").get_attribute("value") == "张三",
             what="the form filled from the card")
        assert window.find_element(By.ID, "id_number").get_attribute("value") == "11010519491231002X"
        assert window.find_element(By.ID, "address").get_attribute("value") == "北京市西城区示例路1号"
        masked = public.wait(lambda e: e.get("event") == "idcard/reader-1/read")
        assert masked["data"]["data"]["name"] == "张*"
        public.close()
        assert stranger.find_element(By.ID, "name").get_attribute("value") == ""
        assert stranger.find_element(By.TAG_NAME, "body").get_attribute("data-link") == "refused"
    finally:
        window.quit()
        stranger.quit()
        gw.stop()
        reader.stop()
        for s in servers:
            s.shutdown()
            s.server_close()


def test_the_window_page_fills_its_form_from_a_social_security_card(tmp_path):
    """Issue 29: the same page, a 社保卡 on the window's PC/SC reader (a real pcscd)."""
    port = free_port()
    servers = [serve_page(port)]
    pcscd = Pcscd(tmp_path).start()
    tok = token_file(tmp_path, "w3.token", APP_TOKEN)
    devices = ("[device sscard-3]\nplugin = sscard-pcsc\ntransport = pcsc\n"
               "reader = Virtual PCD 00 00\nlocation = Window 3\n"
               "[app window-3]\ntoken_file = %s\ndevices = sscard-3\norigins = http://127.0.0.1:%d\n"
               % (tok, port))
    gw = web_gateway(tmp_path, devices, env=pcscd.env)
    gw.start()
    window = browser()
    card = None
    try:
        wait_web(gw)
        open_page(window, port, gw.web_port)
        wait(lambda: window.find_element(By.TAG_NAME, "body").get_attribute("data-link") == "open",
             what="the window page's stream")
        # the form holds the previous visitor's ID card: another person's card clears it
        window.find_element(By.ID, "id_number").send_keys("110101199001010011")
        window.find_element(By.ID, "address").send_keys("广西南宁市示例街道88号")
        card = VirtualCard(pcscd.slot_port(0), Card("sscard")).insert()
        wait(lambda: window.find_element(By.ID, "name").get_attribute("value") == "张三",
             what="the form filled from the 社保卡")
        assert window.find_element(By.ID, "id_number").get_attribute("value") == "11010519491231002X"
        assert window.find_element(By.ID, "ss_card").get_attribute("value") == "K12345670"
        assert window.find_element(By.ID, "birth_date").get_attribute("value") == "1949-12-31"
        assert window.find_element(By.ID, "address").get_attribute("value") == ""
        card.remove()
        # the same person's ID card filled the address: their 社保卡 does not wipe it
        window.find_element(By.ID, "address").send_keys("北京市西城区示例路1号")
        window.find_element(By.ID, "name").clear()
        card = VirtualCard(pcscd.slot_port(0), Card("sscard")).insert()
        wait(lambda: window.find_element(By.ID, "name").get_attribute("value") == "张三",
             what="the form filled again from the same person's 社保卡")
        assert window.find_element(By.ID, "address").get_attribute("value") == "北京市西城区示例路1号"
        card.remove()
        card = VirtualCard(pcscd.slot_port(0), Card("sscard3")).insert()
        wait(lambda: "请刷身份证" in window.find_element(By.ID, "status").text,
             what="a 3.0 card: holder data protected, said in words")
        assert window.find_element(By.ID, "ss_card").get_attribute("value") == "K12345670"
        # what the clerk already has in the form is not wiped by a card without holder data
        assert window.find_element(By.ID, "name").get_attribute("value") == "张三"
    finally:
        if card:
            card.remove()
        window.quit()
        gw.stop()
        pcscd.stop()
        for s in servers:
            s.shutdown()
            s.server_close()
    audit = subprocess.run([ACCESSGWCTL, "--config", gw.config, "audit", "--verify"],
                           capture_output=True, text=True)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    listing = subprocess.run([ACCESSGWCTL, "--config", gw.config, "audit", "--device", "sscard-3"],
                             capture_output=True, text=True).stdout
    # the three records were disclosed to window-3, each accounted for, without the data itself
    assert listing.count('"type":"accessgw.sscard.read"') == 3, listing
    assert "window-3" in listing and "11010519491231002X" not in listing
