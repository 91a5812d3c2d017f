/* accessgwd's main loop: the one thread that owns every ZeroMQ socket. */
#ifndef AGW_GATEWAY_H
#define AGW_GATEWAY_H

#define ACCESSGW_VERSION_STRING ACCESSGW_VERSION

/* Runs the gateway until SIGTERM/SIGINT; returns the exit status. */
int gateway_run(const char *config_path);
/* --check-config: 0 when FILE is valid (plugins included), else 1 with a message. */
int gateway_check_config(const char *config_path);
#endif
