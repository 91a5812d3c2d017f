/*
 * evalpad: satisfaction-evaluation pads (好差评评价器, GB/T 39734/39735-2020)
 * and the 一次一评 workflow: the window software invites a rating, the pad
 * prompts, the first key press becomes one rating on five standard levels
 * for that service session; no press in time expires the invitation.
 * Serial pads (several addressed pads on one RS-485 port, each its own
 * device id) and HID keypads; framing, addresses, keys and prompts come
 * from a profile.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <accessgw/plugin.h>

#include "hid.h"
#include "keypad.h"
#include "padframe.h"
#include "profile_dirs.h"

#define MAX_PADS 32
#define TICK_MS 250

static const char *const actions[] = {"rate", NULL};
static const char *const labels[] = {"", "very_dissatisfied", "dissatisfied", "basically_satisfied",
                                     "satisfied", "very_satisfied"};
static const char *const labels_zh[] = {"", "非常不满意", "不满意", "基本满意", "满意", "非常满意"};

struct pad {
    char id[65];
    int address;                 /* -1: the device itself (a HID keypad) */
    bool invited;
    char session[96], staff[64], service[96];
    long long invited_ms;
    unsigned timeout_s;
    char rated_session[96];      /* a second press for it is ignored */
    long long rated_ms;
};

struct evalpad {
    struct profile_set profiles;
    const struct profile *profile;
    bool serial;
    struct pad_format fmt;
    struct pad_decoder dec;
    struct hid_map map;
    struct keypad keypad;
    struct pad pads[MAX_PADS];
    size_t n_pads;
    bool ignore_unsolicited;
    unsigned guard_s;
};

static const struct agw_id ids[] = {
    {.bus = AGW_BUS_HID, .vid = 0x1209, .pid = 0xE7A1, .model = "four-key evaluation keypad (hid-4key profile)"},
    {.bus = AGW_BUS_SERIAL, .vid = 0x1A86, .pid = 0x7523, .model = "RS-485 evaluation pads behind a CH340",
     .flags = AGW_ID_GENERIC_BRIDGE},
    {.bus = AGW_BUS_END},
};

static const char *const config_keys[] = {"profile", "profile_dir", "unsolicited", "guard_s",
                                          "pad.*", NULL};

static struct evalpad *self(struct agw_device *dev) { return agw_userdata(dev); }

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static struct pad *pad_by_id(struct evalpad *e, const char *id)
{
    for (size_t i = 0; i < e->n_pads; i++)
        if (strcmp(e->pads[i].id, id) == 0)
            return &e->pads[i];
    return NULL;
}

static struct pad *pad_by_address(struct evalpad *e, int address)
{
    for (size_t i = 0; i < e->n_pads; i++)
        if (e->pads[i].address == address)
            return &e->pads[i];
    return NULL;
}

static void pad_emit(struct agw_device *dev, const struct pad *p, const char *event, json_t *data)
{
    if (p->address < 0) {
        agw_emit(dev, event, data);
        return;
    }
    agw_emit_for(dev, p->id, event, data); /* the host adds the pad's location */
}

static void put_optional(json_t *o, const char *key, const char *value)
{
    if (value && *value)
        json_object_set_new(o, key, json_string(value));
}

/* ---- the pad's prompts ---- */

static void send_output(struct agw_device *dev, struct evalpad *e, const struct pad *p,
                        const char *command)
{
    const struct profile_output *o = profile_output(e->profile, command);
    if (!o)
        return; /* a pad without that prompt */
    uint8_t frame[64];
    int checksum_at;
    size_t len = profile_render(o, 0, (uint8_t)(p->address < 0 ? 0 : p->address), frame,
                                sizeof(frame), &checksum_at);
    if (checksum_at >= 0 && e->serial)
        pad_put_checksum(&e->fmt, frame, len, (size_t)checksum_at);
    if (agw_write(dev, frame, len) < 0)
        agw_log(dev, AGW_LOG_WARNING, "pad %s: the %s prompt could not be sent", p->id,
                       command);
}

/* ---- durable invitations ---- */

