/* Responses (CORS, headers), the Host check, and what is kept of each connection. */
#define _GNU_SOURCE
#include "web_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zmq.h>

#include "log.h"
#include "monotonic.h"
#include <arpa/inet.h>
#include <sys/socket.h>

struct conn_state *state_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

/* The page's origin when another origin's page may read this answer: listed in [web]
 * allow_origins, and the request not one that only the console itself makes (the
 * follow-up list: staff ids, bad ratings).  Same-origin pages need no header. */
const char *allowed_origin(struct MHD_Connection *conn)
{
    struct conn_state *cs = state_of(conn);
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    if (!cs || !cs->cross_origin || !origin)
        return NULL;
    bool ok = word_listed(cs->w->conf.web.allow_origins, origin, strlen(origin), true);
    for (size_t i = 0; !ok && cs->app_origins && i < cs->w->n_apps; i++)
        ok = word_listed(cs->w->apps[i].conf->origins, origin, strlen(origin), true);
    return ok ? origin : NULL;
}

void add_common_headers(struct MHD_Connection *conn, struct MHD_Response *r,
                               const char *type)
{
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Vary", "Origin");
    const char *origin = allowed_origin(conn);
    if (origin)
        MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
}

/* A Server-Sent Events response (/events, /app/events), queued: a proxy must not buffer it. */
enum MHD_Result queue_event_stream(struct MHD_Connection *conn, struct MHD_Response *r)
{
    add_common_headers(conn, r, "text/event-stream");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    enum MHD_Result ok = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type,
                               const char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
                                                             MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    add_common_headers(conn, r, type);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"accessgw\"");
    enum MHD_Result ok = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ok;
}

enum MHD_Result respond_json(struct MHD_Connection *conn, unsigned status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    enum MHD_Result ok = text ? respond(conn, status, "application/json", text, strlen(text)) : MHD_NO;
    free(text);
    return ok;
}

enum MHD_Result respond_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                     const char *message)
{
    return respond_json(conn, status, json_pack("{s:n, s:b, s:{s:s, s:s}}", "id", "ok", 0, "error",
                                                "code", code, "message", message));
}

/* DNS rebinding: a page of any origin can make a browser send requests to this port
 * under a name the attacker controls; the Host header says which name.  An IP address
 * cannot be rebound, and localhost and this machine's own name are the hall's; other
 * names only when listed in [web] allow_hosts. */
bool host_allowed(struct web *w, struct MHD_Connection *conn)
{
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
    if (!host) /* HTTP/1.0; libmicrohttpd refuses HTTP/1.1 without one */
        return true;
    size_t len = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":");
    char name[256];
    if (len == 0 || len >= sizeof(name))
        return false;
    memcpy(name, host, len);
    name[len] = '\0';
    unsigned char addr[16];
    if (inet_pton(AF_INET, name, addr) == 1)
        return true;
    if (name[0] == '[' && len > 2) {
        name[len - 1] = '\0';
        if (inet_pton(AF_INET6, name + 1, addr) == 1)
            return true;
        name[len - 1] = ']';
    }
    const char *own = w->hostname;
    size_t own_len = strlen(own);
    return strcasecmp(name, "localhost") == 0 || (own_len && strcasecmp(name, own) == 0) ||
           (own_len && len == own_len + 6 && strncasecmp(name, own, own_len) == 0 &&
            strcasecmp(name + own_len, ".local") == 0) ||
           word_listed(w->conf.web.allow_hosts, name, len, true);
}

void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct web *w = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn_state *cs = calloc(1, sizeof(*cs));
        if (!cs)
            return;
        *cs = (struct conn_state){.next = w->conns, .w = w, .conn = conn};
        monotonic_now(&cs->head_since);
        w->conns = cs;
        *socket_context = cs;
        return;
    }
    struct conn_state *cs = *socket_context;
    for (struct conn_state **p = &w->conns; cs && *p; p = &(*p)->next)
        if (*p == cs) {
            *p = cs->next;
            break;
        }
    free(cs);
    *socket_context = NULL;
}

/* Connections whose request head is not whole within its deadline are shut down
 * (libmicrohttpd then closes them at its next turn). */
void cut_slow_heads(struct web *w)
{
    for (struct conn_state *cs = w->conns; cs; cs = cs->next) {
        if (cs->head_done || cs->cut || elapsed_ms(&cs->head_since) < HEAD_DEADLINE_MS)
            continue;
        const union MHD_ConnectionInfo *i =
            MHD_get_connection_info(cs->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (i)
            shutdown(i->connect_fd, SHUT_RDWR);
        cs->cut = true;
    }
}
