/* A plugin host's stderr: through accessgwd's log, never straight into it. */
#define _GNU_SOURCE
#include "proc_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "monotonic.h"

/* A line as the plugin host's log writes it ("accessgw-plugin-host: LEVEL: text",
 * or "<N>text") keeps its level; anything else a plugin printed is a warning,
 * marked as its raw stderr.  Either way it is said as the plugin's, never as
 * accessgwd's own. */
static int host_line_level(const char *line, const char **text)
{
    static const char *const names[8] = {"emerg", "alert", "crit", "error",
                                         "warning", "notice", "info", "debug"};
    static const char host[] = "accessgw-plugin-host: ";
    if (line[0] == '<' && line[1] >= '0' && line[1] <= '7' && line[2] == '>') {
        *text = line + 3;
        return line[1] - '0';
    }
    if (strncmp(line, host, sizeof(host) - 1) == 0)
        for (int level = 0; level < 8; level++) {
            size_t n = strlen(names[level]);
            const char *at = line + sizeof(host) - 1;
            if (strncmp(at, names[level], n) == 0 && at[n] == ':' && at[n + 1] == ' ') {
                *text = at + n + 2;
                return level;
            }
        }
    *text = line;
    return -1;
}

void say_dropped_lines(struct plugin_proc *p)
{
    if (p->lines_dropped)
        log_warn("plugin %s: %u more lines of its log suppressed in %d s", p->plugin->desc->id,
                 p->lines_dropped, HOST_LINES_WINDOW_MS / 1000);
    p->lines_dropped = 0;
}

static bool within_line_budget(struct plugin_proc *p)
{
    long long now = monotonic_ms();
    if (now - p->lines_since_ms >= HOST_LINES_WINDOW_MS) {
        say_dropped_lines(p);
        p->lines_since_ms = now;
        p->lines = 0;
    }
    if (p->lines < HOST_LINES_PER_WINDOW) {
        p->lines++;
        return true;
    }
    p->lines_dropped++;
    return false;
}

static void relay_line(struct plugin_proc *p)
{
    char *line = p->err_line;
    line[p->err_len] = '\0';
    p->err_len = 0;
    for (char *c = line; *c; c++) /* no terminal escapes, no forged line breaks */
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    if (!line[0] || !within_line_budget(p))
        return;
    const char *text;
    int level = host_line_level(line, &text);
    char from[80];
    snprintf(from, sizeof(from), "plugin %s%s", p->plugin->desc->id, level < 0 ? " (stderr)" : "");
    log_relayed(level < 0 ? 4 : level, p, from, text);
}

/* Reads up to max bytes of the host's stderr; at its end, the fd is closed. */
void read_stderr(struct plugin_proc *p, size_t max)
{
    char buf[4096];
    for (size_t got = 0; p->err_fd >= 0 && got < max;) {
        ssize_t n = read(p->err_fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0 || errno != EAGAIN) {
                close(p->err_fd);
                p->err_fd = -1;
                if (p->err_len)
                    relay_line(p);
            }
            return;
        }
        got += (size_t)n;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != '\n')
                p->err_line[p->err_len++] = buf[i];
            if (buf[i] == '\n' || p->err_len == sizeof(p->err_line) - 1)
                relay_line(p); /* an overlong line goes in pieces */
        }
    }
}

/* What is left of a host that ended (its last words: a sanitizer's report, a crash). */
void close_stderr(struct plugin_proc *p)
{
    read_stderr(p, HOST_STDERR_AT_END);
    if (p->err_fd >= 0)
        close(p->err_fd);
    p->err_fd = -1;
    p->err_len = 0;
    say_dropped_lines(p);
}
