#include "hid_profile.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"

struct ctx {
    const char *file;
    char *err;
    size_t errlen;
};

static int fail(struct ctx *c, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, int line, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "%s:%d: %s", c->file, line, msg);
    return -1;
}

static int parse_number(const char *s, long min, long max, long *out)
{
    char *end;
    long v = strtol(s, &end, 0);
    if (end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* "FF" or "??" pairs separated by spaces */
static int parse_pattern(const char *s, uint8_t *bytes, uint8_t *mask, size_t max, size_t *len)
{
    *len = 0;
    while (*s) {
        if (isspace((unsigned char)*s)) {
            s++;
            continue;
        }
        if (*len == max)
            return -1;
        if (s[0] == '?' && s[1] == '?') {
            bytes[*len] = 0;
            mask[(*len)++] = 0;
            s += 2;
            continue;
        }
        if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
            return -1;
        char hex[3] = {s[0], s[1], 0};
        bytes[*len] = (uint8_t)strtoul(hex, NULL, 16);
        mask[(*len)++] = 0xFF;
        s += 2;
    }
    return *len ? 0 : -1;
}

/* hex bytes and at most one each of {value}, {address}, {checksum}, {text}, {length} */
static int parse_template(const char *s, int16_t *tokens, size_t max, size_t *len)
{
    static const struct { const char *name; int16_t token; } names[] = {
        {"{value}", PROFILE_VALUE}, {"{address}", PROFILE_ADDRESS}, {"{checksum}", PROFILE_CHECKSUM},
        {"{text}", PROFILE_TEXT}, {"{length}", PROFILE_LENGTH}};
    const size_t n_names = sizeof(names) / sizeof(names[0]);
    unsigned seen = 0;
    *len = 0;
    while (*s) {
        if (isspace((unsigned char)*s)) {
            s++;
            continue;
        }
        if (*len == max)
            return -1;
        size_t k = 0;
        while (k < n_names && strncmp(s, names[k].name, strlen(names[k].name)) != 0)
            k++;
        if (k < n_names) {
            if (seen & (1u << k))
                return -1;
            seen |= 1u << k;
            tokens[(*len)++] = names[k].token;
            s += strlen(names[k].name);
            continue;
        }
        if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
            return -1;
        char hex[3] = {s[0], s[1], 0};
        tokens[(*len)++] = (int16_t)strtoul(hex, NULL, 16);
        s += 2;
    }
    return *len ? 0 : -1;
}

static bool allowed(const char *const *actions, const char *a)
{
    if (!actions) /* listing profiles of every class: any action name */
        return true;
    for (; *actions; actions++)
        if (strcmp(*actions, a) == 0)
            return true;
    return false;
}

static int parse_match(struct ctx *c, const struct ini_entry *e, struct profile *p)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", e->value);
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save)) {
        unsigned vid, pid;
        char extra;
        if (strcmp(tok, "*") == 0) {
            p->match_any = true;
        } else if (sscanf(tok, "%4x:%4x%c", &vid, &pid, &extra) == 2 && p->n_match < PROFILE_MAX_MATCH) {
            p->match[p->n_match].vid = (uint16_t)vid;
            p->match[p->n_match++].pid = (uint16_t)pid;
        } else {
            return fail(c, e->line, "match: '%s' is not VID:PID (hex, e.g. 1209:A11E) or *", tok);
        }
    }
    return 0;
}

static int parse_header(struct ctx *c, const struct ini_section *s, struct profile *p)
{
    for (size_t i = 0; i < s->n_entries; i++) {
        const struct ini_entry *e = &s->entries[i];
        long v;
        if (strcmp(e->key, "name") == 0)
            snprintf(p->name, sizeof(p->name), "%s", e->value);
        else if (strcmp(e->key, "class") == 0)
            snprintf(p->device_class, sizeof(p->device_class), "%s", e->value);
        else if (strcmp(e->key, "transport") == 0) {
            if (strcmp(e->value, "serial") && strcmp(e->value, "hidraw") && strcmp(e->value, "evdev"))
                return fail(c, e->line, "transport must be serial, hidraw or evdev");
            snprintf(p->transport, sizeof(p->transport), "%s", e->value);
        }
        else if (strcmp(e->key, "match") == 0) {
            if (parse_match(c, e, p) < 0)
                return -1;
        } else if (strcmp(e->key, "usage_page") == 0) {
            if (parse_number(e->value, 1, 0xFFFF, &v) < 0)
                return fail(c, e->line, "usage_page must be a number such as 0x0C");
            p->usage_page = (uint16_t)v;
        } else if (strcmp(e->key, "interface") == 0) {
            if (parse_number(e->value, 0, 255, &v) < 0)
                return fail(c, e->line, "interface must be a USB interface number 0-255");
            p->interface = (int)v;
        } else if (strcmp(e->key, "product") == 0) {
            snprintf(p->product, sizeof(p->product), "%s", e->value);
        } else if (strcmp(e->key, "priority") == 0) {
            if (parse_number(e->value, -1000, 1000, &v) < 0)
                return fail(c, e->line, "priority must be -1000..1000");
            p->priority = (int)v;
        } else if (strcmp(e->key, "repeat_delay_ms") == 0 || strcmp(e->key, "repeat_ms") == 0) {
            if (parse_number(e->value, 20, 10000, &v) < 0)
                return fail(c, e->line, "%s must be 20..10000", e->key);
            *(strcmp(e->key, "repeat_ms") == 0 ? &p->repeat_ms : &p->repeat_delay_ms) = (unsigned)v;
        } else {
            return fail(c, e->line, "unknown key '%s' in [profile]", e->key);
        }
    }
    if (!p->name[0])
        return fail(c, s->line, "[profile] needs a name");
    if (!p->match_any && p->n_match == 0)
        return fail(c, s->line, "[profile] needs match = VID:PID ... (or * for any device)");
    return 0;
}

