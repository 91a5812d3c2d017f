/* Keyboard-wedge scans (scan.h): key codes are positions; a US layout and the
 * Shift keys' state give the characters (linux input-event-codes.h). */
#include <linux/input.h>
#include <string.h>

#include "scan.h"

/* unshifted, shifted: by key code, for the keys a code can hold */
static const char us_keys[][2] = {
    [KEY_1] = {'1', '!'}, [KEY_2] = {'2', '@'}, [KEY_3] = {'3', '#'}, [KEY_4] = {'4', '$'},
    [KEY_5] = {'5', '%'}, [KEY_6] = {'6', '^'}, [KEY_7] = {'7', '&'}, [KEY_8] = {'8', '*'},
    [KEY_9] = {'9', '('}, [KEY_0] = {'0', ')'}, [KEY_MINUS] = {'-', '_'},
    [KEY_EQUAL] = {'=', '+'}, [KEY_Q] = {'q', 'Q'}, [KEY_W] = {'w', 'W'}, [KEY_E] = {'e', 'E'},
    [KEY_R] = {'r', 'R'}, [KEY_T] = {'t', 'T'}, [KEY_Y] = {'y', 'Y'}, [KEY_U] = {'u', 'U'},
    [KEY_I] = {'i', 'I'}, [KEY_O] = {'o', 'O'}, [KEY_P] = {'p', 'P'},
    [KEY_LEFTBRACE] = {'[', '{'}, [KEY_RIGHTBRACE] = {']', '}'}, [KEY_A] = {'a', 'A'},
    [KEY_S] = {'s', 'S'}, [KEY_D] = {'d', 'D'}, [KEY_F] = {'f', 'F'}, [KEY_G] = {'g', 'G'},
    [KEY_H] = {'h', 'H'}, [KEY_J] = {'j', 'J'}, [KEY_K] = {'k', 'K'}, [KEY_L] = {'l', 'L'},
    [KEY_SEMICOLON] = {';', ':'}, [KEY_APOSTROPHE] = {'\'', '"'}, [KEY_GRAVE] = {'`', '~'},
    [KEY_BACKSLASH] = {'\\', '|'}, [KEY_Z] = {'z', 'Z'}, [KEY_X] = {'x', 'X'},
    [KEY_C] = {'c', 'C'}, [KEY_V] = {'v', 'V'}, [KEY_B] = {'b', 'B'}, [KEY_N] = {'n', 'N'},
    [KEY_M] = {'m', 'M'}, [KEY_COMMA] = {',', '<'}, [KEY_DOT] = {'.', '>'},
    [KEY_SLASH] = {'/', '?'}, [KEY_KPASTERISK] = {'*', '*'}, [KEY_SPACE] = {' ', ' '},
    [KEY_KP7] = {'7', '7'}, [KEY_KP8] = {'8', '8'}, [KEY_KP9] = {'9', '9'},
    [KEY_KPMINUS] = {'-', '-'}, [KEY_KP4] = {'4', '4'}, [KEY_KP5] = {'5', '5'},
    [KEY_KP6] = {'6', '6'}, [KEY_KPPLUS] = {'+', '+'}, [KEY_KP1] = {'1', '1'},
    [KEY_KP2] = {'2', '2'}, [KEY_KP3] = {'3', '3'}, [KEY_KP0] = {'0', '0'},
    [KEY_KPDOT] = {'.', '.'}, [KEY_KPSLASH] = {'/', '/'},
};

char scan_us_key(unsigned code, bool shift)
{
    return code < sizeof(us_keys) / sizeof(us_keys[0]) ? us_keys[code][shift ? 1 : 0] : 0;
}

static int keypad_digit(unsigned code)
{
    switch (code) {
    case KEY_KP0: return 0;
    case KEY_KP1: return 1;
    case KEY_KP2: return 2;
    case KEY_KP3: return 3;
    case KEY_KP4: return 4;
    case KEY_KP5: return 5;
    case KEY_KP6: return 6;
    case KEY_KP7: return 7;
    case KEY_KP8: return 8;
    case KEY_KP9: return 9;
    default: return -1;
    }
}

