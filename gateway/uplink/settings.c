/* The uplink's settings: [uplink] read from the configuration. */
#include "uplink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

/* "a b  c" -> {"a","b","c"}; the strings point into a copy owned by list[0]'s block. */
char **split_words(const char *text, size_t *n)
{
    *n = 0;
    if (!text)
        return NULL;
    size_t len = strlen(text), words = 0;
    char **list = malloc((len / 2 + 2) * sizeof(char *) + len + 1);
    if (!list)
        return NULL;
    char *copy = (char *)(list + len / 2 + 2);
    memcpy(copy, text, len + 1);
    for (char *save = NULL, *w = strtok_r(copy, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save))
        list[words++] = w;
    *n = words;
    return list;
}

bool in_words(char **list, size_t n, const char *word)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], word) == 0)
            return true;
    return false;
}

bool forwarded_topic(const struct uplink *u, const char *topic)
{
    return topic_has_prefix(topic, u->forward, u->n_forward);
}

/* mqtt://host[:port] or mqtts://host[:port]; [v6] addresses in brackets. */
int parse_broker(struct uplink *u, char *err, size_t errlen)
{
    const char *b = u->conf.uplink.broker;
    u->tls = strncmp(b, "mqtts://", 8) == 0;
    const char *h = b + (u->tls ? 8 : 7);
    const char *end = h[0] == '[' ? strchr(h, ']') : NULL;
    const char *colon = strrchr(end ? end : h, ':');
    size_t hlen = colon ? (size_t)(colon - h) : strlen(h);
    if (h[0] == '[') {
        h++;
        hlen = end ? (size_t)(end - h) : 0;
    }
    char *tail = NULL;
    long port = colon ? strtol(colon + 1, &tail, 10) : (u->tls ? 8883 : 1883);
    if (hlen == 0 || hlen >= sizeof(u->host) || port < 1 || port > 65535 || (tail && *tail)) {
        snprintf(err, errlen, "%s: [uplink] broker '%s' is not mqtt://HOST:PORT", u->conf.path, b);
        return -1;
    }
    memcpy(u->host, h, hlen);
    u->host[hlen] = '\0';
    u->port = (int)port;
    return 0;
}
