#include "envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool envelope_valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 48)
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
            return false;
    return true;
}

int envelope_topic(char *buf, size_t len, const struct event_meta *m)
{
    int n = snprintf(buf, len, "%s/%s/%s", m->cls, m->subject, m->event);
    return (n < 0 || (size_t)n >= len) ? -1 : n;
}

void envelope_time(char buf[40], const struct timespec *ts)
{
    struct tm tm;
    gmtime_r(&ts->tv_sec, &tm);
    /* years stay four digits for the life of this code; the cast keeps gcc's range check quiet */
    snprintf(buf, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, (long)((unsigned long)ts->tv_nsec / 1000 % 1000000));
}

/* Every string interpolated here is a validated name (no quotes, no
 * backslashes), so building the envelope by hand is safe and much cheaper
 * than a JSON library on the publishing hot path. */
char *envelope_encode(const struct event_meta *m, const char *data_json, size_t *len)
{
    char when[40];
    envelope_time(when, &m->time);
    char source[160];
    if (m->device_source)
        snprintf(source, sizeof(source), "accessgw://%s/%s", m->gateway_id, m->subject);
    else
        snprintf(source, sizeof(source), "accessgw://%s", m->gateway_id);
#define ENVELOPE_FMT                                                                          \
    "{\"specversion\":\"1.0\",\"id\":\"%s:%llu:%llu\",\"source\":\"%s\","                            \
    "\"type\":\"accessgw.%s.%s\",\"subject\":\"%s\",\"time\":\"%s\","                               \
    "\"datacontenttype\":\"application/json\",\"epoch\":%llu,\"seq\":%llu,\"data\":%s}"
    unsigned long long ep = m->epoch, sq = m->seq;
    int n = snprintf(NULL, 0, ENVELOPE_FMT, m->gateway_id, ep, sq, source, m->cls, m->event, m->subject,
                     when, ep, sq, data_json);
    if (n < 0)
        return NULL;
    char *out = malloc((size_t)n + 1);
    if (!out)
        return NULL;
    snprintf(out, (size_t)n + 1, ENVELOPE_FMT, m->gateway_id, ep, sq, source, m->cls, m->event, m->subject,
             when, ep, sq, data_json);
    if (len)
        *len = (size_t)n;
    return out;
}
