/*
 * idcard-sam: resident ID-card readers with a SAM module (GA/T 467), on a
 * serial port or a vendor USB bulk interface.
 *
 * The reader is asked to find a card again and again: as often as keeps the
 * link at most 5% busy while no card is there (20 times the find's measured
 * round trip, at least every 40 ms), or every poll_ms when that is set.  At
 * 115200 baud that is every 40 ms, so a card placed on the reader waits 20 ms
 * on average before its read starts, not half of a fixed 300 ms.  A new card
 * is selected and read once: one idcard/<dev>/read per placement, idcard/<dev>/removed
 * when it goes.  The read event carries the full record; the host publishes
 * it in full only on the CURVE-protected private endpoint and masks the
 * personal fields declared below for everyone else.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <accessgw/plugin.h>

#include "sam.h"
#include "sam_json.h"

#define STATUS_TIMEOUT_MS 1000
#define FIND_TIMEOUT_MS 500
#define DEFAULT_READ_TIMEOUT_MS 3500
#define MIN_POLL_MS 40
#define IDLE_LINK_SHARE 20 /* a find round trip at most every 20th ms of an idle link */

struct reader {
    struct sam_decoder dec;
    unsigned poll_ms, read_timeout_ms;
    bool poll_auto;        /* poll_ms follows the find's round trip */
    unsigned rtt_us;       /* the find's round trip, smoothed */
    bool fingerprint;
    bool card_present;     /* a read was published for the card on the reader */
    bool error_reported;   /* one error event per placement, however many retries */
    bool stale;
    char sam_id[80];
};

static const struct agw_id ids[] = {
    {.bus = AGW_BUS_USB, .vid = 0x0400, .pid = 0xC35A, .model = "SAM ID-card reader (vendor bulk)"},
    {.bus = AGW_BUS_USB, .vid = 0x0316, .pid = 0x5020, .model = "SAM ID-card reader (vendor bulk)"},
    {.bus = AGW_BUS_SERIAL, .vid = 0x1A86, .pid = 0x7523, .model = "SAM reader behind a CH340",
     .flags = AGW_ID_GENERIC_BRIDGE},
    {.bus = AGW_BUS_SERIAL, .vid = 0x067B, .pid = 0x2303, .model = "SAM reader behind a PL2303",
     .flags = AGW_ID_GENERIC_BRIDGE},
    {.bus = AGW_BUS_END},
};

static const char *const config_keys[] = {"poll_ms", "fingerprint", "read_timeout_ms", NULL};

/* What the public endpoint, logs and control replies never see in full. */
static const struct agw_personal_field personal[] = {
    {"name", AGW_MASK_NAME},           {"english_name", AGW_MASK_NAME},
    {"id_number", AGW_MASK_ID_NUMBER}, {"pass_number", AGW_MASK_ID_NUMBER},
    {"birth_date", AGW_MASK_YEAR},     {"address", AGW_MASK_DROP},
    {"photo_wlt", AGW_MASK_DROP},      {"previous_card_link", AGW_MASK_DROP},
    {NULL, AGW_MASK_END},
};

static struct reader *self(struct agw_device *dev) { return agw_userdata(dev); }

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Sends one request and waits for its response frame.  0, -ETIMEDOUT,
 * -ENODEV (unplugged) or another -errno.  r->data points into the decoder
 * and is valid until the next exchange. */