static void save(struct agw_device *dev, struct evalpad *e)
{
    json_t *pads = json_object();
    for (size_t i = 0; i < e->n_pads; i++) {
        const struct pad *p = &e->pads[i];
        if (p->invited)
            json_object_set_new(pads, p->id,
                                json_pack("{s:s, s:s, s:s, s:I, s:i}", "session", p->session,
                                          "staff", p->staff, "service", p->service, "invited_ms",
                                          (json_int_t)p->invited_ms, "timeout_s", (int)p->timeout_s));
    }
    json_t *state = json_pack("{s:o}", "invitations", pads);
    if (agw_save_state(dev, state) < 0)
        agw_log(dev, AGW_LOG_ERR, "invitations could not be persisted");
    json_decref(state);
}

static void copy_str(char *dst, size_t len, json_t *v)
{
    snprintf(dst, len, "%s", json_is_string(v) ? json_string_value(v) : "");
}

static void load(struct agw_device *dev, struct evalpad *e)
{
    json_t *state = agw_load_state(dev);
    const char *id;
    json_t *v;
    json_object_foreach(json_object_get(state, "invitations"), id, v)
    {
        struct pad *p = pad_by_id(e, id);
        json_t *timeout = json_object_get(v, "timeout_s");
        if (!p || !json_is_string(json_object_get(v, "session")) ||
            !json_is_integer(json_object_get(v, "invited_ms")) || !json_is_integer(timeout) ||
            json_integer_value(timeout) < 1 || json_integer_value(timeout) > 3600) {
            agw_log(
                dev, AGW_LOG_WARNING,
                "state file entry invitations[\"%.32s\"] is not usable and was dropped: %s", id,
                p ? "session, invited_ms and timeout_s (1-3600) must be valid"
                  : "no such pad in the configuration");
            continue;
        }
        p->invited = true;
        copy_str(p->session, sizeof(p->session), json_object_get(v, "session"));
        copy_str(p->staff, sizeof(p->staff), json_object_get(v, "staff"));
        copy_str(p->service, sizeof(p->service), json_object_get(v, "service"));
        p->invited_ms = json_integer_value(json_object_get(v, "invited_ms"));
        p->timeout_s = (unsigned)json_integer_value(json_object_get(v, "timeout_s"));
        agw_log(dev, AGW_LOG_INFO, "pad %s: invitation restored after a restart", p->id);
    }
    json_decref(state);
}

/* ---- the workflow ---- */

static json_t *session_fields(const struct pad *p)
{
    json_t *o = json_pack("{s:s}", "session", p->session);
    put_optional(o, "staff", p->staff);
    put_optional(o, "service", p->service);
    return o;
}

static void close_invitation(struct agw_device *dev, struct evalpad *e, struct pad *p,
                             const char *event, const char *reason)
{
    json_t *data = session_fields(p);
    if (reason)
        json_object_set_new(data, "reason", json_string(reason));
    if (!strcmp(event, "expired"))
        json_object_set_new(data, "timeout_s", json_integer(p->timeout_s));
    p->invited = false;
    save(dev, e);
    pad_emit(dev, p, event, data);
}

static void rate(struct agw_device *dev, struct evalpad *e, struct pad *p, int level)
{
    long long now = wall_ms();
    if (level < 1 || level > 5) {
        agw_log(dev, AGW_LOG_WARNING, "pad %s: profile level %d is not 1-5", p->id, level);
        return;
    }
    if (!p->invited && p->rated_session[0] && now - p->rated_ms < (long long)e->guard_s * 1000) {
        agw_log(dev, AGW_LOG_INFO, "pad %s: second press for session %s ignored", p->id,
                       p->rated_session);
        return;
    }
    if (!p->invited && e->ignore_unsolicited) {
        agw_log(dev, AGW_LOG_INFO, "pad %s: press without an invitation ignored", p->id);
        return;
    }
    json_t *data = json_pack("{s:i, s:s, s:s, s:b}", "level", level, "label", labels[level],
                             "label_zh", labels_zh[level], "bad", level <= 2);
    if (p->invited) {
        json_object_set_new(data, "session", json_string(p->session));
        put_optional(data, "staff", p->staff);
        put_optional(data, "service", p->service);
        json_object_set_new(data, "ms_after_invite", json_integer(now - p->invited_ms));
        snprintf(p->rated_session, sizeof(p->rated_session), "%s", p->session);
        p->rated_ms = now;
        p->invited = false;
        save(dev, e);
        send_output(dev, e, p, "thanks");
    } else {
        json_object_set_new(data, "session", json_null());
        json_object_set_new(data, "unsolicited", json_true());
    }
    pad_emit(dev, p, "rating", data);
}

