/* The log's limiter (gateway/common/log.c): repeats are limited per call site
 * *and* subject, lifecycle lines never, and the count of what was suppressed is
 * said when its window ends, from the loop, not only at that site's next line
 * (issue 26, item 7: a hall with 30 devices never logged a third of them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

/* stderr into a file, read back whole */
static char *captured(void (*fn)(void))
{
    char path[] = "/tmp/test_log.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    size_t len = (size_t)lseek(fd, 0, SEEK_END);
    char *text = calloc(1, len + 1);
    assert_int_equal(pread(fd, text, len, 0), (ssize_t)len);
    close(fd);
    unlink(path);
    return text;
}

static unsigned count(const char *text, const char *needle)
{
    unsigned n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void thirty_devices(void)
{
    for (int i = 1; i <= 30; i++) /* one call site, a different device each time */
        log_info("device dev-%02d: no profile matches 1209:0c0c", i);
    for (int i = 1; i <= 30; i++)
        log_lifecycle(6, "device dev-%02d attached (plugin skeleton, none)", i);
    for (int round = 0; round < 3; round++)
        for (int i = 1; i <= 30; i++)
            log_lifecycle(6, "device dev-%02d: up", i);
}

static void every_device_is_named(void **state)
{
    (void)state;
    char *text = captured(thirty_devices);
    assert_int_equal(count(text, ": no profile matches"), 30);
    assert_int_equal(count(text, " attached (plugin"), 30);
    assert_int_equal(count(text, ": up\n"), 90);
    assert_null(strstr(text, "suppressed"));
    free(text);
}

static void one_noisy_device(void)
{
    for (int i = 0; i < 50; i++)
        log_warn("device bell-%d: receiver stream at byte %d: not a frame", 1, i);
    log_warn("device bell-%d: receiver stream at byte %d: not a frame", 2, 0);
}

static void flush_after_the_window(void)
{
    sleep(11);
    log_flush_suppressed();
}

static void a_noisy_device_is_limited_alone_and_its_count_said_by_the_loop(void **state)
{
    (void)state;
    char *text = captured(one_noisy_device);
    assert_int_equal(count(text, "device bell-1: receiver stream"), 20);
    assert_int_equal(count(text, "device bell-2: receiver stream"), 1);
    assert_null(strstr(text, "suppressed"));
    free(text);
    text = captured(flush_after_the_window); /* no line from that site since */
    assert_non_null(strstr(text, "(30 more lines like \"device bell-1: receiver stream"));
    assert_non_null(strstr(text, "were suppressed in 10 s)"));
    free(text);
    text = captured(log_flush_suppressed); /* said once */
    assert_null(strstr(text, "suppressed"));
    free(text);
}

int main(void)
{
    log_init("test_log");
    log_set_level(7);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_device_is_named),
        cmocka_unit_test(a_noisy_device_is_limited_alone_and_its_count_said_by_the_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
