// Owners of file descriptors and memory mappings.
//
// One move-only owner per kind of handle, so no early return or exception
// ever leaks a descriptor (STYLE.md 5).
#pragma once

#include "capture/error.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

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

/// A read-only private mapping of a whole regular file.
///
/// The size is taken once, when mapped: a file that a daemon is still
/// appending to is seen as it was then, which is what lets a reader stop
/// at the last complete packet instead of racing the writer.
class mapped_file {
public:
    mapped_file() = default;

    /// Maps the file at path. An empty file maps to an empty view.
    /// Throws error("PATH: why") when it cannot be opened, is not a
    /// regular file, or cannot be mapped.
    explicit mapped_file(const std::string& path) {
        unique_fd fd = open_read(path);
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0) throw system_failure(path);
        if (S_ISDIR(st.st_mode)) throw error(path + ": is a directory");
        if (!S_ISREG(st.st_mode)) throw error(path + ": not a regular file");
        size_ = static_cast<std::size_t>(st.st_size);
        if (size_ == 0) return;
        void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd.get(), 0);
        if (p == MAP_FAILED) throw system_failure(path);
        data_ = static_cast<const std::uint8_t*>(p);
    }

    mapped_file(mapped_file&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
    mapped_file& operator=(mapped_file&& other) noexcept {
        if (this != &other) {
            unmap();
            data_ = std::exchange(other.data_, nullptr);
            size_ = std::exchange(other.size_, 0);
        }
        return *this;
    }
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;
    ~mapped_file() { unmap(); }

    const std::uint8_t* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }

    /// Tells the kernel the mapping will be read front to back, so it reads
    /// ahead aggressively and drops pages behind us.
    void advise_sequential() const noexcept {
        if (data_) ::madvise(const_cast<std::uint8_t*>(data_), size_, MADV_SEQUENTIAL);
    }

private:
    void unmap() noexcept {
        if (data_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
        data_ = nullptr;
        size_ = 0;
    }

    const std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace capture
