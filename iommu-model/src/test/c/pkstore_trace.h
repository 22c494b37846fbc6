/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pkstore_trace.h - emit a pkstore ioctl trace, format version 1 (docs/TRACE.md), from C.
 *
 *   header := "PKSTTRC1" u32 version=1 u32 flags=0 u64 reserved=0
 *   record := u32 type, u32 length, payload[length], zero padding to a multiple of 8
 *
 * All integers little-endian; the helpers below encode them byte by byte. Ioctl argument bytes
 * are copied from the native C struct, which is little-endian on x86-64 (pkstore_uapi.h refuses
 * to compile elsewhere).
 */
#ifndef PKSTORE_TRACE_H
#define PKSTORE_TRACE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PKSTORE_TRACE_MAGIC		"PKSTTRC1"
#define PKSTORE_TRACE_VERSION		1

#define PKSTORE_TRACE_OPEN_CONTAINER	1	/* s32 fd */
#define PKSTORE_TRACE_OPEN_GROUP	2	/* s32 fd, u32 group_id */
#define PKSTORE_TRACE_OPEN_PGTABLE_FILE	3	/* s32 fd, u32 name_len, name */
#define PKSTORE_TRACE_MAP_GUEST_MEMORY	4	/* u64 vaddr, u64 size, u32 name_len, name */
#define PKSTORE_TRACE_IOCTL		5	/* s32 fd, u32 request, u32 arg_len, u32 flags, arg */
#define PKSTORE_TRACE_CLOSE		6	/* s32 fd */
#define PKSTORE_TRACE_KEXEC		7	/* u32 kind */

#define PKSTORE_TRACE_IOCTL_ARG_IS_SCALAR	(1u << 0)
#define PKSTORE_TRACE_KEXEC_PLANNED	1
#define PKSTORE_TRACE_KEXEC_CRASH	2

struct pkstore_trace {
	FILE *f;
	const char *path;
};

static inline void pkt_put(struct pkstore_trace *t, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, t->f) != n) {
		perror(t->path);
		exit(1);
	}
}

static inline void pkt_u32(struct pkstore_trace *t, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 24) };
	pkt_put(t, b, sizeof(b));
}

static inline void pkt_u64(struct pkstore_trace *t, uint64_t v)
{
	pkt_u32(t, (uint32_t)v);
	pkt_u32(t, (uint32_t)(v >> 32));
}

static inline void pkt_record(struct pkstore_trace *t, uint32_t type, uint32_t len)
{
	pkt_u32(t, type);
	pkt_u32(t, len);
}

static inline void pkt_pad(struct pkstore_trace *t, uint32_t len)
{
	static const unsigned char zero[8];
	pkt_put(t, zero, (8 - len % 8) % 8);
}

static inline void pkstore_trace_open(struct pkstore_trace *t, const char *path)
{
	t->path = path;
	t->f = fopen(path, "wb");
	if (!t->f) {
		perror(path);
		exit(1);
	}
	pkt_put(t, PKSTORE_TRACE_MAGIC, 8);
	pkt_u32(t, PKSTORE_TRACE_VERSION);
	pkt_u32(t, 0);
	pkt_u64(t, 0);
}

static inline void pkstore_trace_close(struct pkstore_trace *t)
{
	if (fclose(t->f) != 0) {
		perror(t->path);
		exit(1);
	}
}

static inline void pkstore_trace_open_container(struct pkstore_trace *t, int32_t fd)
{
	pkt_record(t, PKSTORE_TRACE_OPEN_CONTAINER, 4);
	pkt_u32(t, (uint32_t)fd);
	pkt_pad(t, 4);
}

static inline void pkstore_trace_open_group(struct pkstore_trace *t, int32_t fd, uint32_t group_id)
{
	pkt_record(t, PKSTORE_TRACE_OPEN_GROUP, 8);
	pkt_u32(t, (uint32_t)fd);
	pkt_u32(t, group_id);
}

static inline void pkstore_trace_open_pgtable_file(struct pkstore_trace *t, int32_t fd, const char *name)
{
	uint32_t n = (uint32_t)strlen(name);

	pkt_record(t, PKSTORE_TRACE_OPEN_PGTABLE_FILE, 8 + n);
	pkt_u32(t, (uint32_t)fd);
	pkt_u32(t, n);
	pkt_put(t, name, n);
	pkt_pad(t, 8 + n);
}

static inline void pkstore_trace_map_guest_memory(struct pkstore_trace *t, uint64_t vaddr, uint64_t size,
						  const char *name)
{
	uint32_t n = (uint32_t)strlen(name);

	pkt_record(t, PKSTORE_TRACE_MAP_GUEST_MEMORY, 20 + n);
	pkt_u64(t, vaddr);
	pkt_u64(t, size);
	pkt_u32(t, n);
	pkt_put(t, name, n);
	pkt_pad(t, 20 + n);
}

/* ioctl(fd, request, ptr): arg_len bytes at arg, exactly as the C struct. */
static inline void pkstore_trace_ioctl(struct pkstore_trace *t, int32_t fd, uint32_t request,
				       const void *arg, uint32_t arg_len)
{
	pkt_record(t, PKSTORE_TRACE_IOCTL, 16 + arg_len);
	pkt_u32(t, (uint32_t)fd);
	pkt_u32(t, request);
	pkt_u32(t, arg_len);
	pkt_u32(t, 0);
	pkt_put(t, arg, arg_len);
	pkt_pad(t, 16 + arg_len);
}

/* ioctl(fd, request, value): the argument is the value itself (8 bytes). */
static inline void pkstore_trace_ioctl_scalar(struct pkstore_trace *t, int32_t fd, uint32_t request,
					      uint64_t value)
{
	pkt_record(t, PKSTORE_TRACE_IOCTL, 16 + 8);
	pkt_u32(t, (uint32_t)fd);
	pkt_u32(t, request);
	pkt_u32(t, 8);
	pkt_u32(t, PKSTORE_TRACE_IOCTL_ARG_IS_SCALAR);
	pkt_u64(t, value);
}

static inline void pkstore_trace_close_fd(struct pkstore_trace *t, int32_t fd)
{
	pkt_record(t, PKSTORE_TRACE_CLOSE, 4);
	pkt_u32(t, (uint32_t)fd);
	pkt_pad(t, 4);
}

static inline void pkstore_trace_kexec(struct pkstore_trace *t, uint32_t kind)
{
	pkt_record(t, PKSTORE_TRACE_KEXEC, 4);
	pkt_u32(t, kind);
	pkt_pad(t, 4);
}

#endif /* PKSTORE_TRACE_H */
