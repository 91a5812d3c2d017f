/* docs/VERBS.md, generated from the verb tables the plugins declare (.verbs):
 * the same tables the `devices` verb answers with, so the two cannot disagree. */
#ifndef AGW_VERBS_DOC_H
#define AGW_VERBS_DOC_H
#include <stdio.h>

/* Markdown for every plugin in plugin_dir, by plugin id; 0, or -1 when the
 * directory cannot be read. */
int verbs_doc_print(FILE *out, const char *plugin_dir);
#endif
