/* LED screens (led.h).  No public protocol exists for the screens halls buy, so, as
 * for the evaluation pads, the frame is data: a profile's [output] `show` template
 * (start bytes, {address}, {length}, {text}, {checksum}, end bytes), its [frame]
 * checksum and the text's `encoding` (gbk, as most controllers take, or utf-8). */
#include "led.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "padframe.h"
#include "profile_dirs.h"
#include "text.h"

struct led {
    struct profile_set profiles;
    const struct profile *profile;
    const struct profile_output *show;
    struct pad_format fmt;
    bool gbk;
    unsigned address;
};

static struct led *refuse(struct agw_device *dev, struct led *l, const char *why)
{
    agw_set_state(dev, AGW_STATE_ERROR, why);
    profiles_free(&l->profiles);
    free(l);
    return NULL;
}

struct led *led_open(struct agw_device *dev)
{
    static const char *const no_input[] = {NULL};
    struct led *l = calloc(1, sizeof(*l));
    char err[120], why[300];
    if (!l || agw_config_uint(dev, "led_address", 1, 0, 255, &l->address) < 0) {
        free(l);
        return NULL;
    }
    l->gbk = true;
    profiles_load(dev, agw_config(dev, "profile_dir"), "announce", no_input, &l->profiles);
    if (!(l->profile = profiles_choose(dev, &l->profiles, 0, 0, 0))) {
        profiles_free(&l->profiles);
        free(l);
        return NULL; /* profiles_choose said why */
    }
    if (!(l->show = profile_output(l->profile, "show"))) {
        snprintf(why, sizeof(why), "%.200s: no [output] show = ... {text} ...", l->profile->file);
        return refuse(dev, l, why);
    }
    for (size_t i = 0; i < l->profile->n_frame; i++) {
        const struct profile_setting *s = &l->profile->frame[i];
        if (strcmp(s->key, "encoding") == 0 && (strcmp(s->value, "gbk") == 0 || strcmp(s->value, "utf-8") == 0)) {
            l->gbk = strcmp(s->value, "gbk") == 0;
        } else if (strcmp(s->key, "encoding") == 0 ||
                   pad_format_set(&l->fmt, s->key, s->value, err, sizeof(err)) < 0) {
            snprintf(why, sizeof(why), "%.100s:%d: %s", l->profile->file, s->line,
                     strcmp(s->key, "encoding") == 0 ? "encoding must be gbk or utf-8" : err);
            return refuse(dev, l, why);
        }
    }
    return l;
}

void led_close(struct led *l)
{
    if (!l)
        return;
    profiles_free(&l->profiles);
    free(l);
}

/* At most max bytes of text in the screen's encoding, never half a character. */
static size_t encode(const struct led *l, const char *text, uint8_t *out, size_t max)
{
    if (!l->gbk) {
        size_t n = strlen(text) < max ? strlen(text) : max;
        while (n && n < strlen(text) && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
        memcpy(out, text, n);
        return n;
    }
    return text_utf8_to_gbk(text, out, max);
}

int led_show(struct agw_device *dev, struct led *l, const char *text)
{
    uint8_t bytes[255], frame[512];
    size_t n = encode(l, text, bytes, sizeof(bytes));
    int checksum_at;
    size_t len = profile_render_text(l->show, 0, (uint8_t)l->address, bytes, n, frame,
                                     sizeof(frame), &checksum_at);
    if (len == 0) {
        agw_log(dev, AGW_LOG_WARNING, "the LED frame does not fit in %zu bytes", sizeof(frame));
        return -EMSGSIZE;
    }
    if (checksum_at >= 0)
        pad_put_checksum(&l->fmt, frame, len, (size_t)checksum_at);
    ssize_t w = agw_write(dev, frame, len);
    if (w < 0)
        agw_log(dev, AGW_LOG_WARNING, "the LED screen did not take the call: %s", strerror((int)-w));
    return w < 0 ? (int)w : 0;
}
