/*
 * callbell-rf: wireless call buttons (EV1527) through a receiver on a
 * serial port (fd-df decoder modules, RF bridges) or a keyboard-style HID
 * receiver.
 *
 * No emergency press that reached the receiver may disappear before someone
 * acknowledges it: every call is written to state_dir (fsync'd) before it is
 * first published, re-published every repeat_s until callbell.ack, escalated
 * after escalate_s (emergencies), and re-published after a gateway restart.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <accessgw/plugin.h>

#include "ev1527.h"

#define MAX_CALLS 64
#define MAX_BUTTONS 256
#define LOCATION_MAX 96
#define TICK_MS 250

enum kind { KIND_EMERGENCY, KIND_SERVICE, KIND_CANCEL };
static const char *const kind_names[] = {"emergency", "service", "cancel"};

struct button {
    uint32_t code;
    enum kind kind;
    char location[LOCATION_MAX];
    bool learned;
};

struct call {
    char id[64];
    uint32_t code;
    enum kind kind;
    char location[LOCATION_MAX];
    long long pressed_ms;      /* wall clock: survives restarts */
    long long last_publish_ms; /* wall clock */
    unsigned repeats;
    bool escalated;
};

struct bell {
    struct ev_decoder dec;
    unsigned dedup_ms, repeat_s, escalate_s;
    struct button buttons[MAX_BUTTONS];
    size_t n_buttons;
    struct call calls[MAX_CALLS];
    size_t n_calls;
    uint32_t last_code;
    long long last_code_ms;
    bool learning, restore_pending;
    enum kind learn_kind;
    char learn_location[LOCATION_MAX];
    long long learn_until_ms;
    unsigned long long counter;
};

static const struct agw_id ids[] = {
    {.bus = AGW_BUS_SERIAL, .vid = 0x1A86, .pid = 0x7523, .model = "call-bell receiver behind a CH340",
     .flags = AGW_ID_GENERIC_BRIDGE},
    {.bus = AGW_BUS_SERIAL, .vid = 0x10C4, .pid = 0xEA60, .model = "call-bell receiver behind a CP210x",
     .flags = AGW_ID_GENERIC_BRIDGE},
    {.bus = AGW_BUS_END},
};

static const char *const config_keys[] = {"format", "dedup_ms", "repeat_s", "escalate_s",
                                          "button.*", NULL};

static struct bell *self(struct agw_device *dev) { return agw_userdata(dev); }

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int parse_kind(const char *s, size_t len, enum kind *out)
{
    for (int k = 0; k < 3; k++)
        if (strlen(kind_names[k]) == len && strncmp(s, kind_names[k], len) == 0) {
            *out = (enum kind)k;
            return 0;
        }
    return -1;
}

