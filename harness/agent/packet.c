/*
 * packet.c - IPv4 ICMP echo and UDP packets for the bench loops (see packet.h).
 */
#include "packet.h"

#include <string.h>

uint32_t
pkt_sum(const void *p, size_t n, uint32_t sum)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (i < n)
		sum += (uint32_t)(b[i] << 8);
	return sum;
}

uint16_t
pkt_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
ip_header(uint8_t *ip, size_t size, int proto, const uint8_t src[4], const uint8_t dst[4])
{
	memset(ip, 0, PKT_IP_HLEN);
	ip[0] = 0x45;			/* version 4, 5 words */
	put16(ip + 2, (uint16_t)size);
	put16(ip + 4, 0x7a1b);		/* identification: any */
	ip[8] = 64;			/* ttl */
	ip[9] = (uint8_t)proto;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	put16(ip + 10, pkt_fold(pkt_sum(ip, PKT_IP_HLEN, 0)));
}

static void
fill_pattern(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)('a' + i % 26);
}

size_t
pkt_icmp_echo(uint8_t *buf, size_t size, int type, const uint8_t src[4],
    const uint8_t dst[4], uint16_t ident, uint16_t seq)
{
	uint8_t *icmp = buf + PKT_IP_HLEN;

	if (size < PKT_IP_HLEN + PKT_ICMP_HLEN || size > PKT_IP_MAX)
		return 0;
	ip_header(buf, size, PKT_PROTO_ICMP, src, dst);
	icmp[0] = (uint8_t)type;
	icmp[1] = 0;
	put16(icmp + 2, 0);
	put16(icmp + 4, ident);
	put16(icmp + 6, seq);
	fill_pattern(icmp + PKT_ICMP_HLEN, size - PKT_IP_HLEN - PKT_ICMP_HLEN);
	put16(icmp + 2, pkt_fold(pkt_sum(icmp, size - PKT_IP_HLEN, 0)));
	return size;
}

void
pkt_icmp_set_seq(uint8_t *ip, uint16_t seq)
{
	uint8_t *icmp = ip + PKT_IP_HLEN;
	uint16_t old = get16(icmp + 6);
	uint32_t sum;

	/* RFC 1624: HC' = ~(~HC + ~m + m') */
	sum = (uint16_t)~get16(icmp + 2);
	sum += (uint16_t)~old;
	sum += seq;
	put16(icmp + 6, seq);
	put16(icmp + 2, pkt_fold(sum));
}

size_t
pkt_udp(uint8_t *buf, size_t size, const uint8_t src[4], const uint8_t dst[4],
    uint16_t sport, uint16_t dport)
{
	uint8_t *udp = buf + PKT_IP_HLEN;
	size_t ulen = size - PKT_IP_HLEN;
	uint32_t sum;
	uint16_t ck;

	if (size < PKT_IP_HLEN + PKT_UDP_HLEN || size > PKT_IP_MAX)
		return 0;
	ip_header(buf, size, PKT_PROTO_UDP, src, dst);
	put16(udp, sport);
	put16(udp + 2, dport);
	put16(udp + 4, (uint16_t)ulen);
	put16(udp + 6, 0);
	fill_pattern(udp + PKT_UDP_HLEN, ulen - PKT_UDP_HLEN);
	/* pseudo-header: addresses, protocol, UDP length */
	sum = pkt_sum(buf + 12, 8, 0);
	sum += PKT_PROTO_UDP + (uint32_t)ulen;
	sum = pkt_sum(udp, ulen, sum);
	ck = pkt_fold(sum);
	put16(udp + 6, ck ? ck : 0xffff);
	return size;
}

int
pkt_parse(const uint8_t *p, size_t n, struct pkt_info *info)
{
	size_t hlen, len;
	const uint8_t *l4;

	memset(info, 0, sizeof(*info));
	if (n < PKT_IP_HLEN || p[0] >> 4 != 4)
		return -1;
	hlen = (size_t)(p[0] & 15) * 4;
	len = get16(p + 2);
	if (hlen < PKT_IP_HLEN || len < hlen || len > n)
		return -1;
	if (pkt_fold(pkt_sum(p, hlen, 0)) != 0)
		return -1;
	info->proto = p[9];
	memcpy(info->src, p + 12, 4);
	memcpy(info->dst, p + 16, 4);
	info->len = len;
	l4 = p + hlen;
	if (info->proto == PKT_PROTO_ICMP && len - hlen >= PKT_ICMP_HLEN) {
		info->icmp_type = l4[0];
		info->ident = get16(l4 + 4);
		info->seq = get16(l4 + 6);
	} else if (info->proto == PKT_PROTO_UDP && len - hlen >= PKT_UDP_HLEN) {
		info->sport = get16(l4);
		info->dport = get16(l4 + 2);
	}
	return 0;
}
