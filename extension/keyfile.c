/*
 * keyfile.c — the root key file grammar (see keyfile.h). Compiled into the
 * extension and into secretsctl; fuzzed on its own.
 */
#include "keyfile.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define MAX_TOKENS 4

static void
set_error(char *err, size_t errlen, int *err_line, int line, const char *fmt,...)
__attribute__((format(printf, 5, 6)));

static void
set_error(char *err, size_t errlen, int *err_line, int line, const char *fmt,...)
{
	va_list		ap;

	*err_line = line;
	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool
is_hex_key(const char *token)
{
	if (strlen(token) != PGSECRETS_KEY_BYTES * 2)
		return false;
	for (const char *p = token; *p; p++)
		if (!isxdigit((unsigned char) *p))
			return false;
	return true;
}

/* Whether a line holds anything but blanks and a comment. */
static bool
is_key_line(const char *line, const char *end)
{
	for (const char *q = line; q < end; q++)
	{
		if (*q == '#')
			return false;
		if (!isspace((unsigned char) *q))
			return true;
	}
	return false;
}

static int
count_key_lines(const char *buf)
{
	int			n = 0;
	const char *p = buf;

	for (;;)
	{
		const char *eol = strchr(p, '\n');
		const char *end = eol ? eol : p + strlen(p);

		if (is_key_line(p, end))
			n++;
		if (!eol)
			return n;
		p = eol + 1;
	}
}

/* One key line, already split into tokens. */
static bool
parse_key_line(KeyFileContents *out, int lineno, char **tokens, int ntokens,
			   bool only_line, char *err, size_t errlen, int *err_line)
{
	const char *hex;
	long		version;
	bool		active = false;
	KeyFileEntry *slot;

	if (ntokens == 1 && is_hex_key(tokens[0]))
	{
		if (!only_line)
		{
			set_error(err, errlen, err_line, lineno,
					  "line %d: a bare key is only allowed as the file's only key; write \"<version> <key>\"", lineno);
			return false;
		}
		version = 1;
		hex = tokens[0];
		active = true;
		out->bare = true;
	}
	else
	{
		char	   *end;

		if (ntokens < 2 || ntokens > 3 || (ntokens == 3 && strcmp(tokens[2], "active") != 0))
		{
			set_error(err, errlen, err_line, lineno,
					  "line %d: expected \"<version> <64 hex digits> [active]\"", lineno);
			return false;
		}
		errno = 0;
		version = strtol(tokens[0], &end, 10);
		if (errno != 0 || *end != '\0' || !isdigit((unsigned char) tokens[0][0]) ||
			version < 1 || version > PGSECRETS_KEY_VERSION_MAX)
		{
			set_error(err, errlen, err_line, lineno,
					  "line %d: key version must be an integer from 1 to %ld", lineno, PGSECRETS_KEY_VERSION_MAX);
			return false;
		}
		if (!is_hex_key(tokens[1]))
		{
			set_error(err, errlen, err_line, lineno,
					  "line %d: a key must be exactly 64 hex digits (32 bytes)", lineno);
			return false;
		}
		hex = tokens[1];
		active = (ntokens == 3);
	}

	for (int i = 0; i < out->nkeys; i++)
		if (out->keys[i].version == (uint32_t) version)
		{
			set_error(err, errlen, err_line, lineno,
					  "line %d: key version %ld appears twice", lineno, version);
			return false;
		}
	if (out->nkeys >= PGSECRETS_MAX_KEYS)
	{
		set_error(err, errlen, err_line, lineno,
				  "holds more than %d keys", PGSECRETS_MAX_KEYS);
		return false;
	}
	if (active && out->active_marked)
	{
		set_error(err, errlen, err_line, lineno,
				  "line %d: more than one key is marked active", lineno);
		return false;
	}

	slot = &out->keys[out->nkeys];
	slot->version = (uint32_t) version;
	slot->line = lineno;
	if (sodium_hex2bin(slot->key, PGSECRETS_KEY_BYTES, hex, strlen(hex), NULL, NULL, NULL) != 0)
	{
		set_error(err, errlen, err_line, lineno,
				  "line %d: a key must be exactly 64 hex digits (32 bytes)", lineno);
		return false;
	}
	if (active)
	{
		out->active = out->nkeys;
		out->active_marked = true;
	}
	out->nkeys++;
	return true;
}

bool
keyfile_parse(char *buf, KeyFileContents *out, char *err, size_t errlen, int *err_line)
{
	bool		only_line = (count_key_lines(buf) == 1);
	int			lineno = 0;
	char	   *line = buf;

	memset(out, 0, sizeof(*out));
	out->active = -1;
	*err_line = 0;
	if (err && errlen)
		err[0] = '\0';
	while (line != NULL && *line != '\0')
	{
		char	   *next = strchr(line, '\n');
		char	   *comment;
		char	   *tokens[MAX_TOKENS];
		int			ntokens = 0;
		char	   *save = NULL;
		char	   *tok;

		if (next)
			*next++ = '\0';
		lineno++;
		if ((comment = strchr(line, '#')) != NULL)
			*comment = '\0';
		for (tok = strtok_r(line, " \t\r", &save); tok != NULL; tok = strtok_r(NULL, " \t\r", &save))
		{
			if (ntokens == MAX_TOKENS)
			{
				set_error(err, errlen, err_line, lineno,
						  "line %d: expected \"<version> <64 hex digits> [active]\"", lineno);
				return false;
			}
			tokens[ntokens++] = tok;
		}
		if (ntokens > 0 &&
			!parse_key_line(out, lineno, tokens, ntokens, only_line, err, errlen, err_line))
			return false;
		line = next;
	}
	if (out->nkeys == 0)
	{
		set_error(err, errlen, err_line, 0, "holds no key");
		return false;
	}
	if (!out->active_marked)
	{
		out->active = 0;
		for (int i = 1; i < out->nkeys; i++)
			if (out->keys[i].version > out->keys[out->active].version)
				out->active = i;
	}
	return true;
}
