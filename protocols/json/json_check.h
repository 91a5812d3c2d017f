/* Whether a text is one JSON object, without building it.
 *
 * accessgwd trusts nothing a plugin host sends: an event's data must be one
 * JSON object before it is spliced into an envelope.  Parsing it with jansson
 * only to throw the tree away cost an allocation per value of every event on
 * the hot path; this checks the same grammar in one pass over the text, with
 * no allocation, and says when it cannot be sure (then the caller parses it
 * with jansson, which decides).  It accepts exactly what jansson's
 * json_loads(text, JSON_REJECT_DUPLICATES) accepts as an object, or is unsure:
 * fuzz_json_check compares the two on every input it finds.
 */
#ifndef AGW_JSON_CHECK_H
#define AGW_JSON_CHECK_H
#include <stddef.h>

enum json_check {
    JSON_CHECK_OBJECT = 0,   /* one object, RFC 8259, no duplicate keys */
    JSON_CHECK_INVALID = -1, /* not JSON, or not an object; *error_at: the byte */
    JSON_CHECK_UNSURE = 1,   /* valid only if jansson says so: a key with an escape (a
                                duplicate could hide in it), a number jansson might not
                                hold, nesting or keys past this checker's bounds, a NUL
                                byte (*error_at: where) */
};

enum json_check json_check_object(const char *text, size_t len, size_t *error_at);
#endif
