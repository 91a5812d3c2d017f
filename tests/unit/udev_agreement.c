/* Reads the generated udev rules back and checks that the gateway's hotplug
 * matcher claims, for each rule, the device it names for the plugin it names
 * (and that a generic bridge is claimed only with the installer's opt-in). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/ctl/udev_rules.h"
#include "hotplug.h"
#include "loader.h"
#include "log.h"

static int check_line(const struct plugin_set *set, const char *line, int generic)
{
    char subsystem[16] = "", plugin[64] = "";
    unsigned vid = 0, pid = 0;
    const char *p;
    if ((p = strstr(line, "SUBSYSTEM==\"")))
        sscanf(p, "SUBSYSTEM==\"%15[^\"]\"", subsystem);
    if ((p = strstr(line, "{idVendor}==\"")))
        sscanf(p, "{idVendor}==\"%x\"", &vid);
    if ((p = strstr(line, "{idProduct}==\"")))
        sscanf(p, "{idProduct}==\"%x\"", &pid);
    if ((p = strstr(line, "ENV{ACCESSGW_PLUGIN}=\"")))
        sscanf(p, "ENV{ACCESSGW_PLUGIN}=\"%63[^\"]\"", plugin);
    if (!subsystem[0])
        return 0;
    enum agw_bus bus = !strcmp(subsystem, "usb") ? AGW_BUS_USB
                       : !strcmp(subsystem, "hidraw") ? AGW_BUS_HID
                       : !strcmp(subsystem, "input")  ? AGW_BUS_INPUT : AGW_BUS_SERIAL;
    const struct agw_plugin *pl = plugin_set_find(set, plugin);
    if (!pl) {
        printf("FAIL: rule names unknown plugin '%s': %s\n", plugin, line);
        return 1;
    }
    /* usage pages are checked by the gateway only: any page the row allows */
    const struct agw_id *row = NULL;
    for (unsigned page = 0; !row && page <= 0xFFFF; page++)
        row = hotplug_match_row(pl, bus, vid, pid, page, generic ? plugin : NULL);
    if (!row) {
        printf("FAIL: %s does not claim %04x:%04x on %s\n", plugin, vid, pid, subsystem);
        return 1;
    }
    if (generic && hotplug_match_row(pl, bus, vid, pid, 0, NULL)) {
        printf("FAIL: generic bridge %04x:%04x claimed without opt-in\n", vid, pid);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    log_set_level(3);
    struct plugin_set set = {0};
    if (plugin_set_load_dir(&set, argv[1]) <= 0)
        return 1;
    int failures = 0, rules = 0;
    for (int generic = 0; generic < 2; generic++) {
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);
        udev_rules_print(mem, argv[1], generic);
        fclose(mem);
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
            if (line[0] != '#' && strstr(line, "SUBSYSTEM")) {
                rules++;
                failures += check_line(&set, line, generic);
            }
        free(text);
    }
    /* and every row of every table produced a rule */
    int rows = 0;
    for (size_t i = 0; i < set.n; i++)
        for (const struct agw_id *r = set.items[i].desc->ids; r && r->bus != AGW_BUS_END; r++)
            rows += r->bus != AGW_BUS_BLE && r->bus != AGW_BUS_PCSC; /* no device node */
    if (rows != rules) {
        printf("FAIL: %d ID-table rows but %d rules\n", rows, rules);
        failures++;
    }
    printf("%d rules checked, %d failure(s)\n", rules, failures);
    plugin_set_free(&set);
    return failures ? 1 : 0;
}
