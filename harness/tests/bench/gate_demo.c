/*
 * gate_demo.c - a stand-in for the kpi bench program, to show that tunlab.bench_gate
 * catches a slower build. Each "packet" builds a 64-byte IPv4-like header and computes its
 * Internet checksum WORK times; a build with -DWORK=2 does twice the work per packet.
 *
 *	gate_demo <packets>	prints packets=<n> sum=<x>
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef WORK
#define WORK 1
#endif

static uint16_t
cksum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

int
main(int argc, char **argv)
{
	uint8_t pkt[64];
	uint64_t total = 0;
	long n = argc > 1 ? atol(argv[1]) : 1000;

	for (long i = 0; i < n; i++) {
		memset(pkt, (int)(i & 0xff), sizeof(pkt));
		pkt[0] = 0x45;
		pkt[4] = (uint8_t)(i >> 8);
		pkt[5] = (uint8_t)i;
		for (int w = 0; w < WORK; w++) {
			pkt[10] = (uint8_t)w;	/* each round differs, so none is folded away */
			total += cksum(pkt, sizeof(pkt));
		}
	}
	printf("packets=%ld sum=%llu\n", n, (unsigned long long)total);
	return 0;
}
