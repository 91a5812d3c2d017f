#include "json_check.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Bounds of what is checked here; beyond them the answer is UNSURE. */
#define MAX_DEPTH 32
#define MAX_KEYS 128        /* keys of all the objects open at once */
#define MAX_NUMBER_CHARS 15 /* shorter numbers without an exponent fit jansson's types */

struct key {
    const char *at;
    size_t len;
};

struct checker {
    const unsigned char *s, *end, *p;
    enum json_check unsure; /* JSON_CHECK_UNSURE once a bound was passed */
    struct key keys[MAX_KEYS];
    size_t n_keys;
    int depth;
};

static void skip_space(struct checker *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int hex_value(unsigned char h)
{
    if (h >= '0' && h <= '9')
        return h - '0';
    if (h >= 'a' && h <= 'f')
        return h - 'a' + 10;
    if (h >= 'A' && h <= 'F')
        return h - 'A' + 10;
    return -1;
}

/* \uXXXX after the backslash and 'u': its code unit, or -1 */
static long read_hex4(struct checker *c)
{
    if (c->end - c->p < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(c->p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    c->p += 4;
    return v;
}

/* An escape after its backslash.  \u0000 and lone surrogates are refused, as
 * jansson refuses them. */
static bool escape(struct checker *c)
{
    if (c->p >= c->end)
        return false;
    unsigned char e = *c->p++;
    if (strchr("\"\\/bfnrt", e) && e)
        return true;
    if (e != 'u')
        return false;
    long u = read_hex4(c);
    if (u <= 0 || (u >= 0xDC00 && u <= 0xDFFF))
        return false;
    if (u < 0xD800 || u > 0xDBFF)
        return true;
    if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u')
        return false;
    c->p += 2;
    long low = read_hex4(c);
    return low >= 0xDC00 && low <= 0xDFFF;
}

/* One UTF-8 sequence starting at a byte >= 0x80: well formed, shortest form,
 * no surrogates, at most U+10FFFF (RFC 3629). */
static bool utf8(struct checker *c)
{
    unsigned char b = *c->p;
    int more;
    uint32_t cp;
    if (b >= 0xC2 && b <= 0xDF) {
        more = 1, cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        more = 2, cp = b & 0x0F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        more = 3, cp = b & 0x07;
    } else {
        return false;
    }
    if (c->end - c->p <= more)
        return false;
    for (int i = 1; i <= more; i++) {
        if ((c->p[i] & 0xC0) != 0x80)
            return false;
        cp = (cp << 6) | (c->p[i] & 0x3F);
    }
    if ((more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return false;
    c->p += more + 1;
    return true;
}

/* A string from its opening quote; *escaped: it held a backslash. */
static bool string(struct checker *c, bool *escaped)
{
    c->p++; /* the opening quote */
    *escaped = false;
    while (c->p < c->end) {
        unsigned char b = *c->p;
        if (b == '"') {
            c->p++;
            return true;
        }
        if (b < 0x20)
            return false;
        if (b == '\\') {
            *escaped = true;
            c->p++;
            if (!escape(c))
                return false;
        } else if (b >= 0x80) {
            if (!utf8(c))
                return false;
        } else {
            c->p++;
        }
    }
    return false;
}

static bool digits(struct checker *c)
{
    const unsigned char *start = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        c->p++;
    return c->p > start;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool number(struct checker *c)
{
    const unsigned char *start = c->p;
    bool exponent = false;
    if (*c->p == '-')
        c->p++;
    if (c->p < c->end && *c->p == '0')
        c->p++;
    else if (c->p >= c->end || *c->p < '1' || *c->p > '9' || !digits(c))
        return false;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (!digits(c))
            return false;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        exponent = true;
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (!digits(c))
            return false;
    }
    /* jansson refuses an integer past long long and a real past double */
    if (exponent || c->p - start > MAX_NUMBER_CHARS)
        c->unsure = JSON_CHECK_UNSURE;
    return true;
}

static bool literal(struct checker *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return false;
    c->p += n;
    return true;
}

static bool value(struct checker *c);

/* After a member or an element: a comma (1: another follows), the closing bracket (0),
 * or anything else (-1). */
static int separator(struct checker *c, unsigned char close)
{
    skip_space(c);
    if (c->p < c->end && (*c->p == ',' || *c->p == close))
        return *c->p++ == ',' ? 1 : 0;
    return -1;
}

/* A key of the object whose keys start at keys[first]: a duplicate is invalid. */
static bool new_key(struct checker *c, size_t first, const unsigned char *at, size_t len,
                    bool escaped)
{
    if (escaped || c->n_keys == MAX_KEYS) {
        c->unsure = JSON_CHECK_UNSURE; /* "a" and "\u0061" are one key */
        return true;
    }
    for (size_t i = first; i < c->n_keys; i++)
        if (c->keys[i].len == len && memcmp(c->keys[i].at, at, len) == 0)
            return false;
    c->keys[c->n_keys++] = (struct key){(const char *)at, len};
    return true;
}

static bool object(struct checker *c)
{
    size_t first = c->n_keys;
    c->p++; /* { */
    skip_space(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return true;
    }
    for (;;) {
        skip_space(c);
        if (c->p >= c->end || *c->p != '"')
            return false;
        const unsigned char *key = c->p + 1;
        bool escaped;
        if (!string(c, &escaped) || !new_key(c, first, key, (size_t)(c->p - 1 - key), escaped))
            return false;
        skip_space(c);
        if (c->p >= c->end || *c->p++ != ':')
            return false;
        if (!value(c))
            return false;
        int next = separator(c, '}');
        if (next == 0)
            c->n_keys = first; /* this object's keys are done with */
        if (next <= 0)
            return next == 0;
    }
}

static bool array(struct checker *c)
{
    c->p++; /* [ */
    skip_space(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return true;
    }
    for (;;) {
        if (!value(c))
            return false;
        int next = separator(c, ']');
        if (next <= 0)
            return next == 0;
    }
}

static bool value(struct checker *c)
{
    skip_space(c);
    if (c->p >= c->end)
        return false;
    bool escaped;
    switch (*c->p) {
    case '{':
    case '[': {
        if (c->depth == MAX_DEPTH) { /* deeper than events go: jansson decides */
            c->unsure = JSON_CHECK_UNSURE;
            return false;
        }
        c->depth++;
        bool ok = *c->p == '{' ? object(c) : array(c);
        c->depth--;
        return ok;
    }
    case '"': return string(c, &escaped);
    case 't': return literal(c, "true");
    case 'f': return literal(c, "false");
    case 'n': return literal(c, "null");
    default: return number(c);
    }
}

enum json_check json_check_object(const char *text, size_t len, size_t *error_at)
{
    const char *nul = memchr(text, '\0', len);
    if (nul) { /* jansson reads a NUL as the end in places; C strings hold none */
        if (error_at)
            *error_at = (size_t)(nul - text);
        return JSON_CHECK_UNSURE;
    }
    struct checker c; /* not zeroed whole: keys[] is written before it is read */
    c.s = c.p = (const unsigned char *)text;
    c.end = c.s + len;
    c.unsure = JSON_CHECK_OBJECT;
    c.n_keys = 0;
    c.depth = 0;
    skip_space(&c);
    bool ok = c.p < c.end && *c.p == '{' && value(&c);
    if (ok) {
        skip_space(&c);
        ok = c.p == c.end;
    }
    if (error_at)
        *error_at = (size_t)(c.p - c.s);
    if (c.unsure == JSON_CHECK_UNSURE)
        return JSON_CHECK_UNSURE; /* a bound passed, before or after any error */
    return ok ? JSON_CHECK_OBJECT : JSON_CHECK_INVALID;
}
