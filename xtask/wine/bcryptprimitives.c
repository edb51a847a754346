/* Wine before 9.0 has no bcryptprimitives.dll, whose ProcessPrng Rust's standard library (1.78
 * and later) calls for random numbers on Windows: test binaries fail to start without it.
 * `cargo xtask test-windows` builds this stand-in with mingw-w64 into its wine prefix; it fills
 * the buffer from RtlGenRandom (advapi32's SystemFunction036), which wine has. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