static int parse_code(const char *hex, uint32_t *out)
{
    if (strlen(hex) != 6)
        return -1;
    char *end;
    unsigned long v = strtoul(hex, &end, 16);
    if (*end)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* ---- buttons ---- */

static struct button *find_button(struct bell *b, uint32_t code)
{
    for (size_t i = 0; i < b->n_buttons; i++)
        if (b->buttons[i].code == code)
            return &b->buttons[i];
    return NULL;
}

static struct button *add_button(struct bell *b, uint32_t code, enum kind kind, const char *location,
                                 bool learned)
{
    struct button *btn = find_button(b, code);
    if (!btn) {
        if (b->n_buttons == MAX_BUTTONS)
            return NULL;
        btn = &b->buttons[b->n_buttons++];
    }
    *btn = (struct button){code, kind, "", learned};
    snprintf(btn->location, sizeof(btn->location), "%s", location);
    return btn;
}

/* button.A1B2C5 = emergency, Accessible toilet 2F */
static int config_button(struct agw_device *dev, struct bell *b, const char *key, const char *value)
{
    char why[200];
    uint32_t code;
    enum kind kind;
    const char *comma = strchr(value, ',');
    size_t kind_len = comma ? (size_t)(comma - value) : strlen(value);
    while (kind_len && value[kind_len - 1] == ' ')
        kind_len--;
    const char *location = comma ? comma + 1 : "";
    while (*location == ' ')
        location++;
    if (parse_code(key + 7, &code) < 0)
        snprintf(why, sizeof(why), "%.40s: the code must be 6 hex digits (button.A1B2C5)", key);
    else if (parse_kind(value, kind_len, &kind) < 0)
        snprintf(why, sizeof(why), "%.40s: kind must be emergency, service or cancel, then a "
                 "comma and the location", key);
    else if (!add_button(b, code, kind, location, false))
        snprintf(why, sizeof(why), "more than %d buttons", MAX_BUTTONS);
    else
        return 0;
    agw_set_state(dev, AGW_STATE_ERROR, why);
    return -EINVAL;
}

static int read_config(struct agw_device *dev, struct bell *b)
{
    enum ev_format format =
        agw_transport_of(dev) == AGW_TRANSPORT_HIDRAW ? EV_FORMAT_KEYBOARD : EV_FORMAT_FDDF;
    const char *f = agw_config(dev, "format");
    if (f && ev_format_parse(f, &format) < 0) {
        agw_set_state(dev, AGW_STATE_ERROR, "format must be fd-df, rfbridge or keyboard");
        return -EINVAL;
    }
    ev_decoder_init(&b->dec, format);
    /* the host refuses a bad value with FILE:LINE and the device's error state */
    if (agw_config_uint(dev, "dedup_ms", 1500, 0, 60000, &b->dedup_ms) < 0 ||
        agw_config_uint(dev, "repeat_s", 5, 0, 3600, &b->repeat_s) < 0 ||
        agw_config_uint(dev, "escalate_s", 60, 0, 86400, &b->escalate_s) < 0)
        return -EINVAL;
    const char *key, *value;
    for (size_t i = 0; (key = agw_config_nth(dev, i, &value)); i++)
        if (strncmp(key, "button.", 7) == 0 && config_button(dev, b, key, value) < 0)
            return -EINVAL;
    return 0;
}

/* ---- durable state: open calls and learned buttons ---- */

static json_t *call_json(const struct call *c)
{
    char code[7];
    ev_code_hex(c->code, code);
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:b}", "call_id", c->id, "code", code, "kind",
                     kind_names[c->kind], "location", c->location, "pressed_ms",
                     (json_int_t)c->pressed_ms, "escalated", c->escalated);
}

static int save(struct agw_device *dev, struct bell *b)
{
    json_t *calls = json_array(), *learned = json_object();
    for (size_t i = 0; i < b->n_calls; i++)
        json_array_append_new(calls, call_json(&b->calls[i]));
    for (size_t i = 0; i < b->n_buttons; i++)
        if (b->buttons[i].learned) {
            char code[7];
            ev_code_hex(b->buttons[i].code, code);
            json_object_set_new(learned, code, json_pack("{s:s, s:s}", "kind",
                                                         kind_names[b->buttons[i].kind], "location",
                                                         b->buttons[i].location));
        }
    json_t *state = json_pack("{s:o, s:o, s:I}", "calls", calls, "learned", learned, "counter",
                              (json_int_t)b->counter);
    int r = agw_save_state(dev, state);
    json_decref(state);
    return r;
}

/* A saved call that cannot be restored is said, with its place in the state
 * file: an emergency call must never vanish without a word. */