static void on_action(struct agw_device *dev, struct evalpad *e, struct pad *p,
                      const struct profile_binding *b)
{
    if (strcmp(b->action, "rate") == 0)
        rate(dev, e, p, atoi(b->arg));
}

static void serial_input(struct agw_device *dev, struct evalpad *e, const uint8_t *buf, size_t len)
{
    for (size_t pos = 0; pos < len;) {
        pos += pad_decoder_feed(&e->dec, buf + pos, len - pos);
        struct pad_frame f;
        struct pad_error err;
        enum pad_next r;
        while ((r = pad_decoder_next(&e->dec, &f, &err)) != PAD_NEED_MORE) {
            if (r == PAD_ERROR) {
                agw_log(dev, AGW_LOG_WARNING, "pad bus at byte %zu: %s", err.offset,
                               err.message);
                continue;
            }
            struct pad *p = pad_by_address(e, f.address);
            const struct profile_binding *b = profile_find_usage(e->profile, PROFILE_PAGE_KEY, f.key);
            if (!p)
                agw_log(dev, AGW_LOG_WARNING,
                               "key 0x%02x from pad address %u, which no pad.%u "
                               "line names",
                               f.key, f.address, f.address);
            else if (!b)
                agw_log(dev, AGW_LOG_WARNING, "pad %s: key 0x%02x is not in profile %s",
                               p->id, f.key, e->profile->name);
            else
                on_action(dev, e, p, b);
        }
    }
}

static void evalpad_input(struct agw_device *dev, const uint8_t *buf, size_t len)
{
    struct evalpad *e = self(dev);
    if (e->serial) {
        serial_input(dev, e, buf, len);
        return;
    }
    struct keypad_event ev[16];
    struct hid_error err;
    int n = keypad_report(&e->keypad, buf, len, ev, 16, &err);
    if (n < 0)
        agw_log(dev, AGW_LOG_WARNING, "input report of %zu byte(s): %s", len, err.message);
    for (int i = 0; i < n; i++)
        if (ev[i].pressed) /* a rating is the press; releases and repeats add nothing */
            on_action(dev, e, &e->pads[0], ev[i].binding);
}

static void evalpad_tick(struct agw_device *dev)
{
    struct evalpad *e = self(dev);
    long long now = wall_ms();
    for (size_t i = 0; i < e->n_pads; i++) {
        struct pad *p = &e->pads[i];
        if (p->invited && now - p->invited_ms >= (long long)p->timeout_s * 1000) {
            send_output(dev, e, p, "cancel");
            close_invitation(dev, e, p, "expired", NULL);
        }
    }
}

/* ---- commands ---- */

static int bad_args(json_t **result, const char *message)
{
    *result = json_pack("{s:s}", "message", message);
    return AGW_CMD_BAD_ARGS;
}

static int cmd_invite(struct agw_device *dev, struct evalpad *e, struct pad *p, json_t *args,
                      json_t **result)
{
    json_t *session = json_object_get(args, "session"), *timeout = json_object_get(args, "timeout_s");
    json_t *staff = json_object_get(args, "staff"), *service = json_object_get(args, "service");
    if (!json_is_string(session) || !json_string_length(session) || json_string_length(session) > 90 ||
        (staff && (!json_is_string(staff) || json_string_length(staff) > 60)) ||
        (service && (!json_is_string(service) || json_string_length(service) > 90)) ||
        (timeout && (!json_is_integer(timeout) || json_integer_value(timeout) < 1 ||
                     json_integer_value(timeout) > 3600)))
        return bad_args(result, "evaluation.invite needs {\"session\": \"...\", \"staff\"?, "
                        "\"service\"?, \"timeout_s\"?: 1-3600 (default 60)}");
    if (p->invited) /* a new invitation replaces the open one */
        close_invitation(dev, e, p, "cancelled", "replaced");
    p->invited = true;
    copy_str(p->session, sizeof(p->session), session);
    copy_str(p->staff, sizeof(p->staff), staff);
    copy_str(p->service, sizeof(p->service), service);
    p->timeout_s = timeout ? (unsigned)json_integer_value(timeout) : 60;
    p->invited_ms = wall_ms();
    p->rated_session[0] = '\0';
    save(dev, e);
    send_output(dev, e, p, "prompt");
    json_t *data = session_fields(p);
    json_object_set_new(data, "timeout_s", json_integer(p->timeout_s));
    pad_emit(dev, p, "invited", data);
    *result = json_pack("{s:s, s:i}", "session", p->session, "timeout_s", (int)p->timeout_s);
    return AGW_CMD_OK;
}

