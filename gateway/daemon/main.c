/* accessgwd: the accessibility device gateway. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "accessgw/plugin.h"
#include "gateway.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: accessgwd --config FILE     run the gateway in the foreground\n"
                 "       accessgwd --check-config FILE   validate FILE and exit 0/1\n"
                 "       accessgwd --version\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", required_argument, NULL, 'k'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *check = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "c:k:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'k': check = optarg; break;
        case 'V': printf("accessgwd %s (plugin ABI %d.%d; runs plugins of ABI 1.x too)\n",
                           ACCESSGW_VERSION_STRING, AGW_ABI_MAJOR, AGW_ABI_MINOR); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || (!config && !check)) {
        usage(stderr);
        return 2;
    }
    return check ? gateway_check_config(check) : gateway_run(config);
}
