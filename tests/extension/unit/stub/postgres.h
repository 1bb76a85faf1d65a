/*
 * Stand-in for PostgreSQL's postgres.h, so that extension files with no
 * server dependency beyond MyProcPid and Assert (nonce_pool.c) compile into
 * a plain test program. Only tests/extension/unit uses this folder.
 */
#ifndef PGSECRETS_TEST_STUB_POSTGRES_H
#define PGSECRETS_TEST_STUB_POSTGRES_H
#include <assert.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>
#define Assert(condition) assert(condition)
#endif
