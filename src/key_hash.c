/*-------------------------------------------------------------------------
 *
 * key_hash.c
 *	  The 128-bit hash behind every cache key and kept-plan key.
 *
 * Every hit hashes key material: the serialised Query tree of a
 * simple-protocol statement or of a prepared statement's custom plan
 * (plan_reuse.c), the serialised plan of a one-shot statement
 * (plan_hash.c), the statement key's parts (fingerprint.c).  These buffers
 * are kilobytes long, and two seeded passes of PostgreSQL's
 * hash_bytes_extended() over them were about a tenth of a join hit's
 * instructions.  This hash reads the material once, 32 bytes at a time:
 *	- four 64-bit lanes, each absorbing every fourth 8-byte word by
 *	  multiply, rotate and multiply (a bijection of the lane for a given
 *	  word and of the word for a given lane, so a single changed word
 *	  always changes the state);
 *	- the last words and a zero-padded partial word go to the lanes in
 *	  turn, and the length is folded in at the end, so that material that
 *	  differs only by trailing zero bytes differs;
 *	- the lanes are folded into two different 64-bit combinations, each
 *	  finished by a full-avalanche mix.
 * Like hash_bytes_extended() it is not cryptographic: keys also carry the
 * role, database and parameters they stand for, and nothing an unprivileged
 * user controls is hashed without the rest.  Keys depend on the byte order,
 * as servers sharing one Redis share one architecture.
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/key_hash.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "hybridcache.h"

/* odd 64-bit multipliers with well-spread bits */
#define HC_MUL_A	UINT64CONST(0x9e3779b97f4a7c15)
#define HC_MUL_B	UINT64CONST(0xd6e8feb86659fd93)
#define HC_MUL_C	UINT64CONST(0xa0761d6478bd642f)

/* lane seeds ("hybridca", "che keys" and two more) */
#define HC_SEED_0	UINT64CONST(0x6879627269646361)
#define HC_SEED_1	UINT64CONST(0x636865206b657973)
#define HC_SEED_2	UINT64CONST(0x8ebc6af09c88c6e3)
#define HC_SEED_3	UINT64CONST(0x589965cc75374cc3)

static inline uint64
rotl64(uint64 x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* absorb one word into a lane */
static inline uint64
absorb(uint64 lane, uint64 word)
{
	lane += word * HC_MUL_B;
	lane = rotl64(lane, 31);
	return lane * HC_MUL_A;
}

/* a full-avalanche finish of 64 bits */
static inline uint64
finish(uint64 x)
{
	x ^= x >> 30;
	x *= UINT64CONST(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64CONST(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

/* Hash key material into a 128-bit key. */
void
hc_hash_bytes(const void *data, Size len, hcKey *key)
{
	const unsigned char *p = data;
	Size		n = len;
	uint64		v[4] = {HC_SEED_0, HC_SEED_1, HC_SEED_2, HC_SEED_3};
	uint64		w;
	uint64		h1;
	uint64		h2;
	int			i = 0;

	while (n >= 32)
	{
		uint64		w4[4];

		memcpy(w4, p, 32);
		v[0] = absorb(v[0], w4[0]);
		v[1] = absorb(v[1], w4[1]);
		v[2] = absorb(v[2], w4[2]);
		v[3] = absorb(v[3], w4[3]);
		p += 32;
		n -= 32;
	}
	while (n >= 8)
	{
		memcpy(&w, p, 8);
		v[i] = absorb(v[i], w);
		i++;
		p += 8;
		n -= 8;
	}
	w = 0;
	if (n > 0)
		memcpy(&w, p, n);
	v[i] = absorb(v[i], w);

	h1 = rotl64(v[0], 1) + rotl64(v[1], 7) + rotl64(v[2], 12) +
		rotl64(v[3], 18) + (uint64) len * HC_MUL_C;
	h2 = (v[0] ^ rotl64(v[2], 29)) * HC_MUL_C +
		(v[1] ^ rotl64(v[3], 41)) * HC_MUL_B + ((uint64) len ^ HC_SEED_1);
	key->hi = finish(h1);
	key->lo = finish(h2 ^ rotl64(h1, 32));
}