static int cmd_cancel(struct agw_device *dev, struct evalpad *e, struct pad *p, json_t *args,
                      json_t **result)
{
    const char *session = json_string_value(json_object_get(args, "session"));
    if (!p->invited)
        return bad_args(result, "no open invitation on this pad");
    if (session && strcmp(session, p->session) != 0)
        return bad_args(result, "the open invitation is for another session");
    *result = json_pack("{s:s}", "session", p->session);
    send_output(dev, e, p, "cancel");
    close_invitation(dev, e, p, "cancelled", "cancelled");
    return AGW_CMD_OK;
}

static int evalpad_command(struct agw_device *dev, const char *target, const char *verb,
                           json_t *args, json_t **result)
{
    struct evalpad *e = self(dev);
    struct pad *p = pad_by_id(e, target);
    if (!p)
        return bad_args(result, "this bus has no pad by that id: send to a pad's id");
    if (!strcmp(verb, "invite"))
        return cmd_invite(dev, e, p, args, result);
    if (!strcmp(verb, "cancel"))
        return cmd_cancel(dev, e, p, args, result);
    if (!strcmp(verb, "status")) {
        *result = p->invited ? session_fields(p) : json_object();
        json_object_set_new(*result, "invited", json_boolean(p->invited));
        return AGW_CMD_OK;
    }
    return AGW_CMD_UNKNOWN_VERB;
}

/* ---- open ---- */

static int refuse(struct agw_device *dev, const char *why)
{
    agw_set_state(dev, AGW_STATE_ERROR, why);
    return -EINVAL;
}

/* pad.3 = pad-3, Window 3 */
static int read_pads(struct agw_device *dev, struct evalpad *e)
{
    const char *key, *value;
    char why[200];
    for (size_t i = 0; (key = agw_config_nth(dev, i, &value)); i++) {
        if (strncmp(key, "pad.", 4) != 0)
            continue;
        char *end;
        long address = strtol(key + 4, &end, 0);
        char id[65] = "", location[96] = "";
        if (*end || end == key + 4 || address < 0 || address > 255 ||
            sscanf(value, " %64[^, ] , %95[^\n]", id, location) < 1) {
            snprintf(why, sizeof(why), "%.40s: write pad.ADDRESS = id, location", key);
            return refuse(dev, why);
        }
        if (e->n_pads == MAX_PADS || pad_by_address(e, (int)address) ||
            agw_add_child(dev, id, location) < 0) {
            snprintf(why, sizeof(why), "%.40s: '%.64s' is not a new valid id, or the address repeats",
                     key, id);
            return refuse(dev, why);
        }
        struct pad *p = &e->pads[e->n_pads++];
        snprintf(p->id, sizeof(p->id), "%s", id);
        p->address = (int)address;
    }
    return e->n_pads ? 0 : refuse(dev, "a serial pad bus needs pad.ADDRESS = id, location lines");
}

static int setup_serial(struct agw_device *dev, struct evalpad *e)
{
    char err[120], why[300];
    for (size_t i = 0; i < e->profile->n_frame; i++) {
        const struct profile_setting *s = &e->profile->frame[i];
        if (pad_format_set(&e->fmt, s->key, s->value, err, sizeof(err)) < 0) {
            snprintf(why, sizeof(why), "%.100s:%d: %s", e->profile->file, s->line, err);
            return refuse(dev, why);
        }
    }
    if (pad_format_check(&e->fmt, err, sizeof(err)) < 0) {
        snprintf(why, sizeof(why), "%.100s: %s", e->profile->file, err);
        return refuse(dev, why);
    }
    pad_decoder_init(&e->dec, &e->fmt);
    return read_pads(dev, e);
}

