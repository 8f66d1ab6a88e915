// Files published whole or not at all, never through a planted link.
//
// Records, sidecars and finished captures are written under a hidden
// temporary name in the same directory, created with O_EXCL|O_NOFOLLOW so
// a symbolic link planted there (pointing at /etc/passwd, say) is never
// followed, then renamed over the final name: a reader sees the old file or
// the new one, and several analysts writing at once never lose an update
// to a half-written file (stenotype publishes its files the same way).
//
// Every temporary of the suite is named the one way,
//
//   .NAME.PID-START.XXXXXX.tmp
//
// NAME being the file it will become, PID and START the process writing it
// (its pid and start time, as records name a capture's process: a pid alone
// may be reused) and XXXXXX six random letters. Hidden, so nothing lists it
// as a capture (final names never start with '.'); and a temporary whose
// process is gone was left by a tool that was killed, which cap-ls reports
// and cap-ls --clean removes (leftovers.hpp).
#pragma once

#include "capture/sys/error.hpp"
#include "capture/sys/fd.hpp"
#include "capture/sys/process.hpp"

#include <boost/filesystem/path.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace capture {

/// The directory part of path ("." when there is none).
inline std::string directory_of(const std::string& path) {
    std::string dir = boost::filesystem::path(path).parent_path().string();
    return dir.empty() ? "." : dir;
}

/// The last component of path.
inline std::string file_name_of(const std::string& path) {
    return boost::filesystem::path(path).filename().string();
}

/// The longest NAME part of a temporary's name, in bytes: with the rest
/// (44 at most) it stays within NAME_MAX (255).
inline constexpr std::size_t max_temporary_base = 200;

/// The process that writes a temporary, as its name says.
struct temporary_owner {
    pid_t pid = 0;
    std::uint64_t start = 0;  ///< start time (clock ticks since boot); 0 where /proc has none
};

namespace detail {

// This process, named as temporaries name their owner; kept per thread
// and checked against getpid(), since a fork (cap-start's daemon) is a new
// process with its own start time.
inline temporary_owner own_temporary_owner() {
    thread_local temporary_owner cached;
    const pid_t pid = ::getpid();
    if (cached.pid != pid) cached = temporary_owner{pid, process_start_time(pid).value_or(0)};
    return cached;
}

inline std::string random_letters(std::size_t n) {
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static thread_local std::mt19937_64 rng{std::random_device{}() ^ (static_cast<std::uint64_t>(::getpid()) << 32)};
    std::string s(n, 'x');
    for (auto& c : s) c = alphabet[rng() % (sizeof alphabet - 1)];
    return s;
}

// The value of a decimal number of at most 18 digits, or nothing.
inline std::optional<std::uint64_t> decimal_value(std::string_view s) {
    if (s.empty() || s.size() > 18) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v;
}

}  // namespace detail

/// A fresh temporary name beside path, for a file to be published as
/// path: "DIR/.NAME.PID-START.XXXXXX.tmp" (see the header comment; NAME
/// cut to max_temporary_base bytes). Throws nothing but std::bad_alloc.
inline std::string temporary_path_for(const std::string& path) {
    std::string::size_type slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
    std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    if (base.size() > max_temporary_base) base.resize(max_temporary_base);
    const temporary_owner me = detail::own_temporary_owner();
    return dir + "." + base + "." + std::to_string(me.pid) + "-" + std::to_string(me.start) + "." +
           detail::random_letters(6) + ".tmp";
}

/// The owner a temporary's name (no directory) gives, or nothing when the
/// name is not one of the suite's temporaries. Throws nothing but std::bad_alloc.
inline std::optional<temporary_owner> temporary_owner_of(std::string_view name) {
    constexpr std::string_view suffix = ".tmp";
    if (name.size() < 2 + 6 + suffix.size() || name[0] != '.' ||
        name.substr(name.size() - suffix.size()) != suffix)
        return std::nullopt;
    name.remove_suffix(suffix.size());
    auto dot = name.rfind('.');
    if (dot == std::string_view::npos || name.size() - dot - 1 != 6) return std::nullopt;
    name = name.substr(0, dot);
    dot = name.rfind('.');
    if (dot == 0 || dot == std::string_view::npos) return std::nullopt;
    std::string_view owner = name.substr(dot + 1);
    auto dash = owner.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    auto pid = detail::decimal_value(owner.substr(0, dash));
    auto start = detail::decimal_value(owner.substr(dash + 1));
    if (!pid || !start || *pid == 0 || *pid > 0x3fffffff) return std::nullopt;
    return temporary_owner{static_cast<pid_t>(*pid), *start};
}

/// True when name (no directory) is a temporary whose process is gone:
/// a tool was killed while writing it, and nobody will finish it. A
/// temporary of a process that is alive, or a name that is no temporary,
/// is not. Throws nothing but std::bad_alloc.
inline bool temporary_abandoned(std::string_view name) {
    auto owner = temporary_owner_of(name);
    if (!owner) return false;
    if (owner->start != 0) return !process_matches(owner->pid, owner->start);
    return ::kill(owner->pid, 0) != 0 && errno == ESRCH;  // no start time to compare (no /proc)
}

/// How write_file_atomically() gets its file to disk before the rename.
enum class file_sync {
    wait,   ///< fsync(2): on disk when it returns (a few ms, more on a busy disk)
    /// The writeback started (sync_file_range(2), on Linux) and not waited
    /// for: a filesystem that writes data before the metadata that names
    /// it (ext4's default data=ordered) never shows the new name on a
    /// file it lost, and the caller does not wait for the disk. For a file
    /// worth no more than another that is not synced either (a capture's
    /// manifest: the capture itself is not).
    start,
};

/// Writes content to path atomically: a hidden temporary file in the same
/// directory, created with O_EXCL|O_NOFOLLOW (never through a planted
/// link) with mode (less the umask), flushed to disk (or its writeback
/// started, as sync says), then renamed over path. Throws error("PATH: why").
inline void write_file_atomically(const std::string& path, std::string_view content, mode_t mode = 0666,
                                  file_sync sync = file_sync::wait) {
    std::string temp;
    unique_fd fd;
    for (int attempt = 0; !fd; ++attempt) {
        temp = temporary_path_for(path);
        int raw = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (raw >= 0) fd.reset(raw);
        else if (errno != EEXIST || attempt == 100) throw system_failure(path);
    }
    auto fail = [&](int err) {
        fd.reset();
        ::unlink(temp.c_str());
        return system_failure(path, err);
    };
    for (std::size_t done = 0; done < content.size();) {
        ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw fail(errno);
        done += static_cast<std::size_t>(n);
    }
    if (sync == file_sync::wait) {
        if (::fsync(fd.get()) != 0) throw fail(errno);
    } else {
#if defined(__linux__)
        // A hint: where it is not supported (a filesystem without it), the
        // data goes with the system's next writeback all the same.
        ::sync_file_range(fd.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
    }
    if (::close(fd.release()) != 0) throw fail(errno);
    if (::rename(temp.c_str(), path.c_str()) != 0) throw fail(errno);
}

}  // namespace capture
