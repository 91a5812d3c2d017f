"""Issue 31, item 2: the visitor display (GET /display?location=...) in Debian's Chromium
at 1920x1080: a call for its location appears, large (computed font size) and with
contrast of at least 7:1 (computed colours, WCAG's formula); another location's call does
not; a call without a window shows where its device stands; the screen keeps up across a
gateway restart without anyone touching it."""
import os
import re
import time

from selenium.webdriver.common.by import By

from test_console import browser, wait
from test_web import wait_web, web_gateway

HERE = "3号窗口"


def luminance(css):
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css)[:3])
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg, bg):
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def background(d, element):
    """The first ancestor colour that is not transparent."""
    return d.execute_script("""
        for (let e = arguments[0]; e; e = e.parentElement) {
          const c = getComputedStyle(e).backgroundColor;
          if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c;
        }
        return 'rgb(255, 255, 255)';""", element)


def test_the_visitor_display(tmp_path):
    (tmp_path / ".asoundrc").write_text('pcm.quiet {\n type file\n slave.pcm "null"\n'
                                        ' file "%s/audio.raw"\n format "raw"\n}\n' % tmp_path)
    devices = ("[device caller]\nplugin = announce\ntransport = none\nalsa_device = quiet\n"
               "repeat = 1\nlocation = 大厅\n"
               "[device caller-3]\nplugin = announce\ntransport = none\nalsa_device = quiet\n"
               "repeat = 1\nlocation = %s\n" % HERE)
    gw = web_gateway(tmp_path, devices, env=dict(os.environ, HOME=str(tmp_path)))
    gw.start()
    d = browser(1920, 1080)
    try:
        wait_web(gw)
        d.get("http://127.0.0.1:%d/display?location=%s" % (gw.web_port, HERE))
        wait(lambda: "已连接" in d.find_element(By.ID, "link").text, what="the display connected")
        sent = time.monotonic()
        assert gw.send("caller", "announce.call", {"ticket": "A012", "window": HERE})["ok"]
        ticket = d.find_element(By.ID, "ticket")
        wait(lambda: ticket.text == "A012", what="the call on the display")
        print("the call appeared after %.2f s" % (time.monotonic() - sent))
        assert HERE in d.find_element(By.ID, "window").text
        assert "new" in d.find_element(By.ID, "current").get_attribute("class")  # it flashes
        size = float(ticket.value_of_css_property("font-size").rstrip("px"))
        assert size >= 48, size
        ratio = contrast(ticket.value_of_css_property("color"), background(d, ticket))
        assert ratio >= 7, ratio
        for element in d.find_elements(By.CSS_SELECTOR, "h1, h2, #link, #window, #recent li, .label"):
            assert contrast(element.value_of_css_property("color"), background(d, element)) >= 7
            assert float(element.value_of_css_property("font-size").rstrip("px")) >= 32
        # another window's call is not this screen's
        assert gw.send("caller", "announce.call", {"ticket": "B777", "window": "5号窗口"})["ok"]
        time.sleep(1.0)
        assert ticket.text == "A012"
        # a call without a window: where its device stands
        assert gw.send("caller-3", "announce.call", {"ticket": "C003"})["ok"]
        wait(lambda: ticket.text == "C003", what="a windowless call of this location")
        assert "A012" in d.find_element(By.ID, "recent").text
        # the gateway restarts: the screen keeps up by itself
        gw.stop()
        wait(lambda: "重试" in d.find_element(By.ID, "link").text, what="the screen saw it go")
        gw.start()
        wait_web(gw)
        wait(lambda: "已连接" in d.find_element(By.ID, "link").text, timeout=30,
             what="the screen reconnected")
        assert gw.send("caller", "announce.call", {"ticket": "D104", "window": HERE})["ok"]
        wait(lambda: ticket.text == "D104", timeout=20, what="a call after the restart")
        d.save_screenshot(str(tmp_path / "display.png"))
    finally:
        d.quit()
        gw.stop()
