/*
 * skeleton: the plugin to copy when starting a new device family.
 *
 * It shows every part a plugin has: an ID table (hotplug and udev rules),
 * its own config keys read with the host's typed helpers, a timer, input
 * pushed by a transport, a command with saved state, and a command that asks
 * the device and waits for its answer (request/response with a deadline).
 *   - every interval_ms it emits skeleton/<dev>/counter {count}
 *   - a serial device: each text line becomes skeleton/<dev>/line {n, text}
 *   - a hidraw device: each report becomes skeleton/<dev>/report {n, hex}
 *   - skeleton.reset {value?} sets the counter (saved: it survives a restart)
 *   - skeleton.ask {text} writes a line to a serial device, replies {reply}
 * Personal data: declare the fields in `.personal` (docs/PLUGINS.md, "Personal data";
 * idcard-sam does), emit them whole: the host masks them everywhere but CURVE.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <accessgw/plugin.h>

#define LINE_MAX_BYTES 256

struct skeleton {
    long long count;
    unsigned interval;  /* ms between counters (0: none) */
    bool aligning;      /* the first tick waits for the wall clock's next multiple */
    unsigned long long inputs;
    char line[LINE_MAX_BYTES];
    size_t line_len;
};

static const struct agw_id skeleton_ids[] = {
    {.bus = AGW_BUS_HID, .vid = 0x1209, .pid = 0x0001, .model = "pid.codes test PID (skeleton)"},
    {.bus = AGW_BUS_END},
};

static const char *const skeleton_keys[] = {"interval_ms", "align", NULL};

static struct skeleton *self(struct agw_device *dev) { return agw_userdata(dev); }

static unsigned ms_to_next_multiple(unsigned interval)
{
    struct timespec now;
    timespec_get(&now, TIME_UTC); /* C11: the wall clock, as CLOCK_REALTIME */
    unsigned long long ms = (unsigned long long)now.tv_sec * 1000 + (unsigned long long)now.tv_nsec / 1000000;
    unsigned left = interval - (unsigned)(ms % interval);
    return left ? left : interval;
}

static int skeleton_open(struct agw_device *dev)
{
    unsigned interval;
    /* A bad value is refused by the host: it logs FILE:LINE, the key and the value, and
     * sets the device's error state; the plugin only returns. */
    if (agw_config_ms(dev, "interval_ms",
                             agw_transport_of(dev) == AGW_TRANSPORT_NONE ? 1000 : 0, 0, 3600000,
                             &interval) < 0)
        return -EINVAL;
    struct skeleton *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    json_t *saved = agw_load_state(dev); /* NULL on the first start */
    if (json_is_integer(json_object_get(saved, "count")))
        s->count = json_integer_value(json_object_get(saved, "count"));
    json_decref(saved);
    /* align = yes: every device with this interval ticks at the same moment (a multiple
     * of it on the wall clock), as polling devices drift into doing; for benchmarks */
    int align = 0;
    if (agw_config_bool(dev, "align", 0, &align) < 0) {
        free(s);
        return -EINVAL;
    }
    s->interval = interval;
    s->aligning = align && interval;
    agw_set_userdata(dev, s);
    agw_set_timer(dev, s->aligning ? ms_to_next_multiple(interval) : interval);
    return 0;
}

static void skeleton_close(struct agw_device *dev)
{
    free(self(dev));
}

static void skeleton_timer(struct agw_device *dev)
{
    struct skeleton *s = self(dev);
    if (s->aligning) { /* on the multiple now: every interval from here */
        s->aligning = false;
        agw_set_timer(dev, s->interval);
    }
    s->count++;
    agw_emit(dev, "counter", json_pack("{s:I}", "count", (json_int_t)s->count));
}

/* Device text is untrusted: keep printable ASCII so the event is valid JSON. */
static void emit_line(struct agw_device *dev, struct skeleton *s)
{
    for (size_t i = 0; i < s->line_len; i++)
        if ((unsigned char)s->line[i] < 0x20 || (unsigned char)s->line[i] > 0x7e)
            s->line[i] = '?';
    s->inputs++;
    agw_emit(
        dev, "line",
        json_pack("{s:I, s:s%}", "n", (json_int_t)s->inputs, "text", s->line, s->line_len));
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
    agw_emit(dev, "report", json_pack("{s:I, s:s}", "n", (json_int_t)s->inputs, "hex", hex));
}

static void skeleton_input(struct agw_device *dev, const uint8_t *buf, size_t len)
{
    struct skeleton *s = self(dev);
    if (agw_transport_of(dev) == AGW_TRANSPORT_HIDRAW)
        take_report(dev, s, buf, len);
    else
        take_text(dev, s, buf, len);
}