static void restore_call(struct agw_device *dev, struct bell *b, size_t index, json_t *c)
{
    const char *id = json_string_value(json_object_get(c, "call_id"));
    const char *code = json_string_value(json_object_get(c, "code"));
    const char *kind = json_string_value(json_object_get(c, "kind"));
    const char *location = json_string_value(json_object_get(c, "location"));
    struct call call = {0};
    if (!id || !code || !kind || !location || b->n_calls == MAX_CALLS ||
        parse_code(code, &call.code) < 0 || parse_kind(kind, strlen(kind), &call.kind) < 0) {
        agw_log(
            dev, AGW_LOG_ERR,
            "state file entry calls[%zu] (call_id %.40s) is not usable and was dropped: %s", index,
            id ? id : "?",
            b->n_calls == MAX_CALLS ? "too many open calls"
                                    : "call_id, code, kind and location must be valid strings");
        return;
    }
    snprintf(call.id, sizeof(call.id), "%s", id);
    snprintf(call.location, sizeof(call.location), "%s", location);
    call.pressed_ms = json_integer_value(json_object_get(c, "pressed_ms"));
    call.escalated = json_is_true(json_object_get(c, "escalated"));
    b->calls[b->n_calls++] = call;
}

static void load(struct agw_device *dev, struct bell *b)
{
    json_t *state = agw_load_state(dev);
    if (!state)
        return;
    b->counter = (unsigned long long)json_integer_value(json_object_get(state, "counter"));
    const char *code;
    json_t *v;
    json_object_foreach(json_object_get(state, "learned"), code, v)
    {
        uint32_t c;
        const char *kind = json_string_value(json_object_get(v, "kind"));
        const char *location = json_string_value(json_object_get(v, "location"));
        enum kind k;
        if (kind && location && parse_code(code, &c) == 0 && parse_kind(kind, strlen(kind), &k) == 0)
            add_button(b, c, k, location, true);
        else
            agw_log(
                dev, AGW_LOG_WARNING,
                "state file entry learned[\"%.16s\"] is not usable and was dropped: code, kind "
                "and location must be valid",
                code);
    }
    size_t i;
    json_array_foreach(json_object_get(state, "calls"), i, v) restore_call(dev, b, i, v);
    b->restore_pending = b->n_calls > 0;
    json_decref(state);
}

/* ---- events ---- */

static json_t *code_fields(uint32_t code24)
{
    struct ev_code c = ev_code_from(code24);
    char hex[7], addr[8];
    ev_code_hex(c.code, hex);
    snprintf(addr, sizeof(addr), "%05X", (unsigned)c.address);
    return json_pack("{s:s, s:s, s:i}", "code", hex, "address", addr, "key", c.key);
}

static void publish_call(struct agw_device *dev, struct call *c, const char *why)
{
    json_t *data = code_fields(c->code);
    json_object_set_new(data, "call_id", json_string(c->id));
    json_object_set_new(data, "kind", json_string(kind_names[c->kind]));
    json_object_set_new(data, "location", json_string(c->location));
    json_object_set_new(data, "repeat", json_integer(c->repeats));
    json_object_set_new(data, "after_ms", json_integer(wall_ms() - c->pressed_ms));
    if (why)
        json_object_set_new(data, "reason", json_string(why));
    c->last_publish_ms = wall_ms();
    c->repeats++;
    agw_emit(dev, "pressed", data);
}

static struct call *find_call(struct bell *b, const char *id)
{
    for (size_t i = 0; i < b->n_calls; i++)
        if (strcmp(b->calls[i].id, id) == 0)
            return &b->calls[i];
    return NULL;
}

static struct call *call_for_code(struct bell *b, uint32_t code)
{
    for (size_t i = 0; i < b->n_calls; i++)
        if (b->calls[i].code == code)
            return &b->calls[i];
    return NULL;
}

static void drop_call(struct bell *b, struct call *c)
{
    size_t i = (size_t)(c - b->calls);
    memmove(&b->calls[i], &b->calls[i + 1], (b->n_calls - i - 1) * sizeof(*c));
    b->n_calls--;
}

