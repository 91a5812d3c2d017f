/* Golden-test driver: a card's answers, one a line (hex, data then SW1 SW2),
 * in; the APDUs the session sent and the outcome, as JSON lines, out.  The
 * chunk argument of golden.sh does not apply: an answer is one exchange. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hexio.h"
#include "sscard.h"
#include "sscard_json.h"

static void print_apdu(const struct sscard_session *s)
{
    printf("{\"apdu\":\"");
    for (size_t i = 0; i < s->apdu_len; i++)
        printf("%02X", s->apdu[i]);
    printf("\"}\n");
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: sscard_golden CHUNK FILE.hex\n");
        return 2;
    }
    FILE *f = fopen(argv[2], "r");
    if (!f)
        return 2;
    static struct sscard_session s;
    enum sscard_step step = sscard_begin(&s);
    char line[1024];
    while (step == SSCARD_SEND) {
        print_apdu(&s);
        do {
            if (!fgets(line, sizeof(line), f)) {
                printf("{\"error\":\"the card's answers ended\"}\n");
                fclose(f);
                return 0;
            }
        } while (line[0] == '#' || line[0] == '\n');
        uint8_t answer[300];
        size_t len = hex_parse(line, answer, sizeof(answer));
        step = sscard_feed(&s, answer, len);
    }
    fclose(f);
    if (step == SSCARD_FAILED) {
        printf("{\"error\":\"%s\",\"message\":\"%s\"}\n", sscard_reason_name(s.reason), s.message);
        return 0;
    }
    json_t *o = sscard_record_to_json(&s.record);
    char *text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
    printf("{\"read\":%s}\n", text);
    free(text);
    json_decref(o);
    return 0;
}
