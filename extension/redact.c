/*
 * redact.c — keeps secret values out of the server log.
 *
 * A value passed to a pgsecrets function travels in the statement text or in
 * bind parameters, and PostgreSQL logs both: log_statement, the duration line
 * of log_min_duration_statement, the STATEMENT: line after an error, and the
 * "parameters:" detail/context of the extended protocol. This emit_log_hook
 * rewrites those parts of any log entry raised while the current statement
 * mentions "secret" (which every pgsecrets value function, view and table
 * name contains). Statement echoes are server-log-only messages; the one
 * rewrite a client also sees is a failed cast of a value inside such a
 * statement, whose message would otherwise quote the value.
 */
#include "pgsecrets.h"

#include "tcop/tcopprot.h"
#include "utils/elog.h"
#include "utils/errcodes.h"

#define REDACTED "<redacted by pgsecrets>"

static emit_log_hook_type prev_emit_log_hook = NULL;
static bool hook_installed = false;

/* Case-insensitive search for "secret"; no allocation, safe in the hook. */
static bool
mentions_secret(const char *s)
{
	static const char needle[] = "secret";

	if (s == NULL)
		return false;
	for (; *s; s++)
		if (pg_strncasecmp(s, needle, sizeof(needle) - 1) == 0)
			return true;
	return false;
}

/*
 * Finds where the statement text starts in a message PostgreSQL builds to
 * echo a statement: "statement: …", "execute S_1: …", "bind …: …",
 * "parse …: …", and the same after "duration: 1.0 ms  ". Returns NULL for
 * any other message, including a bare "duration: 1.0 ms".
 */
static const char *
statement_text_start(const char *message)
{
	static const char *const echoes[] = {"statement: ", "execute ", "bind ", "parse "};
	const char *p = message;

	if (p == NULL)
		return NULL;
	if (strncmp(p, "duration: ", 10) == 0)
	{
		p = strstr(p, "  ");
		if (p == NULL)
			return NULL;
		p += 2;
	}
	for (size_t i = 0; i < lengthof(echoes); i++)
		if (strncmp(p, echoes[i], strlen(echoes[i])) == 0)
		{
			const char *colon = strstr(p, ": ");

			return colon ? colon + 2 : NULL;
		}
	return NULL;
}

/* Keeps the prefix ("duration: 0.1 ms  execute S_1: "), drops the text. */
static char *
redact_statement_echo(const char *message, const char *text_start)
{
	return psprintf("%.*s" REDACTED, (int) (text_start - message), message);
}

/*
 * Errors whose message quotes the offending input (a failed cast of a value,
 * a bad byte sequence) would otherwise copy a secret into the log.
 */
static bool
error_quotes_input(int sqlerrcode)
{
	return sqlerrcode == ERRCODE_INVALID_TEXT_REPRESENTATION ||
		sqlerrcode == ERRCODE_CHARACTER_NOT_IN_REPERTOIRE ||
		sqlerrcode == ERRCODE_UNTRANSLATABLE_CHARACTER ||
		sqlerrcode == ERRCODE_INVALID_BINARY_REPRESENTATION ||
		sqlerrcode == ERRCODE_INVALID_DATETIME_FORMAT ||
		sqlerrcode == ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
}

static bool
carries_parameters(const char *s)
{
	return s != NULL && (strstr(s, "parameters:") != NULL || strstr(s, "$1 = ") != NULL);
}

static void
pgsecrets_emit_log_hook(ErrorData *edata)
{
	if (mentions_secret(debug_query_string) || mentions_secret(edata->message) ||
		mentions_secret(edata->internalquery))
	{
		bool		our_error = (edata->sqlerrcode & 0x3F) == PGSIXBIT('S') &&
			((edata->sqlerrcode >> 6) & 0x3F) == PGSIXBIT('E');

		const char *text_start = statement_text_start(edata->message);

		edata->hide_stmt = true;
		if (text_start != NULL)
			edata->message = redact_statement_echo(edata->message, text_start);
		else if (edata->elevel >= ERROR && !our_error && error_quotes_input(edata->sqlerrcode) &&
				 edata->message != NULL && strchr(edata->message, '"') != NULL)
			edata->message = pstrdup("invalid input " REDACTED);
		if (carries_parameters(edata->detail))
			edata->detail = NULL;
		if (carries_parameters(edata->detail_log))
			edata->detail_log = NULL;
		if (carries_parameters(edata->context))
			edata->context = NULL;
		edata->internalquery = NULL;
	}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

void
redact_install_hook(void)
{
	if (hook_installed)
		return;
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = pgsecrets_emit_log_hook;
	hook_installed = true;
}
