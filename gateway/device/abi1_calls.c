/* The trampolines that run a 1.x plugin's open() and command() (common/abi1.h). */
#include "device_internal.h"
#include "abi1.h"

static const struct agw1_plugin *v1_of(struct agw_device *d)
{
    return abi1_original(((struct device *)d)->plugin);
}

static int open_v1(struct agw_device *d)
{
    return v1_of(d)->open(d, &host_api_v1);
}

/* 1.x plugins ask host->command_target() during the call instead. */
static int command_v1(struct agw_device *d, const char *target, const char *verb, json_t *args,
                      json_t **result)
{
    struct device *dev = (struct device *)d;
    dev->command_target = target;
    int status = v1_of(d)->command(d, verb, args, result);
    dev->command_target = NULL;
    return status;
}

const struct abi1_calls abi1_device_calls = {open_v1, command_v1};
