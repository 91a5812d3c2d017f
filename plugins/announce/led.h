/* An LED screen on a serial port: the call's text in the frames its profile describes. */
#ifndef AGW_ANNOUNCE_LED_H
#define AGW_ANNOUNCE_LED_H
#include "accessgw/plugin.h"

struct led;

/* The device's profile (class announce, an [output] `show` with {text}); NULL after
 * the device's state says why. */
struct led *led_open(struct agw_device *dev);
void led_close(struct led *l);
/* Shows text (UTF-8) on the screen: 0, or -errno after logging why. */
int led_show(struct agw_device *dev, struct led *l, const char *text);
#endif
