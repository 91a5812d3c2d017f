/* accessgwd's event path without a device or a plugin process: a fake runner under
 * the real registry, dispatcher, command tracking and bus (real ZeroMQ over inproc),
 * and the event loop on its own. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>
#include <zmq.h>

#include "daemon.h"
#include "log.h"

/* ---- a runner that runs nothing and says what it was asked ---- */

static struct fake {
    char attached[8][65], detached[8][65];
    int n_attached, n_detached;
    char command_target[65], command_verb[64];
    void *command_route;
    json_t *command_args;
} fake;

static void fake_attach(struct runner *r, struct device *dev)
{
    (void)r;
    snprintf(fake.attached[fake.n_attached++ % 8], 65, "%s", dev->id);
}

static void fake_detach(struct runner *r, struct device *dev, bool removed)
{
    (void)r, (void)removed;
    dev->retiring = true; /* as both real runners do */
    snprintf(fake.detached[fake.n_detached++ % 8], 65, "%s", dev->id);
}

static void fake_command(struct runner *r, struct device *dev, const char *target, char *verb,
                         json_t *args, void *route)
{
    (void)r, (void)dev;
    snprintf(fake.command_target, sizeof(fake.command_target), "%s", target);
    snprintf(fake.command_verb, sizeof(fake.command_verb), "%s", verb);
    free(verb);
    json_decref(fake.command_args);
    fake.command_args = args;
    fake.command_route = route;
}

static size_t fake_pollitems(struct runner *r, zmq_pollitem_t *items, size_t max)
{
    (void)r, (void)items, (void)max;
    return 0;
}
static void fake_handle(struct runner *r, const zmq_pollitem_t *items, size_t n)
{
    (void)r, (void)items, (void)n;
}
static void fake_nothing(struct runner *r) { (void)r; }
static long fake_due(const struct runner *r)
{
    (void)r;
    return -1;
}

static const struct runner_ops fake_ops = {fake_attach, fake_detach, fake_command,
                                           fake_pollitems, fake_handle, fake_nothing,
                                           fake_nothing, fake_due, fake_nothing, fake_nothing};

/* ---- a gateway around it: the real bus and control socket, on inproc ---- */

static const struct agw_personal_field personal[] = {{"name", AGW_MASK_NAME}, {NULL, AGW_MASK_END}};
static const struct agw_plugin plugin = {.magic = AGW_PLUGIN_MAGIC, .abi_major = AGW_ABI_MAJOR,
                                         .struct_size = sizeof(struct agw_plugin),
                                         .id = "fakeplug", .device_class = "fake",
                                         .personal = personal};

struct rig {
    struct gateway g;
    void *sub, *client;
};

static int setup(void **state)
{
    struct rig *t = calloc(1, sizeof(*t));
    struct gateway *g = &t->g;
    char err[256];
    memset(&fake, 0, sizeof(fake));
    g->journal.fd = -1;
    g->running = true;
    g->conf.command_timeout_ms = 50;
    g->runner.ops = &fake_ops;
    assert_int_equal(mailbox_init(&g->outbox), 0);
    g->zctx = zmq_ctx_new();
    struct bus_options o = {"hall-t", "inproc://t-events", NULL, NULL, 100, 1000, 3, &g->journal};
    assert_int_equal(bus_open(&g->bus, g->zctx, &o, err, sizeof(err)), 0);
    assert_non_null(g->control = control_bind(g->zctx, "inproc://t-control", err, sizeof(err)));
    t->sub = zmq_socket(g->zctx, ZMQ_SUB);
    zmq_setsockopt(t->sub, ZMQ_SUBSCRIBE, "", 0);
    assert_int_equal(zmq_connect(t->sub, "inproc://t-events"), 0);
    t->client = zmq_socket(g->zctx, ZMQ_DEALER);
    assert_int_equal(zmq_connect(t->client, "inproc://t-control"), 0);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct rig *t = *state;
    struct gateway *g = &t->g;
    for (size_t i = 0; i < g->devices.n; i++)
        device_free(g->devices.items[i]);
    device_table_free(&g->devices);
    free(g->inflight);
    int linger = 0;
    zmq_setsockopt(t->sub, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(t->client, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_close(t->sub);
    zmq_close(t->client);
    zmq_close(g->control);
    bus_close(&g->bus);
    zmq_ctx_term(g->zctx);
    mailbox_destroy(&g->outbox);
    json_decref(fake.command_args);
    free(t);
    return 0;
}

/* The next event on the bus: its topic into topic, its envelope returned. */
static json_t *next_event(struct rig *t, char *topic, size_t len)
{
    bus_flush(&t->g.bus);
    zmq_pollitem_t item = {t->sub, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 1000) != 1)
        return NULL;
    int n = zmq_recv(t->sub, topic, len - 1, 0);
    topic[n < 0 ? 0 : (size_t)n < len ? n : (int)len - 1] = '\0';
    char body[4096];
    n = zmq_recv(t->sub, body, sizeof(body) - 1, 0);
    body[n < 0 ? 0 : n] = '\0';
    return json_loads(body, 0, NULL);
}

static json_t *reply_to(struct rig *t)
{
    zmq_pollitem_t item = {t->client, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 1000) != 1)
        return NULL;
    char body[4096];
    int n = zmq_recv(t->client, body, sizeof(body) - 1, 0);
    body[n < 0 ? 0 : n] = '\0';
    return json_loads(body, 0, NULL);
}