static int exchange(struct agw_device *dev, struct reader *rd, enum sam_request req,
                    int timeout_ms, struct sam_response *r)
{
    uint8_t out[16], in[512];
    size_t n = sam_encode_request(req, 0, out, sizeof(out));
    sam_decoder_init(&rd->dec);
    agw_flush_input(dev);
    ssize_t w = agw_write(dev, out, n);
    if (w < 0)
        return (int)w;
    long deadline = now_ms() + timeout_ms;
    for (long left = timeout_ms; left > 0; left = deadline - now_ms()) {
        ssize_t got = agw_read(dev, in, sizeof(in), (int)left);
        if (got < 0)
            return (int)got;
        for (size_t pos = 0; pos < (size_t)got;) {
            pos += sam_decoder_feed(&rd->dec, in + pos, (size_t)got - pos);
            struct sam_frame f;
            struct sam_error err;
            enum sam_next next;
            while ((next = sam_decoder_next(&rd->dec, &f, &err)) != SAM_NEED_MORE) {
                if (next == SAM_ERROR) {
                    agw_log(dev,
                                   err.code == SAM_ERR_GARBAGE ? AGW_LOG_DEBUG : AGW_LOG_WARNING,
                                   "reader stream at byte %zu: %s", err.offset, err.message);
                    continue;
                }
                if (sam_response_parse(&f, r, &err) == 0)
                    return 0;
            }
        }
    }
    return -ETIMEDOUT;
}

static void set_stale(struct agw_device *dev, struct reader *rd, bool stale, const char *why)
{
    if (stale == rd->stale)
        return;
    rd->stale = stale;
    agw_set_state(dev, stale ? AGW_STATE_STALE : AGW_STATE_UP, why);
}

static void report_error(struct agw_device *dev, struct reader *rd, const char *stage,
                         const char *code, int sw3, const char *message)
{
    if (rd->error_reported)
        return;
    rd->error_reported = true;
    json_t *data = json_pack("{s:s, s:s}", "stage", stage, "code", code);
    if (sw3 >= 0) {
        char hex[16];
        snprintf(hex, sizeof(hex), "0x%02x", (unsigned)sw3 & 0xFF);
        json_object_set_new(data, "sw3", json_string(hex));
    }
    if (message)
        json_object_set_new(data, "message", json_string(message));
    agw_emit(dev, "error", data);
}

/* Why a step failed: the stage, a status or transport code, the SW3 byte. */
struct failure {
    const char *stage;
    char code[32];
    int sw3;
    char message[160];
};

static int step(struct agw_device *dev, struct reader *rd, enum sam_request req, int timeout,
                uint8_t ok_sw3, const char *stage, struct sam_response *r, struct failure *f)
{
    int e = exchange(dev, rd, req, timeout, r);
    char buf[16];
    f->stage = stage;
    f->sw3 = -1;
    f->message[0] = '\0';
    if (e == -ETIMEDOUT) {
        snprintf(f->code, sizeof(f->code), "timeout");
        snprintf(f->message, sizeof(f->message), "no answer within %d ms", timeout);
        return -1;
    }
    if (e < 0) {
        snprintf(f->code, sizeof(f->code), "%s", e == -ENODEV ? "device_gone" : "io_error");
        snprintf(f->message, sizeof(f->message), "%s", strerror(-e));
        return -1;
    }
    if (r->sw3 != ok_sw3) {
        f->sw3 = r->sw3;
        snprintf(f->code, sizeof(f->code), "%s", sam_status_name(r->sw3, buf));
        snprintf(f->message, sizeof(f->message), "reader status 0x%02x", r->sw3);
        return -1;
    }
    return 0;
}

/* Selects and reads the card on the reader; returns the full record. */
static json_t *read_card(struct agw_device *dev, struct reader *rd, struct failure *f)
{
    struct sam_response r;
    if (step(dev, rd, SAM_REQ_SELECT, FIND_TIMEOUT_MS, SAM_SW_SUCCESS, "select", &r, f) < 0)
        return NULL;
    enum sam_request req = rd->fingerprint ? SAM_REQ_READ_FP : SAM_REQ_READ;
    if (step(dev, rd, req, (int)rd->read_timeout_ms, SAM_SW_SUCCESS, "read", &r, f) < 0)
        return NULL;
    struct sam_read data;
    struct sam_card card;
    struct sam_error err;
    json_t *record = NULL;
    if (sam_read_parse(r.data, r.data_len, rd->fingerprint, &data, &err) < 0 ||
        sam_text_parse(data.text, data.text_len, &card, &err) < 0) {
        f->stage = "decode";
        snprintf(f->code, sizeof(f->code), "bad_card_data");
        f->sw3 = -1;
        snprintf(f->message, sizeof(f->message), "%.120s (byte %zu)", err.message, err.offset);
    } else {
        record = sam_card_to_json(&card, &data);
    }
    /* personal data stays in memory no longer than needed */
    explicit_bzero(&card, sizeof(card));
    explicit_bzero(rd->dec.buf, sizeof(rd->dec.buf));
    return record;
}

