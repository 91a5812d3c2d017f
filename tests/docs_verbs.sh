#!/bin/sh
# docs/VERBS.md is what `accessgwctl verbs` prints from the built plugins' verb tables:
# a verb added, renamed or given other arguments without regenerating it fails here.
# usage: docs_verbs.sh ACCESSGWCTL PLUGIN_DIR DOCS_VERBS_MD
set -eu
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$1" verbs --plugin-dir "$2" > "$out"
if ! diff -u "$3" "$out"; then
    echo "docs/VERBS.md is out of date: regenerate with" >&2
    echo "  $1 verbs --plugin-dir $2 > docs/VERBS.md" >&2
    exit 1
fi
