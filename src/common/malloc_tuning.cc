#include "common/malloc_tuning.h"

#include <malloc.h>

namespace strata {

void KeepLargeBuffersInHeap() {
  // 32 MiB is glibc's largest allowed mmap threshold; payloads (<= 8 MiB per
  // frame in practice) stay in the heap and arenas below it.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  // Keep up to 256 MiB free at the top of a heap before trimming it.
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

}  // namespace strata
