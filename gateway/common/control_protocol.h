/* What both ends of the control protocol (docs/CONTRACT.md, "Control") must
 * agree on: accessgwd's ROUTER (bus/control.c) and the helpers that forward
 * requests to it (accessgw-web, accessgw-uplink). */
#ifndef AGW_CONTROL_PROTOCOL_H
#define AGW_CONTROL_PROTOCOL_H

/* A request longer than this is answered too_large. */
#define CONTROL_MAX_REQUEST (64 * 1024)
#endif
