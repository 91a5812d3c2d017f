/*
 * announce: calls and announcements (叫号, 语音播报) in Mandarin.
 *
 * announce.call {"ticket":"A012","window":"3号窗口"} and announce.say {"text":...}
 * are answered at once: the call is queued (busy beyond `queue`) and
 * announce/<dev>/call is published, which the visitor display shows.  A
 * speaker thread of this plugin then synthesises the sentence with espeak-ng
 * (voice cmn) and plays it `repeat` times on the ALSA PCM `alsa_device`,
 * slower and louder with `elderly = yes`; the worker publishes
 * announce/<dev>/spoken with the length of the audio produced.  The worker
 * never waits for audio: it looks at what was spoken on its timer.
 *
 * espeak-ng keeps global state (one synthesiser per process): every synthesis
 * holds synth_lock, and only one call is synthesised at a time per process.
 */
#define _GNU_SOURCE
#include <alsa/asoundlib.h>
#include <errno.h>
#include <espeak-ng/speak_lib.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accessgw/plugin.h"
#include "callout.h"
#include "led.h"

#define QUEUE_LIMIT 64
#define TEXT_MAX CALLOUT_SENTENCE_MAX
#define GAP_MS 700          /* silence between two repetitions */
#define LOOK_MS 100         /* how often the worker looks for what was spoken */
#define RATE_NORMAL 165     /* words a minute: espeak-ng's cmn at its normal pace */
#define RATE_ELDERLY 140    /* 0.85 of it: at most 0.9 as the contract asks */

struct call {
    char text[TEXT_MAX];
    unsigned duration_ms;
    char error[256]; /* "" when it was played */
};

struct announcer {
    pthread_t speaker;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop, started;
    struct call queue[QUEUE_LIMIT]; /* waiting, in order */
    size_t n_queued;
    bool speaking;
    struct call done[QUEUE_LIMIT];  /* played (or failed), for the worker to publish */
    size_t n_done;
    /* config */
    char alsa_device[128];
    unsigned repeat, queue_max;
    int elderly;
    bool looking;
    bool speaks;     /* transport none, or an alsa_device given beside an LED screen */
    struct led *led; /* transport serial: the screen */
};

static struct announcer *self(struct agw_device *dev)
{
    return agw_userdata(dev);
}

/* ---- speech: espeak-ng into memory ---- */

static pthread_mutex_t synth_lock = PTHREAD_MUTEX_INITIALIZER;
static int sample_rate; /* 0: not initialised; -1: failed */
static short *synth_buf;
static size_t synth_len, synth_cap;

static int collect(short *wav, int n, espeak_EVENT *events)
{
    (void)events;
    if (!wav || n <= 0)
        return 0;
    if (synth_len + (size_t)n > synth_cap) {
        size_t cap = (synth_len + (size_t)n) * 2;
        short *grown = realloc(synth_buf, cap * sizeof(short));
        if (!grown)
            return 1; /* stop: out of memory */
        synth_buf = grown;
        synth_cap = cap;
    }
    memcpy(synth_buf + synth_len, wav, (size_t)n * sizeof(short));
    synth_len += (size_t)n;
    return 0;
}

