/* Records and segment names: encoding, and reading one back, checked. */
#include "journal_format.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static void segment_name(char *buf, size_t len, struct journal_key first)
{
    snprintf(buf, len, "%016" PRIx64 "-%016" PRIx64 SEGMENT_SUFFIX, first.epoch, first.seq);
}

bool parse_segment_name(const char *name, struct journal_key *first)
{
    char tail[8];
    unsigned long long e, s;
    if (strlen(name) != 33 + strlen(SEGMENT_SUFFIX) ||
        sscanf(name, "%16llx-%16llx%7s", &e, &s, tail) != 3 || strcmp(tail, SEGMENT_SUFFIX) != 0)
        return false;
    *first = (struct journal_key){e, s};
    return true;
}

void segment_path(const struct journal *j, char *buf, size_t len, struct journal_key first)
{
    char name[64];
    segment_name(name, sizeof(name), first);
    snprintf(buf, len, "%s/%s", j->dir, name);
}

static void put_le32(unsigned char *p, uint32_t v) { v = htole32(v); memcpy(p, &v, 4); }

static void put_le64(unsigned char *p, uint64_t v) { v = htole64(v); memcpy(p, &v, 8); }

static uint32_t get_le32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return le32toh(v); }

static uint64_t get_le64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return le64toh(v); }

static uint32_t record_crc(const unsigned char *hdr, const char *body, size_t body_len)
{
    uLong crc = crc32(0L, hdr + 8, 28);
    /* zlib takes a uInt length: bodies are bounded by REC_MAX_BODY */
    return (uint32_t)crc32(crc, (const Bytef *)body, (uInt)body_len);
}

void encode_header(unsigned char hdr[REC_HEADER], const struct record *r, const char *topic,
                          size_t topic_len, const char *env, size_t env_len)
{
    put_le32(hdr, REC_MAGIC);
    put_le32(hdr + 4, r->body_len);
    put_le64(hdr + 8, r->key.epoch);
    put_le64(hdr + 16, r->key.seq);
    put_le64(hdr + 24, (uint64_t)r->time_ms);
    put_le32(hdr + 32, r->flags);
    uLong crc = crc32(0L, hdr + 8, 28);
    crc = crc32(crc, (const Bytef *)topic, (uInt)topic_len);
    crc = crc32(crc, (const Bytef *)"", 1);
    crc = crc32(crc, (const Bytef *)env, (uInt)env_len);
    put_le32(hdr + 36, (uint32_t)crc);
}

/* One record at *off of a file of size bytes; with want_body, its body too
 * (checked against the CRC).  READ_TORN says where a record is cut or damaged. */
enum read_result read_record(int fd, uint64_t off, uint64_t size, bool want_body,
                                    struct record *r, char **buf, size_t *cap)
{
    unsigned char hdr[REC_HEADER];
    if (off == size)
        return READ_END;
    if (size - off < REC_HEADER || pread(fd, hdr, REC_HEADER, (off_t)off) != REC_HEADER ||
        get_le32(hdr) != REC_MAGIC)
        return READ_TORN;
    r->body_len = get_le32(hdr + 4);
    r->key = (struct journal_key){get_le64(hdr + 8), get_le64(hdr + 16)};
    r->time_ms = (int64_t)get_le64(hdr + 24);
    r->flags = get_le32(hdr + 32);
    if (r->body_len < 3 || r->body_len > REC_MAX_BODY || size - off - REC_HEADER < r->body_len)
        return READ_TORN;
    if (!want_body)
        return READ_OK;
    if (*cap < r->body_len + 1) {
        char *grown = realloc(*buf, r->body_len + 1);
        if (!grown)
            return READ_TORN;
        *buf = grown;
        *cap = r->body_len + 1;
    }
    if (pread(fd, *buf, r->body_len, (off_t)(off + REC_HEADER)) != (ssize_t)r->body_len ||
        record_crc(hdr, *buf, r->body_len) != get_le32(hdr + 36))
        return READ_TORN;
    (*buf)[r->body_len] = '\0';
    r->body = *buf;
    return memchr(r->body, '\0', r->body_len) ? READ_OK : READ_TORN;
}

uint64_t record_end(uint64_t off, const struct record *r)
{
    return off + REC_HEADER + r->body_len;
}
