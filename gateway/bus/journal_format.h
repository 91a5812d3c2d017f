/* The journal's files as they are on disk, and what its writer (journal.c)
 * and its reader (journal_replay.c) share.  docs/RELIABILITY.md, "Journal". */
#ifndef AGW_JOURNAL_FORMAT_H
#define AGW_JOURNAL_FORMAT_H
#include <stdbool.h>
#include <stdint.h>

#include "journal.h"
#include "sbuf.h"

/* On disk, little-endian:
 *   0 u32 magic "AGWJ"   4 u32 body length   8 u64 epoch   16 u64 seq
 *  24 i64 time (ms since 1970)   32 u32 flags   36 u32 CRC-32 of bytes 8..35 and the body
 *  40 body: topic, NUL, the CloudEvents envelope (masked) */
#define REC_MAGIC 0x4a574741u
#define REC_HEADER 40
#define REC_MAX_BODY (4u << 20)
#define REC_FLAG_AFTER_GAP 1u /* events before this one could not be written */
#define SEGMENT_SUFFIX ".agwj"

struct record {
    struct journal_key key;
    int64_t time_ms;
    uint32_t flags, body_len;
    char *body; /* topic NUL envelope; owned by the reader */
};

enum read_result { READ_OK, READ_END, READ_TORN };

/* journal_format.c */
bool parse_segment_name(const char *name, struct journal_key *first);
void segment_path(const struct journal *j, char *buf, size_t len, struct journal_key first);
void encode_header(unsigned char hdr[REC_HEADER], const struct record *r, const char *topic, size_t topic_len, const char *env, size_t env_len);
enum read_result read_record(int fd, uint64_t off, uint64_t size, bool want_body, struct record *r, char **buf, size_t *cap);
uint64_t record_end(uint64_t off, const struct record *r);

#endif
