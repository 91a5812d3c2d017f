/* accessgwctl keygen: CURVE key pairs as czmq and pyzmq read them. */
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include <grp.h>

#include "curve.h"

/* keygen NAME [--group GROUP]: with a group, the secret is 0640 to that group,
 * so a service running as the group's member can read it and nobody else. */
int cmd_keygen(const struct cli *a, void *zctx, int argc, char **argv)
{
    const char *group_name = a->group;
    (void)zctx;
    if (argc != 1)
        return CTL_USAGE;
    const char *name = argv[0];
    gid_t gid = (gid_t)-1;
    if (group_name) {
        struct group *gr = getgrnam(group_name);
        if (!gr) {
            fprintf(stderr, "accessgwctl: no group '%s' (the package creates accessgw)\n", group_name);
            return 1;
        }
        gid = gr->gr_gid;
    }
    char err[512];
    if (curve_keygen(name, gid, err, sizeof(err)) < 0) {
        fprintf(stderr, "accessgwctl: %s\n", err);
        return 1;
    }
    if (group_name)
        printf("wrote %s.key (secret, mode 0640, group %s) and %s.pub\n", name, group_name, name);
    else
        printf("wrote %s.key (secret, mode 0600) and %s.pub\n", name, name);
    return 0;
}
