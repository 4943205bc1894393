// Process-wide tuning of glibc malloc for processes that move large buffers
// (chunk payloads of up to several MiB per RPC).
//
// By default glibc serves allocations of 128 KiB and more with a fresh mmap
// and unmaps them on free, and gives the top of the heap back to the kernel
// as soon as 128 KiB are free there. A process that allocates and frees a
// 1 MiB buffer per append then takes a page fault on every 4 KiB of every
// buffer, which costs more than the copy itself (much more on virtual
// machines). KeepLargeBuffersInHeap() raises both thresholds so that freed
// buffers are reused.
//
// Thread-safety: call it early in main(), before other threads allocate.
// Calling it again changes nothing.
#pragma once

namespace strata {

void KeepLargeBuffersInHeap();

}  // namespace strata
