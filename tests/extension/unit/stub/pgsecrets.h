/* Stand-in for extension/pgsecrets.h: just the declaration the unit tests need. */
#ifndef PGSECRETS_TEST_STUB_PGSECRETS_H
#define PGSECRETS_TEST_STUB_PGSECRETS_H
#include <stddef.h>
extern void nonce_pool_take(unsigned char *out, size_t len);
#endif