static int parse_binding(struct ctx *c, const struct ini_entry *e, const char *const *actions,
                         struct profile *p)
{
    if (p->n_bindings == PROFILE_MAX_BINDINGS)
        return fail(c, e->line, "more than %d bindings", PROFILE_MAX_BINDINGS);
    struct profile_binding *b = &p->bindings[p->n_bindings];
    memset(b, 0, sizeof(*b));
    b->line = e->line;
    const char *colon = strchr(e->key, ':');
    if (!colon)
        return fail(c, e->line, "'%s': write PAGE:USAGE (consumer:0x022D) or raw:BYTES", e->key);
    char page[32];
    snprintf(page, sizeof(page), "%.*s", (int)(colon - e->key), e->key);
    if (strcmp(page, "raw") == 0) {
        b->raw = true;
        if (parse_pattern(colon + 1, b->pattern, b->mask, PROFILE_PATTERN, &b->pattern_len) < 0)
            return fail(c, e->line, "raw pattern must be hex bytes or ?? (at most %d)", PROFILE_PATTERN);
    } else {
        long v;
        if (strcmp(page, "key") == 0)
            b->page = PROFILE_PAGE_KEY;
        else if (hid_page_parse(page, &b->page) < 0) {
            if (parse_number(page, 1, 0xFFFF, &v) < 0)
                return fail(c, e->line, "unknown usage page '%s' (consumer, keyboard, button, "
                            "generic_desktop, vendor or a number)", page);
            b->page = (uint16_t)v;
        }
        if (parse_number(colon + 1, 0, 0xFFFF, &v) < 0)
            return fail(c, e->line, "usage '%s' must be a number such as 0x022D", colon + 1);
        b->usage = (uint32_t)v;
    }
    int n = sscanf(e->value, "%31s %31s", b->action, b->arg);
    if (n < 1 || !allowed(actions, b->action))
        return fail(c, e->line, "unknown action '%s' for a %s device", e->value,
                    p->device_class[0] ? p->device_class : "this kind of");
    p->n_bindings++;
    return 0;
}

static int parse_output(struct ctx *c, const struct ini_entry *e, struct profile *p)
{
    if (p->n_outputs == PROFILE_MAX_OUTPUTS)
        return fail(c, e->line, "more than %d outputs", PROFILE_MAX_OUTPUTS);
    struct profile_output *o = &p->outputs[p->n_outputs];
    snprintf(o->command, sizeof(o->command), "%s", e->key);
    o->line = e->line;
    if (parse_template(e->value, o->tokens, sizeof(o->tokens) / sizeof(o->tokens[0]), &o->len) < 0)
        return fail(c, e->line, "output '%s' must be hex bytes with at most one each of {value}, "
                    "{address}, {checksum}, {text}, {length}", e->key);
    p->n_outputs++;
    return 0;
}

