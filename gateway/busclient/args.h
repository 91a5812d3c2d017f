/* The helper programs' command line: --config FILE, --version, --help. */
#ifndef AGW_BUSCLIENT_ARGS_H
#define AGW_BUSCLIENT_ARGS_H

/* Sets *config and returns -1 to go on, or the exit status (0 after --version or
 * --help, 2 for a usage error) when the program should stop here.  about: the
 * lines after "usage: NAME --config FILE"; version: "NAME x.y (library z)". */
int busclient_args(int argc, char **argv, const char *name, const char *about,
                   const char *version, const char **config);
#endif
