/*
 * packet.h - building and recognising the IPv4 packets the bench loops send and expect:
 * ICMP echo request/reply and UDP, with correct IP, ICMP and UDP checksums.
 * Addresses are 4 bytes in network order.
 */
#ifndef TUNLAB_PACKET_H
#define TUNLAB_PACKET_H

#include <stddef.h>
#include <stdint.h>

#define PKT_IP_HLEN	20
#define PKT_ICMP_HLEN	8
#define PKT_UDP_HLEN	8
#define PKT_IP_MAX	65535

#define PKT_ICMP_ECHOREPLY	0
#define PKT_ICMP_ECHO		8
#define PKT_PROTO_ICMP		1
#define PKT_PROTO_UDP		17

/* Internet checksum of n bytes, continuing from a partial (unfolded) sum. */
uint32_t pkt_sum(const void *p, size_t n, uint32_t sum);
uint16_t pkt_fold(uint32_t sum);

/* An IPv4 ICMP echo (type PKT_ICMP_ECHO or PKT_ICMP_ECHOREPLY) of total length size
 * (>= 28) in buf; the payload is a fixed pattern. Returns size, or 0 if it does not fit. */
size_t pkt_icmp_echo(uint8_t *buf, size_t size, int type, const uint8_t src[4],
    const uint8_t dst[4], uint16_t ident, uint16_t seq);

/* Changes the sequence number of an echo built by pkt_icmp_echo, updating its checksum. */
void pkt_icmp_set_seq(uint8_t *ip, uint16_t seq);

/* An IPv4 UDP datagram of total length size (>= 28). Returns size, or 0. */
size_t pkt_udp(uint8_t *buf, size_t size, const uint8_t src[4], const uint8_t dst[4],
    uint16_t sport, uint16_t dport);

/* What a received IPv4 packet is. */
struct pkt_info {
	int proto;		/* PKT_PROTO_ICMP, PKT_PROTO_UDP, ... */
	uint8_t src[4], dst[4];
	size_t len;		/* IP total length */
	int icmp_type;		/* ICMP: type, ident, seq */
	uint16_t ident, seq;
	uint16_t sport, dport;	/* UDP */
};

/* Parses an IPv4 packet of n bytes. Returns 0, or -1 if it is not a whole, valid IPv4
 * packet (bad version, lengths or header checksum). */
int pkt_parse(const uint8_t *p, size_t n, struct pkt_info *info);

#endif /* TUNLAB_PACKET_H */
