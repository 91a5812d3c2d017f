#define _GNU_SOURCE
#include "sandbox.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "log.h"

/*
 * A deny-list, not an allow-list: what a plugin's libraries need (libusb,
 * sd-bus for BlueZ, hidraw ioctls, termios, the C library's own choices of
 * syscalls from one glibc update to the next) is not ours to enumerate, and an
 * allow-list that misses one breaks a device in a hall, silently.  What is
 * denied is what no device plugin needs and an attacker wants: to run another
 * program, to start processes, to reach the network, to trace or read other
 * processes, to change the system.  Denied calls fail with an errno; they do
 * not kill, so a library that only probes keeps working.
 */

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1 /* LeakSanitizer stops the world with clone() and ptrace() at exit */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static int deny(scmp_filter_ctx ctx, int err, int syscall)
{
    return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), syscall, 0);
}

static const int never_needed[] = {
    SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(mount), SCMP_SYS(umount2),
    SCMP_SYS(pivot_root), SCMP_SYS(chroot), SCMP_SYS(kexec_load), SCMP_SYS(init_module),
    SCMP_SYS(finit_module), SCMP_SYS(delete_module), SCMP_SYS(bpf), SCMP_SYS(perf_event_open),
    SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev), SCMP_SYS(keyctl), SCMP_SYS(add_key),
    SCMP_SYS(request_key), SCMP_SYS(unshare), SCMP_SYS(setns), SCMP_SYS(reboot),
    SCMP_SYS(swapon), SCMP_SYS(swapoff), SCMP_SYS(acct), SCMP_SYS(settimeofday),
    SCMP_SYS(clock_settime), SCMP_SYS(sethostname), SCMP_SYS(setdomainname), SCMP_SYS(fork),
    SCMP_SYS(vfork), SCMP_SYS(listen), SCMP_SYS(accept), SCMP_SYS(accept4),
};

static int add_rules(scmp_filter_ctx ctx)
{
    int r = 0;
    for (size_t i = 0; i < sizeof(never_needed) / sizeof(never_needed[0]) && r == 0; i++)
        r = deny(ctx, EPERM, never_needed[i]);
    /* Sockets: only local ones (sd-bus to the system bus, libusb's netlink).  A
     * rule compares an argument once, so the families around the two are ruled out
     * one by one below AF_NETLINK and together above it. */
    for (int family = AF_UNIX + 1; family < AF_NETLINK && r == 0; family++)
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
                             SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)family));
    if (r == 0)
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
                             SCMP_A0(SCMP_CMP_GT, (scmp_datum_t)AF_NETLINK));
    if (r == 0 && !SANITIZED) {
        r = deny(ctx, EPERM, SCMP_SYS(ptrace));
        /* threads yes, processes no: clone3's flags cannot be inspected, so it is
         * refused as missing and the C library falls back to clone() */
        if (r == 0)
            r = deny(ctx, ENOSYS, SCMP_SYS(clone3));
        if (r == 0)
            r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                 SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
    }
    return r;
}

int sandbox_enter(const char *plugin_id)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        log_err("plugin %s: cannot drop new privileges: %s", plugin_id, strerror(errno));
        return -1;
    }
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    int r = ctx ? add_rules(ctx) : -ENOMEM;
    if (r == 0)
        r = seccomp_load(ctx);
    seccomp_release(ctx);
    if (r < 0) {
        log_err("plugin %s: cannot install its seccomp filter: %s", plugin_id, strerror(-r));
        return -1;
    }
    return 0;
}