int profile_parse(const char *text, size_t len, const char *file, const char *const *actions,
                  struct profile *out, char *err, size_t errlen)
{
    struct ini_file ini;
    memset(out, 0, sizeof(*out));
    snprintf(out->file, sizeof(out->file), "%s", file);
    out->repeat_delay_ms = 500;
    out->repeat_ms = 250;
    out->interface = -1;
    if (ini_parse_text(text, len, file, &ini, err, errlen) < 0)
        return -1;
    struct ctx c = {file, err, errlen};
    int rc = 0;
    bool header = false;
    for (size_t i = 0; rc == 0 && i < ini.n_sections; i++) {
        const struct ini_section *s = &ini.sections[i];
        if (strcmp(s->name, "profile") == 0) {
            header = true;
            rc = parse_header(&c, s, out);
        } else if (strcmp(s->name, "input") == 0) {
            for (size_t k = 0; rc == 0 && k < s->n_entries; k++)
                rc = parse_binding(&c, &s->entries[k], actions, out);
        } else if (strcmp(s->name, "frame") == 0) {
            for (size_t k = 0; rc == 0 && k < s->n_entries; k++) {
                const struct ini_entry *e = &s->entries[k];
                if (out->n_frame == sizeof(out->frame) / sizeof(out->frame[0]))
                    rc = fail(&c, e->line, "too many [frame] keys");
                else
                    out->frame[out->n_frame++] = (struct profile_setting){"", "", e->line};
                if (rc == 0) {
                    snprintf(out->frame[out->n_frame - 1].key, 32, "%s", e->key);
                    snprintf(out->frame[out->n_frame - 1].value, 64, "%s", e->value);
                }
            }
        } else if (strcmp(s->name, "output") == 0) {
            for (size_t k = 0; rc == 0 && k < s->n_entries; k++)
                rc = parse_output(&c, &s->entries[k], out);
        } else {
            rc = fail(&c, s->line, "unknown section [%s] (expected [profile], [input], [output], "
                      "[frame])",
                      s->name);
        }
    }
    if (rc == 0 && !header)
        rc = fail(&c, 1, "no [profile] section");
    ini_free(&ini);
    return rc;
}

static bool matches(const struct profile *p, const struct profile_device *d)
{
    if ((p->usage_page && p->usage_page != d->usage_page) ||
        (p->interface >= 0 && p->interface != d->interface) ||
        (p->product[0] && !(d->product && strstr(d->product, p->product))))
        return false;
    if (p->match_any)
        return true;
    for (size_t i = 0; i < p->n_match; i++)
        if (p->match[i].vid == d->vid && p->match[i].pid == d->pid)
            return true;
    return false;
}

const struct profile *profile_select(const struct profile *profiles, size_t n, const char *name,
                                     const struct profile_device *dev)
{
    const struct profile *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct profile *p = &profiles[i];
        if (name) {
            if (strcmp(p->name, name) == 0)
                return p;
            continue;
        }
        /* an exact VID:PID beats a catch-all of the same priority */
        int score = p->priority * 2 + (p->match_any ? 0 : 1);
        if (matches(p, dev) &&
            (!best || score > best->priority * 2 + (best->match_any ? 0 : 1)))
            best = p;
    }
    return best;
}

const struct profile_binding *profile_find_usage(const struct profile *p, uint16_t page,
                                                 uint32_t usage)
{
    for (size_t i = 0; i < p->n_bindings; i++)
        if (!p->bindings[i].raw && p->bindings[i].page == page && p->bindings[i].usage == usage)
            return &p->bindings[i];
    return NULL;
}

const struct profile_binding *profile_find_raw(const struct profile *p, const uint8_t *report,
                                               size_t len)
{
    for (size_t i = 0; i < p->n_bindings; i++) {
        const struct profile_binding *b = &p->bindings[i];
        if (!b->raw || b->pattern_len > len)
            continue;
        size_t k = 0;
        while (k < b->pattern_len && (report[k] & b->mask[k]) == b->pattern[k])
            k++;
        if (k == b->pattern_len)
            return b;
    }
    return NULL;
}

const struct profile_output *profile_output(const struct profile *p, const char *command)
{
    for (size_t i = 0; i < p->n_outputs; i++)
        if (strcmp(p->outputs[i].command, command) == 0)
            return &p->outputs[i];
    return NULL;
}

size_t profile_render_text(const struct profile_output *o, uint8_t value, uint8_t address,
                           const uint8_t *text, size_t text_len, uint8_t *out, size_t max,
                           int *checksum_at)
{
    if (text_len > 255)
        text_len = 255;
    *checksum_at = -1;
    size_t n = 0;
    for (size_t i = 0; i < o->len; i++) {
        int16_t t = o->tokens[i];
        size_t need = t == PROFILE_TEXT ? text_len : 1;
        if (n + need > max)
            return 0;
        if (t == PROFILE_TEXT) {
            if (text_len)
                memcpy(out + n, text, text_len);
            n += text_len;
            continue;
        }
        if (t == PROFILE_CHECKSUM)
            *checksum_at = (int)n;
        out[n++] = t >= 0 ? (uint8_t)t : t == PROFILE_VALUE ? value : t == PROFILE_ADDRESS ? address
                 : t == PROFILE_LENGTH ? (uint8_t)text_len : 0;
    }
    return n;
}

size_t profile_render(const struct profile_output *o, uint8_t value, uint8_t address, uint8_t *out,
                      size_t max, int *checksum_at)
{
    return profile_render_text(o, value, address, NULL, 0, out, max, checksum_at);
}
