/* The routes accessgw-web answers, as a table, and the dispatch libmicrohttpd calls. */
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

enum route_auth { PUBLIC, STAFF_TOKEN, STAFF_OR_APP_TOKEN, APP_TOKEN };

/* A GET handler answers at once; a POST handler is called with the whole body. */
typedef enum MHD_Result (*get_handler)(struct web *w, struct MHD_Connection *conn, const char *url);
typedef enum MHD_Result (*post_handler)(struct web *w, struct request *q);

struct web_route {
    const char *method; /* "GET" (HEAD too) or "POST" */
    const char *path;   /* exact; NULL: any path no other row names (the console's files) */
    enum route_auth auth;
    bool same_origin;   /* never answers another origin, whatever [web] allow_origins says */
    get_handler get;
    post_handler post;
};

static enum MHD_Result get_events(struct web *w, struct MHD_Connection *conn, const char *url)
{
    (void)url;
    return start_events(w, conn);
}

static enum MHD_Result get_status(struct web *w, struct MHD_Connection *conn, const char *url)
{
    (void)url;
    struct journal_key newest = ring_newest(&w->ring);
    return respond_json(conn, 200, json_pack("{s:s, s:I, s:I, s:b}", "gateway", w->conf.id, "epoch",
                                             (json_int_t)newest.epoch, "seq",
                                             (json_int_t)newest.seq, "live", w->ring.have_base));
}

static enum MHD_Result get_followups(struct web *w, struct MHD_Connection *conn, const char *url)
{
    (void)url;
    return respond_json(conn, 200, json_pack("{s:O}", "items", w->followups));
}

static enum MHD_Result get_app_events(struct web *w, struct MHD_Connection *conn, const char *url)
{
    (void)url;
    return start_app_events(w, conn); /* it checks the app's token and origin itself */
}

static enum MHD_Result get_asset(struct web *w, struct MHD_Connection *conn, const char *url)
{
    (void)w;
    /* the console at /, the visitor display at /display (docs/CONTRACT.md) */
    const struct web_asset *a = web_asset_find(strcmp(url, "/") == 0          ? "/index.html"
                                               : strcmp(url, "/display") == 0 ? "/display.html"
                                                                              : url);
    if (!a)
        return respond_error(conn, 404, "not_found", "no such page");
    return respond(conn, 200, a->type, (const char *)a->data, a->len);
}

