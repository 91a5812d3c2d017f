/* What a plugin host process gives up before it runs a plugin. */
#ifndef AGW_SANDBOX_H
#define AGW_SANDBOX_H
/* No new privileges, and a seccomp filter: no exec, no new processes, no
 * network, no ptrace, no mounts or modules.  0, or -1 after logging why. */
int sandbox_enter(const char *plugin_id);
#endif
