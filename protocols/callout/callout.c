/* The caller's sentence (callout.h). */
#include "callout.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

static const char *const digit_names[] = {"零", "一", "二", "三", "四",
                                          "五", "六", "七", "八", "九"};

long callout_chars(const char *text)
{
    long n = 0;
    const uint8_t *s = (const uint8_t *)text;
    size_t left = strlen(text);
    while (left) {
        size_t len = text_utf8_sequence(s, left);
        if (len == 0 || (len == 1 && (*s < 0x20 || *s == 0x7F)))
            return -1;
        s += len;
        left -= len;
        n++;
    }
    return n;
}

struct out {
    char *buf;
    size_t len, max;
    bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->len + n + 1 > o->max) {
        o->full = true;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* 1-999 as a Chinese number: 十, 十二, 二十, 一百零五, 一百一十. */
static void put_number(struct out *o, unsigned v)
{
    unsigned hundreds = v / 100, tens = v / 10 % 10, ones = v % 10;
    if (hundreds) {
        puts_(o, digit_names[hundreds]);
        puts_(o, "百");
        if (tens == 0 && ones)
            puts_(o, "零");
    }
    if (tens) {
        if (tens > 1 || hundreds)
            puts_(o, digit_names[tens]);
        puts_(o, "十");
    }
    if (ones || v == 0)
        puts_(o, digit_names[ones]);
}

static bool ticket_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > CALLOUT_TICKET_MAX)
        return false;
    for (; *t; t++)
        if (!((*t >= 'A' && *t <= 'Z') || (*t >= 'a' && *t <= 'z') || (*t >= '0' && *t <= '9') ||
              *t == '-'))
            return false;
    return true;
}

/* The window's text with each run of ASCII digits (up to 3) read as a number. */
static void put_window(struct out *o, const char *w)
{
    while (*w) {
        if (*w >= '0' && *w <= '9') {
            size_t n = strspn(w, "0123456789");
            if (n <= 3) {
                unsigned v = 0;
                for (size_t i = 0; i < n; i++)
                    v = v * 10 + (unsigned)(w[i] - '0');
                put_number(o, v);
            } else {
                for (size_t i = 0; i < n; i++) /* a long number: digit by digit */
                    puts_(o, digit_names[w[i] - '0']);
            }
            w += n;
            continue;
        }
        put(o, w, 1);
        w++;
    }
}

int callout_sentence(const char *ticket, const char *window, char *out, size_t outlen,
                     char *err, size_t errlen)
{
    if (!ticket || !ticket_ok(ticket)) {
        snprintf(err, errlen, "ticket must be 1-%d of A-Z a-z 0-9 -", CALLOUT_TICKET_MAX);
        return -1;
    }
    long wchars = window ? callout_chars(window) : 0;
    if (wchars < 0 || wchars > CALLOUT_WINDOW_MAX) {
        snprintf(err, errlen, "window must be text of at most %d characters", CALLOUT_WINDOW_MAX);
        return -1;
    }
    struct out o = {out, 0, outlen, false};
    if (outlen)
        out[0] = '\0';
    puts_(&o, "请");
    for (const char *t = ticket; *t; t++) {
        if (*t >= '0' && *t <= '9')
            puts_(&o, digit_names[*t - '0']); /* 012: 零一二, never 十二 */
        else if (*t != '-')
            put(&o, t, 1);
    }
    puts_(&o, "号");
    if (wchars > 0) {
        puts_(&o, "到");
        put_window(&o, window);
        puts_(&o, "办理");
    }
    if (o.full) {
        snprintf(err, errlen, "the sentence does not fit");
        return -1;
    }
    return 0;
}
