/*
 * Test-only stand-in for bcryptprimitives.dll under Wine.
 *
 * Rust's standard library on Windows takes its randomness from
 * ProcessPrng in bcryptprimitives.dll. Wine 8 (Debian 12) does not have
 * that function, so a Rust program stops before main. This DLL exports
 * ProcessPrng and fills the buffer from RtlGenRandom (advapi32's
 * SystemFunction036), which Wine has. scripts/windows-build compiles it
 * with mingw and puts it beside the .exe files it runs under Wine; it is
 * never shipped: real Windows has the real DLL.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