/* docs/CONTRACT.md, "Web endpoint" */
static const struct web_route routes[] = {
    {"GET", "/events", PUBLIC, false, get_events, NULL},
    {"GET", "/status", PUBLIC, false, get_status, NULL},
    {"GET", "/followups", PUBLIC, true, get_followups, NULL},
    {"GET", "/app/events", APP_TOKEN, false, get_app_events, NULL},
    {"POST", "/control", STAFF_OR_APP_TOKEN, false, NULL, forward_control},
    {"POST", "/followups", STAFF_TOKEN, true, NULL, mark_handled},
    {"GET", NULL, PUBLIC, false, get_asset, NULL},
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

static bool is_method(const char *a, const char *b)
{
    return strcmp(a, b) == 0 || (strcmp(a, "HEAD") == 0 && strcmp(b, "GET") == 0);
}

static bool path_named(const char *url)
{
    for (size_t i = 0; i < N_ROUTES; i++)
        if (routes[i].path && strcmp(routes[i].path, url) == 0)
            return true;
    return false;
}

/* The row for method and url; NULL with *methods the ones that path has (for 405/Allow). */
static const struct web_route *find_route(const char *method, const char *url, char *methods,
                                          size_t len)
{
    bool named = path_named(url);
    snprintf(methods, len, "OPTIONS");
    for (size_t i = 0; i < N_ROUTES; i++) {
        const struct web_route *r = &routes[i];
        if (r->path ? strcmp(r->path, url) != 0 : named)
            continue;
        if (is_method(method, r->method))
            return r;
        size_t used = strlen(methods);
        snprintf(methods + used, len - used, ", %s%s", r->method,
                 strcmp(r->method, "GET") == 0 ? ", HEAD" : "");
    }
    return NULL;
}

/* Every method some route has, for the Allow of a method no route has. */
static void all_methods(char *methods, size_t len)
{
    snprintf(methods, len, "OPTIONS");
    for (size_t i = 0; i < N_ROUTES; i++) {
        bool said = false;
        for (size_t k = 0; k < i && !said; k++)
            said = strcmp(routes[k].method, routes[i].method) == 0;
        size_t used = strlen(methods);
        if (!said)
            snprintf(methods + used, len - used, ", %s%s", routes[i].method,
                     strcmp(routes[i].method, "GET") == 0 ? ", HEAD" : "");
    }
}

/* "POST /control or /followups": where a POST to no route's path is pointed. */
static void post_paths(char *text, size_t len)
{
    snprintf(text, len, "POST");
    const char *sep = " ";
    for (size_t i = 0; i < N_ROUTES; i++) {
        if (strcmp(routes[i].method, "POST") != 0 || !routes[i].path)
            continue;
        size_t used = strlen(text);
        snprintf(text + used, len - used, "%s%s", sep, routes[i].path);
        sep = " or ";
    }
}

static enum MHD_Result refuse_method(struct MHD_Connection *conn, const char *method,
                                     const char *allow)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "%.16s: this path answers %s", method, allow);
    struct MHD_Response *r = NULL;
    json_t *body = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", "bad_request",
                             "message", msg);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text)
        r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    add_common_headers(conn, r, "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ok = MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result refuse_unauthorized(struct web *w, struct MHD_Connection *conn)
{
    if (w->token_problem)
        return respond_error(conn, 503, "unavailable", w->token_problem);
    return respond_error(conn, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                         w->token ? "令牌错误 wrong or missing token (Authorization: Bearer <token>)"
                                  : "no [web] token_file: commands are off");
}

/* A browser's CORS preflight: for a listed origin, with the methods of that path. */
static enum MHD_Result answer_preflight(struct MHD_Connection *conn, const char *url)
{
    char methods[96];
    if (!allowed_origin(conn))
        return respond_error(conn, 403, "forbidden", "not an origin listed in [web] allow_origins");
    find_route("OPTIONS", url, methods, sizeof(methods));
    struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    add_common_headers(conn, r, "text/plain");
    MHD_add_response_header(r, "Access-Control-Allow-Methods", methods);
    MHD_add_response_header(r, "Access-Control-Allow-Headers",
                            "Authorization, Content-Type, Last-Event-ID");
    enum MHD_Result ok = MHD_queue_response(conn, MHD_HTTP_NO_CONTENT, r);
    MHD_destroy_response(r);
    return ok;
}

/* A POST is called by libmicrohttpd once with the head, then with each piece of
 * the body, then with none; a forwarded one again when it is resumed. */
static enum MHD_Result serve_post(struct web *w, const struct web_route *route,
                                  struct MHD_Connection *conn, const char *upload,
                                  size_t *upload_size, void **state)
{
    struct request *q = *state;
    if (!q) {
        const struct web_app *app = NULL;
        enum bearer who = route->auth == PUBLIC ? STAFF : bearer_of(w, conn, &app);
        if (who == NOBODY || (who == APP && route->auth != STAFF_OR_APP_TOKEN))
            return refuse_unauthorized(w, conn);
        if (!(q = calloc(1, sizeof(*q))))
            return MHD_NO;
        q->w = w;
        q->no = ++w->next_no;
        q->conn = conn;
        q->app = app;
        *state = q;
        return MHD_YES;
    }
    if (*upload_size) { /* more of the body */
        if (q->body.len + *upload_size > MAX_BODY)
            q->too_large = true;
        else
            sbuf_add(&q->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (q->reply) { /* resumed: the gateway answered or the time ran out */
        json_t *reply = q->reply;
        q->reply = NULL;
        q->forwarded = false;
        return respond_json(conn, q->status, reply);
    }
    if (q->forwarded)
        return MHD_YES;
    if (q->too_large || q->body.failed)
        return respond_error(conn, 413, "too_large", "a request body is at most 64 KiB");
    return route->post(w, q);
}

static void note_head(struct MHD_Connection *conn, const char *url)
{
    struct conn_state *cs = state_of(conn);
    if (cs && !cs->head_done) {
        char methods[96];
        const struct web_route *r = find_route("GET", url, methods, sizeof(methods));
        if (!r)
            r = find_route("POST", url, methods, sizeof(methods));
        cs->head_done = true;
        cs->cross_origin = !(r && r->same_origin);
        cs->app_origins = r && (r->auth == STAFF_OR_APP_TOKEN || r->auth == APP_TOKEN);
    }
}

enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                           const char *method, const char *version, const char *upload,
                           size_t *upload_size, void **state)
{
    struct web *w = cls;
    char allow[96];
    (void)version;
    note_head(conn, url);
    if (!host_allowed(w, conn))
        return respond_error(conn, 421, "bad_request",
                             "this gateway does not answer to that Host ([web] allow_hosts)");
    if (strcmp(method, "OPTIONS") == 0)
        return answer_preflight(conn, url);
    const struct web_route *route = find_route(method, url, allow, sizeof(allow));
    if (!route && !path_named(url) && strcmp(method, "POST") == 0) {
        char where[160];
        post_paths(where, sizeof(where));
        return respond_error(conn, 404, "not_found", where);
    }
    if (!route && !path_named(url) && strcmp(method, "GET") && strcmp(method, "HEAD"))
        all_methods(allow, sizeof(allow));
    if (!route)
        return refuse_method(conn, method, allow);
    if (route->post)
        return serve_post(w, route, conn, upload, upload_size, state);
    if (!*state) { /* GET has no body: answer on the second call, as MHD expects */
        *state = (void *)1;
        return MHD_YES;
    }
    return route->get(w, conn, url);
}

void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode code)
{
    struct conn_state *cs = state_of(conn);
    if (cs) { /* a kept-alive connection's next request has a deadline of its own */
        cs->head_done = false;
        monotonic_now(&cs->head_since);
    }
    if (*state && *state != (void *)1)
        request_free(*state);
    *state = NULL;
}
