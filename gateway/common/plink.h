/*
 * The plugin link: what accessgwd and a plugin host process (one per plugin,
 * docs/PROCESSES.md) say to each other over their SOCK_SEQPACKET socketpair.
 * A pure codec, no I/O.
 *
 * A record (one send) holds one or more messages, each
 *     u32 length (of what follows, little-endian) | u8 type | fields
 * with strings as u16 length + bytes + NUL (no NUL inside), JSON texts as
 * u32 length + bytes + NUL, numbers little-endian.  Hand-written rather than
 * JSON or czmq's zproto because the parent must treat every byte from a child
 * as hostile (a plugin may be broken or closed source): this format has one
 * bounds-checked reader, and events cross it without being parsed again.
 */
#ifndef AGW_PLINK_H
#define AGW_PLINK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Biggest record either side sends or accepts (the socket buffer is set to hold it). */
#define PLINK_RECORD_MAX (192 * 1024)
/* A record is sent once it holds this much, so a flood of events costs one send per batch. */
#define PLINK_BATCH_BYTES (56 * 1024)
#define PLINK_MAX_SETTINGS 256

enum plink_type {
    /* accessgwd -> plugin host */
    PLINK_ATTACH = 1,  /* start a device, with the state it saved last */
    PLINK_DETACH = 2,  /* stop it (removed: the hardware is gone) */
    PLINK_COMMAND = 3, /* a device verb; the reply carries the token back */
    PLINK_FD = 4,      /* the device node asked for by OPEN: its fd rides in the record's
                        * SCM_RIGHTS, or status is an errno and s1 says why */
    PLINK_TICK = 6,    /* about once a second: look for hung devices.  accessgwd sees the
                          host is alive by its reading these (nothing is sent back: an idle
                          gateway wakes once a second in all) */
    PLINK_SAVED = 5,   /* the answer to SAVE: status 0 once the file is on disk, else an
                        * errno and s1 says why */
    /* plugin host -> accessgwd */
    PLINK_EVENT = 16,    /* publish <cls>/<subject>/<event> */
    PLINK_REPLY = 17,    /* the answer to a command */
    PLINK_EXITED = 18,   /* a device's worker has stopped */
    /* 19 was DEGRADED, when hosts wrote state files themselves */
    PLINK_SNAPSHOT = 20, /* a device's state, info and children, after any change */
    PLINK_OPEN = 22,     /* open this device's node for me (a host opens no device itself) */
    PLINK_SAVE = 23,     /* keep this device's state (accessgwd writes the file) */
};

struct plink_setting {
    const char *key, *value, *where; /* where: "" when none */
};

struct plink_attach {
    const char *id, *path, *location, *syspath; /* "" when none */
    const char *state; /* the JSON object saved last with save_state, "" when none */
    uint8_t transport;
    uint32_t baud;
    uint16_t n_settings;
    struct plink_setting settings[PLINK_MAX_SETTINGS];
};

/* One decoded message.  Strings and texts point into the record (they are
 * NUL-terminated there); json may be "" when a message has none. */
struct plink_msg {
    enum plink_type type;
    const char *device;  /* every type but TICK */
    const char *s1, *s2; /* COMMAND: target, verb. EVENT: cls, event. SNAPSHOT, FD, SAVED: reason */
    const char *json;    /* COMMAND: args. EVENT: data. REPLY: result. SNAPSHOT: info. SAVE: state */
    const char *json2;   /* SNAPSHOT: children (an array of {id, location}) */
    uint64_t token;      /* COMMAND, REPLY */
    int64_t sec;         /* EVENT: the time the device saw it */
    uint32_t nsec;
    int32_t status;      /* REPLY: enum agw_cmd_status. SNAPSHOT: enum agw_state. FD, SAVED: errno */
    bool flag;           /* DETACH: removed. EVENT: holds personal fields */
    struct plink_attach *attach; /* ATTACH, in caller-provided storage */
};

/* A record being written.  Appends fail (and stay failed) past `cap`. */
struct plink_writer {
    uint8_t *buf;
    size_t len, cap;
    bool overflow;
};

void plink_writer_init(struct plink_writer *w, uint8_t *buf, size_t cap);
/* Each appends one message; false (and nothing appended) when it does not fit. */
bool plink_put_attach(struct plink_writer *w, const struct plink_attach *a);
bool plink_put_detach(struct plink_writer *w, const char *device, bool removed);
bool plink_put_command(struct plink_writer *w, const char *device, const char *target,
                       const char *verb, uint64_t token, const char *args_json);
bool plink_put_event(struct plink_writer *w, const char *subject, const char *cls,
                     const char *event, bool personal, int64_t sec, uint32_t nsec,
                     const char *data_json);
bool plink_put_reply(struct plink_writer *w, const char *device, uint64_t token, int32_t status,
                     const char *result_json);
bool plink_put_exited(struct plink_writer *w, const char *device);
/* FD and SAVED: an errno (0: done) and why it failed */
bool plink_put_fd(struct plink_writer *w, const char *device, int32_t error, const char *reason);
bool plink_put_saved(struct plink_writer *w, const char *device, int32_t error, const char *reason);
bool plink_put_open(struct plink_writer *w, const char *device);
bool plink_put_save(struct plink_writer *w, const char *device, const char *state_json);
bool plink_put_tick(struct plink_writer *w);
bool plink_put_snapshot(struct plink_writer *w, const char *device, int32_t state,
                        const char *reason, const char *info_json, const char *children_json);

/* Reads the message at *off of a record into *m and moves *off past it.
 * 1: a message; 0: the record is done; -1: malformed, with the byte offset
 * and what is wrong in err (nothing after it can be trusted). */
int plink_next(const uint8_t *rec, size_t len, size_t *off, struct plink_msg *m,
               struct plink_attach *attach_storage, char *err, size_t errlen);
#endif