/* Called when the device is gone (unplugged), before close: no I/O now. */
static void skeleton_removed(struct agw_device *dev)
{
    agw_log(dev, AGW_LOG_INFO, "removed: the device is gone, %llu input(s) seen",
                   (unsigned long long)self(dev)->inputs);
}

/* Saved state: what must survive a restart, written when it changes meaningfully (here:
 * when a command sets the counter), not at every tick; the host writes it atomically. */
static void save_count(struct agw_device *dev, struct skeleton *s)
{
    json_t *state = json_pack("{s:I}", "count", (json_int_t)s->count);
    if (agw_save_state(dev, state) < 0) /* the host has reported the lost durability */
        agw_log(dev, AGW_LOG_WARNING, "the counter was not saved");
    json_decref(state);
}

static int reset(struct agw_device *dev, struct skeleton *s, json_t *args, json_t **result)
{
    json_t *value = json_object_get(args, "value");
    if (value && !json_is_integer(value)) {
        *result = json_pack("{s:s}", "message", "\"value\" must be an integer");
        return AGW_CMD_BAD_ARGS;
    }
    s->count = value ? json_integer_value(value) : 0;
    save_count(dev, s);
    *result = json_pack("{s:I}", "count", (json_int_t)s->count);
    return AGW_CMD_OK;
}

/* Request/response: write a request, read the answer within a deadline.  A command runs on
 * the device's thread, so on_input is not called meanwhile: the answer is read here. */
static int ask(struct agw_device *dev, json_t *args, json_t **result)
{
    const char *text = json_string_value(json_object_get(args, "text"));
    if (agw_transport_of(dev) != AGW_TRANSPORT_SERIAL)
        return AGW_CMD_UNSUPPORTED;
    if (!text || strlen(text) > 200 || strchr(text, '\n')) {
        *result = json_pack("{s:s}", "message", "\"text\" is one line of at most 200 characters");
        return AGW_CMD_BAD_ARGS;
    }
    char request[256], answer[256];
    int n = snprintf(request, sizeof(request), "%s\n", text);
    agw_flush_input(dev); /* a late answer to an earlier request is not this one's */
    if (agw_write(dev, request, (size_t)n) < 0)
        return AGW_CMD_DEVICE_ERROR;
    size_t got = 0;
    while (got < sizeof(answer) - 1) {
        ssize_t r = agw_read(dev, answer + got, 1, 500); /* the deadline of each byte */
        if (r <= 0) {
            *result = json_pack("{s:s}", "message", r == 0 ? "no answer within 500 ms"
                                                            : "the device is gone");
            return r == 0 ? AGW_CMD_TIMEOUT : AGW_CMD_DEVICE_ERROR;
        }
        if (answer[got] == '\n')
            break;
        if ((unsigned char)answer[got] < 0x20 || (unsigned char)answer[got] > 0x7e)
            answer[got] = '?'; /* device text is untrusted */
        got++;
    }
    *result = json_pack("{s:s%}", "reply", answer, got);
    return AGW_CMD_OK;
}

static int skeleton_command(struct agw_device *dev, const char *target, const char *verb,
                            json_t *args, json_t **result)
{
    (void)target; /* this device's id: it has no devices behind it (add_child: see evalpad) */
    if (strcmp(verb, "reset") == 0)
        return reset(dev, self(dev), args, result);
    if (strcmp(verb, "ask") == 0)
        return ask(dev, args, result);
    return AGW_CMD_UNKNOWN_VERB;
}

static const struct agw_verb skeleton_verbs[] = {
    {"reset", "{\"type\":\"object\",\"properties\":{\"value\":{\"type\":\"integer\"}}}",
     "set the counter (to value, default 0), kept across restarts; replies {count}"},
    {"ask", "{\"type\":\"object\",\"required\":[\"text\"],\"properties\":{\"text\":"
            "{\"type\":\"string\",\"maxLength\":200}}}",
     "serial: send text as a line, reply {reply} with the device's answer line (500 ms)"},
    {NULL, NULL, NULL},
};

AGW_PLUGIN_DEFINE(
    .id = "skeleton",
    .device_class = "skeleton",
    .version = "1.0",
    .description = "template plugin: a counter, text lines or HID reports, a command with "
                   "saved state and one with request/response",
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
    .verbs = skeleton_verbs,
    /* its on_timer only counts and emits: it may share a thread with the other
     * devices' (leave this out if yours reads, waits for an answer or saves) */
    .timers = AGW_TIMERS_SHARED);
