/*
 * sscard-pcsc: social security cards (社会保障卡) on a PC/SC contact reader.
 *
 * The host talks to pcscd and tells this plugin when a card comes and goes
 * (on_link); the plugin carries the APDUs of protocols/sscard's session and
 * publishes one sscard/<dev>/read per card, or an error with the contract's
 * reason, never a partial record.  Only SELECT, READ RECORD and GET RESPONSE
 * reach the card (the session builds nothing else): no PIN, no
 * authentication, no write.  Personal fields are declared below; the host
 * masks them for everyone but the receivers allowed the full record.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accessgw/plugin.h"
#include "sscard.h"
#include "sscard_json.h"

#define ANSWER_MAX 258 /* a short APDU's answer: 256 data bytes and the status word */
#define EXCHANGES_MAX 64 /* a read takes about 20; a card that loops is cut off */

static const struct agw_personal_field personal[] = {
    {"card_number", AGW_MASK_CARD_NUMBER}, {"ssn", AGW_MASK_ID_NUMBER},
    {"name", AGW_MASK_NAME},               {"birth_date", AGW_MASK_YEAR},
    {"birth_place", AGW_MASK_DROP},        {NULL, AGW_MASK_END},
};

struct reader {
    bool card; /* a card is connected */
};

static struct reader *self(struct agw_device *dev)
{
    return agw_userdata(dev);
}

static void publish_error(struct agw_device *dev, const char *reason, const char *message)
{
    agw_emit(dev, "error", json_pack("{s:s, s:s}", "reason", reason, "message", message));
}

/* Runs the whole session.  NULL with reason and message set on failure. */
static json_t *read_card(struct agw_device *dev, const char **reason, char *message, size_t len)
{
    const struct agw_pcsc_ext *pcsc = agw_pcsc(dev);
    if (!pcsc) {
        *reason = "read_failed";
        snprintf(message, len, "the device is not on a PC/SC reader (transport pcsc)");
        return NULL;
    }
    static __thread struct sscard_session s; /* one per worker thread; wiped after use */
    uint8_t answer[ANSWER_MAX];
    enum sscard_step step = sscard_begin(&s);
    for (int n = 0; step == SSCARD_SEND && n < EXCHANGES_MAX; n++) {
        ssize_t got = pcsc->transmit(dev, s.apdu, s.apdu_len, answer, sizeof(answer));
        if (got < 0) {
            *reason = got == -ENOMEDIUM || got == -ENODEV ? "removed_early" : "read_failed";
            snprintf(message, len, "%s after %d exchanges",
                     got == -ENOMEDIUM ? "the card left" : got == -ENODEV ? "the reader went away"
                                                                          : "an exchange failed",
                     n);
            explicit_bzero(&s, sizeof(s));
            return NULL;
        }
        step = sscard_feed(&s, answer, (size_t)got);
    }
    explicit_bzero(answer, sizeof(answer));
    json_t *record = NULL;
    if (step == SSCARD_DONE) {
        record = sscard_record_to_json(&s.record);
    } else {
        *reason = step == SSCARD_SEND ? "read_failed" : sscard_reason_name(s.reason);
        snprintf(message, len, "%s", step == SSCARD_SEND ? "the card never finished answering"
                                                         : s.message);
    }
    explicit_bzero(&s, sizeof(s)); /* personal data stays in memory no longer than needed */
    return record;
}

/* Reads the card and publishes the outcome: the record, or one error. */
static json_t *read_and_publish(struct agw_device *dev)
{
    const char *reason = "read_failed";
    char message[200];
    json_t *record = read_card(dev, &reason, message, sizeof(message));
    if (!record) {
        agw_log(dev, AGW_LOG_NOTICE, "card not read: %s: %s", reason, message);
        publish_error(dev, reason, message);
        return NULL;
    }
    /* the host wipes what it publishes once sent: the event gets its own copy */
    agw_emit(dev, "read", json_deep_copy(record));
    return record;
}

static void sscard_link(struct agw_device *dev, int up, const char *why)
{
    struct reader *rd = self(dev);
    if (up) {
        rd->card = true;
        json_t *record = read_and_publish(dev);
        json_decref(record);
        return;
    }
    bool had = rd->card;
    rd->card = false;
    if (had)
        agw_emit(dev, "removed", NULL);
    else if (strcmp(why, "the card does not answer") == 0)
        publish_error(dev, "read_failed", why);
}

static int sscard_open(struct agw_device *dev)
{
    struct reader *rd = calloc(1, sizeof(*rd));
    if (!rd)
        return -ENOMEM;
    agw_set_userdata(dev, rd);
    const struct agw_pcsc_ext *pcsc = agw_pcsc(dev);
    if (pcsc)
        agw_set_info(dev, "reader", pcsc->reader(dev));
    /* the host calls on_link next with whether a card is in */
    return 0;
}

static void sscard_close(struct agw_device *dev)
{
    free(self(dev));
    agw_set_userdata(dev, NULL);
}

static int sscard_command(struct agw_device *dev, const char *target, const char *verb,
                          json_t *args, json_t **result)
{
    (void)target, (void)args;
    if (strcmp(verb, "read") != 0)
        return AGW_CMD_UNKNOWN_VERB;
    if (!self(dev)->card) {
        *result = json_pack("{s:s}", "message", "no card on the reader");
        return AGW_CMD_DEVICE_ERROR;
    }
    json_t *record = read_and_publish(dev);
    if (!record) {
        *result = json_pack("{s:s}", "message", "the card could not be read (see the error event)");
        return AGW_CMD_DEVICE_ERROR;
    }
    *result = record; /* the host masks a reply like a public event */
    return AGW_CMD_OK;
}

static const struct agw_id ids[] = {
    {.bus = AGW_BUS_PCSC, .model = "any PC/SC (CCID) contact reader pcscd reports"},
    {.bus = AGW_BUS_END},
};

static const struct agw_verb verbs[] = {
    {"read", NULL, "read the card on the reader again; replies with the masked record"},
    {NULL, NULL, NULL},
};

AGW_PLUGIN_DEFINE(
    .id = "sscard-pcsc",
    .device_class = "sscard",
    .version = "1.0",
    .description = "social security cards (社会保障卡) on a PC/SC reader: the public application, no PSAM",
    .ids = ids,
    .personal = personal,
    .transports = AGW_TRANSPORT_BIT(AGW_TRANSPORT_PCSC),
    .verbs = verbs,
    .open = sscard_open,
    .close = sscard_close,
    .command = sscard_command,
    .on_link = sscard_link);
