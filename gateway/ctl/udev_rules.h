/* udev rules generated from the plugins' ID tables: the same tables the
 * gateway's hotplug matching reads, so the two cannot disagree. */
#ifndef AGW_UDEV_RULES_H
#define AGW_UDEV_RULES_H
#include <stdbool.h>
#include <stdio.h>

/* generic=false: the rules for every plugin's own devices.
 * generic=true: the opt-in rules for generic USB-serial bridges, each
 * matching only a serial number the installer puts in place of @SERIAL@. */
int udev_rules_print(FILE *out, const char *plugin_dir, bool generic);
#endif
