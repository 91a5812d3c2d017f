#include "args.h"

#include <getopt.h>
#include <stdio.h>

static int usage(FILE *f, const char *name, const char *about, int status)
{
    fprintf(f, "usage: %s --config FILE\n       %s --version\n%s", name, name, about);
    return status;
}

int busclient_args(int argc, char **argv, const char *name, const char *about,
                   const char *version, const char **config)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int o;
    *config = NULL;
    while ((o = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
        if (o == 'c')
            *config = optarg;
        else if (o == 'V')
            return printf("%s\n", version) < 0;
        else
            return o == 'h' ? usage(stdout, name, about, 0) : usage(stderr, name, about, 2);
    }
    if (!*config || optind != argc)
        return usage(stderr, name, about, 2);
    return -1;
}
