/*
 * main.c - runs every test registered by the linked test files
 * (test_tun.c: the TUN-SPEC rows; test_lostwakeup.c: O6 under load).
 *
 *   test_tun [-v] [-n] [substring]
 *	-v	notes from the tests
 *	-n	run in this process, no fork (for a debugger; stops at the
 *		first test)
 *	substring	only the tests whose name contains it
 */
#include "tlib.h"

int
main(int argc, char **argv)
{
	return tl_main(argc, argv);
}
