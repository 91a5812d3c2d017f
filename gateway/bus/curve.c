#include "curve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "log.h"

static bool is_z85_key(const char *s, size_t n)
{
    if (n != Z85_KEY_LEN)
        return false;
    uint8_t bin[32];
    char copy[Z85_KEY_LEN + 1];
    memcpy(copy, s, Z85_KEY_LEN);
    copy[Z85_KEY_LEN] = '\0';
    return zmq_z85_decode(bin, copy) != NULL;
}

/* "public-key = "..."" in a ZPL certificate (czmq's zcert, pyzmq's
 * zmq.auth.load_certificate): the key's value, or NULL. */
static const char *zpl_value(char *line, const char *name)
{
    char *p = line + strspn(line, " \t");
    size_t n = strlen(name);
    if (strncmp(p, name, n) != 0)
        return NULL;
    p += n;
    p += strspn(p, " \t");
    if (*p != '=')
        return NULL;
    p++;
    p += strspn(p, " \t\"'");
    p[strcspn(p, "\"' \t\r\n")] = '\0';
    return p;
}

int curve_read_key_file(const char *path, enum curve_which which, char out[Z85_KEY_LEN + 1],
                        bool *legacy, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    const char *name = which == CURVE_SECRET ? "secret-key" : "public-key";
    char line[512];
    int lineno = 0, found = 0;
    *legacy = false;
    while (!found && fgets(line, sizeof(line), f)) {
        lineno++;
        size_t n = strcspn(line, "\r\n");
        if (lineno == 1 && is_z85_key(line, n)) { /* the one-line form of earlier versions */
            memcpy(out, line, Z85_KEY_LEN);
            *legacy = true;
            found = lineno;
            break;
        }
        const char *v = line[0] == '#' ? NULL : zpl_value(line, name);
        if (v && !is_z85_key(v, strlen(v))) {
            snprintf(err, errlen, "%s:%d: %s is not a 40-character Z85 key", path, lineno, name);
            fclose(f);
            return -1;
        }
        if (v) {
            memcpy(out, v, Z85_KEY_LEN);
            found = lineno;
        }
    }
    fclose(f);
    if (!found) {
        snprintf(err, errlen, "%s: no %s (expected a certificate made by accessgwctl keygen, "
                 "czmq or pyzmq)", path, name);
        return -1;
    }
    out[Z85_KEY_LEN] = '\0';
    return 0;
}

