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

/* A key from a certificate in the ZPL form czmq and pyzmq use (public-key =
 * "...", secret-key = "..."), or from the one-line Z85 file of earlier
 * versions (*legacy set: callers say it is deprecated). */
enum curve_which { CURVE_PUBLIC, CURVE_SECRET };
int curve_read_key_file(const char *path, enum curve_which which, char out[Z85_KEY_LEN + 1],
                        bool *legacy, char *err, size_t errlen);
/* Parses an authorized_keys file; errors name the file and line. */
int curve_load_authorized(const char *path, struct key_list *out, char *err, size_t errlen);
void curve_free_authorized(struct key_list *keys);
/* Writes the certificates NAME.key (secret: mode 0600, or 0640 to group
 * when it is not -1) and NAME.pub; 0 or -1 with err. */
int curve_keygen(const char *name, gid_t group, char *err, size_t errlen);

/* ZAP: a REP socket bound at inproc://zeromq.zap.01 BEFORE any CURVE
 * server socket exists (without a handler, libzmq admits every client). */
void *zap_bind(void *zctx, char *err, size_t errlen);
/* Answers one waiting ZAP request. */
void zap_handle(void *zap, const struct key_list *keys);
#endif
