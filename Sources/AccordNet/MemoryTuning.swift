import CAccordLinux

#if canImport(Glibc)
import Glibc
#endif

/// Keeps glibc from returning freed frame buffers to the kernel after every frame.
///
/// Frames are up to 4 MiB and allocated on several threads. With glibc's defaults each freed
/// 64 KiB buffer may shrink a thread's heap, and the next frame faults the pages back in: the
/// transport benchmark saw ~80,000 page faults a second and 18% less throughput. Call once at
/// start in an executable that moves bulk data (the node, the benchmark).
public func tuneMemoryForBulkTransfer() {
    mallopt(M_MMAP_THRESHOLD, 32 << 20)  // frame buffers stay in the heap…
    mallopt(M_TRIM_THRESHOLD, 128 << 20)  // …and the heap keeps up to 128 MiB of free pages
}
