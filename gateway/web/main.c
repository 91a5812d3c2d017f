/* accessgw-web: the program is web_main() in web.c, kept in a library so
 * the unit tests link its pure parts. */
#include "web.h"

int main(int argc, char **argv) { return web_main(argc, argv); }
