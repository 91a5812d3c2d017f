/*
 * The public application (SSSE) of a social security card (社会保障卡), read
 * without a PSAM: a session that says which APDU to send next and takes the
 * card's answers, so the whole read (the 61xx and 6Cxx rounds, absent records,
 * a 3.0 card's protected holder file) is tested without a reader.  No I/O: the
 * plugin carries the APDUs (docs/DEVICES.md; facts and their sources in
 * docs/reference/sscard.md).  Only SELECT, READ RECORD and GET RESPONSE are
 * ever built: never a PIN, an authentication or a write.
 */
#ifndef AGW_SSCARD_H
#define AGW_SSCARD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSCARD_APDU_MAX 32

enum sscard_step {
    SSCARD_SEND,   /* send s->apdu (s->apdu_len bytes) and feed the answer */
    SSCARD_DONE,   /* s->record holds the card's fields */
    SSCARD_FAILED, /* s->reason and s->message say why; no field may be used */
};

enum sscard_reason { SSCARD_OK = 0, SSCARD_UNKNOWN_CARD, SSCARD_READ_FAILED };

struct sscard_record {
    char card_number[16];   /* 卡号, EF05/07 */
    char ssn[24];           /* 社会保障号码, EF06/08 */
    char name[160];         /* 姓名 + 姓名扩展, UTF-8 */
    char gender[16];        /* male | female | unspecified | unknown (the ID card's words) */
    char nation_code[4];    /* GB 3304, "01" */
    const char *nation;     /* its name, NULL when the code is not in the table */
    char birth_date[11];    /* YYYY-MM-DD */
    char birth_place[7];    /* GB/T 2260 region */
    char issuer_region[7];  /* the first 6 digits of 卡的识别码 */
    char card_type[16];     /* preschool | student | adult | elderly, else the card's character */
    char card_version[8];   /* "3.00" */
    char issued[11], valid_until[11];
    bool holder_protected;  /* EF06 refused (a 3.0 card without a PSAM): no holder fields */
};

struct sscard_session {
    /* what to send next */
    uint8_t apdu[SSCARD_APDU_MAX];
    size_t apdu_len;
    /* the outcome */
    struct sscard_record record;
    enum sscard_reason reason;
    char message[160];
    /* where the read is */
    int phase;
    size_t item;
    bool le_retried;
    uint8_t name_bytes[64];
    size_t name_len;
};

/* Starts a read: always SSCARD_SEND (SELECT of the SSSE application). */
enum sscard_step sscard_begin(struct sscard_session *s);
/* The card's answer to s->apdu, data then SW1 SW2.  An answer shorter than
 * two bytes is a failed exchange (SSCARD_FAILED, read_failed). */
enum sscard_step sscard_feed(struct sscard_session *s, const uint8_t *answer, size_t len);

const char *sscard_reason_name(enum sscard_reason r); /* "unknown_card", "read_failed" */
#endif