static void publish_read(struct agw_device *dev, struct reader *rd, json_t *record)
{
    rd->card_present = true;
    rd->error_reported = false;
    agw_emit(dev, "read", record);
}

static void card_gone(struct agw_device *dev, struct reader *rd)
{
    bool had = rd->card_present;
    rd->card_present = false;
    rd->error_reported = false;
    if (had)
        agw_emit(dev, "removed", NULL);
}

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The poll interval from the find's round trip: a slow link (9600 baud, a busy
 * USB hub) is asked less often, a fast one more, the idle link at most 5% busy. */
static void adapt_poll(struct agw_device *dev, struct reader *rd, long long rtt_us)
{
    if (!rd->poll_auto || rtt_us <= 0 || rtt_us > FIND_TIMEOUT_MS * 1000LL)
        return;
    rd->rtt_us = rd->rtt_us ? (unsigned)((rd->rtt_us * 7LL + rtt_us) / 8) : (unsigned)rtt_us;
    unsigned want = (unsigned)((rd->rtt_us * (long long)IDLE_LINK_SHARE + 999) / 1000);
    if (want < MIN_POLL_MS)
        want = MIN_POLL_MS;
    /* a change of a tenth or more: the timer is not reset for jitter */
    if (want * 10 < rd->poll_ms * 9 || want * 10 > rd->poll_ms * 11) {
        rd->poll_ms = want;
        agw_set_timer(dev, want);
    }
}

static void poll_reader(struct agw_device *dev)
{
    struct reader *rd = self(dev);
    struct sam_response r;
    struct failure f;
    long long started = now_us();
    int e = step(dev, rd, SAM_REQ_FIND, FIND_TIMEOUT_MS, SAM_SW_FIND_OK, "find", &r, &f);
    if (e == 0 || f.sw3 >= 0) /* answered: its round trip counts */
        adapt_poll(dev, rd, now_us() - started);
    if (e < 0 && f.sw3 < 0) {
        if (strcmp(f.code, "timeout") == 0)
            set_stale(dev, rd, true, "the reader stopped answering");
        return; /* device_gone: the host takes it from here */
    }
    set_stale(dev, rd, false, rd->sam_id);
    if (e == 0) {
        if (rd->card_present)
            return;
        json_t *record = read_card(dev, rd, &f);
        if (record)
            publish_read(dev, rd, record);
        else if (strcmp(f.code, "device_gone") != 0)
            report_error(dev, rd, f.stage, f.code, f.sw3, f.message);
        return;
    }
    /* Some readers stop "finding" a card they already selected: ask again by selecting it. */
    if (rd->card_present &&
        step(dev, rd, SAM_REQ_SELECT, FIND_TIMEOUT_MS, SAM_SW_SUCCESS, "select", &r, &f) == 0)
        return;
    card_gone(dev, rd);
}

static int read_config(struct agw_device *dev, struct reader *rd)
{
    const char *poll = agw_config(dev, "poll_ms");
    rd->poll_auto = !poll || strcmp(poll, "auto") == 0;
    rd->poll_ms = MIN_POLL_MS;
    int fingerprint = 0;
    /* the host refuses a bad value with FILE:LINE and the device's error state */
    if ((!rd->poll_auto && agw_config_ms(dev, "poll_ms", MIN_POLL_MS, MIN_POLL_MS, 600000,
                                                &rd->poll_ms) < 0) ||
        agw_config_ms(dev, "read_timeout_ms", DEFAULT_READ_TIMEOUT_MS, 100, 600000,
                             &rd->read_timeout_ms) < 0 ||
        agw_config_bool(dev, "fingerprint", 0, &fingerprint) < 0)
        return -EINVAL;
    rd->fingerprint = fingerprint;
    return 0;
}

