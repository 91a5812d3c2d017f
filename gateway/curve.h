/* CURVE keys and the ZAP handler that admits only authorized subscribers
 * to the private events endpoint. */
#ifndef AGW_CURVE_H
#define AGW_CURVE_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define Z85_KEY_LEN 40

struct authorized_key {
    char z85[Z85_KEY_LEN + 1];
    char name[64];
};

struct key_list {
    struct authorized_key *keys;
    size_t n;
};

/* Reads the first line of a keygen file: a 40-character Z85 key. */
int curve_read_key_file(const char *path, char out[Z85_KEY_LEN + 1], char *err, size_t errlen);
/* Parses an authorized_keys file; errors name the file and line. */
int curve_load_authorized(const char *path, struct key_list *out, char *err, size_t errlen);
void curve_free_authorized(struct key_list *keys);
/* Writes NAME.key (mode 0600) and NAME.pub; 0 or -1 with err. */
int curve_keygen(const char *name, gid_t group, char *err, size_t errlen);

/* ZAP: a REP socket bound at inproc://zeromq.zap.01 BEFORE any CURVE
 * server socket exists (without a handler, libzmq admits every client). */
void *zap_bind(void *zctx, char *err, size_t errlen);
/* Answers one waiting ZAP request. */
void zap_handle(void *zap, const struct key_list *keys);
#endif