/* The samples of text (mono S16 at *rate), a new buffer, or NULL with why. */
static short *synthesise(const char *text, bool elderly, size_t *n, int *rate, char *why,
                         size_t len)
{
    pthread_mutex_lock(&synth_lock);
    if (sample_rate == 0) {
        sample_rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, NULL,
                                        espeakINITIALIZE_DONT_EXIT);
        if (sample_rate <= 0 || espeak_SetVoiceByName("cmn") != EE_OK)
            sample_rate = -1;
        else
            espeak_SetSynthCallback(collect);
    }
    short *out = NULL;
    if (sample_rate < 0) {
        snprintf(why, len, "espeak-ng could not start with its Mandarin voice (cmn): is "
                 "espeak-ng-data installed?");
    } else {
        synth_len = 0;
        espeak_SetParameter(espeakRATE, elderly ? RATE_ELDERLY : RATE_NORMAL, 0);
        espeak_SetParameter(espeakVOLUME, elderly ? 130 : 100, 0);
        espeak_SetParameter(espeakWORDGAP, elderly ? 2 : 0, 0); /* 20 ms more between words */
        if (espeak_Synth(text, strlen(text) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, NULL,
                         NULL) != EE_OK || synth_len == 0) {
            snprintf(why, len, "espeak-ng produced no audio");
        } else if ((out = malloc(synth_len * sizeof(short)))) {
            memcpy(out, synth_buf, synth_len * sizeof(short));
            *n = synth_len;
            *rate = sample_rate;
        }
    }
    pthread_mutex_unlock(&synth_lock);
    return out;
}

/* ---- playback: ALSA ---- */