/* SAM status, then its id: the reader is only up when its SAM answers. */
static int check_sam(struct agw_device *dev, struct reader *rd)
{
    struct sam_response r;
    struct failure f;
    if (step(dev, rd, SAM_REQ_STATUS, STATUS_TIMEOUT_MS, SAM_SW_SUCCESS, "sam_status", &r, &f) < 0) {
        agw_log(dev, AGW_LOG_WARNING, "SAM status: %s%s%s", f.code, f.message[0] ? ": " : "",
                       f.message);
        return f.sw3 >= 0 ? -EIO : (strcmp(f.code, "device_gone") == 0 ? -ENODEV : -ETIMEDOUT);
    }
    char hex[40] = "";
    if (step(dev, rd, SAM_REQ_SAM_ID, STATUS_TIMEOUT_MS, SAM_SW_SUCCESS, "sam_id", &r, &f) == 0)
        for (size_t i = 0; i < r.data_len && i < 16; i++)
            snprintf(hex + 2 * i, 3, "%02x", r.data[i]);
    snprintf(rd->sam_id, sizeof(rd->sam_id), "SAM ready, id %s", hex[0] ? hex : "unknown");
    return 0;
}

static int idcard_open(struct agw_device *dev)
{
    struct reader *rd = calloc(1, sizeof(*rd));
    if (!rd)
        return -ENOMEM;
    int e = read_config(dev, rd);
    if (e == 0)
        e = check_sam(dev, rd);
    if (e < 0) {
        free(rd);
        return e;
    }
    agw_set_userdata(dev, rd);
    agw_set_state(dev, AGW_STATE_UP, rd->sam_id);
    agw_set_timer(dev, rd->poll_ms);
    return 0;
}

static void idcard_close(struct agw_device *dev)
{
    struct reader *rd = self(dev);
    if (rd) {
        explicit_bzero(rd, sizeof(*rd));
        free(rd);
    }
}

static int idcard_command(struct agw_device *dev, const char *target, const char *verb,
                          json_t *args, json_t **result)
{
    (void)target; /* no devices behind this one */
    struct reader *rd = self(dev);
    (void)args;
    if (strcmp(verb, "read") != 0)
        return AGW_CMD_UNKNOWN_VERB;
    struct sam_response r;
    struct failure f;
    if (step(dev, rd, SAM_REQ_FIND, FIND_TIMEOUT_MS, SAM_SW_FIND_OK, "find", &r, &f) == 0 ||
        rd->card_present) {
        json_t *record = read_card(dev, rd, &f);
        if (record) {
            *result = json_deep_copy(record); /* the host masks a reply like a public event */
            publish_read(dev, rd, record);
            return AGW_CMD_OK;
        }
    }
    *result = json_pack("{s:s}", "message", "");
    char msg[256];
    snprintf(msg, sizeof(msg), "%s failed: %s%s%s", f.stage, f.code, f.message[0] ? " — " : "",
             f.message);
    json_object_set_new(*result, "message", json_string(msg));
    json_object_set_new(*result, "code", json_string(f.code));
    return strcmp(f.code, "timeout") == 0 ? AGW_CMD_TIMEOUT : AGW_CMD_DEVICE_ERROR;
}

static const struct agw_verb verbs[] = {
    {"read", NULL, "read the card on the reader now; replies with the masked record"},
    {NULL, NULL, NULL},
};

AGW_PLUGIN_DEFINE(
    .id = "idcard-sam",
    .device_class = "idcard",
    .version = "1.0",
    .description = "resident ID-card readers with a SAM module (GA/T 467), serial or USB",
    .ids = ids,
    .config_keys = config_keys,
    .personal = personal,
    .transports = AGW_TRANSPORT_BIT(AGW_TRANSPORT_SERIAL) | AGW_TRANSPORT_BIT(AGW_TRANSPORT_USB),
    .open = idcard_open,
    .close = idcard_close,
    .on_timer = poll_reader,
    .command = idcard_command,
    .verbs = verbs);
