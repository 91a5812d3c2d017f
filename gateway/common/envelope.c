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

/* Built from its pieces for the reason given at envelope_encode_at. */
int envelope_topic(char *buf, size_t len, const struct event_meta *m)
{
    const char *parts[] = {m->cls, "/", m->subject, "/", m->event};
    size_t at = 0;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        size_t n = strlen(parts[i]);
        if (at + n >= len)
            return -1;
        memcpy(buf + at, parts[i], n);
        at += n;
    }
    buf[at] = '\0';
    return (int)at;
}

/* v's last `width` decimal digits at p; returns the end. */
static char *fixed_digits(char *p, unsigned long v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

void envelope_time(char buf[40], const struct timespec *ts)
{
    struct tm tm;
    gmtime_r(&ts->tv_sec, &tm);
    /* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ"; years stay four digits for the life of this code */
    char *p = fixed_digits(buf, (unsigned long)(tm.tm_year + 1900), 4);
    *p++ = '-';
    p = fixed_digits(p, (unsigned long)tm.tm_mon + 1, 2);
    *p++ = '-';
    p = fixed_digits(p, (unsigned long)tm.tm_mday, 2);
    *p++ = 'T';
    p = fixed_digits(p, (unsigned long)tm.tm_hour, 2);
    *p++ = ':';
    p = fixed_digits(p, (unsigned long)tm.tm_min, 2);
    *p++ = ':';
    p = fixed_digits(p, (unsigned long)tm.tm_sec, 2);
    *p++ = '.';
    p = fixed_digits(p, (unsigned long)ts->tv_nsec / 1000 % 1000000, 6);
    *p++ = 'Z';
    *p = '\0';
}

/* The envelope is built by copying its pieces: every string interpolated is a
 * validated name (no quotes, no backslashes) and the data is JSON already, so
 * no JSON library is needed; and not with snprintf, which on the publishing hot
 * path cost more than anything else (perf: a sixth of the gateway's CPU in a
 * flood, measuring and then writing every byte twice). */
struct piece {
    const char *p;
    size_t n;
};

static struct piece text(const char *s) { return (struct piece){s, strlen(s)}; }

/* Decimal digits of v into buf (at least 21 bytes), returned as a piece of it. */
static struct piece decimal(char *buf, unsigned long long v)
{
    char *end = buf + 21, *p = end;
    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    return (struct piece){p, (size_t)(end - p)};
}

size_t envelope_encode_at(const struct event_meta *m, const char *data_json, char **buf,
                          size_t *cap, size_t at)
{
    char when[40], epoch[21], seq[21];
    envelope_time(when, &m->time);
    struct piece e = decimal(epoch, m->epoch), q = decimal(seq, m->seq);
    struct piece source_tail = m->device_source ? text(m->subject) : (struct piece){"", 0};
    const struct piece pieces[] = {
        text("{\"specversion\":\"1.0\",\"id\":\""), text(m->gateway_id), text(":"), e, text(":"), q,
        text("\",\"source\":\"accessgw://"), text(m->gateway_id),
        m->device_source ? text("/") : (struct piece){"", 0}, source_tail,
        text("\",\"type\":\"accessgw."), text(m->cls), text("."), text(m->event),
        text("\",\"subject\":\""), text(m->subject), text("\",\"time\":\""), text(when),
        text("\",\"datacontenttype\":\"application/json\",\"epoch\":"), e, text(",\"seq\":"), q,
        text(",\"data\":"), text(data_json), text("}"),
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
        total += pieces[i].n;
    if (at + total + 1 > *cap) {
        char *grown = realloc(*buf, at + total + 1);
        if (!grown)
            return 0;
        *buf = grown;
        *cap = at + total + 1;
    }
    char *out = *buf + at;
    for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
        memcpy(out, pieces[i].p, pieces[i].n);
        out += pieces[i].n;
    }
    *out = '\0';
    return total;
}

char *envelope_encode(const struct event_meta *m, const char *data_json, size_t *len)
{
    char *out = NULL;
    size_t cap = 0, n = envelope_encode_at(m, data_json, &out, &cap, 0);
    if (len)
        *len = n;
    return out;
}

bool topic_has_prefix(const char *topic, char *const *prefixes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strncmp(topic, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return n == 0;
}
