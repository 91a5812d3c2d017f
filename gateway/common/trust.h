/* Files that grant access or run as the gateway are checked before they are
 * used: who owns them and who else may read or change them. */
#ifndef AGW_TRUST_H
#define AGW_TRUST_H
#include <stdbool.h>
#include <stddef.h>

enum trust_kind {
    TRUST_SECRET,  /* a secret key: the owner and the service's group may read it, nobody else */
    TRUST_GRANTS,  /* authorized_keys: whoever may write it may add a key */
    TRUST_CODE,    /* a plugin: whoever may write it runs code as the gateway */
    TRUST_CODE_DIR /* the plugin directory: whoever may write it may add a plugin */
};

/* 0 when path is fit for kind (owned by root or the gateway's user, not open to
 * others as kind says), else -1 with the reason and the fix in err.  With
 * trust_relax(true) (config: insecure_files = yes, for development) a finding
 * is logged as a warning and 0 returned. */
int trust_check(const char *path, enum trust_kind kind, char *err, size_t errlen);
void trust_relax(bool relaxed);

/* The first line of a secret file (a bearer token, a broker password), checked
 * as TRUST_SECRET first; at least min_len characters.  malloc'd; NULL with err
 * naming `what` (the config key) and the file. */
char *trust_read_secret(const char *what, const char *path, size_t min_len, char *err,
                        size_t errlen);
#endif
