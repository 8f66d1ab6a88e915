// Owners of file descriptors and memory mappings.
//
// One move-only owner per kind of handle, so no early return or exception
// ever leaks a descriptor (STYLE.md 5).
#pragma once

#include "capture/sys/error.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace capture {

/// Owns one file descriptor; closes it on destruction.
class unique_fd {
public:
    unique_fd() = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& other) noexcept {
        if (this != &other) reset(std::exchange(other.fd_, -1));
        return *this;
    }
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    /// Gives up ownership without closing.
    int release() noexcept { return std::exchange(fd_, -1); }
    /// Closes the descriptor held (if any) and takes fd.
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

/// Opens path read-only (close-on-exec). Never waits: a FIFO without a
/// writer, planted where a capture is expected, would otherwise hang the
/// open for good (the callers then refuse anything but a regular file).
/// Reads block as usual. Throws error("PATH: why").
inline unique_fd open_read(const std::string& path) {
    int fd;
    do fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) throw system_failure(path);
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        int err = errno;
        ::close(fd);
        throw system_failure(path, err);
    }
    return unique_fd(fd);
}

/// Writes all n bytes at p to fd, again after a signal or a short write.
/// Returns 0, or the errno of the failure (EIO for a write of nothing).
/// Throws nothing.
inline int write_fully(int fd, const void* p, std::size_t n) noexcept {
    const auto* b = static_cast<const std::uint8_t*>(p);
    while (n > 0) {
        ssize_t w = ::write(fd, b, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (w == 0) return EIO;
        b += w;
        n -= static_cast<std::size_t>(w);
    }
    return 0;
}

// ---- Files cut short while they are mapped ----
//
// Readers go through a mapping of the whole file (capture_reader.hpp,
// pull.hpp, merge.hpp), which is what makes them fast; but a mapping is
// only as long as its file. When someone truncates a file while we read it
// (a cleanup script, `: > file`, a disk quota tool), the kernel answers a
// read of a page wholly past the new end with SIGBUS, which would kill the
// tool in the middle of a pull. Unlinking is harmless (the mapping keeps
// the inode and its bytes); truncation is not.
//
// Of the ways out, this is the one that holds in every thread and in every
// piece of code that touches mapped bytes (our walks, libpcap's BPF
// interpreter, the memcpy into a writer): a SIGBUS handler that, like
// systemd's journal (src/basic/sigbus.c), puts an anonymous zero page where
// the faulting page was and returns, so the read that faulted, and every
// later read of that page, sees zeros instead of dying, and notes the
// fault against the mapping it hit. Jumping out of the handler instead
// (sigsetjmp/siglongjmp) would cut through C++ frames and half-made state
// wherever the read happened to be; checking the size before each read
// races with the truncation; reading with pread instead of mapping would
// give up the speed the mappings are there for.
//
// Zeros where packets were are then the readers' business: they must never
// pass for packets. So whoever reads a mapping asks whether the bytes it
// used are still the file's (mapped_file::holds, length_now): wherever it
// meets bytes that read as zeros (the bytes between the new end and the
// end of its page read as zeros without any fault, and those after it as
// the handler's zeros), at the end of the file, and, for bytes used long
// after they were read, after using them; see capture_reader.hpp and the
// checks in pull.hpp and merge.hpp.
//
// The handler only answers faults inside mappings registered here (a
// table the handler scans without locks); any other SIGBUS gets the
// action that was there before ours, as if we had never installed one.
// The table holds max_guarded_mappings at once (vm.max_map_count, 65530
// by default, bounds a process's mappings anyway); a mapping made when it
// is full is unguarded and a truncation of it kills the tool as before.

/// How many mappings the SIGBUS guard can watch at once.
inline constexpr std::size_t max_guarded_mappings = 65536;

namespace detail {

// Three words per mapping: its first and past-the-end addresses (0 when
// the slot is free) and the lowest page the handler answered a fault in
// (0: none yet). Static storage, so the handler may read it at any time; pages of it
// never used cost nothing.
inline std::atomic<std::uintptr_t> guarded_ranges[3 * max_guarded_mappings];
inline std::atomic<std::size_t> guarded_slots_used{0};  // slots [0, used) may be live
inline std::uintptr_t guard_page_size = 4096;
inline struct sigaction sigbus_previous {};

inline void on_sigbus(int, siginfo_t* info, void*) {
    if (info && info->si_code == BUS_ADRERR) {
        const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
        const std::size_t n = guarded_slots_used.load(std::memory_order_acquire);
        for (std::size_t i = 0; i < n; ++i) {
            const std::uintptr_t begin = guarded_ranges[3 * i].load(std::memory_order_acquire);
            if (begin == 0 || addr < begin || addr >= guarded_ranges[3 * i + 1].load(std::memory_order_acquire))
                continue;
            void* page = reinterpret_cast<void*>(addr & ~(guard_page_size - 1));
            // mmap is a plain system call: safe here, though POSIX does not list it.
            if (::mmap(page, guard_page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == page) {
                std::atomic<std::uintptr_t>& lowest = guarded_ranges[3 * i + 2];
                const auto at = reinterpret_cast<std::uintptr_t>(page);
                std::uintptr_t seen = lowest.load(std::memory_order_relaxed);
                while ((seen == 0 || at < seen) &&
                       !lowest.compare_exchange_weak(seen, at, std::memory_order_release, std::memory_order_relaxed)) {
                }
                return;
            }
            break;
        }
    }
    // Not ours: the previous action takes the fault when it happens again.
    ::sigaction(SIGBUS, &sigbus_previous, nullptr);
}

// Installs the handler, once per process.
inline void install_sigbus_guard() {
    static const bool installed = [] {
        long page = ::sysconf(_SC_PAGESIZE);
        if (page > 0) guard_page_size = static_cast<std::uintptr_t>(page);
        struct sigaction sa {};
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        return ::sigaction(SIGBUS, &sa, &sigbus_previous) == 0;
    }();
    (void)installed;
}

// Free slots below guarded_slots_used, for reuse; only registration and
// release touch it, under its mutex, never the handler.
struct guard_free_list {
    std::mutex mutex;
    std::vector<std::size_t> slots;
};
inline guard_free_list& guard_free_slots() {
    static guard_free_list list;
    return list;
}

// Watches [begin, begin + size); returns the slot, or max_guarded_mappings when full.
inline std::size_t guard_mapping(const void* begin, std::size_t size) {
    install_sigbus_guard();
    guard_free_list& free = guard_free_slots();
    std::lock_guard<std::mutex> lock(free.mutex);
    std::size_t slot;
    if (!free.slots.empty()) {
        slot = free.slots.back();
        free.slots.pop_back();
    } else {
        slot = guarded_slots_used.load(std::memory_order_relaxed);
        if (slot == max_guarded_mappings) return slot;
    }
    const auto b = reinterpret_cast<std::uintptr_t>(begin);
    guarded_ranges[3 * slot + 2].store(0, std::memory_order_relaxed);
    guarded_ranges[3 * slot + 1].store(b + size, std::memory_order_relaxed);
    guarded_ranges[3 * slot].store(b, std::memory_order_release);  // last: the handler reads it first
    if (slot == guarded_slots_used.load(std::memory_order_relaxed))
        guarded_slots_used.store(slot + 1, std::memory_order_release);
    return slot;
}

// Stops watching a slot (before its mapping goes).
inline void unguard_mapping(std::size_t slot) noexcept {
    if (slot >= max_guarded_mappings) return;
    guarded_ranges[3 * slot].store(0, std::memory_order_release);
    guard_free_list& free = guard_free_slots();
    std::lock_guard<std::mutex> lock(free.mutex);
    try {
        free.slots.push_back(slot);
    } catch (...) {
        // Out of memory: the slot is lost to reuse, nothing worse.
    }
}

}  // namespace detail

/// A read-only private mapping of a whole regular file.
///
/// The size is taken once, when mapped: a file that a daemon is still
/// appending to is seen as it was then, which is what lets a reader stop
/// at the last complete packet instead of racing the writer. A file cut
/// shorter while mapped reads as zeros past its new end instead of
/// raising SIGBUS (see above): holds() and length_now() tell which bytes
/// are still the file's. The first mapping installs a SIGBUS handler for
/// the whole process, which passes any other SIGBUS to the action before it.
class mapped_file {
public:
    mapped_file() = default;

    /// Maps the file at path. An empty file maps to an empty view.
    /// Throws error("PATH: why") when it cannot be opened, is not a
    /// regular file, or cannot be mapped.
    explicit mapped_file(const std::string& path) : path_(path) {
        unique_fd fd = open_read(path);
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0) throw system_failure(path);
        if (S_ISDIR(st.st_mode)) throw error(path + ": is a directory");
        if (!S_ISREG(st.st_mode)) throw error(path + ": not a regular file");
        dev_ = st.st_dev;
        ino_ = st.st_ino;
        size_ = static_cast<std::size_t>(st.st_size);
        if (size_ == 0) return;
        void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd.get(), 0);
        if (p == MAP_FAILED) throw system_failure(path);
        data_ = static_cast<const std::uint8_t*>(p);
        slot_ = detail::guard_mapping(data_, size_);
    }

    mapped_file(mapped_file&& other) noexcept { take(other); }
    mapped_file& operator=(mapped_file&& other) noexcept {
        if (this != &other) {
            unmap();
            take(other);
        }
        return *this;
    }
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;
    ~mapped_file() { unmap(); }

    const std::uint8_t* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    /// The path it was mapped from. Throws nothing.
    const std::string& path() const noexcept { return path_; }

    /// Tells the kernel the mapping will be read front to back, so it reads
    /// ahead aggressively and drops pages behind us.
    void advise_sequential() const noexcept {
        if (data_) ::madvise(const_cast<std::uint8_t*>(data_), size_, MADV_SEQUENTIAL);
    }

    /// True when a read of this mapping faulted past the end of its file.
    /// Cheap: one load. Throws nothing.
    bool faulted() const noexcept {
        const auto* mark = fault_mark();
        return mark && mark->load(std::memory_order_acquire) != 0;
    }

    /// How many bytes of the mapping the file still holds: its size now,
    /// when the path still names the file that was mapped; otherwise (it
    /// was unlinked, which leaves the bytes alone) all of them, or, if it
    /// was cut before it was unlinked, those before the page ahead of the
    /// first one that faulted (its new end was somewhere in that page).
    /// One stat(2). Throws nothing.
    std::size_t length_now() const noexcept {
        struct stat st {};
        if (!path_.empty() && ::stat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_)
            return std::min(size_, static_cast<std::size_t>(st.st_size));
        const auto* mark = fault_mark();
        const std::uintptr_t lowest = mark ? mark->load(std::memory_order_acquire) : 0;
        if (lowest == 0) return size_;
        const std::size_t faulted_at = static_cast<std::size_t>(lowest - reinterpret_cast<std::uintptr_t>(data_));
        return faulted_at > detail::guard_page_size ? faulted_at - detail::guard_page_size : 0;
    }

    /// True when the bytes before end are still the file's, so what was
    /// read from them was real. Meant to be asked after the bytes were
    /// used: cheap while nothing happened (the mapping never faulted and
    /// the 16 bytes at end are not zeros: a new end of file anywhere
    /// before them would have made them zeros), one stat(2) otherwise.
    /// Throws nothing.
    bool holds(std::size_t end) const noexcept {
        if (end > size_) return false;
        if (!faulted() && end + 16 <= size_) {
            std::uint64_t a, b;
            std::memcpy(&a, data_ + end, 8);
            std::memcpy(&b, data_ + end + 8, 8);
            if ((a | b) != 0) return true;
        }
        return end <= length_now();
    }

    /// "cut short while being read: N bytes now, M when opened", N being
    /// length_now(): what messages about a file cut under its readers say
    /// after its name. Throws nothing but std::bad_alloc.
    std::string cut_short_text() const {
        return "cut short while being read: " + std::to_string(length_now()) + " bytes now, " +
               std::to_string(size_) + " when opened";
    }

private:
    // Where the lowest page of this mapping that faulted past the end of
    // its file (and reads zeros now) is noted: 0 while none did; null when
    // unguarded.
    const std::atomic<std::uintptr_t>* fault_mark() const noexcept {
        return slot_ < max_guarded_mappings ? &detail::guarded_ranges[3 * slot_ + 2] : nullptr;
    }

    void take(mapped_file& other) noexcept {
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
        slot_ = std::exchange(other.slot_, max_guarded_mappings);
        path_ = std::move(other.path_);
        dev_ = other.dev_;
        ino_ = other.ino_;
    }

    void unmap() noexcept {
        detail::unguard_mapping(slot_);
        slot_ = max_guarded_mappings;
        if (data_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
        data_ = nullptr;
        size_ = 0;
    }

    const std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t slot_ = max_guarded_mappings;  // in the guard's table; max_guarded_mappings: none
    std::string path_;
    dev_t dev_ = 0;
    ino_t ino_ = 0;
};

}  // namespace capture
