#include "runtime/clone3_launcher.hpp"

#include <sys/mman.h>
#include <unistd.h>

namespace mainstay::runtime {

#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
// long mainstay_clone3_entry(Clone3Args* args, size_t size, int (*fn)(void*), void* arg)
// As glibc's own clone3 entry (sysdeps/unix/sysv/linux/x86_64/clone3.S): the syscall keeps
// rdx (fn) and r8 (arg); the child starts on args->stack, calls fn(arg) and exits with its
// result; the parent returns the pid or -errno. (The sanitizers cannot follow a child that
// shares their memory on a stack they did not see: their builds use the fallback.)
extern "C" long mainstay_clone3_entry(Clone3Args* args, std::size_t size, int (*fn)(void*), void* arg);
asm(R"(
    .text
    .globl mainstay_clone3_entry
    .type mainstay_clone3_entry, @function
mainstay_clone3_entry:
    .cfi_startproc
    mov %rcx, %r8
    mov $435, %eax
    .cfi_endproc
    syscall
    test %rax, %rax
    jz 1f
    ret
1:
    .cfi_startproc
    .cfi_undefined rip
    xor %ebp, %ebp
    and $-16, %rsp
    mov %r8, %rdi
    call *%rdx
    mov %eax, %edi
    mov $60, %eax
    syscall
    hlt
    .cfi_endproc
    .size mainstay_clone3_entry, .-mainstay_clone3_entry
)");

long clone3_run(Clone3Args& args, int (*fn)(void*), void* arg) {
    return mainstay_clone3_entry(&args, sizeof args, fn, arg);
}
#else
long clone3_run(Clone3Args&, int (*)(void*), void*) {
    return -ENOSYS;
}
#endif

void* clone3_stack(std::size_t& size) {
    // 256 KiB and a guard page below it, mapped once; only the pages a child touches count.
    constexpr std::size_t kSize = 256 * 1024;
    static void* stack = [] {
        const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        void* base =
            ::mmap(nullptr, kSize + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (base == MAP_FAILED) return static_cast<void*>(nullptr);
        ::mprotect(base, page, PROT_NONE);
        return static_cast<void*>(static_cast<char*>(base) + page);
    }();
    size = kSize;
    return stack;
}

}  // namespace mainstay::runtime