static void open_call(struct agw_device *dev, struct bell *b, const struct button *btn)
{
    struct call *existing = call_for_code(b, btn->code);
    if (existing) { /* pressed again while open: the same call, shown again */
        publish_call(dev, existing, "pressed_again");
        return;
    }
    if (b->n_calls == MAX_CALLS) {
        agw_log(dev, AGW_LOG_ERR,
                       "%d calls open; the oldest stays, this press is published "
                       "without persistence",
                       MAX_CALLS);
    }
    struct call c = {0};
    c.code = btn->code;
    c.kind = btn->kind;
    c.pressed_ms = wall_ms();
    snprintf(c.location, sizeof(c.location), "%s", btn->location);
    snprintf(c.id, sizeof(c.id), "%s-%llx-%llu", agw_device_id(dev),
             (unsigned long long)c.pressed_ms, ++b->counter);
    if (b->n_calls < MAX_CALLS) {
        b->calls[b->n_calls++] = c;
        if (save(dev, b) < 0) /* durable before anyone is told */
            agw_log(dev, AGW_LOG_ERR, "call %s could not be persisted", c.id);
        publish_call(dev, &b->calls[b->n_calls - 1], NULL);
    } else {
        publish_call(dev, &c, NULL);
    }
}

static void cancel_at(struct agw_device *dev, struct bell *b, const struct button *btn)
{
    bool any = false;
    for (size_t i = 0; i < b->n_calls;) {
        struct call *c = &b->calls[i];
        if (strcmp(c->location, btn->location) != 0) {
            i++;
            continue;
        }
        json_t *data = code_fields(c->code);
        json_object_set_new(data, "call_id", json_string(c->id));
        json_object_set_new(data, "kind", json_string(kind_names[c->kind]));
        json_object_set_new(data, "location", json_string(c->location));
        json_object_set_new(data, "by", json_string("cancel_button"));
        json_object_set_new(data, "after_ms", json_integer(wall_ms() - c->pressed_ms));
        drop_call(b, c);
        any = true;
        agw_emit(dev, "cancelled", data);
    }
    if (any)
        save(dev, b);
    else
        agw_log(dev, AGW_LOG_INFO, "cancel button at %s: no open call there", btn->location);
}

static void learn(struct agw_device *dev, struct bell *b, uint32_t code)
{
    b->learning = false;
    add_button(b, code, b->learn_kind, b->learn_location, true);
    save(dev, b);
    json_t *data = code_fields(code);
    json_object_set_new(data, "kind", json_string(kind_names[b->learn_kind]));
    json_object_set_new(data, "location", json_string(b->learn_location));
    agw_emit(dev, "learned", data);
}

static void on_code(struct agw_device *dev, struct bell *b, const struct ev_code *c)
{
    long long now = wall_ms();
    bool repeat = c->code == b->last_code && now - b->last_code_ms < b->dedup_ms;
    b->last_code = c->code;
    b->last_code_ms = now;
    if (repeat)
        return; /* a transmitter sends its code several times per press */
    const struct button *btn = find_button(b, c->code);
    if (!btn) {
        if (b->learning && now < b->learn_until_ms) {
            learn(dev, b, c->code);
            return;
        }
        agw_emit(dev, "unknown", code_fields(c->code));
        return;
    }
    if (btn->kind == KIND_CANCEL)
        cancel_at(dev, b, btn);
    else
        open_call(dev, b, btn);
}

/* ---- input ---- */

/* Ticking only while something can come due (an open call's repeat or escalation, calls
 * to publish again after a restart, learning's end): an idle bell never wakes. */
static void tick_when_needed(struct agw_device *dev, const struct bell *b)
{
    agw_set_timer(dev, b->n_calls || b->restore_pending || b->learning ? TICK_MS : 0);
}