static void ask(struct rig *t, const char *request)
{
    zmq_send(t->client, request, strlen(request), 0);
    zmq_pollitem_t item = {t->g.control, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&item, 1, 1000), 1);
    handle_control(&t->g);
}

static struct device *hotplug(struct rig *t, const char *id)
{
    struct hotplug_match m = {.plugin = &plugin, .transport = AGW_TRANSPORT_NONE};
    snprintf(m.id, sizeof(m.id), "%s", id);
    snprintf(m.devnode, sizeof(m.devnode), "/dev/null-%s", id);
    snprintf(m.syspath, sizeof(m.syspath), "/sys/fake/%s", id);
    on_hotplug_add(&t->g, &m);
    return device_table_find(&t->g.devices, id);
}

/* A device that comes is published attached and handed to the runner; one that goes
 * is handed back to it, and is published detached and forgotten when its worker has
 * said it stopped (whichever runner that was). */
static void a_device_comes_and_goes_through_the_runner(void **state)
{
    struct rig *t = *state;
    char topic[256];
    struct device *dev = hotplug(t, "fake-1");
    assert_non_null(dev);
    assert_int_equal(fake.n_attached, 1);
    assert_string_equal(fake.attached[0], "fake-1");
    json_t *ev = next_event(t, topic, sizeof(topic));
    assert_string_equal(topic, "device/fake-1/attached");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "data"), "plugin")),
                        "fakeplug");
    assert_int_equal(json_integer_value(json_object_get(ev, "epoch")), 3);
    json_decref(ev);

    on_hotplug_remove(&t->g, "/sys/fake/fake-1");
    assert_int_equal(fake.n_detached, 1);
    assert_true(dev->retiring);
    assert_non_null(device_table_find(&t->g.devices, "fake-1")); /* until its worker stopped */
    struct out_mail *exited = calloc(1, sizeof(*exited));
    exited->kind = OUT_EXITED;
    snprintf(exited->device, sizeof(exited->device), "fake-1");
    deliver_mail(&t->g, exited);
    ev = next_event(t, topic, sizeof(topic));
    assert_string_equal(topic, "device/fake-1/detached");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "data"), "reason")),
                        "unplugged");
    json_decref(ev);
    assert_null(device_table_find(&t->g.devices, "fake-1"));
    assert_int_equal(t->g.devices.n, 0);
}

/* A device verb goes to the runner with its target and arguments; the answer that comes
 * back as mail reaches the client masked by the plugin's declaration. */
static void a_command_goes_to_the_runner_and_its_answer_comes_back_masked(void **state)
{
    struct rig *t = *state;
    char topic[256];
    assert_non_null(hotplug(t, "fake-2"));
    json_decref(next_event(t, topic, sizeof(topic)));
    ask(t, "{\"id\":\"c1\",\"verb\":\"fake.read\",\"device\":\"fake-2\",\"args\":{\"x\":1}}");
    assert_string_equal(fake.command_target, "fake-2");
    assert_string_equal(fake.command_verb, "read");
    assert_int_equal(json_integer_value(json_object_get(fake.command_args, "x")), 1);
    assert_int_equal(commands_waiting(&t->g, device_table_find(&t->g.devices, "fake-2")), 1);

    struct out_mail *answer = calloc(1, sizeof(*answer));
    answer->kind = OUT_REPLY;
    snprintf(answer->device, sizeof(answer->device), "fake-2");
    answer->route = fake.command_route;
    answer->status = AGW_CMD_OK;
    answer->personal = personal;
    answer->data = json_pack("{s:s, s:i}", "name", "张三丰", "n", 7);
    deliver_mail(&t->g, answer);
    json_t *reply = reply_to(t);
    assert_non_null(reply);
    assert_string_equal(json_string_value(json_object_get(reply, "id")), "c1");
    assert_true(json_is_true(json_object_get(reply, "ok")));
    json_t *result = json_object_get(reply, "result");
    assert_string_equal(json_string_value(json_object_get(result, "name")), "张*");
    assert_int_equal(json_integer_value(json_object_get(result, "n")), 7);
    json_decref(reply);
    assert_int_equal(commands_waiting(&t->g, device_table_find(&t->g.devices, "fake-2")), 0);
}

