/* Profile files for plugins that use the HID profile engine: every *.ini of
 * the profile directories, later directories overriding earlier files of
 * the same name (/etc/accessgw/profiles over the installed ones).  A
 * profile with an error is logged with its file and line and skipped; the
 * others still load. */
#ifndef AGW_PLUGIN_PROFILE_DIRS_H
#define AGW_PLUGIN_PROFILE_DIRS_H
#include <accessgw/plugin.h>

#include "hid_profile.h"

struct profile_set {
    struct profile *items;
    size_t n;
};

/* dir: the device's profile_dir setting, or NULL for the default directories. */
int profiles_load(struct agw_device *dev, const char *dir, const char *device_class,
                  const char *const *actions, struct profile_set *out);
void profiles_free(struct profile_set *set);
/* Picks the device's profile (config `profile`, else VID:PID and usage page);
 * publishes it with set_info("profile"); NULL with the device state set to
 * error when none fits. */
const struct profile *profiles_choose(struct agw_device *dev, const struct profile_set *set,
                                      uint16_t vid, uint16_t pid, uint16_t usage_page);

#endif
