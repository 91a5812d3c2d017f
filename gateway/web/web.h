/* accessgw-web's pieces that are pure (tested in tests/unit/test_web.c) and
 * the console's files, compiled in from gateway/web/console/ by embed.cmake. */
#ifndef AGW_WEB_H
#define AGW_WEB_H
#include <stdbool.h>
#include <stddef.h>

#include "event_key.h"

struct web_asset {
    const char *path; /* "/index.html" */
    const char *type; /* "text/html; charset=utf-8" */
    const unsigned char *data;
    size_t len;
};

const struct web_asset *web_asset_find(const char *path);

/* "id: E:S\nevent: TOPIC\ndata: JSON\n\n" (malloc'd); *len its length. */
char *web_sse_frame(const char *topic, struct journal_key key, const char *json, size_t json_len,
                    size_t *len);
int web_main(int argc, char **argv);

/* "E:S" (Last-Event-ID, ?since=) -> key; false when malformed. */
bool web_parse_position(const char *text, struct journal_key *key);
#endif