static int add_key(struct key_list *out, const char *key, const char *name)
{
    struct authorized_key *grown = realloc(out->keys, (out->n + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    out->keys = grown;
    struct authorized_key *k = &out->keys[out->n++];
    memcpy(k->z85, key, Z85_KEY_LEN);
    k->z85[Z85_KEY_LEN] = '\0';
    snprintf(k->name, sizeof(k->name), "%s", name);
    return 0;
}

int curve_load_authorized(const char *path, struct key_list *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[512];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        size_t n = strcspn(p, " \t");
        if (!is_z85_key(p, n)) {
            snprintf(err, errlen, "%s:%d: expected a 40-character Z85 public key, optionally "
                     "followed by a space and a name", path, lineno);
            rc = -1;
            break;
        }
        const char *name = p + n;
        while (*name == ' ' || *name == '\t')
            name++;
        rc = add_key(out, p, *name ? name : "(unnamed)");
    }
    fclose(f);
    if (rc < 0)
        curve_free_authorized(out);
    return rc;
}

void curve_free_authorized(struct key_list *keys)
{
    free(keys->keys);
    keys->keys = NULL;
    keys->n = 0;
}

/* Writes a ZPL certificate as czmq's zcert_save does, so czmq and pyzmq
 * (zmq.auth.load_certificate) read it; secret NULL for the public one. */
static int write_cert(const char *path, const char *public_key, const char *secret_key, mode_t mode,
                      gid_t group, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    /* the group first, then the mode that lets it read: never readable by another group */
    if (group != (gid_t)-1 && fchown(fd, (uid_t)-1, group) < 0) {
        snprintf(err, errlen, "%s: cannot give it to group %u: %s", path, (unsigned)group,
                 strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    fchmod(fd, mode); /* whatever the umask says */
    char text[1024];
    time_t now = time(NULL);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", localtime(&now));
    int len = snprintf(text, sizeof(text),
                       "#   ****  Generated on %s by accessgwctl  ****\n"
                       "#   ZeroMQ CURVE %s Certificate\n"
                       "#   %s\n\n"
                       "metadata\n"
                       "curve\n"
                       "    public-key = \"%s\"\n",
                       stamp, secret_key ? "**Secret**" : "Public",
                       secret_key ? "DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions."
                                  : "Exchange securely, or use a secure mechanism to verify the contents",
                       public_key);
    if (secret_key)
        len += snprintf(text + len, sizeof(text) - (size_t)len, "    secret-key = \"%s\"\n",
                        secret_key);
    ssize_t n = write(fd, text, (size_t)len);
    close(fd);
    explicit_bzero(text, sizeof(text));
    if (n != len) {
        snprintf(err, errlen, "%s: short write", path);
        return -1;
    }
    return 0;
}

int curve_keygen(const char *name, gid_t group, char *err, size_t errlen)
{
    char pub[Z85_KEY_LEN + 1], sec[Z85_KEY_LEN + 1];
    if (zmq_curve_keypair(pub, sec) < 0) {
        snprintf(err, errlen, "zmq_curve_keypair: %s (libzmq built without CURVE?)",
                 zmq_strerror(zmq_errno()));
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s.key", name);
    int rc = write_cert(path, pub, sec, group == (gid_t)-1 ? 0600 : 0640, group, err, errlen);
    explicit_bzero(sec, sizeof(sec));
    if (rc < 0)
        return -1;
    snprintf(path, sizeof(path), "%s.pub", name);
    return write_cert(path, pub, NULL, 0644, (gid_t)-1, err, errlen);
}

void *zap_bind(void *zctx, char *err, size_t errlen)
{
    void *s = zmq_socket(zctx, ZMQ_REP);
    if (!s || zmq_bind(s, "inproc://zeromq.zap.01") < 0) {
        snprintf(err, errlen, "ZAP handler: %s", zmq_strerror(zmq_errno()));
        if (s)
            zmq_close(s);
        return NULL;
    }
    return s;
}

/* ZAP request frames (RFC 27): version, request id, domain, address,
 * identity, mechanism, then credentials (the 32-byte client key for CURVE). */
#define ZAP_FRAMES 7

static const char *check_request(zmq_msg_t *f, int n, const struct key_list *keys, char *who,
                                 size_t wholen)
{
    snprintf(who, wholen, "?");
    if (n < 6 || zmq_msg_size(&f[0]) != 3 || memcmp(zmq_msg_data(&f[0]), "1.0", 3) != 0)
        return "400";
    size_t mlen = zmq_msg_size(&f[5]);
    const char *mech = zmq_msg_data(&f[5]);
    if (mlen == 4 && memcmp(mech, "NULL", 4) == 0)
        return "200"; /* only the private socket is CURVE; the others are plain by design */
    if (mlen != 5 || memcmp(mech, "CURVE", 5) != 0 || n < 7 || zmq_msg_size(&f[6]) != 32)
        return "400";
    char z85[Z85_KEY_LEN + 1];
    zmq_z85_encode(z85, zmq_msg_data(&f[6]), 32);
    snprintf(who, wholen, "%s", z85);
    for (size_t i = 0; i < keys->n; i++)
        if (strcmp(keys->keys[i].z85, z85) == 0) {
            snprintf(who, wholen, "%s", keys->keys[i].name);
            return "200";
        }
    return "400";
}

void zap_handle(void *zap, const struct key_list *keys)
{
    zmq_msg_t f[ZAP_FRAMES + 1];
    int n = 0;
    int more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, zap, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            break;
        }
        more = zmq_msg_more(&part);
        if (n < ZAP_FRAMES)
            f[n++] = part;
        else
            zmq_msg_close(&part);
    }
    if (n == 0)
        return;
    char who[64];
    const char *status = check_request(f, n, keys, who, sizeof(who));
    if (n >= 6 && zmq_msg_size(&f[5]) == 5)
        log_msg(status[0] == '2' ? 6 : 4, "private events: %s subscriber %s",
                status[0] == '2' ? "admitted" : "refused", who);
    const char *text = status[0] == '2' ? "OK" : "not an authorized key";
    /* the user id: the key's name, which every message of that peer then carries
     * (User-Id), so each delivery of a full record is audited under it */
    bool named = status[0] == '2' && n >= 7 && zmq_msg_size(&f[5]) == 5;
    zmq_send(zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(zap, n > 1 ? zmq_msg_data(&f[1]) : "", n > 1 ? zmq_msg_size(&f[1]) : 0, ZMQ_SNDMORE);
    zmq_send(zap, status, 3, ZMQ_SNDMORE);
    zmq_send(zap, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(zap, named ? who : "", named ? strlen(who) : 0, ZMQ_SNDMORE);
    zmq_send(zap, "", 0, 0);
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
}