static int write_all(snd_pcm_t *pcm, const short *s, size_t n)
{
    while (n) {
        snd_pcm_sframes_t w = snd_pcm_writei(pcm, s, n);
        if (w < 0)
            w = snd_pcm_recover(pcm, (int)w, 1); /* an underrun: go on */
        if (w < 0)
            return (int)w;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Plays the samples `repeat` times with a gap; the audio's length in *ms. */
static int play(const char *device, const short *s, size_t n, int rate, unsigned repeat,
                unsigned *ms, char *why, size_t len)
{
    snd_pcm_t *pcm;
    int r = snd_pcm_open(&pcm, device, SND_PCM_STREAM_PLAYBACK, 0);
    if (r < 0) {
        snprintf(why, len, "ALSA device '%.60s': %.60s (aplay -l lists the devices)", device,
                 snd_strerror(r));
        return r;
    }
    r = snd_pcm_set_params(pcm, SND_PCM_FORMAT_S16, SND_PCM_ACCESS_RW_INTERLEAVED, 1,
                           (unsigned)rate, 1, 300000);
    size_t gap = (size_t)rate * GAP_MS / 1000, frames = 0;
    static const short silence[4096];
    for (unsigned i = 0; r == 0 && i < repeat; i++) {
        for (size_t g = i ? gap : 0; r == 0 && g > 0;) {
            size_t k = g < 4096 ? g : 4096;
            r = write_all(pcm, silence, k);
            g -= k;
            frames += k;
        }
        if (r == 0 && (r = write_all(pcm, s, n)) == 0)
            frames += n;
    }
    if (r == 0)
        snd_pcm_drain(pcm);
    else
        snprintf(why, len, "ALSA device '%.60s': %.60s", device, snd_strerror(r));
    snd_pcm_close(pcm);
    *ms = (unsigned)(frames * 1000 / (size_t)rate);
    return r;
}

static void speak(struct announcer *a, struct call *c)
{
    size_t n = 0;
    int rate = 0;
    short *s = synthesise(c->text, a->elderly, &n, &rate, c->error, sizeof(c->error));
    if (s) {
        play(a->alsa_device, s, n, rate, a->repeat, &c->duration_ms, c->error, sizeof(c->error));
        free(s);
    }
}

static void *speaker_main(void *arg)
{
    struct announcer *a = arg;
    pthread_mutex_lock(&a->lock);
    for (;;) {
        while (!a->stop && a->n_queued == 0)
            pthread_cond_wait(&a->wake, &a->lock);
        if (a->stop)
            break;
        struct call c = a->queue[0];
        memmove(a->queue, a->queue + 1, (a->n_queued - 1) * sizeof(a->queue[0]));
        a->n_queued--;
        a->speaking = true;
        pthread_mutex_unlock(&a->lock);
        c.error[0] = '\0';
        c.duration_ms = 0;
        speak(a, &c);
        pthread_mutex_lock(&a->lock);
        a->speaking = false;
        if (a->n_done < QUEUE_LIMIT)
            a->done[a->n_done++] = c;
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

/* ---- the worker: commands in, events out ---- */

static void look_while_busy(struct agw_device *dev, bool busy)
{
    struct announcer *a = self(dev);
    if (busy != a->looking)
        agw_set_timer(dev, busy ? LOOK_MS : 0);
    a->looking = busy;
}

static void announce_timer(struct agw_device *dev)
{
    struct announcer *a = self(dev);
    struct call done[QUEUE_LIMIT];
    pthread_mutex_lock(&a->lock);
    size_t n = a->n_done;
    memcpy(done, a->done, n * sizeof(done[0]));
    a->n_done = 0;
    bool busy = a->n_queued > 0 || a->speaking;
    pthread_mutex_unlock(&a->lock);
    for (size_t i = 0; i < n; i++) {
        if (done[i].error[0]) {
            agw_log(dev, AGW_LOG_WARNING, "a call was not heard: %s", done[i].error);
            agw_emit(dev, "error", json_pack("{s:s, s:s, s:s}", "reason", "audio", "text",
                                             done[i].text, "message", done[i].error));
        } else {
            agw_emit(dev, "spoken", json_pack("{s:s, s:I}", "text", done[i].text, "duration_ms",
                                              (json_int_t)done[i].duration_ms));
        }
    }
    look_while_busy(dev, busy);
}

/* Queues text; its place in the queue (1 = next), or -1 when the queue is full. */
static int enqueue(struct announcer *a, const char *text)
{
    pthread_mutex_lock(&a->lock);
    int place = -1;
    if (a->n_queued < a->queue_max) {
        struct call *c = &a->queue[a->n_queued++];
        snprintf(c->text, sizeof(c->text), "%s", text);
        place = (int)a->n_queued + (a->speaking ? 1 : 0);
        pthread_cond_signal(&a->wake);
    }
    pthread_mutex_unlock(&a->lock);
    return place;
}

static const char *string_arg(json_t *args, const char *key)
{
    json_t *v = json_object_get(args, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int refuse(json_t **result, int status, const char *message)
{
    *result = json_pack("{s:s}", "message", message);
    return status;
}

static int announce_command(struct agw_device *dev, const char *target, const char *verb,
                            json_t *args, json_t **result)
{
    (void)target;
    struct announcer *a = self(dev);
    char text[TEXT_MAX], err[160];
    const char *ticket = string_arg(args, "ticket"), *window = string_arg(args, "window");
    json_t *event;
    if (strcmp(verb, "call") == 0) {
        if (json_object_get(args, "window") && !window)
            return refuse(result, AGW_CMD_BAD_ARGS, "window must be text");
        if (callout_sentence(ticket, window, text, sizeof(text), err, sizeof(err)) < 0)
            return refuse(result, AGW_CMD_BAD_ARGS, err);
        event = json_pack("{s:s, s:s}", "ticket", ticket, "text", text);
        if (window && *window)
            json_object_set_new(event, "window", json_string(window));
    } else if (strcmp(verb, "say") == 0) {
        const char *said = string_arg(args, "text");
        long chars = said ? callout_chars(said) : -1;
        if (chars < 1 || chars > CALLOUT_TEXT_MAX)
            return refuse(result, AGW_CMD_BAD_ARGS,
                          "text must be 1-200 characters of text (characters, not bytes)");
        snprintf(text, sizeof(text), "%s", said);
        event = json_pack("{s:s}", "text", text);
    } else {
        return AGW_CMD_UNKNOWN_VERB;
    }
    int place = a->speaks ? enqueue(a, text) : 1;
    if (place < 0) {
        json_decref(event);
        snprintf(err, sizeof(err), "队列已满 the queue is full (%u waiting)", a->queue_max);
        return refuse(result, AGW_CMD_BUSY, err);
    }
    if (a->led) { /* the screen shows the ticket and the window, or the said text */
        char line[TEXT_MAX + 256]; /* the text (or ticket), a space and the window */
        bool call = strcmp(verb, "call") == 0;
        snprintf(line, sizeof(line), "%.1023s%s%.200s", call ? ticket : text,
                 call && window && *window ? " " : "", call && window ? window : "");
        led_show(dev, a->led, line);
    }
    agw_emit(dev, "call", event);
    look_while_busy(dev, a->speaks);
    *result = json_pack("{s:i, s:s}", "place", place, "text", text);
    return AGW_CMD_OK;
}

static void announce_close(struct agw_device *dev);

static int announce_open(struct agw_device *dev)
{
    struct announcer *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    agw_set_userdata(dev, a);
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->wake, NULL);
    const char *device = agw_config(dev, "alsa_device");
    snprintf(a->alsa_device, sizeof(a->alsa_device), "%s", device ? device : "default");
    bool screen = agw_transport_of(dev) == AGW_TRANSPORT_SERIAL;
    a->speaks = !screen || device;
    int r = 0;
    if (screen && !(a->led = led_open(dev)))
        r = -EINVAL;
    if (r < 0 || agw_config_uint(dev, "repeat", 2, 1, 5, &a->repeat) < 0 ||
        agw_config_uint(dev, "queue", 8, 1, QUEUE_LIMIT, &a->queue_max) < 0 ||
        agw_config_bool(dev, "elderly", 0, &a->elderly) < 0)
        r = -EINVAL;
    else if ((r = -pthread_create(&a->speaker, NULL, speaker_main, a)) == 0)
        a->started = true;
    if (r < 0) { /* close() is not called after a failed open() */
        announce_close(dev);
        return r;
    }
    agw_set_info(dev, "alsa_device", a->alsa_device);
    return 0;
}

static void announce_close(struct agw_device *dev)
{
    struct announcer *a = self(dev);
    if (!a)
        return;
    if (a->started) {
        pthread_mutex_lock(&a->lock);
        a->stop = true;
        pthread_cond_signal(&a->wake);
        pthread_mutex_unlock(&a->lock);
        pthread_join(a->speaker, NULL); /* at most the call being played */
    }
    led_close(a->led);
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->wake);
    free(a);
    agw_set_userdata(dev, NULL);
}

static const char *const config_keys[] = {"alsa_device", "repeat", "elderly", "queue",
                                          "profile", "profile_dir", "led_address", NULL};

static const struct agw_verb verbs[] = {
    {"call",
     "{\"type\":\"object\",\"required\":[\"ticket\"],\"additionalProperties\":false,"
     "\"properties\":{\"ticket\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9-]{1,16}$\"},"
     "\"window\":{\"type\":\"string\",\"maxLength\":32}}}",
     "call a ticket to a window: queued at once, then spoken in Mandarin (A012 -> A零一二)"},
    {"say",
     "{\"type\":\"object\",\"required\":[\"text\"],\"additionalProperties\":false,"
     "\"properties\":{\"text\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":200}}}",
     "say a text (at most 200 characters): queued at once, then spoken"},
    {NULL, NULL, NULL},
};

AGW_PLUGIN_DEFINE(
    .id = "announce",
    .device_class = "announce",
    .version = "1.0",
    .description = "calls and announcements in Mandarin: espeak-ng on an ALSA device",
    .config_keys = config_keys,
    .transports = AGW_TRANSPORT_BIT(AGW_TRANSPORT_NONE) | AGW_TRANSPORT_BIT(AGW_TRANSPORT_SERIAL),
    .verbs = verbs,
    .open = announce_open,
    .close = announce_close,
    .on_timer = announce_timer,
    .command = announce_command,
    .resources = AGW_RESOURCE_SOUND,
    /* the timer only reports what the speaker thread finished (its lock is never held
     * while speaking): it emits */
    .timers = AGW_TIMERS_SHARED);
