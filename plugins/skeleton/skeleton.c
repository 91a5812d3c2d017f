/*
 * skeleton: the plugin to copy when starting a new device family.
 *
 * It shows every part a plugin has: an ID table (hotplug and udev rules),
 * its own config keys, a timer, input from a transport, and a command.
 *   - every interval_ms it emits skeleton/<dev>/counter {count}
 *   - a serial device: each text line becomes skeleton/<dev>/line {n, text}
 *   - a hidraw device: each report becomes skeleton/<dev>/report {n, hex}
 *   - skeleton.reset {value?} sets the counter and replies {count}
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <accessgw/plugin.h>

#define LINE_MAX_BYTES 256

struct skeleton {
    long long count;
    unsigned long long inputs;
    char line[LINE_MAX_BYTES];
    size_t line_len;
};

static const struct agw_id skeleton_ids[] = {
    {.bus = AGW_BUS_HID, .vid = 0x1209, .pid = 0x0001, .model = "pid.codes test PID (skeleton)"},
    {.bus = AGW_BUS_END},
};

static const char *const skeleton_keys[] = {"interval_ms", NULL};

/* The host table is the same for every device; open() hands it over. */
static const struct agw_host *host;

static struct skeleton *self(struct agw_device *dev) { return host->userdata(dev); }

static int skeleton_open(struct agw_device *dev, const struct agw_host *h)
{
    host = h;
    unsigned interval;
    /* A bad value is refused by the host: it logs FILE:LINE, the key and the value, and
     * sets the device's error state; the plugin only returns. */
    if (host->config_ms(dev, "interval_ms", host->transport(dev) == AGW_TRANSPORT_NONE ? 1000 : 0,
                        0, 3600000, &interval) < 0)
        return -EINVAL;
    struct skeleton *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    host->set_userdata(dev, s);
    host->set_timer(dev, interval);
    return 0;
}

static void skeleton_close(struct agw_device *dev)
{
    free(self(dev));
}

static void skeleton_timer(struct agw_device *dev)
{
    struct skeleton *s = self(dev);
    s->count++;
    host->emit(dev, "counter", json_pack("{s:I}", "count", (json_int_t)s->count));
}

/* Device text is untrusted: keep printable ASCII so the event is valid JSON. */
static void emit_line(struct agw_device *dev, struct skeleton *s)
{
    for (size_t i = 0; i < s->line_len; i++)
        if ((unsigned char)s->line[i] < 0x20 || (unsigned char)s->line[i] > 0x7e)
            s->line[i] = '?';
    s->inputs++;
    host->emit(dev, "line", json_pack("{s:I, s:s%}", "n", (json_int_t)s->inputs, "text",
                                         s->line, s->line_len));
    s->line_len = 0;
}

static void take_text(struct agw_device *dev, struct skeleton *s, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n') {
            emit_line(dev, s);
        } else if (buf[i] != '\r') {
            if (s->line_len == sizeof(s->line))
                emit_line(dev, s); /* an over-long line is split, never dropped */
            s->line[s->line_len++] = (char)buf[i];
        }
    }
}

static void take_report(struct agw_device *dev, struct skeleton *s, const uint8_t *buf, size_t len)
{
    char hex[2 * 64 + 1];
    size_t n = len > 64 ? 64 : len;
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", buf[i]);
    hex[2 * n] = '\0';
    s->inputs++;
    host->emit(dev, "report", json_pack("{s:I, s:s}", "n", (json_int_t)s->inputs, "hex", hex));
}

static void skeleton_input(struct agw_device *dev, const uint8_t *buf, size_t len)
{
    struct skeleton *s = self(dev);
    if (host->transport(dev) == AGW_TRANSPORT_HIDRAW)
        take_report(dev, s, buf, len);
    else
        take_text(dev, s, buf, len);
}

/* Called when the device is gone (unplugged), before close: no I/O now. */
static void skeleton_removed(struct agw_device *dev)
{
    host->log(dev, AGW_LOG_INFO, "removed: the device is gone, %llu input(s) seen",
              (unsigned long long)self(dev)->inputs);
}

static int skeleton_command(struct agw_device *dev, const char *verb, json_t *args, json_t **result)
{
    struct skeleton *s = self(dev);
    if (strcmp(verb, "reset") != 0)
        return AGW_CMD_UNKNOWN_VERB;
    json_t *value = json_object_get(args, "value");
    if (value && !json_is_integer(value)) {
        *result = json_pack("{s:s}", "message", "\"value\" must be an integer");
        return AGW_CMD_BAD_ARGS;
    }
    s->count = value ? json_integer_value(value) : 0;
    *result = json_pack("{s:I}", "count", (json_int_t)s->count);
    return AGW_CMD_OK;
}

static const struct agw_verb skeleton_verbs[] = {
    {"reset", "{\"type\":\"object\",\"properties\":{\"value\":{\"type\":\"integer\"}}}",
     "set the counter (to value, default 0); replies {count}"},
    {NULL, NULL, NULL},
};

AGW_PLUGIN_DEFINE(
    .id = "skeleton",
    .device_class = "skeleton",
    .version = "1.0",
    .description = "template plugin: a counter, text lines or HID reports, one command",
    .ids = skeleton_ids,
    .config_keys = skeleton_keys,
    .transports = AGW_TRANSPORT_BIT(AGW_TRANSPORT_NONE) | AGW_TRANSPORT_BIT(AGW_TRANSPORT_SERIAL) |
                  AGW_TRANSPORT_BIT(AGW_TRANSPORT_HIDRAW),
    .open = skeleton_open,
    .close = skeleton_close,
    .on_input = skeleton_input,
    .on_timer = skeleton_timer,
    .removed = skeleton_removed,
    .command = skeleton_command,
    .verbs = skeleton_verbs);