static void decode_input(struct agw_device *dev, struct bell *b, const uint8_t *buf, size_t len)
{
    struct ev_code c;
    struct ev_error err;
    if (b->dec.format == EV_FORMAT_KEYBOARD) {
        enum ev_next r = ev_keyboard_report(&b->dec, buf, len, &c, &err);
        if (r == EV_CODE)
            on_code(dev, b, &c);
        else if (r == EV_ERROR)
            agw_log(dev, AGW_LOG_WARNING, "receiver report %zu: %s", err.offset,
                           err.message);
        return;
    }
    for (size_t pos = 0; pos < len;) {
        pos += ev_decoder_feed(&b->dec, buf + pos, len - pos);
        enum ev_next r;
        while ((r = ev_decoder_next(&b->dec, &c, &err)) != EV_NEED_MORE) {
            if (r == EV_ERROR) {
                agw_log(dev, AGW_LOG_WARNING, "receiver stream at byte %zu: %s", err.offset,
                               err.message);
                continue;
            }
            if (b->dec.format == EV_FORMAT_RFBRIDGE)
                agw_write(dev, ev_rfbridge_ack, sizeof(ev_rfbridge_ack));
            on_code(dev, b, &c);
        }
    }
}

static void bell_input(struct agw_device *dev, const uint8_t *buf, size_t len)
{
    struct bell *b = self(dev);
    decode_input(dev, b, buf, len);
    tick_when_needed(dev, b);
}

/* ---- the timer: repeats, escalation, restored calls ---- */


static void bell_tick(struct agw_device *dev)
{
    struct bell *b = self(dev);
    long long now = wall_ms();
    bool changed = false;
    for (size_t i = 0; i < b->n_calls; i++) {
        struct call *c = &b->calls[i];
        if (b->restore_pending) {
            publish_call(dev, c, "restored_after_restart");
            continue;
        }
        if (now - c->last_publish_ms >= (long long)b->repeat_s * 1000)
            publish_call(dev, c, "not_acknowledged");
        if (c->kind == KIND_EMERGENCY && !c->escalated &&
            now - c->pressed_ms >= (long long)b->escalate_s * 1000) {
            c->escalated = true;
            changed = true;
            json_t *data = code_fields(c->code);
            json_object_set_new(data, "call_id", json_string(c->id));
            json_object_set_new(data, "kind", json_string(kind_names[c->kind]));
            json_object_set_new(data, "location", json_string(c->location));
            json_object_set_new(data, "after_ms", json_integer(now - c->pressed_ms));
            agw_emit(dev, "escalated", data);
        }
    }
    b->restore_pending = false;
    if (changed)
        save(dev, b);
    if (b->learning && now >= b->learn_until_ms)
        b->learning = false;
    tick_when_needed(dev, b);
}

/* ---- commands ---- */

static int fail(json_t **result, int status, const char *message)
{
    *result = json_pack("{s:s}", "message", message);
    return status;
}

static int cmd_ack(struct agw_device *dev, struct bell *b, json_t *args, json_t **result)
{
    const char *id = json_string_value(json_object_get(args, "call_id"));
    const char *by = json_string_value(json_object_get(args, "by"));
    if (!id || !by || !*by)
        return fail(result, AGW_CMD_BAD_ARGS, "callbell.ack needs {\"call_id\": ..., \"by\": \"who\"}");
    struct call *c = find_call(b, id);
    if (!c)
        return fail(result, AGW_CMD_BAD_ARGS, "no open call with that call_id");
    long long after = wall_ms() - c->pressed_ms;
    json_t *data = code_fields(c->code);
    json_object_set_new(data, "call_id", json_string(c->id));
    json_object_set_new(data, "kind", json_string(kind_names[c->kind]));
    json_object_set_new(data, "location", json_string(c->location));
    json_object_set_new(data, "by", json_string(by));
    json_object_set_new(data, "after_ms", json_integer(after));
    *result = json_pack("{s:s, s:I}", "call_id", c->id, "after_ms", (json_int_t)after);
    drop_call(b, c);
    save(dev, b);
    agw_emit(dev, "acknowledged", data);
    return AGW_CMD_OK;
}

static int cmd_open(struct bell *b, json_t **result)
{
    json_t *calls = json_array();
    for (size_t i = 0; i < b->n_calls; i++) {
        json_t *c = call_json(&b->calls[i]);
        json_object_set_new(c, "after_ms", json_integer(wall_ms() - b->calls[i].pressed_ms));
        json_array_append_new(calls, c);
    }
    *result = json_pack("{s:o}", "calls", calls);
    return AGW_CMD_OK;
}

