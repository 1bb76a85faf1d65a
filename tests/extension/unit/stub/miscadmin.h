/* Stand-in for miscadmin.h: the test sets MyProcPid as a postmaster child does. */
#ifndef PGSECRETS_TEST_STUB_MISCADMIN_H
#define PGSECRETS_TEST_STUB_MISCADMIN_H
extern int MyProcPid;
#endif
