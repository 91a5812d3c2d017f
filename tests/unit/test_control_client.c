/* The helpers' control client: each reply to the caller that asked, whatever the order;
 * NULL at the deadline; a late or foreign reply to nobody.  Real ZeroMQ, inproc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <zmq.h>

#include "control_client.h"
#include "log.h"

struct seen {
    int calls;
    unsigned long tags[8];
    bool null[8];
    char verbs[8][32];
};

static void record(void *ctx, unsigned long tag, json_t *reply)
{
    struct seen *s = ctx;
    int i = s->calls++ % 8;
    s->tags[i] = tag;
    s->null[i] = reply == NULL;
    snprintf(s->verbs[i], sizeof(s->verbs[i]), "%s",
             reply ? json_string_value(json_object_get(reply, "verb")) ?: "" : "");
}

struct rig {
    void *zctx, *router;
    struct control_client c;
};

static int setup(void **state)
{
    struct rig *r = calloc(1, sizeof(*r));
    char err[256];
    r->zctx = zmq_ctx_new();
    r->router = zmq_socket(r->zctx, ZMQ_ROUTER);
    assert_int_equal(zmq_bind(r->router, "inproc://cc-test"), 0);
    assert_int_equal(control_client_open(&r->c, r->zctx, "inproc://cc-test", err, sizeof(err)), 0);
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    struct rig *r = *state;
    control_client_close(&r->c);
    int linger = 0;
    zmq_setsockopt(r->router, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_close(r->router);
    zmq_ctx_term(r->zctx);
    free(r);
    return 0;
}

/* The gateway's side: takes one request; returns its identity frame and its JSON. */
static json_t *take_request(struct rig *r, zmq_msg_t *identity)
{
    zmq_msg_init(identity);
    assert_true(zmq_msg_recv(identity, r->router, 0) >= 0);
    char body[1024];
    int n = zmq_recv(r->router, body, sizeof(body) - 1, 0);
    assert_true(n > 0);
    body[n] = '\0';
    return json_loads(body, 0, NULL);
}

/* Answers with the request's id and verb echoed. */
static void answer(struct rig *r, zmq_msg_t *identity, json_t *req)
{
    json_t *reply = json_pack("{s:O, s:b, s:O}", "id", json_object_get(req, "id"), "ok", 1,
                              "verb", json_object_get(req, "verb"));
    char *text = json_dumps(reply, JSON_COMPACT);
    zmq_msg_send(identity, r->router, ZMQ_SNDMORE);
    zmq_send(r->router, text, strlen(text), 0);
    free(text);
    json_decref(reply);
}

static void wait_readable(struct rig *r)
{
    zmq_pollitem_t item = {r->c.dealer, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&item, 1, 1000), 1);
}

static void replies_reach_whoever_asked_in_any_order(void **state)
{
    struct rig *r = *state;
    struct seen a = {0}, b = {0};
    json_t *ping = json_pack("{s:s, s:s}", "id", "mine", "verb", "ping");
    json_t *devices = json_pack("{s:s}", "verb", "devices");
    assert_true(control_client_send(&r->c, ping, 5000, record, &a, 11));
    assert_true(control_client_send(&r->c, devices, 5000, record, &b, 22));
    zmq_msg_t id1, id2;
    json_t *req1 = take_request(r, &id1), *req2 = take_request(r, &id2);
    /* the caller's own id is replaced by the client's, never relied upon */
    assert_string_not_equal(json_string_value(json_object_get(req1, "id")), "mine");
    answer(r, &id2, req2); /* the second first */
    answer(r, &id1, req1);
    wait_readable(r);
    usleep(10000);
    control_client_read(&r->c);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(a.tags[0], 11);
    assert_string_equal(a.verbs[0], "ping");
    assert_int_equal(b.tags[0], 22);
    assert_string_equal(b.verbs[0], "devices");
    assert_int_equal(control_client_due_ms(&r->c), -1); /* nothing waits */
    json_decref(ping);
    json_decref(devices);
    json_decref(req1);
    json_decref(req2);
    zmq_msg_close(&id1);
    zmq_msg_close(&id2);
}

static void no_answer_by_the_deadline_is_null_and_a_late_one_goes_nowhere(void **state)
{
    struct rig *r = *state;
    struct seen s = {0};
    json_t *ping = json_pack("{s:s}", "verb", "ping");
    assert_true(control_client_send(&r->c, ping, 30, record, &s, 7));
    assert_true(control_client_due_ms(&r->c) <= 30);
    zmq_msg_t id;
    json_t *req = take_request(r, &id);
    usleep(60000);
    control_client_expire(&r->c);
    assert_int_equal(s.calls, 1);
    assert_true(s.null[0]);
    assert_int_equal(s.tags[0], 7);
    answer(r, &id, req); /* too late */
    wait_readable(r);
    control_client_read(&r->c);
    assert_int_equal(s.calls, 1);
    json_decref(ping);
    json_decref(req);
    zmq_msg_close(&id);
}

static void a_reply_nobody_asked_for_is_dropped(void **state)
{
    struct rig *r = *state;
    struct seen s = {0};
    json_t *ping = json_pack("{s:s}", "verb", "ping");
    assert_true(control_client_send(&r->c, ping, 5000, record, &s, 1));
    zmq_msg_t id;
    json_t *req = take_request(r, &id);
    json_object_set_new(req, "id", json_string("c999"));
    zmq_msg_t copy;
    zmq_msg_init(&copy);
    zmq_msg_copy(&copy, &id);
    answer(r, &copy, req); /* an id the client never gave */
    json_object_set_new(req, "id", json_string("feed-3"));
    zmq_msg_init(&copy);
    zmq_msg_copy(&copy, &id);
    answer(r, &copy, req); /* nor this */
    wait_readable(r);
    usleep(10000);
    control_client_read(&r->c);
    assert_int_equal(s.calls, 0);
    assert_true(control_client_due_ms(&r->c) >= 0); /* still waiting for its own */
    json_decref(ping);
    json_decref(req);
    zmq_msg_close(&id);
    zmq_msg_close(&copy);
}

int main(void)
{
    log_init("test_control_client");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(replies_reach_whoever_asked_in_any_order, setup, teardown),
        cmocka_unit_test_setup_teardown(no_answer_by_the_deadline_is_null_and_a_late_one_goes_nowhere,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_reply_nobody_asked_for_is_dropped, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
