/* libFuzzer, differential: wherever json_check_object is sure, jansson (the
 * parser it stands in for in accessgwd) must agree. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <jansson.h>

#include "json_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t at;
    enum json_check mine = json_check_object((const char *)data, size, &at);
    if (at > size)
        abort();
    if (mine == JSON_CHECK_UNSURE)
        return 0;
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    enum json_check theirs = json_is_object(j) ? JSON_CHECK_OBJECT : JSON_CHECK_INVALID;
    json_decref(j);
    if (mine != theirs) {
        fprintf(stderr, "json_check says %d, jansson %d\n", mine, theirs);
        abort();
    }
    return 0;
}