void scan_keys_init(struct scan_keys *k, bool alt_codes)
{
    memset(k, 0, sizeof(*k));
    k->alt_codes = alt_codes;
}

static void put(struct scan_keys *k, const uint8_t *bytes, size_t n)
{
    if (k->len + n > sizeof(k->buf)) {
        k->overflow = true;
        return;
    }
    memcpy(k->buf + k->len, bytes, n);
    k->len += n;
}

/* Alt released after keypad digits: the decimal code point, as UTF-8. */
static void put_code_point(struct scan_keys *k, unsigned cp)
{
    uint8_t u[4];
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return;
    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        put(k, u, 1);
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xC0 | cp >> 6), u[1] = (uint8_t)(0x80 | (cp & 0x3F));
        put(k, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xE0 | cp >> 12), u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (uint8_t)(0x80 | (cp & 0x3F));
        put(k, u, 3);
    } else {
        u[0] = (uint8_t)(0xF0 | cp >> 18), u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (uint8_t)(0x80 | (cp & 0x3F));
        put(k, u, 4);
    }
}

static void end_scan(struct scan_keys *k, scan_fn fn, void *ctx)
{
    if (k->lost)
        fn(ctx, NULL, 0, SCAN_LOST, "");
    else if (k->overflow)
        fn(ctx, NULL, 0, SCAN_TOO_LONG, "");
    else if (k->len)
        fn(ctx, k->buf, k->len, SCAN_OK, "");
    k->len = 0;
    k->overflow = k->lost = false;
    k->alt_value = k->alt_digits = 0;
}

static void key(struct scan_keys *k, unsigned code, int value, scan_fn fn, void *ctx)
{
    if (code == KEY_LEFTSHIFT || code == KEY_RIGHTSHIFT) {
        *(code == KEY_LEFTSHIFT ? &k->shift_left : &k->shift_right) = value != 0;
        return;
    }
    if (code == KEY_LEFTALT || code == KEY_RIGHTALT) {
        k->alt = value != 0;
        if (!k->alt && k->alt_digits)
            put_code_point(k, k->alt_value);
        k->alt_value = k->alt_digits = 0;
        return;
    }
    if (value != 1) /* a release, or autorepeat (2): nothing is typed twice */
        return;
    if (code == KEY_ENTER || code == KEY_KPENTER || code == KEY_TAB) {
        end_scan(k, fn, ctx);
        return;
    }
    int digit = keypad_digit(code);
    if (k->alt && k->alt_codes && digit >= 0) {
        if (k->alt_digits < 8)
            k->alt_value = k->alt_value * 10 + (unsigned)digit;
        k->alt_digits++;
        return;
    }
    char c = scan_us_key(code, k->shift_left || k->shift_right);
    if (c && !k->alt)
        put(k, (const uint8_t *)&c, 1);
}

static void event(struct scan_keys *k, const struct input_event *e, scan_fn fn, void *ctx)
{
    if (e->type == EV_SYN && e->code == SYN_DROPPED) {
        k->dropping = true; /* the kernel dropped events: this frame is unreliable */
        return;
    }
    if (e->type == EV_SYN && e->code == SYN_REPORT && k->dropping) {
        /* what was lost may have been a key of the code: it is not trusted, and the
         * modifiers start again released (a scanner lets go of them at once) */
        k->dropping = false;
        k->shift_left = k->shift_right = k->alt = false;
        k->lost = true;
        return;
    }
    if (!k->dropping && e->type == EV_KEY)
        key(k, e->code, e->value, fn, ctx);
}

void scan_keys_feed(struct scan_keys *k, const uint8_t *data, size_t len, scan_fn fn, void *ctx)
{
    struct input_event e;
    while (len) {
        size_t take = sizeof(e) - k->partial_len < len ? sizeof(e) - k->partial_len : len;
        memcpy(k->partial + k->partial_len, data, take);
        k->partial_len += take;
        data += take;
        len -= take;
        if (k->partial_len < sizeof(e))
            break;
        memcpy(&e, k->partial, sizeof(e));
        k->partial_len = 0;
        event(k, &e, fn, ctx);
    }
}

void scan_keys_idle(struct scan_keys *k, scan_fn fn, void *ctx)
{
    end_scan(k, fn, ctx);
}
