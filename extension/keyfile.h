/*
 * keyfile.h — the root key file grammar, in one place.
 *
 * Plain C with no PostgreSQL header, so the extension (keyring.c) and
 * secretsctl (service/secretsctl/keyfile.cpp) compile the same parser and can never
 * disagree about what a key file means.
 *
 *     # comments and blank lines are ignored
 *     <version> <64 hex digits> [active]
 *
 * Versions are integers from 1 to 2147483647. At most one line says
 * "active"; without one, the highest version is active. A file whose only
 * content is 64 hex digits (`openssl rand -hex 32`) is version 1, active.
 */
#ifndef PGSECRETS_KEYFILE_H
#define PGSECRETS_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C"
{
#endif

#define PGSECRETS_KEY_BYTES 32
#define PGSECRETS_MAX_KEYS 64
#define PGSECRETS_KEY_VERSION_MAX 2147483647L

typedef struct KeyFileEntry
{
	uint32_t	version;
	int			line;			/* 1-based line of the file it came from */
	unsigned char key[PGSECRETS_KEY_BYTES];
} KeyFileEntry;

typedef struct KeyFileContents
{
	int			nkeys;
	int			active;			/* index into keys */
	bool		active_marked;	/* a line said "active" (else: the highest) */
	bool		bare;			/* the file was one bare 64-hex-digit key */
	KeyFileEntry keys[PGSECRETS_MAX_KEYS];
} KeyFileContents;

/*
 * Parses the NUL-terminated text buf (modified in place) into out. On
 * failure returns false, writes the reason (naming the line and the rule,
 * never key material) to err and the 1-based line to *err_line (0 when the
 * file as a whole is at fault). out may hold key bytes either way: the
 * caller wipes it.
 */
extern bool keyfile_parse(char *buf, KeyFileContents *out,
						  char *err, size_t errlen, int *err_line);

#ifdef __cplusplus
}
#endif

#endif							/* PGSECRETS_KEYFILE_H */
