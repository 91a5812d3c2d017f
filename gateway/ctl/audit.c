/* accessgwctl audit: the disclosures of full records, read from state_dir/audit
 * (the gateway need not run), and the proof that their chain holds. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#include "audit.h"

static int verify(const struct cli *a, const char *dir)
{
    char head[AUDIT_HASH_HEX + 1], why[700], note[700];
    int rc = audit_verify(dir, a->head, head, why, sizeof(why), note, sizeof(note));
    if (note[0])
        fprintf(stderr, "accessgwctl: %s\n", note);
    if (rc != 0) {
        fprintf(stderr, "accessgwctl: %s\n", why);
        return EXIT_REFUSED;
    }
    printf("the chain holds; its head is %s\n", head);
    return EXIT_OK;
}

int cmd_audit(const struct cli *a, void *zctx, int argc, char **argv)
{
    (void)zctx, (void)argv;
    if (argc)
        return CTL_USAGE;
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s/audit", a->state_dir);
    if (a->verify)
        return verify(a, dir);
    if (a->head) {
        fprintf(stderr, "accessgwctl: --head goes with --verify\n");
        return EXIT_USAGE;
    }
    struct audit_filter f = {a->o.since_text, a->recipient, a->device};
    char err[700];
    long n = audit_list(dir, &f, stdout, err, sizeof(err));
    if (n < 0) {
        fprintf(stderr, "accessgwctl: %s\n", err);
        return strstr(err, "not a date") ? EXIT_USAGE : EXIT_REFUSED;
    }
    return EXIT_OK;
}