static int setup_hid(struct agw_device *dev, struct evalpad *e, uint16_t *vid, uint16_t *pid,
                     uint16_t *page)
{
    uint8_t desc[4096];
    const struct agw_hid_ext *hid = agw_hid(dev);
    ssize_t n = hid ? hid->descriptor(dev, desc, sizeof(desc)) : -ENODEV;
    struct hid_error err;
    *vid = *pid = *page = 0;
    if (n > 0 && hid->ids(dev, vid, pid) == 0) {
        *page = hid_first_usage_page(desc, (size_t)n);
        if (hid_parse(desc, (size_t)n, &e->map, &err) < 0)
            agw_log(dev, AGW_LOG_WARNING, "report descriptor byte %zu: %s", err.offset,
                           err.message);
    }
    struct pad *p = &e->pads[e->n_pads++];
    snprintf(p->id, sizeof(p->id), "%s", agw_device_id(dev));
    p->address = -1;
    return 0;
}

static int evalpad_open(struct agw_device *dev)
{
    struct evalpad *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    static const char *const unsolicited[] = {"publish", "ignore", NULL};
    int ignore = 0;
    /* the host says what is wrong (FILE:LINE, key, value) and sets the error state */
    int r = agw_config_enum(dev, "unsolicited", unsolicited, 0, &ignore);
    if (r == 0)
        r = agw_config_uint(dev, "guard_s", 30, 0, 3600, &e->guard_s);
    e->ignore_unsolicited = ignore == 1;
    e->serial = agw_transport_of(dev) == AGW_TRANSPORT_SERIAL;
    uint16_t vid = 0, pid = 0, page = 0;
    if (r == 0 && !e->serial)
        setup_hid(dev, e, &vid, &pid, &page);
    profiles_load(dev, agw_config(dev, "profile_dir"), "evaluation", actions, &e->profiles);
    if (r == 0 && !(e->profile = profiles_choose(dev, &e->profiles, vid, pid, page)))
        r = -ENOENT;
    if (r == 0 && e->serial)
        r = setup_serial(dev, e);
    if (r < 0) {
        profiles_free(&e->profiles);
        free(e);
        return r;
    }
    keypad_init(&e->keypad, e->map.n_fields ? &e->map : NULL, e->profile);
    load(dev, e);
    agw_set_userdata(dev, e);
    agw_set_timer(dev, TICK_MS);
    return 0;
}

static void evalpad_close(struct agw_device *dev)
{
    struct evalpad *e = self(dev);
    if (e) {
        profiles_free(&e->profiles);
        free(e);
    }
}

static const struct agw_verb verbs[] = {
    {"invite", "{\"type\":\"object\",\"required\":[\"session\"],\"properties\":{\"session\":"
               "{\"type\":\"string\"},\"staff\":{\"type\":\"string\"},\"service\":{\"type\":"
               "\"string\"},\"timeout_s\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":3600}}}",
     "ask the visitor at this pad to rate the service just given"},
    {"cancel", "{\"type\":\"object\",\"properties\":{\"session\":{\"type\":\"string\"}}}",
     "withdraw the open invitation"},
    {"status", NULL, "the open invitation, if any"},
    {NULL, NULL, NULL},
};

AGW_PLUGIN_DEFINE(
    .id = "evalpad",
    .device_class = "evaluation",
    .version = "1.0",
    .description = "satisfaction-evaluation pads (好差评): serial RS-485 buses and HID keypads",
    .ids = ids,
    .config_keys = config_keys,
    .transports = AGW_TRANSPORT_BIT(AGW_TRANSPORT_SERIAL) | AGW_TRANSPORT_BIT(AGW_TRANSPORT_HIDRAW),
    .open = evalpad_open,
    .close = evalpad_close,
    .on_input = evalpad_input,
    .on_timer = evalpad_tick,
    .command = evalpad_command,
    .verbs = verbs);
