#include "trust.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static bool relaxed;
void trust_relax(bool r) { relaxed = r; }

static int finding(const char *path, char *err, size_t errlen, const char *what, unsigned value,
                   const char *fix)
{
    snprintf(err, errlen, "%s: %s %04o; %s", path, what, value, fix);
    if (!relaxed)
        return -1;
    log_warn("INSECURE (insecure_files = yes): %s", err);
    return 0;
}

int trust_check(const char *path, enum trust_kind kind, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    bool dir = kind == TRUST_CODE_DIR;
    if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a %s", path, dir ? "directory" : "regular file");
        return -1;
    }
    unsigned mode = st.st_mode & 07777;
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        char fix[96];
        snprintf(fix, sizeof(fix), "chown root %s", path);
        snprintf(err, errlen, "%s: owned by uid %u, neither root nor the gateway's user; %s", path,
                 (unsigned)st.st_uid, fix);
        if (!relaxed)
            return -1;
        log_warn("INSECURE (insecure_files = yes): %s", err);
        return 0;
    }
    switch (kind) {
    case TRUST_SECRET:
        if (mode & 0007)
            return finding(path, err, errlen, "readable by others: mode", mode,
                           "only its owner and the service's group may read a secret key: chmod "
                           "0640 (accessgwctl keygen --group accessgw makes it so)");
        if (mode & 0020)
            return finding(path, err, errlen, "writable by its group: mode", mode,
                           "chmod 0640");
        return 0;
    case TRUST_GRANTS:
    case TRUST_CODE:
    case TRUST_CODE_DIR:
        if (mode & 0022)
            return finding(path, err, errlen, "writable by group or others: mode", mode,
                           kind == TRUST_GRANTS ? "anyone who may write it may add a key: chmod 0644"
                           : kind == TRUST_CODE ? "anyone who may write it runs code as the gateway: chmod 0644"
                                                : "anyone who may write it may add a plugin: chmod 0755");
        return 0;
    }
    return 0;
}

char *trust_read_secret(const char *what, const char *path, size_t min_len, char *err,
                        size_t errlen)
{
    char why[512];
    if (trust_check(path, TRUST_SECRET, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s: %s", what, why);
        return NULL;
    }
    FILE *f = fopen(path, "r");
    char line[512];
    if (!f || !fgets(line, sizeof(line), f)) {
        snprintf(err, errlen, "%s %s: %s", what, path, f ? "empty" : strerror(errno));
        if (f)
            fclose(f);
        return NULL;
    }
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    char *copy = strlen(line) >= min_len ? strdup(line) : NULL;
    explicit_bzero(line, sizeof(line));
    if (!copy)
        snprintf(err, errlen, "%s %s: at least %zu characters, please (e.g. head -c 24 "
                 "/dev/urandom | base64)", what, path, min_len);
    return copy;
}
