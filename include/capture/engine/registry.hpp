// The registry: the records of live captures and pulls, kept beside their
// files in the capture directory.
//
// Scheme: the capture file DIR/NAME.pcap has its record in
// DIR/NAME.pcap.record, one record line (cap-record(5)). Records are
// replaced atomically: written to a hidden temporary file in the same
// directory (O_CREAT|O_EXCL|O_NOFOLLOW), then renamed over the old one, so a
// reader sees the old record or the new one, never half of either, and
// any number of analysts can start and stop captures at once. The process
// that owns a capture is the only writer of its record while it runs;
// the one read-modify-write by others (marking a crashed capture dead) is
// done under a lock on the directory, which the capture also takes for
// its final record, so a record is never marked dead after it was
// finished.
//
// Ids are six characters from an alphabet without look-alikes
// (a-z and 2-9 less l, o, 0, 1): short to type, 887 million of them.
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/sys/atomic_file.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/fd.hpp"
#include "capture/sys/process.hpp"
#include "capture/text/record.hpp"
#include "capture/sys/time_format.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <ctime>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace capture {

/// The ending of a record file's name.
inline constexpr std::string_view record_file_suffix = ".record";

/// The record file of a capture file: "PATH.record".
inline std::string record_path_for(const std::string& capture_path) {
    return capture_path + std::string(record_file_suffix);
}

/// The characters of an id: no l/1, o/0 to misread.
inline constexpr std::string_view id_alphabet = "abcdefghijkmnpqrstuvwxyz23456789";

/// A fresh random id of six characters.
inline std::string new_capture_id() {
    static thread_local std::mt19937_64 engine{std::random_device{}() ^
                                               (static_cast<std::uint64_t>(::getpid()) << 32)};
    std::uniform_int_distribution<std::size_t> pick(0, id_alphabet.size() - 1);
    std::string id;
    for (int i = 0; i < 6; ++i) id += id_alphabet[pick(engine)];
    return id;
}

/// True when text has the shape of an id.
inline bool looks_like_id(std::string_view text) {
    return text.size() == 6 && std::all_of(text.begin(), text.end(), [](char c) {
               return id_alphabet.find(c) != std::string_view::npos;
           });
}

namespace detail {

inline std::string dir_of(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

inline std::string base_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// A full disk has no block for a new temporary file, but the old record's
// blocks are still there: overwriting it in place lets a capture say
// "failed: No space left on device" exactly when it matters most.
inline bool overwrite_in_place(const std::string& path, const std::string& text) {
    unique_fd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return false;
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
    if (static_cast<std::uint64_t>(st.st_blocks) * 512 < text.size()) return false;
    if (write_fully(fd.get(), text.data(), text.size()) != 0) return false;
    return ::ftruncate(fd.get(), static_cast<off_t>(text.size())) == 0;
}

}  // namespace detail

/// Replaces the record file at path with r, atomically (see the header
/// comment); durable also syncs it to disk before the rename. The file
/// gets mode (less the umask). Throws error("PATH: why").
///
/// Not write_file_atomically (atomic_file.hpp), on purpose: a running
/// capture rewrites its counters every second from its capture loop, where
/// an fsync each time would stall the loop on a busy disk and cost packets;
/// and on a full disk, where no temporary file can be created, the record
/// is overwritten in place so that "failed: No space left on device" is
/// still recorded.
inline void write_record_file(const std::string& path, const record& r, mode_t mode = 0640, bool durable = false) {
    std::string text = format_record(r) + "\n";
    int err = 0;
    for (int attempt = 0; attempt < 100; ++attempt) {
        std::string temp = temporary_path_for(path);
        unique_fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
        if (!fd) {
            err = errno;
            if (err == EEXIST) continue;  // taken (a leftover with our pid and luck): another name
            break;
        }
        bool ok = write_fully(fd.get(), text.data(), text.size()) == 0 && (!durable || ::fdatasync(fd.get()) == 0);
        err = errno;
        fd.reset();
        if (ok && ::rename(temp.c_str(), path.c_str()) == 0) return;
        if (ok) err = errno;
        ::unlink(temp.c_str());
        break;
    }
    if ((err == ENOSPC || err == EDQUOT) && detail::overwrite_in_place(path, text)) return;
    throw system_failure(path, err ? err : EIO);
}

/// The record in the record file at path. Throws error("PATH: why") when
/// it cannot be read or holds no valid record.
inline record read_record_file(const std::string& path) {
    // Never through a planted link, and never a FIFO someone left there:
    // it would hang every cap-ls and cap-stop on the sensor.
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd) throw errno == ELOOP ? error(path + ": a symbolic link, not followed") : system_failure(path);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw system_failure(path);
    if (!S_ISREG(st.st_mode)) throw error(path + ": not a regular file");
    std::string text;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw system_failure(path);
        if (n == 0) break;
        text.append(buf, static_cast<std::size_t>(n));
        if (text.size() > (1u << 20)) throw error(path + ": record file larger than 1 MiB");
    }
    auto nl = text.find('\n');
    std::optional<record> r;
    try {
        r = parse_record_line(std::string_view(text).substr(0, nl));
    } catch (const record_error& e) {
        throw error(path + ": " + e.what());
    }
    if (!r || !r->has("kind")) throw error(path + ": not a capture record");
    return *r;
}