static int cmd_learn(struct bell *b, json_t *args, json_t **result)
{
    const char *kind = json_string_value(json_object_get(args, "kind"));
    const char *location = json_string_value(json_object_get(args, "location"));
    json_t *timeout = json_object_get(args, "timeout_s");
    enum kind k;
    if (!kind || parse_kind(kind, strlen(kind), &k) < 0 || !location || !*location ||
        strlen(location) >= LOCATION_MAX ||
        (timeout && (!json_is_integer(timeout) || json_integer_value(timeout) < 1 ||
                     json_integer_value(timeout) > 3600)))
        return fail(result, AGW_CMD_BAD_ARGS, "callbell.learn needs {\"kind\": emergency|service|"
                    "cancel, \"location\": \"...\", \"timeout_s\": 1-3600 (default 60)}");
    b->learning = true;
    b->learn_kind = k;
    snprintf(b->learn_location, sizeof(b->learn_location), "%s", location);
    long long t = timeout ? json_integer_value(timeout) : 60;
    b->learn_until_ms = wall_ms() + t * 1000;
    *result = json_pack("{s:b, s:I}", "learning", 1, "timeout_s", (json_int_t)t);
    return AGW_CMD_OK;
}

static int run_verb(struct agw_device *dev, struct bell *b, const char *verb, json_t *args,
                    json_t **result)
{
    if (strcmp(verb, "ack") == 0)
        return cmd_ack(dev, b, args, result);
    if (strcmp(verb, "open") == 0)
        return cmd_open(b, result);
    if (strcmp(verb, "learn") == 0)
        return cmd_learn(b, args, result);
    return AGW_CMD_UNKNOWN_VERB;
}

static int bell_command(struct agw_device *dev, const char *target, const char *verb,
                        json_t *args, json_t **result)
{
    (void)target; /* no devices behind this one */
    struct bell *b = self(dev);
    int r = run_verb(dev, b, verb, args, result);
    tick_when_needed(dev, b);
    return r;
}

static int bell_open(struct agw_device *dev)
{
    struct bell *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    if (read_config(dev, b) < 0) {
        free(b);
        return -EINVAL;
    }
    load(dev, b);
    agw_set_userdata(dev, b);
    tick_when_needed(dev, b);
    return 0;
}

static void bell_close(struct agw_device *dev) { free(self(dev)); }

static const struct agw_verb verbs[] = {
    {"open", NULL, "list the open calls"},
    {"ack", "{\"type\":\"object\",\"required\":[\"call_id\"],\"properties\":{\"call_id\":"
            "{\"type\":\"string\"},\"by\":{\"type\":\"string\"}}}",
     "acknowledge an open call (who answered it in by)"},
    {"learn", "{\"type\":\"object\",\"required\":[\"kind\",\"location\"],\"properties\":{"
              "\"kind\":{\"enum\":[\"emergency\",\"service\",\"cancel\"]},\"location\":"
              "{\"type\":\"string\"},\"timeout_s\":{\"type\":\"integer\",\"minimum\":1,"
              "\"maximum\":3600}}}",
     "bind the next unknown button to a kind and location (kept across restarts)"},
    {NULL, NULL, NULL},
};

AGW_PLUGIN_DEFINE(
    .id = "callbell-rf",
    .device_class = "callbell",
    .version = "1.0",
    .description = "EV1527 call buttons through fd-df, RF-bridge or keyboard-style receivers",
    .ids = ids,
    .config_keys = config_keys,
    .transports = AGW_TRANSPORT_BIT(AGW_TRANSPORT_SERIAL) | AGW_TRANSPORT_BIT(AGW_TRANSPORT_HIDRAW),
    .open = bell_open,
    .close = bell_close,
    .on_input = bell_input,
    .on_timer = bell_tick,
    .command = bell_command,
    .verbs = verbs);
