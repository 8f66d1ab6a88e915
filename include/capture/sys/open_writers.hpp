// Which files some process has open for writing (Linux /proc).
//
// cap-hash refuses a capture that is still being written: its digest would
// be out of date before it was printed. One scan of /proc/*/fd per run
// finds every descriptor open with O_WRONLY or O_RDWR on a regular file,
// and files are matched by device and inode, so a renamed, linked or
// deleted-and-still-open capture is still recognised.
//
// A process we may not inspect (another user's, without privilege) is
// skipped and counted: as an ordinary user only your own writers are seen,
// so tcpdump running as root is found only by root or through its record.
// Where there is no /proc (BSD, macOS) the scan finds nothing.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace capture {

/// A process holding a file open for writing.
struct file_writer {
    pid_t pid = 0;
    std::string command;  ///< its name, from /proc/PID/comm ("tcpdump")
};

namespace detail {

struct dir_close {
    void operator()(DIR* d) const noexcept { ::closedir(d); }
};
using dir_ptr = std::unique_ptr<DIR, dir_close>;

/// The number in a /proc entry name, or -1 when it is not all digits.
inline long proc_number(const char* name) {
    if (!*name) return -1;
    long n = 0;
    for (const char* p = name; *p; ++p) {
        if (*p < '0' || *p > '9' || n > 100000000) return -1;
        n = n * 10 + (*p - '0');
    }
    return n;
}

/// The open flags of /proc/PID/fdinfo/N ("flags:\t0100001", octal).
inline std::optional<long> fdinfo_flags(const std::string& fdinfo_path) {
    std::ifstream in(fdinfo_path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.compare(0, 6, "flags:") != 0) continue;
        char* end = nullptr;
        long flags = std::strtol(line.c_str() + 6, &end, 8);
        if (end == line.c_str() + 6) return std::nullopt;
        return flags;
    }
    return std::nullopt;
}

/// The name of a process, "?" when it is gone.
inline std::string process_command(const std::string& proc, long pid) {
    std::ifstream in(proc + "/" + std::to_string(pid) + "/comm");
    std::string name;
    if (!std::getline(in, name) || name.empty()) return "?";
    return name;
}

}  // namespace detail

/// The regular files open for writing on this system at the time of one scan.
class open_writers {
public:
    /// Scans proc_root (normally /proc) once. Never throws for a process
    /// that vanishes or may not be inspected; those are skipped.
    static open_writers scan(const std::string& proc_root = "/proc") {
        open_writers result;
        detail::dir_ptr proc(::opendir(proc_root.c_str()));
        if (!proc) return result;
        while (const dirent* entry = ::readdir(proc.get())) {
            long pid = detail::proc_number(entry->d_name);
            if (pid <= 0) continue;
            std::string base = proc_root + "/" + entry->d_name;
            detail::dir_ptr fds(::opendir((base + "/fd").c_str()));
            if (!fds) {
                if (errno == EACCES || errno == EPERM) ++result.uninspected_;
                continue;  // otherwise the process has just exited
            }
            std::string command;
            while (const dirent* fd_entry = ::readdir(fds.get())) {
                if (detail::proc_number(fd_entry->d_name) < 0) continue;
                std::string link = base + "/fd/" + fd_entry->d_name;
                // Sockets, pipes and anonymous inodes read as "socket:[...]"
                // and the like; only a path can be a capture file.
                char target[16];
                ssize_t n = ::readlink(link.c_str(), target, sizeof target);
                if (n <= 0 || target[0] != '/') continue;
                struct stat st {};
                if (::stat(link.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
                auto flags = detail::fdinfo_flags(base + "/fdinfo/" + fd_entry->d_name);
                if (!flags) continue;
                int mode = static_cast<int>(*flags) & O_ACCMODE;
                if (mode != O_WRONLY && mode != O_RDWR) continue;
                key k{st.st_dev, st.st_ino};
                if (result.writers_.count(k)) continue;  // the first writer found names it
                if (command.empty()) command = detail::process_command(proc_root, pid);
                result.writers_.emplace(k, file_writer{static_cast<pid_t>(pid), command});
            }
        }
        return result;
    }

    /// The process writing the file with this device and inode, if any.
    std::optional<file_writer> find(dev_t dev, ino_t ino) const {
        auto it = writers_.find(key{dev, ino});
        if (it == writers_.end()) return std::nullopt;
        return it->second;
    }

    /// The process writing the file at path (symbolic links followed), if any.
    std::optional<file_writer> find(const std::string& path) const {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) return std::nullopt;
        return find(st.st_dev, st.st_ino);
    }

    /// How many files were found open for writing.
    std::size_t size() const noexcept { return writers_.size(); }

    /// How many processes could not be inspected (permission denied).
    std::size_t uninspected() const noexcept { return uninspected_; }

private:
    using key = std::pair<dev_t, ino_t>;
    std::map<key, file_writer> writers_;
    std::size_t uninspected_ = 0;
};

}  // namespace capture