/* A command the runner never answers gets "timeout"; the late answer is then dropped. */
static void an_unanswered_command_times_out_and_its_late_answer_is_dropped(void **state)
{
    struct rig *t = *state;
    char topic[256];
    assert_non_null(hotplug(t, "fake-3"));
    json_decref(next_event(t, topic, sizeof(topic)));
    ask(t, "{\"id\":\"c2\",\"verb\":\"fake.read\",\"device\":\"fake-3\"}");
    assert_true(ms_until_next_expiry(&t->g) <= 50);
    usleep(80 * 1000);
    expire_commands(&t->g);
    json_t *reply = reply_to(t);
    assert_non_null(reply);
    assert_string_equal(json_string_value(json_object_get(json_object_get(reply, "error"), "code")),
                        "timeout");
    json_decref(reply);
    struct out_mail *late = calloc(1, sizeof(*late));
    late->kind = OUT_REPLY;
    snprintf(late->device, sizeof(late->device), "fake-3");
    late->route = fake.command_route;
    late->data = json_object();
    deliver_mail(&t->g, late);
    assert_null(reply_to(t)); /* nothing more for the client */
}

/* Unknown devices and verbs are refused before anything reaches the runner. */
static void bad_commands_never_reach_the_runner(void **state)
{
    struct rig *t = *state;
    ask(t, "{\"id\":\"c3\",\"verb\":\"fake.read\",\"device\":\"nobody\"}");
    json_t *reply = reply_to(t);
    assert_string_equal(json_string_value(json_object_get(json_object_get(reply, "error"), "code")),
                        "unknown_device");
    json_decref(reply);
    ask(t, "{\"id\":\"c4\",\"verb\":\"nope\"}");
    reply = reply_to(t);
    assert_string_equal(json_string_value(json_object_get(json_object_get(reply, "error"), "code")),
                        "unknown_verb");
    json_decref(reply);
    assert_string_equal(fake.command_verb, "");
}

/* ---- the event loop on its own ---- */

struct probe {
    int fd;
    long due;
    int runs, ready_runs;
    char order;
    char *log;
};

static size_t probe_fill(void *ctx, zmq_pollitem_t *items, size_t max)
{
    struct probe *p = ctx;
    (void)max;
    if (p->fd < 0)
        return 0;
    items[0] = (zmq_pollitem_t){NULL, p->fd, ZMQ_POLLIN, 0};
    return 1;
}

static long probe_due(void *ctx) { return ((struct probe *)ctx)->due; }

static void probe_run(void *ctx, const zmq_pollitem_t *items, size_t n)
{
    struct probe *p = ctx;
    p->runs++;
    p->ready_runs += n && items[0].revents;
    strncat(p->log, &p->order, 1);
}

static void the_loop_serves_its_sources_in_order_with_their_own_items(void **state)
{
    (void)state;
    char log[16] = "";
    int ready = eventfd(1, EFD_CLOEXEC), idle = eventfd(0, EFD_CLOEXEC);
    struct probe a = {ready, -1, 0, 0, 'a', log}, b = {idle, -1, 0, 0, 'b', log},
                 c = {-1, 0, 0, 0, 'c', log}; /* no fd, due now */
    struct loop l = {0};
    assert_int_equal(loop_add(&l, &(struct loop_source){&a, 1, probe_fill, probe_due, probe_run}), 0);
    assert_int_equal(loop_add(&l, &(struct loop_source){&b, 1, probe_fill, probe_due, probe_run}), 0);
    assert_int_equal(loop_add(&l, &(struct loop_source){&c, 0, NULL, probe_due, probe_run}), 0);
    loop_turn(&l, 5000); /* a is ready: the turn does not wait */
    assert_string_equal(log, "abc");
    assert_int_equal(a.ready_runs, 1);
    assert_int_equal(b.ready_runs, 0);
    assert_int_equal(c.runs, 1);
    loop_free(&l);
    close(ready);
    close(idle);
}

static void the_loop_full_refuses_a_source(void **state)
{
    (void)state;
    struct loop l = {0};
    struct probe p = {-1, -1, 0, 0, 'p', NULL};
    for (int i = 0; i < LOOP_SOURCES_MAX; i++)
        assert_int_equal(loop_add(&l, &(struct loop_source){&p, 0, NULL, probe_due, probe_run}), 0);
    assert_int_equal(loop_add(&l, &(struct loop_source){&p, 0, NULL, probe_due, probe_run}), -1);
    loop_free(&l);
}

int main(void)
{
    log_init("test_daemon");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_device_comes_and_goes_through_the_runner, setup, teardown),
        cmocka_unit_test_setup_teardown(a_command_goes_to_the_runner_and_its_answer_comes_back_masked,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(an_unanswered_command_times_out_and_its_late_answer_is_dropped,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(bad_commands_never_reach_the_runner, setup, teardown),
        cmocka_unit_test(the_loop_serves_its_sources_in_order_with_their_own_items),
        cmocka_unit_test(the_loop_full_refuses_a_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
