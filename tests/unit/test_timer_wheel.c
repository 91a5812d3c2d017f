/* The shared timers' heap (gateway/device/timer_wheel.c): after any churn of
 * settings and removals, every device with a timer is handed out, never before
 * it is due, and a device whose timer was removed never is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "device_internal.h"
#include "monotonic.h"

#define N 200

static const struct agw_plugin shared_plugin = {.struct_size = sizeof(struct agw_plugin),
                                                .timers = AGW_TIMERS_SHARED};
static const struct agw_plugin own_plugin = {.struct_size = sizeof(struct agw_plugin)};

static struct device *fake_device(const struct agw_plugin *plugin)
{
    struct device *dev = calloc(1, sizeof(*dev));
    assert_non_null(dev);
    dev->plugin = plugin;
    assert_int_equal(device_timer_init(dev), 0);
    return dev;
}

static unsigned rand_below(unsigned *seed, unsigned n) { return (unsigned)rand_r(seed) % n; }

static void every_timer_fires_when_due_and_removed_ones_never(void **state)
{
    (void)state;
    struct device *devs[N];
    struct timespec due[N];
    bool armed[N] = {false}, fired[N] = {false};
    unsigned seed = 7;
    for (int i = 0; i < N; i++)
        devs[i] = fake_device(&shared_plugin);
    /* churn: set, reset and remove at random, as devices come, go and change interval */
    for (int k = 0; k < 20000; k++) {
        int i = (int)rand_below(&seed, N);
        unsigned ms = rand_below(&seed, 3) == 0 ? 0 : 1 + rand_below(&seed, 40);
        monotonic_now(&due[i]); /* before the wheel reads the clock: never later than its due */
        add_ms(&due[i], ms);
        device_set_timer(devs[i], ms);
        armed[i] = ms != 0;
    }
    int want = 0;
    for (int i = 0; i < N; i++)
        want += armed[i];
    assert_true(want > N / 2);
    struct device **batch = NULL;
    size_t cap = 0;
    int got = 0;
    while (got < want) {
        size_t n = wheel_wait_due(&batch, &cap);
        struct timespec now;
        monotonic_now(&now);
        for (size_t b = 0; b < n; b++) {
            int i = 0;
            while (devs[i] != batch[b])
                i++;
            assert_true(armed[i]);                       /* a removed timer never fires */
            assert_true(ns_between(&due[i], &now) >= 0); /* nor one before its time */
            if (!fired[i])
                got++;
            fired[i] = true;
        }
        wheel_batch_done(batch, n);
    }
    for (int i = 0; i < N; i++) {
        device_set_timer(devs[i], 0);
        device_timer_release(devs[i]);
        free(devs[i]);
    }
    free(batch);
}

static void a_plugin_without_the_flag_keeps_its_timer_on_its_thread(void **state)
{
    (void)state;
    struct device *dev = fake_device(&own_plugin);
    assert_false(dev->shared_timer);
    device_set_timer(dev, 25);
    assert_int_equal(dev->timer_ms, 25);
    assert_true(ms_until(&dev->next_timer) > 0); /* the worker's poll waits for it */
    device_timer_release(dev);
    free(dev);
    struct agw_plugin older = shared_plugin; /* a 2.1 descriptor ends before `timers` */
    older.struct_size = (uint32_t)offsetof(struct agw_plugin, timers);
    dev = fake_device(&older);
    assert_false(dev->shared_timer);
    free(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_timer_fires_when_due_and_removed_ones_never),
        cmocka_unit_test(a_plugin_without_the_flag_keeps_its_timer_on_its_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
