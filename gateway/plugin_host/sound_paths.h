/* What a plugin that declares AGW_RESOURCE_SOUND may reach, for its sandbox. */
#ifndef AGW_SOUND_PATHS_H
#define AGW_SOUND_PATHS_H
#include <limits.h>
#include <stddef.h>

#define SOUND_PATHS_MAX 16

struct sound_paths {
    char read[SOUND_PATHS_MAX][PATH_MAX];   /* ALSA's configuration */
    size_t n_read;
    char write[SOUND_PATHS_MAX][PATH_MAX];  /* directories a `file` PCM writes into */
    size_t n_write;
};

/* The service user's ALSA configuration as alsa-lib reads it (/etc/asound.conf,
 * /etc/alsa, $HOME/.asoundrc, $HOME/.config/alsa, ALSA_CONFIG_PATH's files), and the
 * directory of every
 * absolute path a `file` keyword names there (the file PCM, which writes the
 * audio: how tests and recorders capture it).  /dev/snd and /usr/share/alsa are
 * the caller's. */
void sound_paths_find(struct sound_paths *out);
#endif
