/* What the files of accessgw-uplink share, from the bottom up: settings.c
 * ([uplink] of the configuration), cursor.c
 * (where the broker has acknowledged up to, and the window of what it has
 * not), commands.c (the platform's commands to the gateway, and their
 * replies), broker.c (the MQTT connection), uplink.c (configuration,
 * events, the loop, main: the top).  One thread. */
#ifndef AGW_UPLINK_H
#define AGW_UPLINK_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <zmq.h>

#include "config.h"
#include "event_key.h"
#include "control_client.h"
#include "feed.h"

#define CURSOR_SAVE_MS 200
#define RECONNECT_MIN_MS 500
#define RECONNECT_MAX_MS 30000
#define MAX_PENDING_COMMANDS 64
/* Replies sent to the broker and not yet acknowledged by it: past this, a command is
 * answered busy (at QoS 0, itself unqueued) instead of growing libmosquitto's queue. */
#define MAX_REPLIES_IN_FLIGHT 64
#define SESSION_EXPIRY_S 3600
#define CONTENT_TYPE "application/cloudevents+json"
/* Where the cursor was, once a second: a broker that acknowledged an event and
 * then lost it (killed before its autosave, restarted without persistence)
 * gets the last resend_s seconds again.  1024 seconds back at least. */
#define CHECKPOINTS 1024

struct slot {
    struct journal_key key;
    int mid;
    bool done;
};

/* What the broker has not acknowledged yet, in order. */
struct window {
    struct slot *slots;
    size_t cap, head, n;
};

struct checkpoint {
    long long at_ms; /* monotonic */
    struct journal_key key;
};

struct command {
    bool used;
    unsigned long no;
    json_t *client_id;    /* the platform's "id", given back in the reply */
    char *response_topic;
    void *correlation;
    uint16_t correlation_len;
};

struct uplink {
    struct gateway_conf conf;
    const char *gateway_id, *client_id;
    char host[256];
    int port;
    bool tls;
    char **forward, **commands;
    size_t n_forward, n_commands;
    char control_topic[320], online_topic[320];
    struct mosquitto *mosq;
    bool connected, v5;
    bool need_connect; /* no session: connect (again) once reconnect_at has come */
    unsigned backoff_ms;
    struct timespec reconnect_at;
    void *zctx;
    struct control_client control; /* replay and the platform's commands, each with its callback */
    struct feed feed;
    struct window window;
    struct journal_key cursor; /* every event up to it acknowledged by the broker */
    struct checkpoint checkpoints[CHECKPOINTS];
    size_t n_checkpoints, first_checkpoint;
    struct journal_key saved; /* the resume point last written to cursor_path */
    char cursor_path[4200];
    bool cursor_dirty;
    struct timespec cursor_save_at;
    struct command pending[MAX_PENDING_COMMANDS];
    int reply_mids[MAX_REPLIES_IN_FLIGHT]; /* 0: free */
    unsigned replies_in_flight;
    unsigned long command_no;
    unsigned long forwarded, acked, refused;
    int sigfd;
    bool running;
};

/* settings.c */
char **split_words(const char *text, size_t *n);
bool in_words(char **list, size_t n, const char *word);
bool forwarded_topic(const struct uplink *u, const char *topic);
int parse_broker(struct uplink *u, char *err, size_t errlen);

/* cursor.c */
void load_cursor(struct uplink *u);
void add_checkpoint(struct uplink *u, long long at_ms, struct journal_key key);
struct journal_key resume_point(const struct uplink *u);
void save_cursor(struct uplink *u);
void save_cursor_if_due(struct uplink *u);
bool window_full(const struct window *w);
void window_push(struct window *w, struct journal_key key, int mid, bool done);
void advance_cursor(struct uplink *u);

/* commands.c */
void handle_command(struct uplink *u, const struct mosquitto_message *msg, const mosquitto_property *props);

/* broker.c */
void publish_online(struct uplink *u, bool online);
void try_connect(struct uplink *u);
int setup_mqtt(struct uplink *u, char *err, size_t errlen);
void drive_mqtt(struct uplink *u, short revents);

#endif
