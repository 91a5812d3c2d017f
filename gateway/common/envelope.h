/* The CloudEvents 1.0 envelope and topic of every published event (pure). */
#ifndef AGW_ENVELOPE_H
#define AGW_ENVELOPE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct event_meta {
    const char *gateway_id;
    const char *subject;  /* device id, or the gateway id for gateway events */
    const char *cls;      /* idcard, device, gateway, ... */
    const char *event;    /* read, attached, heartbeat, ... */
    bool device_source;   /* source is accessgw://GW/DEVICE rather than accessgw://GW */
    uint64_t epoch, seq;
    struct timespec time; /* CLOCK_REALTIME */
};

/* Event and class names: 1-48 of a-z 0-9 _ - (safe in topics and JSON). */
bool envelope_valid_name(const char *name);
/* Whether topic starts with one of the n prefixes (a subscription's rule; n = 0: all). */
bool topic_has_prefix(const char *topic, char *const *prefixes, size_t n);
/* "<class>/<subject>/<event>"; returns the length, or -1 if it does not fit. */
int envelope_topic(char *buf, size_t len, const struct event_meta *m);
/* The structured-mode JSON object; data_json must be a JSON value ("{}" if
 * none).  Returns a malloc'd NUL-terminated string and its length. */
char *envelope_encode(const struct event_meta *m, const char *data_json, size_t *len);
/* The same, written at *buf + at and NUL-terminated, *buf grown (realloc) when
 * *cap is too small: so a history slot's buffer serves event after event.
 * Returns the envelope's length, 0 when out of memory (*buf is then kept). */
size_t envelope_encode_at(const struct event_meta *m, const char *data_json, char **buf,
                          size_t *cap, size_t at);
/* "2026-11-23T04:00:00.123456Z" */
void envelope_time(char buf[40], const struct timespec *ts);
#endif