/// An exclusive lock on a directory, held while it lives (flock on the
/// directory itself: no lock file to leave behind or to be pre-created by
/// someone else).
class dir_lock {
public:
    /// Locks dir, waiting for the holder. Throws error("DIR: why").
    explicit dir_lock(const std::string& dir)
        : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
        if (!fd_) throw system_failure(dir);
        while (::flock(fd_.get(), LOCK_EX) != 0)
            if (errno != EINTR) throw system_failure(dir);
    }

private:
    unique_fd fd_;  // closing it releases the lock
};

/// One capture found in the directory.
struct registry_entry {
    std::string record_path;  ///< DIR/NAME.pcap.record
    record rec;               ///< as read
};

/// The records in dir, oldest start first. A record file that cannot be
/// read is reported through problems (when given) and skipped; a missing
/// directory is an empty registry. Throws error when dir cannot be listed.
inline std::vector<registry_entry> list_registry(const std::string& dir, std::vector<std::string>* problems = nullptr) {
    std::vector<registry_entry> entries;
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
        if (errno == ENOENT) return entries;
        throw system_failure(dir);
    }
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name.empty() || name[0] == '.') continue;  // temporaries are hidden
        if (name.size() <= record_file_suffix.size() ||
            name.compare(name.size() - record_file_suffix.size(), std::string::npos, record_file_suffix) != 0)
            continue;
        names.push_back(std::move(name));
    }
    ::closedir(d);
    for (const auto& name : names) {
        std::string path = dir + "/" + name;
        try {
            entries.push_back({path, read_record_file(path)});
        } catch (const error& e) {
            if (::access(path.c_str(), F_OK) != 0) continue;  // removed between readdir and open
            if (problems) problems->push_back(e.what());
        }
    }
    std::stable_sort(entries.begin(), entries.end(), [](const registry_entry& a, const registry_entry& b) {
        std::string sa = a.rec.get("started"), sb = b.rec.get("started");
        return sa != sb ? sa < sb : a.record_path < b.record_path;
    });
    return entries;
}

/// True when r says "running" and its process (pid and start time, the
/// keys pid and pstart) is alive and the same one.
inline bool record_process_alive(const record& r) {
    try {
        pid_t pid = static_cast<pid_t>(std::stol(r.get("pid", "0")));
        std::uint64_t start = std::stoull(r.get("pstart", "0"));
        return pid > 0 && process_matches(pid, start);
    } catch (const std::exception&) {
        return false;
    }
}

/// The state as it really is: "dead" for a record that says running or
/// starting whose process is gone, the recorded state otherwise.
inline std::string effective_state(const record& r) {
    std::string state = r.get("state");
    if ((state == "running" || state == "starting") && !record_process_alive(r)) return "dead";
    return state;
}

/// The modification time of path in seconds, 0 when it cannot be seen.
inline std::int64_t file_mtime(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return 0;
    return static_cast<std::int64_t>(st.st_mtime);
}

/// Marks the capture of entry dead when its record still says running and
/// its process is gone, under the directory lock; its end is the last
/// time its file or record was written. Returns the new record when it
/// did (the caller logs the crash, once), nothing when the capture is
/// alive or was finished meanwhile. Throws error when the record cannot
/// be rewritten (no permission, say).
inline std::optional<record> mark_dead_if_gone(const registry_entry& entry) {
    if (effective_state(entry.rec) != "dead") return std::nullopt;
    dir_lock lock(detail::dir_of(entry.record_path));
    record current = read_record_file(entry.record_path);
    if (effective_state(current) != "dead" || current.get("state") == "dead") return std::nullopt;
    std::int64_t last = std::max(file_mtime(entry.record_path), file_mtime(current.get("file")));
    current.set("state", "dead");
    current.set("ended", format_iso8601(last));
    current.set("reason", "process " + current.get("pid") + " ended without writing its final record");
    struct stat st {};
    mode_t mode = ::stat(entry.record_path.c_str(), &st) == 0 ? st.st_mode & 0777 : 0640;  // the capture's file mode
    write_record_file(entry.record_path, current, mode, true);
    return current;
}

}  // namespace capture
