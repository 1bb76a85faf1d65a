/*
 * redact.c — keeps secret values out of the server log.
 *
 * A value passed to a pgsecrets function travels in the statement text or in
 * bind parameters, and PostgreSQL logs both: log_statement, the duration line
 * of log_min_duration_statement, the STATEMENT: line after an error, and the
 * "parameters:" detail/context of the extended protocol. This emit_log_hook
 * rewrites those parts of any log entry raised while the current statement
 * mentions "secret" (which every pgsecrets value function, view and table
 * name contains), or runs a prepared statement that does (EXECUTE), and of
 * auto_explain's plans of such statements.
 *
 * Errors are judged by what ran, not by the text: once a value function has
 * encrypted or decrypted a value in the current statement, an error whose
 * message or detail may quote an input (a failed cast of the value to int,
 * json, regclass, ...; a constraint violation showing the row) loses the
 * quoted parts. Statement echoes are server-log-only messages; the rewrites
 * of errors are also what the client sees.
 *
 * Not covered: log_statement logs a statement before it runs, so a value
 * passed through a function of your own whose call does not mention
 * "secret" is logged as written (name such wrappers accordingly).
 */
#include "pgsecrets.h"

#include "access/xact.h"
#include "commands/prepare.h"
#include "tcop/tcopprot.h"
#include "utils/elog.h"
#include "utils/errcodes.h"
#include "utils/timestamp.h"

#define REDACTED "<redacted by pgsecrets>"

static emit_log_hook_type prev_emit_log_hook = NULL;
static bool hook_installed = false;

/* The start of the statement in which a value was last sealed or opened. */
static TimestampTz value_statement_start = 0;

/*
 * Called by every function that takes or returns a value in clear; the
 * statement start identifies "this statement" without a hook of its own.
 */
void
redact_note_value_use(void)
{
	value_statement_start = GetCurrentStatementStartTimestamp();
}

static bool
values_in_this_statement(void)
{
	return value_statement_start != 0 && value_statement_start == GetCurrentStatementStartTimestamp();
}

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
 * True for "EXECUTE name ..." when the prepared statement `name` mentions
 * "secret": its parameters are the values. Reads the name without
 * allocating (quoted or folded to lower case, as the parser does).
 */
static bool
executes_secret_statement(const char *q)
{
	char		name[NAMEDATALEN];
	size_t		len = 0;
	PreparedStatement *ps;

	if (q == NULL)
		return false;
	while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
		q++;
	if (pg_strncasecmp(q, "execute", 7) != 0 || !(q[7] == ' ' || q[7] == '\t' || q[7] == '\n'))
		return false;
	q += 7;
	while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
		q++;
	if (*q == '"')
	{
		for (q++; *q && len < NAMEDATALEN - 1; q++)
		{
			if (*q == '"')
			{
				if (q[1] != '"')
					break;
				q++;
			}
			name[len++] = *q;
		}
	}
	else
	{
		for (; *q && (isalnum((unsigned char) *q) || *q == '_' || *q == '$') && len < NAMEDATALEN - 1; q++)
			name[len++] = (char) pg_ascii_tolower((unsigned char) *q);
	}
	name[len] = '\0';
	if (len == 0)
		return false;
	ps = FetchPreparedStatement(name, false);
	return ps != NULL && ps->plansource != NULL && mentions_secret(ps->plansource->query_string);
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

/*
 * auto_explain's "duration: 1.0 ms  plan:\nQuery Text: ..." (and its JSON,
 * YAML and XML forms): where the plan starts, or NULL.
 */
static const char *
explain_plan_start(const char *message)
{
	const char *p;

	if (message == NULL || strncmp(message, "duration: ", 10) != 0)
		return NULL;
	p = strstr(message, "  plan:");
	return p ? p + 7 : NULL;
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

/*
 * Errors whose message names an object by the input it was given, which a
 * cast of a value (::regclass, ::regrole, ::regproc, ...) makes the value,
 * or whose detail shows a row (constraint violations: "Failing row
 * contains", "Key (...)=(...)"). Judged only when a value was in play.
 */
static bool
error_may_show_value(int sqlerrcode)
{
	return sqlerrcode == ERRCODE_UNDEFINED_TABLE ||
		sqlerrcode == ERRCODE_UNDEFINED_OBJECT ||
		sqlerrcode == ERRCODE_UNDEFINED_FUNCTION ||
		sqlerrcode == ERRCODE_UNDEFINED_SCHEMA ||
		sqlerrcode == ERRCODE_INVALID_SCHEMA_NAME ||
		sqlerrcode == ERRCODE_INVALID_NAME ||
		sqlerrcode == ERRCODE_AMBIGUOUS_FUNCTION ||
		sqlerrcode == ERRCODE_DATETIME_FIELD_OVERFLOW ||
		ERRCODE_TO_CATEGORY(sqlerrcode) == ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION;
}

static bool
carries_parameters(const char *s)
{
	return s != NULL && (strstr(s, "parameters:") != NULL || strstr(s, "$1 = ") != NULL);
}

static void
pgsecrets_emit_log_hook(ErrorData *edata)
{
	bool		touched = values_in_this_statement();

	if (touched || mentions_secret(debug_query_string) || mentions_secret(edata->message) ||
		mentions_secret(edata->internalquery) || executes_secret_statement(debug_query_string))
	{
		bool		our_error = (edata->sqlerrcode & 0x3F) == PGSIXBIT('S') &&
			((edata->sqlerrcode >> 6) & 0x3F) == PGSIXBIT('E');
		bool		input_error = edata->elevel >= ERROR && !our_error &&
			(error_quotes_input(edata->sqlerrcode) ||
			 (touched && error_may_show_value(edata->sqlerrcode)));
		const char *text_start = statement_text_start(edata->message);
		const char *plan_start = explain_plan_start(edata->message);

		edata->hide_stmt = true;
		if (text_start != NULL)
			edata->message = redact_statement_echo(edata->message, text_start);
		else if (plan_start != NULL)
			edata->message = redact_statement_echo(edata->message, plan_start);
		else if (input_error && edata->message != NULL && strchr(edata->message, '"') != NULL)
			edata->message = pstrdup("invalid input " REDACTED);
		if (input_error)
		{
			/* "Token "…" is invalid.", "JSON data, line 1: …", "Failing row contains (…)" */
			edata->detail = NULL;
			edata->detail_log = NULL;
			edata->context = NULL;
		}
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
