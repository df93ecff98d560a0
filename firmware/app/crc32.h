/* CRC-32 (IEEE 802.3): reflected, polynomial 0xEDB88320, init and xorout 0xFFFFFFFF.
 * Same value as zlib's crc32() and Python's zlib.crc32(). Table-driven, const table, no state. */
#ifndef FS_CRC32_H
#define FS_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC over `len` bytes. Start with crc = 0; the value returned is the finished CRC of
 * everything fed so far and can be passed back in to continue (zlib convention):
 *   fs_crc32_update(fs_crc32_update(0, a, na), b, nb) == CRC of a followed by b. */
uint32_t fs_crc32_update(uint32_t crc, const uint8_t *data, size_t len);

#endif
